//! Image-to-image stylization (U-GAT-IT, and the style networks `animecam models import` turns
//! into a set with one `style` graph: AnimeGANv2, CartoonGAN, ready ONNX files): a face crop
//! redrawn, pasted back with a feathered edge, with optional temporal smoothing against flicker;
//! live, the network on a thread of its own and in-betweens for the frames between its faces
//! (`keyframes`).

use std::path::Path;
use std::sync::{Arc, Mutex};

use ndarray::Array4;

use crate::face::{square_crop, Rect};
use crate::image::{crop_square, ImageError, ImageView, ImageViewMut, RgbImage, SquareCrop};
use crate::inbetween::points_in_crop;
use crate::inference::{Layout, Manifest, Model, ModelError, Normalization, ProviderOptions};
use crate::tensor::{fill_tensor, from_tensor, TensorError};
use crate::worker::{KeyframePace, Picture};

mod keyframes;

pub use keyframes::StyleKeyframes;

#[derive(Debug, thiserror::Error)]
pub enum StylizeError {
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Image(#[from] ImageError),
    #[error(transparent)]
    Tensor(#[from] TensorError),
    #[error("{model}: {reason}")]
    Contract { model: String, reason: String },
}

/// The manifest ids of the two U-GAT-IT generators the exporter writes.
pub const FULL_MODEL: &str = "ugatit_full";
pub const LIGHT_MODEL: &str = "ugatit_light";

/// The manifest id of a style set's one graph (models/styles/NAME).
pub const STYLE_MODEL: &str = "style";

/// The generator to run when the user did not choose: a style set's graph; else the full U-GAT-IT
/// generator when the folder has it, else the light one (people often import only one of the two).
pub fn converted_model(dir: &Path) -> &'static str {
    match Manifest::load(dir) {
        Ok(manifest) if manifest.models.contains_key(STYLE_MODEL) => STYLE_MODEL,
        Ok(manifest) if !manifest.models.contains_key(FULL_MODEL) => LIGHT_MODEL,
        _ => FULL_MODEL,
    }
}

pub struct Stylizer {
    model: Model,
    size: usize,
    layout: Layout,
    input: (String, Normalization),
    output: (String, Normalization),
    tensor: Array4<f32>,
}

impl Stylizer {
    /// Loads `model_id` (`ugatit_full`, `ugatit_light` or `style`) from a model folder's manifest:
    /// one square RGB image in and one of the same size out, NCHW or NHWC as the manifest says.
    pub fn load(
        dir: &Path,
        model_id: &str,
        options: &ProviderOptions,
    ) -> Result<Self, StylizeError> {
        let manifest = Manifest::load(dir).map_err(ModelError::from)?;
        let model = Model::load(&manifest, model_id, options)?;
        let contract = |reason: &str| StylizeError::Contract {
            model: model.path().display().to_string(),
            reason: reason.to_owned(),
        };
        let spec = model.spec();
        let (input, output) = match (spec.inputs.as_slice(), spec.outputs.as_slice()) {
            ([input], [output]) => (input, output),
            _ => return Err(contract("expected one image input and one image output")),
        };
        let layout = input.layout.unwrap_or(Layout::Nchw);
        let size = input.square_size(layout).ok_or_else(|| {
            contract("the input must be a square image (NCHW or NHWC, 3 channels)")
        })?;
        if output.square_size(layout) != Some(size) {
            return Err(contract(
                "the output must be an image of the input's size and layout",
            ));
        }
        let normalization = |spec: &crate::inference::TensorSpec| {
            spec.normalization.unwrap_or(Normalization::Symmetric)
        };
        Ok(Stylizer {
            input: (input.name.clone(), normalization(input)),
            output: (output.name.clone(), normalization(output)),
            tensor: Array4::zeros(match layout {
                Layout::Nchw => [1, 3, size, size],
                Layout::Nhwc => [1, size, size, 3],
            }),
            size,
            layout,
            model,
        })
    }

    pub fn image_size(&self) -> usize {
        self.size
    }

    pub fn provider(&self) -> crate::inference::Provider {
        self.model.provider()
    }

    /// Providers `auto` tried before the one in use, with why each failed.
    pub fn fallbacks(&self) -> &[String] {
        self.model.fallbacks()
    }

