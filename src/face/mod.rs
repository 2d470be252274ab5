//! Faces: detector backends behind one trait, the tracker that follows and smooths the primary
//! face, and the face track payload the elements pass along as metadata.

mod blazeface;
mod filter;
mod geometry;
mod haar;
mod tracker;

pub use blazeface::{BlazeFace, BLAZEFACE_MODEL_ID};
pub use filter::{OneEuroFilter, OneEuroParams};
pub use geometry::{crop_box, Rect};
pub use haar::{HaarCascade, DEFAULT_HAAR_CASCADE};
pub use tracker::{FaceTrack, TrackState, Tracker, TrackerConfig};

use crate::inference::{ManifestError, ModelError};
use crate::tensor::{ImageView, SquareCrop, TensorError};

#[derive(Debug, thiserror::Error)]
pub enum FaceError {
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Manifest(#[from] ManifestError),
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

    /// Short name for logs and stats (`blazeface`, `haar`).
    fn name(&self) -> &'static str;

    /// Execution provider in use, for detectors that run through ONNX Runtime.
    fn provider(&self) -> Option<crate::inference::Provider> {
        None
    }
}
