//! OpenCV's Haar cascade: the detector that needs no ONNX model at all (Debian's `opencv-data`).

use opencv::core::{Mat, Rect as CvRect, Size, Vector};
use opencv::objdetect::CascadeClassifier;
use opencv::prelude::*;

use super::{Detection, FaceDetector, FaceError, Rect};
use crate::image::{gray, ImageView};

/// Where Debian's `opencv-data` puts the frontal face cascade.
pub const DEFAULT_HAAR_CASCADE: &str =
    "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml";

/// Detection runs on the frame scaled to this width: Haar's cost grows with the area and webcam
/// faces are large, while tiny frames (QCIF clips) need enlarging for the 24-pixel cascade.
const DETECT_WIDTH: usize = 320;

pub struct HaarCascade {
    classifier: CascadeClassifier,
    /// Faces whose larger side is smaller than this many frame pixels are ignored.
    pub min_face_size: f32,
    /// Neighbour count needed to accept a face; its confidence grows with the neighbours found.
    pub min_neighbors: i32,
}

impl HaarCascade {
    pub fn load(path: &std::path::Path) -> Result<Self, FaceError> {
        let unreadable = |reason: String| FaceError::DetectorFile {
            path: path.display().to_string(),
            reason,
        };
        if !path.is_file() {
            return Err(unreadable(
                "no such file; install Debian's opencv-data (apt-get install opencv-data)".into(),
            ));
        }
        let classifier =
            CascadeClassifier::new(path.as_os_str()).map_err(|e| unreadable(e.to_string()))?;
        if classifier.empty().map_err(|e| unreadable(e.to_string()))? {
            return Err(unreadable("not a cascade classifier file".into()));
        }
        Ok(HaarCascade {
            classifier,
            min_face_size: 0.0,
            min_neighbors: 4,
        })
    }
}

impl FaceDetector for HaarCascade {
    fn detect(&mut self, frame: &ImageView<'_>) -> Result<Vec<Detection>, FaceError> {
        let scale = DETECT_WIDTH as f32 / frame.width() as f32;
        let width = ((frame.width() as f32 * scale).round() as usize).max(1);
        let height = ((frame.height() as f32 * scale).round() as usize).max(1);
        let mut gray_frame = gray(frame, width, height)?;
        let mut equalized = Mat::default();
        opencv::imgproc::equalize_hist(&gray_frame, &mut equalized)?;
        gray_frame = equalized;
        let mut faces = Vector::<CvRect>::new();
        let mut neighbors = Vector::<i32>::new();
        let min_side = ((self.min_face_size * scale) as i32).max(20);
        self.classifier.detect_multi_scale2(
            &gray_frame,
            &mut faces,
            &mut neighbors,
            1.1,
            self.min_neighbors,
            0,
            Size::new(min_side, min_side),
            Size::default(),
        )?;
        Ok(faces
            .iter()
            .zip(neighbors.iter())
            .map(|(face, neighbors)| Detection {
                face: Rect {
                    x: face.x as f32 / scale,
                    y: face.y as f32 / scale,
                    width: face.width as f32 / scale,
                    height: face.height as f32 / scale,
                },
                landmarks: Vec::new(),
                // Haar gives no probability; more agreeing neighbours mean a surer face.
                score: neighbors as f32 / (neighbors as f32 + 5.0),
            })
            .collect())
    }

    fn set_limits(&mut self, _score_threshold: f32, min_face_size: f32) {
        // Haar has no probability to threshold; its neighbour count plays that part.
        self.min_face_size = min_face_size;
    }

    fn name(&self) -> &'static str {
        "haar"
    }
}