    /// Time spent inside ONNX Runtime since loading.
    pub fn inference_time(&self) -> std::time::Duration {
        self.model.inference_time()
    }

    /// The crop in anime style, at the model's size.
    pub fn stylize(&mut self, crop: &RgbImage) -> Result<RgbImage, StylizeError> {
        let crop = crop.at_size(self.size, self.size)?;
        fill_tensor(
            &crop,
            self.layout,
            self.input.1,
            &mut self.tensor.view_mut(),
        )?;
        let outputs = self
            .model
            .run(&[(self.input.0.as_str(), self.tensor.view().into_dyn())])?;
        let stylized = outputs
            .get(&self.output.0)
            .view()
            .into_dimensionality::<ndarray::Ix4>()
            .map_err(|e| StylizeError::Contract {
                model: self.model.path().display().to_string(),
                reason: e.to_string(),
            })?;
        Ok(from_tensor(stylized, self.layout, self.output.1)?)
    }
}

/// Blends `image` (the stylized crop) into `frame` over the square `crop`, resized to it, with
/// an edge that fades over `feather` of the crop's side. Pixels outside the crop are not written.
pub fn paste(
    frame: &mut ImageViewMut<'_>,
    image: &RgbImage,
    crop: SquareCrop,
    feather: f32,
) -> Result<(), ImageError> {
    let side = crop.side.round().max(1.0) as usize;
    let left = crop.left().round() as i64;
    let top = crop.top().round() as i64;
    let ramp = (feather.clamp(0.0, 0.5) * side as f32).max(f32::EPSILON);
    let view = frame.as_view();
    let (width, height) = (view.width() as i64, view.height() as i64);
    // A crop many frames wide (a huge margin) is not resized whole: its pixels are read from the
    // stylized image directly, nearest neighbour, and only where the frame shows them.
    let resized = if side as i64 <= 3 * width.max(height) {
        Some(image.resized(side, side)?)
    } else {
        None
    };
    let pixel = |x: usize, y: usize| match &resized {
        Some(resized) => resized.rgb(x, y),
        None => image.rgb(x * image.width() / side, y * image.height() / side),
    };
    let mut writes = Vec::new();
    let visible =
        |origin: i64, extent: i64| (-origin).max(0)..(extent - origin).min(side as i64).max(0);
    for y in visible(top, height) {
        let frame_y = top + y;
        for x in visible(left, width) {
            let frame_x = left + x;
            // Distance to the nearest edge of the crop, in pixel centres.
            let edge = (x.min(side as i64 - 1 - x).min(y).min(side as i64 - 1 - y)) as f32 + 0.5;
            let alpha = (edge / ramp).min(1.0);
            let new = pixel(x as usize, y as usize);
            let old = view.rgb(frame_x as usize, frame_y as usize);
            let mixed = [0, 1, 2]
                .map(|c| (alpha * new[c] as f32 + (1.0 - alpha) * old[c] as f32).round() as u8);
            writes.push((frame_x as usize, frame_y as usize, mixed));
        }
    }
    for (x, y, rgb) in writes {
        frame.set_rgb(x, y, rgb);
    }
    Ok(())
}

/// Temporal smoothing of the stylized crop in face-aligned coordinates: the crop follows the face,
/// so averaging consecutive stylized crops steadies the drawing without smearing the motion of
/// the head. `strength` 0 is off; 0.5 mixes half of the previous result into each frame.
#[derive(Debug, Default)]
pub struct FlickerFilter {
    previous: Option<Vec<f32>>,
}

impl FlickerFilter {
    pub fn reset(&mut self) {
        self.previous = None;
    }

    pub fn filter(&mut self, image: &RgbImage, strength: f32) -> RgbImage {
        let strength = strength.clamp(0.0, 0.95);
        let current: Vec<f32> = image.data().iter().map(|&v| v as f32).collect();
        let mixed = match &self.previous {
            Some(previous) if strength > 0.0 && previous.len() == current.len() => current
                .iter()
                .zip(previous)
                .map(|(now, before)| (1.0 - strength) * now + strength * before)
                .collect(),
            _ => current,
        };
        let bytes = mixed
            .iter()
            .map(|v| v.round().clamp(0.0, 255.0) as u8)
            .collect();
        self.previous = Some(mixed);
        RgbImage::new(image.width(), image.height(), bytes).expect("same size as the input")
    }
}

/// How a stylization session draws: the pasted edge, the smoothing and the hold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StylizeSettings {
    /// Width of the blended edge of the pasted face, as a fraction of the crop's side.
    pub feather: f32,
    /// How much of the previous stylized face to mix into each new one (0: off).
    pub smoothing: f32,
    /// Frames without a face that keep showing the last stylized face.
    pub hold_frames: u32,
}

