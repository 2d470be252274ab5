//! The animation session: a portrait made ready for an engine (First Order Motion Model or the
//! landmark warp), the calibration, the last picture, and the per-frame policy. The fommanimate
//! element, the benchmark and the tests run this same code; the element only maps buffers to it.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::face::FaceDetector;
use crate::face::{mesh_points, Expression, FaceTrack, HeadPose, MESH_POINTS};
use crate::fomm::{deform_alpha, Fomm, FommError, Generator, SourceEncoder, SourceEncoding};
use crate::motion::{
    relative_head, relative_motion, Calibration, Keypoints, MotionError, MotionOptions, Point,
    Similarity,
};
pub use crate::portrait::DetectorSettings;
use crate::portrait::{canonical_landmarks, Portrait, PortraitError};
use crate::tensor::{crop_square, RgbImage, TensorError};
use crate::warp::{is_motion, warp_targets, FeatureMotion, HeadLimits, LandmarkWarp};

#[derive(Debug, thiserror::Error)]
pub enum AnimateError {
    #[error(transparent)]
    Portrait(#[from] PortraitError),
    #[error(transparent)]
    Fomm(#[from] FommError),
    #[error(transparent)]
    Tensor(#[from] TensorError),
    #[error(transparent)]
    Motion(#[from] MotionError),
    #[error("cannot prepare '{path}': {reason}")]
    Prepare { path: String, reason: String },
}

/// The portrait a user asked for: the file, an optional crop ("x,y,side") and the margin
/// around a detected face.
#[derive(Debug, Clone, PartialEq)]
pub struct AvatarSpec {
    pub path: PathBuf,
    pub crop: Option<String>,
    pub margin: f32,
}

/// What each engine keeps of the portrait.
enum Prepared {
    /// Its FOMM encoding, computed once, and its alpha at the model's size (when it has one),
    /// which the generator's deformation moves.
    Fomm {
        encoding: Box<SourceEncoding>,
        alpha: Option<RgbImage>,
    },
    /// Its warp and the size of its face, in output pixels.
    Warp { warp: LandmarkWarp, face_size: f32 },
}

/// A portrait made ready for the engine.
pub struct Avatar {
    spec: AvatarSpec,
    prepared: Prepared,
    /// The portrait at the output size: what is shown until the face moves it.
    still: RgbImage,
    /// Its alpha (grey) when the file has one.
    still_alpha: Option<RgbImage>,
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
}

/// How frames are animated. FOMM's encoder and generator have locks of their own: a portrait is
/// encoded on another thread while the streaming thread generates frames.
#[derive(Clone)]
pub enum Engine {
    Fomm {
        encoder: Arc<Mutex<SourceEncoder>>,
        generator: Arc<Mutex<Generator>>,
    },
    Warp,
}

impl Engine {
    pub fn fomm(fomm: Fomm) -> Engine {
        let (encoder, generator) = fomm.into_parts();
        Engine::Fomm {
            encoder: Arc::new(Mutex::new(encoder)),
            generator: Arc::new(Mutex::new(generator)),
        }
    }
}

/// The warp has no model size; this is a sharp window or virtual camera picture.
pub const DEFAULT_WARP_SIZE: usize = 512;

/// Makes portraits ready for an engine; cheap to clone, usable from any thread.
#[derive(Clone)]
pub struct AvatarMaker {
    engine: Engine,
    output_size: usize,
    detector: DetectorSettings,
}

impl AvatarMaker {
    /// `output_size` 0 takes the engine's own: FOMM's model size, or 512 for the warp.
    pub fn new(engine: Engine, output_size: usize, detector: DetectorSettings) -> Self {
        let output_size = match (&engine, output_size) {
            (Engine::Fomm { generator, .. }, 0) => generator.lock().unwrap().image_size(),
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
            spec.crop.as_deref(),
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
        // The alpha framed as the colours are (outside the picture: transparent).
        let alpha_crop = |side: usize| {
            portrait
                .alpha
                .as_ref()
                .map(|alpha| crop_square(&alpha.view(), portrait.crop, side))
                .transpose()
                .map_err(|e| failed(&e))
        };
        let (prepared, crop) = match &self.engine {
            Engine::Fomm { encoder, .. } => {
                let mut encoder = encoder.lock().unwrap();
                let crop = crop_square(&portrait.image.view(), portrait.crop, encoder.image_size())
                    .map_err(|e| failed(&e))?;
                let encoding = encoder.encode(&crop).map_err(|e| failed(&e))?;
                let alpha = alpha_crop(encoder.image_size())?;
                (
                    Prepared::Fomm {
                        encoding: Box::new(encoding),
                        alpha,
                    },
                    crop,
                )
            }
            Engine::Warp => {
                let crop = crop_square(&portrait.image.view(), portrait.crop, size)
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
                let mut warp =
                    LandmarkWarp::new(&crop, landmarks, face_size).map_err(|e| failed(&e))?;
                if let Some(alpha) = alpha_crop(size)? {
                    warp = warp.with_alpha(&alpha).map_err(|e| failed(&e))?;
                }
                (Prepared::Warp { warp, face_size }, crop)
            }
        };
        let still = crop.resized(size, size).map_err(|e| failed(&e))?;
        let still_alpha = alpha_crop(size)?;
        Ok(Avatar {
            spec: spec.clone(),
            prepared,
            still,
            still_alpha,
            warnings,
        })
    }
}

/// The driving pose of one frame.
#[derive(Debug, Clone)]
pub struct Driving {
    /// FOMM keypoints of the face crop, or the face landmarks in frame pixels for the warp.
    pub keypoints: Keypoints,
    /// The face's larger side in frame pixels (the warp's scale; 1 for FOMM).
    pub face_size: f32,
    /// The tracker's id of the face: another id is another person, who needs a calibration.
    pub track: Option<u64>,
    /// The face's expression and head pose, when the tracker runs the face mesh.
    pub expression: Option<Expression>,
    pub pose: Option<HeadPose>,
    /// The face mesh's points in frame pixels, when the tracker runs it: the head's motion is
    /// read from them (hundreds of points average the noise of a few landmarks away).
    pub mesh: Vec<Point>,
}

impl Driving {
    /// The warp's driving pose from a face track (fractions of a `width` x `height` frame):
    /// the detector's landmarks, the face's size, and the mesh with its expression and pose.
    pub fn from_track(track: &FaceTrack, width: usize, height: usize) -> Driving {
        let pixels = |[u, v]: [f32; 2]| [u * width as f32, v * height as f32];
        let face = track.face.to_pixels(width, height);
        Driving {
            keypoints: Keypoints {
                values: track.landmarks.iter().map(|p| pixels(*p)).collect(),
                jacobians: Vec::new(),
            },
            face_size: face.width.max(face.height),
            track: Some(track.track_id),
            expression: track.expression,
            pose: track.pose,
            mesh: track.mesh.iter().map(|p| pixels([p[0], p[1]])).collect(),
        }
    }

    /// Whether this face makes a good rest pose: facing the camera, eyes open, mouth closed
    /// (when the mesh says; any face does without it). Calibrating on a face mid-blink or
    /// mid-word would leave the avatar distorted until the next calibration.
    pub fn is_neutral(&self) -> bool {
        let facing = self
            .pose
            .is_none_or(|pose| pose.yaw.abs() < 0.35 && pose.pitch.abs() < 0.35);
        let calm = self
            .expression
            .is_none_or(|e| e.right_eye > 0.15 && e.left_eye > 0.15 && e.mouth_open < 0.15);
        facing && calm
    }
}

/// Frames a face may be seen without a neutral pose before it is taken as the rest pose anyway.
const MAX_CALIBRATION_WAIT: u32 = 60;
/// Frames of a new face before it may become the rest pose (the mesh's smoothing settling).
const SETTLE_FRAMES: u32 = 15;
/// Frames every head change passes after a real motion, before noise is held back again.
const MOVING_FRAMES: u32 = 10;

/// What a frame did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// No face: the last picture (or the portrait at rest) again.
    NoFace,
    /// A face, but not yet one to take as the rest pose (turned away, eyes closed, mouth open).
    AwaitingRestPose,
    /// A new picture; `calibrated` when this frame's face became the rest pose.
    Generated { calibrated: bool },
}

/// One animation session: the avatar, the driving face's rest pose, the last picture.
pub struct Animator {
    engine: Engine,
    avatar: Avatar,
    calibration: Calibration,
    /// The driving face's size at calibration (warp only).
    initial_face_size: f32,
    /// The face being followed, by track id.
    track: Option<u64>,
    last: Option<RgbImage>,
    /// The alpha of `last`, where the engine moves one (the warp, for a portrait with alpha).
    last_alpha: Option<RgbImage>,
    output_size: usize,
    pub motion: MotionOptions,
    /// How far the warp's head may move.
    pub limits: HeadLimits,
    /// Move the portrait's alpha with each picture ([`Animator::alpha`]): only worth its cost
    /// (a second remap every frame) when something shows the alpha. Off by default.
    pub carry_alpha: bool,
    /// Frames seen since a calibration was asked for, without a neutral face.
    calibration_wait: u32,
    /// The driver's expression at calibration: eyes and mouth move relative to it.
    rest_expression: Option<Expression>,
    /// How the warp moved the eyes and mouth on the last frame (for measuring).
    feature_motion: FeatureMotion,
    /// The warp's head transform on the last frame.
    head: Option<Similarity>,
    /// The driver's mesh at calibration.
    rest_mesh: Vec<Point>,
    /// Frames seen of the current track.
    track_frames: u32,
    /// Frames left of the head counting as moving.
    moving_frames: u32,
}

impl Animator {
    pub fn new(maker: &AvatarMaker, avatar: Avatar) -> Self {
        Animator {
            engine: maker.engine.clone(),
            avatar,
            calibration: Calibration::default(),
            initial_face_size: 1.0,
            track: None,
            last: None,
            last_alpha: None,
            output_size: maker.output_size,
            motion: MotionOptions::default(),
            limits: HeadLimits::default(),
            carry_alpha: false,
            calibration_wait: 0,
            rest_expression: None,
            feature_motion: FeatureMotion::default(),
            head: None,
            rest_mesh: Vec::new(),
            track_frames: 0,
            moving_frames: 0,
        }
    }

    /// Where the warp put the portrait's lids, lips and mouth corners on the last frame, in
    /// output pixels (right upper lid, right lower lid, left upper lid, left lower lid, upper
    /// lip, lower lip, right and left mouth corner, chin, then the points held with the head),
    /// or at rest before any frame moved them. `None` for FOMM.
    pub fn feature_points(&self) -> Option<Vec<crate::motion::Point>> {
        let Prepared::Warp { warp, .. } = &self.avatar.prepared else {
            return None;
        };
        let rest = warp.landmarks().to_vec();
        let identity = Similarity::fit(&rest, &rest);
        warp.feature_points(
            self.head.as_ref().unwrap_or(&identity),
            &self.feature_motion,
        )
    }

    pub fn avatar(&self) -> &Avatar {
        &self.avatar
    }

    /// The picture the last [`Animator::frame`] returned, and its alpha (see
    /// [`Animator::alpha`]).
    pub fn shown(&self) -> (&RgbImage, Option<&RgbImage>) {
        (
            self.last.as_ref().unwrap_or(&self.avatar.still),
            self.alpha(),
        )
    }

    /// The alpha (a grey picture) of the picture the last [`Animator::frame`] returned: the
    /// still's before any picture was made, then the engine's, which moves it with the pixels.
    /// `None` when the portrait has no alpha, for FOMM graphs exported without their
    /// deformation, or for pictures made while [`Animator::carry_alpha`] was off.
    pub fn alpha(&self) -> Option<&RgbImage> {
        if self.last.is_some() {
            self.last_alpha.as_ref()
        } else {
            self.avatar.still_alpha.as_ref()
        }
    }

    /// A new avatar: the calibration stays (the driving face did not change), the old avatar's
    /// last picture goes.
    pub fn swap(&mut self, avatar: Avatar) {
        self.avatar = avatar;
        self.last = None;
        self.last_alpha = None;
    }

    /// The next frame with a face becomes the rest pose, whatever its expression: the user
    /// asked for it.
    pub fn recalibrate(&mut self) {
        self.calibration.reset();
        self.calibration_wait = MAX_CALIBRATION_WAIT;
    }

    /// A new stream (a flush, a seek, a new segment): nothing of the old one carries over.
    pub fn reset(&mut self) {
        self.calibration.reset();
        self.track = None;
        self.last = None;
        self.last_alpha = None;
        self.calibration_wait = 0;
    }

    pub fn is_calibrated(&self) -> bool {
        self.calibration.is_calibrated()
    }

    /// The picture for a frame with this driving pose (`None`: no face on the frame).
    pub fn frame(
        &mut self,
        driving: Option<&Driving>,
    ) -> Result<(&RgbImage, Outcome), AnimateError> {
        let Some(driving) = driving else {
            let picture = self.last.as_ref().unwrap_or(&self.avatar.still);
            return Ok((picture, Outcome::NoFace));
        };
        if driving.track != self.track {
            if driving.track.is_some() && self.track.is_some() {
                // Another person (or a cut in an edited video): their pose relative to the last
                // person's rest pose means nothing.
                self.calibration.reset();
            }
            self.track_frames = 0;
            self.calibration_wait = 0;
        }
        self.track = driving.track;
        self.track_frames += 1;
        if !self.calibration.is_calibrated() {
            // The tracker's smoothing settles on a new face within half a second: a rest pose
            // taken before that would drift away from the face while it settles.
            let settling = !driving.mesh.is_empty() && self.track_frames < SETTLE_FRAMES;
            let waiting = settling || !driving.is_neutral();
            if waiting && self.calibration_wait < MAX_CALIBRATION_WAIT {
                // Waiting for the driver to face the camera, eyes open, mouth closed.
                self.calibration_wait += 1;
                let picture = self.last.as_ref().unwrap_or(&self.avatar.still);
                return Ok((picture, Outcome::AwaitingRestPose));
            }
            self.calibration_wait = 0;
        }
        let (initial, calibrated) = self.calibration.observe(&driving.keypoints);
        if calibrated {
            self.initial_face_size = driving.face_size;
            self.rest_expression = driving.expression;
            self.rest_mesh = driving.mesh.clone();
        }
        let (picture, alpha) = match &self.avatar.prepared {
            Prepared::Fomm { encoding, alpha } => {
                let Engine::Fomm { generator, .. } = &self.engine else {
                    unreachable!("FOMM avatars are made by the FOMM engine")
                };
                let moved = relative_motion(
                    &encoding.keypoints,
                    &driving.keypoints,
                    initial,
                    self.motion,
                )?;
                let (generated, deformation) = generator
                    .lock()
                    .unwrap()
                    .animate_with_deformation(encoding, &moved)?;
                let picture = if generated.width() == self.output_size {
                    generated
                } else {
                    generated.resized(self.output_size, self.output_size)?
                };
                // The portrait's alpha read through the deformation the frame was made with:
                // it follows the generated face.
                let alpha = match (alpha.as_ref().filter(|_| self.carry_alpha), deformation) {
                    (Some(alpha), Some(deformation)) => {
                        Some(deform_alpha(alpha, &deformation, self.output_size)?)
                    }
                    _ => None,
                };
                (picture, alpha)
            }
            Prepared::Warp { warp, face_size } => {
                // The head moves as one piece, bounded; only the lids and lips bend, by the
                // expression (without the mesh they stay as drawn).
                let head =
                    if driving.mesh.len() == MESH_POINTS && self.rest_mesh.len() == MESH_POINTS {
                        // The skull's points only: a mouth opening or a blink must not move the head.
                        let rigid = |mesh: &[Point]| -> Vec<Point> {
                            mesh_points::RIGID
                                .iter()
                                .map(|&index| mesh[index])
                                .collect()
                        };
                        relative_head(
                            warp.landmarks(),
                            *face_size,
                            &rigid(&driving.mesh),
                            &rigid(&self.rest_mesh),
                            self.initial_face_size,
                        )
                    } else {
                        let targets = warp_targets(
                            warp.landmarks(),
                            *face_size,
                            &driving.keypoints.values,
                            &initial.values,
                            self.initial_face_size,
                        )?;
                        Similarity::fit(warp.landmarks(), &targets)
                    };
                let head = warp.bounded(&head, &self.limits);
                // Still: noise-sized changes are held back. Moving: every change passes until the
                // head has been still for a few frames, so slow motion glides instead of stepping.
                let head = match (&self.head, calibrated) {
                    (Some(previous), false) => {
                        if is_motion(previous, &head) {
                            self.moving_frames = MOVING_FRAMES;
                        }
                        if self.moving_frames > 0 {
                            self.moving_frames -= 1;
                            head
                        } else {
                            *previous
                        }
                    }
                    _ => head,
                };
                let motion = match (driving.expression, self.rest_expression) {
                    (Some(now), Some(rest)) => FeatureMotion::between(&now, &rest),
                    _ => FeatureMotion::default(),
                };
                self.feature_motion = motion;
                self.head = Some(head);
                if self.carry_alpha {
                    warp.warp_head_with_alpha(&head, &motion)?
                } else {
                    (warp.warp_head(&head, &motion)?, None)
                }
            }
        };
        self.last_alpha = alpha;
        Ok((self.last.insert(picture), Outcome::Generated { calibrated }))
    }
}
