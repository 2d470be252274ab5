//! Portraits made ready for an engine: the spec a user gives, the engine that animates it, and
//! the avatar (the portrait encoded for FOMM, or its warp) the maker prepares off the streaming
//! thread.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::AnimateError;
use crate::face::FaceDetector;
use crate::fomm::{Deformation, Fomm, FommError, Generator, SourceEncoder, SourceEncoding};
use crate::image::{crop_square, crop_square_with, Outside, RgbImage, SquareCrop};
use crate::motion::Keypoints;
use crate::portrait::{canonical_landmarks, DetectorSettings, Portrait, PortraitCrop};
use crate::warp::{read_sidecar, FaceLayout, LandmarkWarp};

/// The portrait a user asked for: the file, an optional crop and the margin around a detected
/// face.
#[derive(Debug, Clone, PartialEq)]
pub struct AvatarSpec {
    pub path: PathBuf,
    pub crop: Option<PortraitCrop>,
    pub margin: f32,
}

/// What each engine keeps of the portrait.
pub(super) enum Prepared {
    /// Its FOMM encoding, computed once, and its alpha at the model's size (when it has one),
    /// which the generator's deformation moves.
    Fomm {
        encoding: Arc<SourceEncoding>,
        alpha: Option<RgbImage>,
    },
    /// Its warp and the size of its face, in output pixels.
    Warp {
        warp: Box<LandmarkWarp>,
        face_size: f32,
    },
}

/// A portrait made ready for the engine.
pub struct Avatar {
    spec: AvatarSpec,
    pub(super) prepared: Prepared,
    /// The portrait at the output size: what is shown until the face moves it.
    pub(super) still: RgbImage,
    /// Its alpha (grey) when the file has one.
    pub(super) still_alpha: Option<RgbImage>,
    /// The square of the file shown, and the file's size: to map the face's layout back to it.
    crop: SquareCrop,
    file_size: (usize, usize),
    /// Whether the layout came from the sidecar beside the file (a user's).
    layout_from_sidecar: bool,
    warnings: Vec<String>,
}

impl Avatar {
    pub fn spec(&self) -> &AvatarSpec {
        &self.spec
    }

    pub fn still(&self) -> &RgbImage {
        &self.still
    }

    /// The still's alpha (a grey picture) when the portrait file has one.
    pub fn still_alpha(&self) -> Option<&RgbImage> {
        self.still_alpha.as_ref()
    }

    /// What the user should know about how the portrait was framed (no face found, say).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Where the face's parts are, in the pixels of the picture shown (the warp's only).
    pub fn layout(&self) -> Option<&FaceLayout> {
        match &self.prepared {
            Prepared::Warp { warp, .. } => warp.layout(),
            Prepared::Fomm { .. } => None,
        }
    }

    /// [`Avatar::layout`] in the portrait file's own pixels (as its sidecar holds it), with the
    /// file's width and height.
    pub fn layout_in_file(&self) -> Option<(FaceLayout, usize, usize)> {
        let size = self.still.width() as f32;
        let scale = self.crop.side / size;
        let (left, top) = (self.crop.left(), self.crop.top());
        let layout = self
            .layout()?
            .mapped(|[x, y]| [left + x * scale, top + y * scale], scale);
        Some((layout, self.file_size.0, self.file_size.1))
    }

    /// Whether the layout is the one the user's sidecar gave.
    pub fn layout_from_sidecar(&self) -> bool {
        self.layout_from_sidecar
    }
}

/// How frames are animated: the First Order Motion Model, or the landmark warp.
#[derive(Clone)]
pub enum Engine {
    Fomm(FommEngine),
    Warp,
}

/// FOMM's encoder and generator, each behind a lock of its own: a portrait is encoded on another
/// thread while the streaming thread generates frames. Cheap to clone (the models are shared).
#[derive(Clone)]
pub struct FommEngine {
    encoder: Arc<Mutex<SourceEncoder>>,
    generator: Arc<Mutex<Generator>>,
    /// Fixed by the models: read without waiting for a lock a generator run holds.
    image_size: usize,
}

impl FommEngine {
    /// The side of the square pictures the generator makes.
    pub fn image_size(&self) -> usize {
        self.image_size
    }

    /// Encodes a portrait crop (resized to the models' size) for the generator.
    pub fn encode(&self, crop: &RgbImage) -> Result<SourceEncoding, FommError> {
        self.encoder.lock().unwrap().encode(crop)
    }

    /// The picture for `driving` (keypoints after relative motion), and the deformation it was
    /// made with when the graph gives it.
    pub fn animate(
        &self,
        source: &SourceEncoding,
        driving: &Keypoints,
    ) -> Result<(RgbImage, Option<Deformation>), FommError> {
        self.generator
            .lock()
            .unwrap()
            .animate_with_deformation(source, driving)
    }

    /// Time spent inside ONNX Runtime since loading, encoder and generator.
    pub fn inference_time(&self) -> Duration {
        self.encoder.lock().unwrap().inference_time()
            + self.generator.lock().unwrap().inference_time()
    }
}

impl Engine {
    pub fn fomm(fomm: Fomm) -> Engine {
        let image_size = fomm.image_size();
        let (encoder, generator) = fomm.into_parts();
        Engine::Fomm(FommEngine {
            encoder: Arc::new(Mutex::new(encoder)),
            generator: Arc::new(Mutex::new(generator)),
            image_size,
        })
    }

    /// Time spent inside ONNX Runtime since loading (none for the warp, which runs no network).
    pub fn inference_time(&self) -> Duration {
        match self {
            Engine::Fomm(fomm) => fomm.inference_time(),
            Engine::Warp => Duration::ZERO,
        }
    }
}