/// What a frame got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaceOutcome {
    /// The face was stylized and pasted.
    Stylized,
    /// The newest stylized face, moved by the mesh's motion since, was pasted where the face is
    /// now (in-betweens); `new_keyframe`: how long the network took for one that arrived now.
    Inbetween {
        new_keyframe: Option<std::time::Duration>,
    },
    /// No face: the last stylized face was pasted again (hold).
    Held,
    /// No face: the frame is left as it was.
    Unchanged,
}

/// The face being followed: its track id, its square crop and its mesh's points (x and y),
/// in fractions of the frame (no points without a mesh).
#[derive(Debug, Clone, PartialEq)]
pub struct FaceCrop {
    pub track: u64,
    pub crop: Rect,
    pub mesh: Vec<[f32; 2]>,
}

/// One stylization session, as the ugatit element runs it: the network, the flicker filter,
/// the held face for frames without one, and the face being followed.
pub struct FaceStylizer {
    /// Shared with the keyframes' thread, which holds it while it draws.
    stylizer: Arc<Mutex<Stylizer>>,
    /// Fixed by the model: read without waiting for that lock.
    image_size: usize,
    /// With in-betweens, the network on a thread of its own.
    keyframes: Option<StyleKeyframes>,
    flicker: FlickerFilter,
    /// The last stylized face and its crop (fractions of the frame), for the hold.
    held: Option<(RgbImage, Rect)>,
    frames_without_face: u32,
    last_track: Option<u64>,
}

impl FaceStylizer {
    pub fn new(stylizer: Stylizer) -> Self {
        FaceStylizer {
            image_size: stylizer.image_size(),
            stylizer: Arc::new(Mutex::new(stylizer)),
            keyframes: None,
            flicker: FlickerFilter::default(),
            held: None,
            frames_without_face: 0,
            last_track: None,
        }
    }

    /// Face mode's in-betweens: the network on a thread of its own at `pace`, or (`None`) on
    /// every frame on the caller's thread.
    pub fn set_inbetweens(&mut self, pace: Option<KeyframePace>) {
        if self.keyframes.as_ref().map(StyleKeyframes::pace) != pace {
            self.keyframes = pace.map(|pace| StyleKeyframes::new(self.stylizer.clone(), pace));
        }
    }

    /// The network, waiting for the keyframes' thread to finish a face it is drawing.
    fn network(&self) -> std::sync::MutexGuard<'_, Stylizer> {
        self.stylizer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A new stream: nothing of the old one is held or mixed in.
    pub fn reset(&mut self) {
        if let Some(keyframes) = &mut self.keyframes {
            keyframes.forget();
        }
        self.flicker.reset();
        self.held = None;
        self.frames_without_face = 0;
        self.last_track = None;
    }

