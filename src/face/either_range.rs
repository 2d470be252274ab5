//! `detector=auto`: BlazeFace's short-range model while it finds the face, the full-range model
//! on the frames where it finds none (a face small in the picture: far from the camera, or one
//! of a group), then the short range again. The short-range model is the cheaper and the steadier
//! on a face near the camera, which is the usual webcam picture.

use super::{BlazeFace, Detection, FaceDetector, FaceError};
use crate::image::{ImageView, SquareCrop};

pub struct EitherRange {
    short: BlazeFace,
    full: BlazeFace,
    fallbacks: Vec<String>,
}

impl EitherRange {
    pub fn new(short: BlazeFace, full: BlazeFace) -> Self {
        let fallbacks = short
            .fallbacks()
            .iter()
            .chain(full.fallbacks())
            .cloned()
            .collect();
        EitherRange {
            short,
            full,
            fallbacks,
        }
    }
}

impl FaceDetector for EitherRange {
    fn detect(&mut self, frame: &ImageView<'_>) -> Result<Vec<Detection>, FaceError> {
        let found = self.short.detect(frame)?;
        if !found.is_empty() {
            return Ok(found);
        }
        self.full.detect(frame)
    }

    fn detect_in(
        &mut self,
        frame: &ImageView<'_>,
        region: SquareCrop,
    ) -> Result<Vec<Detection>, FaceError> {
        let found = self.short.detect_in(frame, region)?;
        if !found.is_empty() {
            return Ok(found);
        }
        self.full.detect_in(frame, region)
    }

    fn fallbacks(&self) -> &[String] {
        &self.fallbacks
    }

    fn set_limits(&mut self, score_threshold: f32, min_face_size: f32) {
        self.short.set_limits(score_threshold, min_face_size);
        self.full.set_limits(score_threshold, min_face_size);
    }

    fn name(&self) -> &'static str {
        "blazeface short and full range"
    }

    fn provider(&self) -> Option<crate::inference::Provider> {
        self.short.provider()
    }

    fn inference_time(&self) -> std::time::Duration {
        self.short.inference_time() + self.full.inference_time()
    }
}
