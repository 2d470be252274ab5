//! Resizing: area averaging when shrinking, bilinear when growing.

use std::borrow::Cow;

use opencv::core::{Mat, Size};

use super::format::PixelFormat;
use super::opencv_bridge::rgb_from_mat;
use super::{ImageError, RgbImage};

impl RgbImage {
    /// The image at `width` x `height`: borrowed when it already is, else resized (see
    /// [`RgbImage::resized`]). Per-frame paths take crops already at the model's size.
    pub fn at_size(&self, width: usize, height: usize) -> Result<Cow<'_, RgbImage>, ImageError> {
        if (width, height) == (self.width, self.height) {
            Ok(Cow::Borrowed(self))
        } else {
            self.resized(width, height).map(Cow::Owned)
        }
    }

    /// Resized copy: area averaging when shrinking (no aliasing), bilinear when growing.
    pub fn resized(&self, width: usize, height: usize) -> Result<RgbImage, ImageError> {
        if (width, height) == (self.width, self.height) {
            return Ok(self.clone());
        }
        let shrinking = width < self.width || height < self.height;
        let interpolation = if shrinking {
            opencv::imgproc::INTER_AREA
        } else {
            opencv::imgproc::INTER_LINEAR
        };
        let mut resized = Mat::default();
        opencv::imgproc::resize(
            &self.view().as_mat()?,
            &mut resized,
            Size::new(width as i32, height as i32),
            0.0,
            0.0,
            interpolation,
        )?;
        rgb_from_mat(&resized, PixelFormat::Rgb)
    }
}