    /// Stylizes the face of `input` into `output` (the same frame size), or holds or leaves the
    /// frame when there is none; pixels outside the face's crop are the input's.
    pub fn face(
        &mut self,
        input: &ImageView<'_>,
        output: &mut ImageViewMut<'_>,
        face: Option<FaceCrop>,
        settings: &StylizeSettings,
    ) -> Result<FaceOutcome, StylizeError> {
        output.write_view(input)?;
        let (width, height) = (input.width(), input.height());
        let Some(face) = face else {
            self.frames_without_face += 1;
            if let Some((image, crop)) = &self.held {
                if self.frames_without_face <= settings.hold_frames {
                    paste(
                        output,
                        image,
                        square_crop(&crop.to_pixels(width, height)),
                        settings.feather,
                    )?;
                    return Ok(FaceOutcome::Held);
                }
            }
            self.held = None;
            self.flicker.reset();
            return Ok(FaceOutcome::Unchanged);
        };
        self.frames_without_face = 0;
        if self.last_track != Some(face.track) {
            // Another face: the previous one's stylization must not bleed into it.
            self.flicker.reset();
            if let Some(keyframes) = &mut self.keyframes {
                keyframes.forget();
            }
            self.last_track = Some(face.track);
        }
        let crop = square_crop(&face.crop.to_pixels(width, height));
        let cut = crop_square(input, crop, self.image_size)?;
        let (stylized, outcome) = match &mut self.keyframes {
            Some(keyframes) => {
                let mesh = points_in_crop(
                    face.mesh.iter().copied(),
                    crop,
                    (width, height),
                    self.image_size,
                );
                let (picture, made) =
                    keyframes.frame(cut, mesh, &mut self.flicker, settings.smoothing)?;
                let outcome = match made {
                    Picture::Generated => FaceOutcome::Stylized,
                    Picture::Inbetween { new_keyframe } => FaceOutcome::Inbetween { new_keyframe },
                };
                (picture, outcome)
            }
            None => {
                let stylized = self.network().stylize(&cut)?;
                let stylized = self.flicker.filter(&stylized, settings.smoothing);
                (stylized, FaceOutcome::Stylized)
            }
        };
        paste(output, &stylized, crop, settings.feather)?;
        self.held = Some((stylized, face.crop));
        Ok(outcome)
    }

    /// The whole frame stylized, letterboxed to the model's square: at the model's size, or
    /// (`at_input_size`) back at the input's size with the letterbox cut away.
    pub fn frame(
        &mut self,
        input: &ImageView<'_>,
        settings: &StylizeSettings,
        at_input_size: bool,
    ) -> Result<RgbImage, StylizeError> {
        let (width, height) = (input.width(), input.height());
        let letterbox = SquareCrop::letterbox(width, height);
        let size = self.image_size;
        let stylized = self
            .network()
            .stylize(&crop_square(input, letterbox, size)?)?;
        let stylized = self.flicker.filter(&stylized, settings.smoothing);
        if !at_input_size {
            return Ok(stylized);
        }
        let side = letterbox.side.round() as usize;
        let square = stylized.resized(side, side)?;
        Ok(square.region((side - width) / 2, (side - height) / 2, width, height)?)
    }
}

/// Mean absolute difference of two images' bytes, in byte levels: between consecutive frames,
/// the flicker measure.
pub fn mean_abs_difference(a: &[u8], b: &[u8]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (*x as i32 - *y as i32).unsigned_abs() as f64)
        .sum::<f64>()
        / a.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::{ImageView, PixelFormat};

    #[test]
    fn pasting_touches_only_the_crop_and_feathers_its_edge() {
        let (width, height) = (12, 10);
        let mut data = vec![10u8; width * height * 4];
        let mut frame =
            ImageViewMut::new(&mut data, width, height, width * 4, PixelFormat::Bgrx).unwrap();
        let white = RgbImage::new(6, 6, vec![250; 6 * 6 * 3]).unwrap();
        let crop = SquareCrop {
            center_x: 9.0,
            center_y: 5.0,
            side: 6.0,
        }; // x in [6, 12), y in [2, 8)
        paste(&mut frame, &white, crop, 0.25).unwrap();
        let view = ImageView::new(&data, width, height, width * 4, PixelFormat::Bgrx).unwrap();
        for y in 0..height {
            for x in 0..width {
                let inside = (6..12).contains(&x) && (2..8).contains(&y);
                if !inside {
                    assert_eq!(view.rgb(x, y), [10, 10, 10], "({x}, {y}) outside changed");
                }
            }
        }
        assert_eq!(view.rgb(9, 5), [250, 250, 250], "centre fully replaced");
        let edge = view.rgb(6, 5)[0];
        assert!(edge > 10 && edge < 250, "edge blends: {edge}");
    }

    #[test]
    fn flicker_filter_averages_consecutive_crops() {
        let mut filter = FlickerFilter::default();
        let dark = RgbImage::new(1, 1, vec![0, 0, 0]).unwrap();
        let light = RgbImage::new(1, 1, vec![200, 200, 200]).unwrap();
        assert_eq!(filter.filter(&dark, 0.5), dark);
        assert_eq!(filter.filter(&light, 0.5).data(), &[100, 100, 100]);
        assert_eq!(filter.filter(&light, 0.0), light, "strength 0 is off");
        assert_eq!(mean_abs_difference(dark.data(), light.data()), 200.0);
    }
}