/// The warp has no model size; this is a sharp window or virtual camera picture.
pub const DEFAULT_WARP_SIZE: usize = 512;

/// Makes portraits ready for an engine; cheap to clone, usable from any thread.
#[derive(Clone)]
pub struct AvatarMaker {
    pub(super) engine: Engine,
    pub(super) output_size: usize,
    detector: DetectorSettings,
}

impl AvatarMaker {
    /// `output_size` 0 takes the engine's own: FOMM's model size, or 512 for the warp.
    pub fn new(engine: Engine, output_size: usize, detector: DetectorSettings) -> Self {
        let output_size = match (&engine, output_size) {
            (Engine::Fomm(fomm), 0) => fomm.image_size(),
            (Engine::Warp, 0) => DEFAULT_WARP_SIZE,
            (_, size) => size,
        };
        AvatarMaker {
            engine,
            output_size,
            detector,
        }
    }

    pub fn output_size(&self) -> usize {
        self.output_size
    }

    /// Decodes and frames the portrait and prepares it for the engine (FOMM: encodes it; warp:
    /// finds its landmarks). Slow (a face search, a network run): call it off the streaming thread.
    pub fn make(&self, spec: &AvatarSpec) -> Result<Avatar, AnimateError> {
        // One detector for the portrait's face and, for the warp, its landmarks in the crop.
        let mut detector = self.detector.load();
        let portrait = Portrait::load_with(
            &spec.path,
            spec.crop,
            spec.margin,
            detector.as_mut().map_err(|e| e.as_str()),
        )?;
        let path = spec.path.display().to_string();
        let mut warnings: Vec<String> = portrait.warning(&path).into_iter().collect();
        let failed = |e: &dyn std::fmt::Display| AnimateError::Prepare {
            path: path.clone(),
            reason: e.to_string(),
        };
        let size = self.output_size;
        // The alpha framed as the colours are (outside the picture: transparent for FOMM, the
        // border's own for the warp, as for the colours).
        let outside = match self.engine {
            Engine::Fomm(_) => Outside::Black,
            Engine::Warp => Outside::Extended,
        };
        let alpha_crop = |side: usize| {
            portrait
                .alpha
                .as_ref()
                .map(|alpha| crop_square_with(&alpha.view(), portrait.crop, side, outside))
                .transpose()
                .map_err(|e| failed(&e))
        };
        let mut layout_from_sidecar = false;
        let (prepared, crop) = match &self.engine {
            Engine::Fomm(fomm) => {
                let model_size = fomm.image_size();
                let crop = crop_square(&portrait.image.view(), portrait.crop, model_size)
                    .map_err(|e| failed(&e))?;
                let encoding = fomm.encode(&crop).map_err(|e| failed(&e))?;
                let alpha = alpha_crop(model_size)?;
                (
                    Prepared::Fomm {
                        encoding: Arc::new(encoding),
                        alpha,
                    },
                    crop,
                )
            }
            Engine::Warp => {
                // Where the portrait ends inside the square, its border goes on: the head moves
                // and pulls the square's edge in, which must show the portrait, not black.
                let crop = crop_square_with(
                    &portrait.image.view(),
                    portrait.crop,
                    size,
                    Outside::Extended,
                )
                .map_err(|e| failed(&e))?;
                // The face searched again in the crop, where it fills the detector's input: its
                // landmarks there are far closer to the drawn eyes and mouth than those from the
                // whole picture.
                let refined = detector
                    .as_mut()
                    .ok()
                    .and_then(|detector| detector.detect(&crop.view()).ok())
                    .and_then(|faces| faces.into_iter().next());
                let (landmarks, face_size) = match (
                    refined
                        .as_ref()
                        .map(|face| face.landmarks.clone())
                        .or_else(|| portrait.landmarks_in_crop(size)),
                    refined
                        .as_ref()
                        .map(|face| face.face.width.max(face.face.height))
                        .or_else(|| portrait.face_size_in_crop(size)),
                ) {
                    (Some(landmarks), Some(face_size)) if !landmarks.is_empty() => {
                        (landmarks, face_size)
                    }
                    _ => {
                        warnings.push(format!(
                            "No landmarks in the source portrait '{path}': warping it as a frontal face centred in its crop"
                        ));
                        canonical_landmarks(size, spec.margin)
                    }
                };
                // The face's parts: as the user's sidecar says, else found in the crop.
                let (width, height) = (portrait.image.width(), portrait.image.height());
                let scale = size as f32 / portrait.crop.side;
                let (left, top) = (portrait.crop.left(), portrait.crop.top());
                let layout = match read_sidecar(&spec.path, width, height)
                    .map_err(|e| failed(&e))?
                {
                    Some(layout) => {
                        layout_from_sidecar = true;
                        Some(layout.mapped(|[x, y]| [(x - left) * scale, (y - top) * scale], scale))
                    }
                    None => {
                        FaceLayout::from_landmarks(&landmarks).map(|layout| layout.found_in(&crop))
                    }
                };
                let mut warp = LandmarkWarp::new(&crop, landmarks, face_size, layout)
                    .map_err(|e| failed(&e))?;
                if let Some(alpha) = alpha_crop(size)? {
                    warp = warp.with_alpha(&alpha).map_err(|e| failed(&e))?;
                }
                (
                    Prepared::Warp {
                        warp: Box::new(warp),
                        face_size,
                    },
                    crop,
                )
            }
        };
        let still = crop.resized(size, size).map_err(|e| failed(&e))?;
        let still_alpha = alpha_crop(size)?;
        Ok(Avatar {
            spec: spec.clone(),
            prepared,
            still,
            still_alpha,
            crop: portrait.crop,
            file_size: (portrait.image.width(), portrait.image.height()),
            layout_from_sidecar,
            warnings,
        })
    }
}
