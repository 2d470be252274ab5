//! Faces: detector backends behind one trait, the tracker that follows and smooths the primary
//! face, and the face track payload the elements pass along as metadata.

mod blazeface;
mod either_range;
mod filter;
mod geometry;
mod haar;
mod mesh;
mod tracker;

pub use blazeface::{BlazeFace, BLAZEFACE_MODEL_ID, FULL_RANGE_MODEL_ID};
pub use either_range::EitherRange;
pub use filter::{OneEuroFilter, OneEuroParams};
pub use geometry::{crop_box, Rect};
pub use haar::{HaarCascade, DEFAULT_HAAR_CASCADE};
pub use mesh::{
    points as mesh_points, Expression, FaceMesh, Gaze, HeadPose, Iris, Mesh, MeshRegion,
    ATTENTION_MESH_MODEL, FACE_MESH_MODEL, MESH_POINTS,
};
pub use tracker::{FaceTrack, NotDriving, TrackState, Tracker, TrackerConfig};

use crate::image::{ImageError, ImageView, SquareCrop};
use crate::inference::{ManifestError, ModelError};
use crate::tensor::TensorError;

#[derive(Debug, thiserror::Error)]
pub enum FaceError {
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error(transparent)]
    Image(#[from] ImageError),
    #[error(transparent)]
    Tensor(#[from] TensorError),
    #[error("face detector model {path} is missing or unreadable: {reason}")]
    DetectorFile { path: String, reason: String },
    #[error("OpenCV: {0}")]
    OpenCv(String),
}

impl From<opencv::Error> for FaceError {
    fn from(error: opencv::Error) -> Self {
        FaceError::OpenCv(error.to_string())
    }
}

/// One face found in a frame, in the frame's pixel coordinates.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    pub face: Rect,
    /// Detector landmarks; BlazeFace gives six: the subject's right eye, left eye, nose tip,
    /// mouth centre, right ear tragion, left ear tragion. Empty for detectors without any.
    pub landmarks: Vec<[f32; 2]>,
    /// Confidence in [0, 1].
    pub score: f32,
}

/// A face detector: every face in a frame, any order.
pub trait FaceDetector: Send {
    fn detect(&mut self, frame: &ImageView<'_>) -> Result<Vec<Detection>, FaceError>;

    /// Execution providers `auto` tried before the one in use, with why each failed.
    fn fallbacks(&self) -> &[String] {
        &[]
    }

    /// Faces inside a square region of the frame (which may extend past its edges). Detectors with
    /// a small fixed input see a face much larger this way than in the whole frame; the default
    /// runs on the whole frame and keeps faces centred in the region.
    fn detect_in(
        &mut self,
        frame: &ImageView<'_>,
        region: SquareCrop,
    ) -> Result<Vec<Detection>, FaceError> {
        let (left, top) = (region.left(), region.top());
        Ok(self
            .detect(frame)?
            .into_iter()
            .filter(|d| {
                let (x, y) = d.face.center();
                (left..left + region.side).contains(&x) && (top..top + region.side).contains(&y)
            })
            .collect())
    }

    /// Minimum confidence (for detectors that give one) and minimum face size in pixels; may
    /// change between frames.
    fn set_limits(&mut self, score_threshold: f32, min_face_size: f32);

    /// Short name for logs and stats (`blazeface`, `haar`).
    fn name(&self) -> &'static str;

    /// Execution provider in use, for detectors that run through ONNX Runtime.
    fn provider(&self) -> Option<crate::inference::Provider> {
        None
    }

    /// Time spent inside ONNX Runtime since loading (zero for detectors that use none).
    fn inference_time(&self) -> std::time::Duration {
        std::time::Duration::ZERO
    }
}

/// Draws a track onto a frame for debugging: the face box in green, the crop in blue, the
/// landmarks as red dots. A lost track draws nothing.
pub fn draw_track(frame: &mut crate::image::ImageViewMut<'_>, track: &FaceTrack) {
    if !track.state.has_face() {
        return;
    }
    let (width, height) = (frame.width(), frame.height());
    let mut outline = |rect: Rect, rgb: [u8; 3]| {
        let rect = rect.to_pixels(width, height);
        let clamp_x = |v: f32| (v.round().max(0.0) as usize).min(width - 1);
        let clamp_y = |v: f32| (v.round().max(0.0) as usize).min(height - 1);
        let (x0, x1) = (clamp_x(rect.x), clamp_x(rect.x + rect.width));
        let (y0, y1) = (clamp_y(rect.y), clamp_y(rect.y + rect.height));
        for x in x0..=x1 {
            frame.set_rgb(x, y0, rgb);
            frame.set_rgb(x, y1, rgb);
        }
        for y in y0..=y1 {
            frame.set_rgb(x0, y, rgb);
            frame.set_rgb(x1, y, rgb);
        }
    };
    outline(track.face, [0, 255, 0]);
    outline(track.crop, [0, 128, 255]);
    for [u, v] in &track.landmarks {
        let (cx, cy) = ((u * width as f32) as i64, (v * height as f32) as i64);
        for y in cy - 2..=cy + 2 {
            for x in cx - 2..=cx + 2 {
                if (0..width as i64).contains(&x) && (0..height as i64).contains(&y) {
                    frame.set_rgb(x as usize, y as usize, [255, 0, 0]);
                }
            }
        }
    }
}

/// A square pixel rectangle (a crop box) as the crop the tensor code samples.
pub fn square_crop(rect: &Rect) -> SquareCrop {
    let (center_x, center_y) = rect.center();
    SquareCrop {
        center_x,
        center_y,
        side: rect.width.max(rect.height),
    }
}

/// The crop of a still portrait the models take: around the largest face the detector finds
/// (with `margin`, see [`crop_box`]), or, when it finds none, the centred square (`None` face).
pub fn portrait_crop(
    image: &crate::image::RgbImage,
    detector: &mut dyn FaceDetector,
    margin: f32,
) -> Result<(SquareCrop, Option<Detection>), FaceError> {
    let face = detector
        .detect(&image.view())?
        .into_iter()
        .max_by(|a, b| (a.face.area() * a.score).total_cmp(&(b.face.area() * b.score)));
    let crop = match &face {
        Some(face) => square_crop(&crop_box(&face.face, margin)),
        None => SquareCrop::centred(image.width(), image.height()),
    };
    Ok((crop, face))
}
