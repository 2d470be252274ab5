//! An owned, tightly packed RGB picture: what crops, file reads and the models produce.

use super::format::{check_layout, PixelFormat};
use super::{ImageError, ImageView};

/// An owned, tightly packed RGB image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RgbImage {
    pub(super) width: usize,
    pub(super) height: usize,
    pub(super) data: Vec<u8>,
}

impl RgbImage {
    /// The `width` x `height` rectangle whose top-left pixel is (`left`, `top`), copied row by row.
    pub fn region(
        &self,
        left: usize,
        top: usize,
        width: usize,
        height: usize,
    ) -> Result<RgbImage, ImageError> {
        if left + width > self.width || top + height > self.height {
            return Err(ImageError::Geometry(format!(
                "region {width}x{height} at ({left}, {top}) is outside the {}x{} image",
                self.width, self.height
            )));
        }
        let mut data = Vec::with_capacity(width * height * 3);
        for row in self
            .data
            .chunks_exact(self.width * 3)
            .skip(top)
            .take(height)
        {
            data.extend_from_slice(&row[left * 3..(left + width) * 3]);
        }
        RgbImage::new(width, height, data)
    }

    pub fn new(width: usize, height: usize, data: Vec<u8>) -> Result<Self, ImageError> {
        check_layout(data.len(), width, height, width * 3, PixelFormat::Rgb)?;
        Ok(RgbImage {
            width,
            height,
            data,
        })
    }

    /// A black image.
    pub fn black(width: usize, height: usize) -> Self {
        RgbImage {
            width,
            height,
            data: vec![0; width * height * 3],
        }
    }

    /// A copy of a frame in any pixel format.
    pub fn from_view(view: &ImageView<'_>) -> Self {
        let mut data = Vec::with_capacity(view.width * view.height * 3);
        for y in 0..view.height {
            for x in 0..view.width {
                data.extend_from_slice(&view.rgb(x, y));
            }
        }
        RgbImage {
            width: view.width,
            height: view.height,
            data,
        }
    }

    pub fn width(&self) -> usize {
        self.width
    }

    pub fn height(&self) -> usize {
        self.height
    }

    /// `self` at `weight` 0, `other` (of the same size) at 1, pixel by pixel.
    pub fn blended(&self, other: &RgbImage, weight: f32) -> Result<RgbImage, ImageError> {
        if (self.width, self.height) != (other.width, other.height) {
            return Err(ImageError::SizeMismatch {
                from: (other.width, other.height),
                into: (self.width, self.height),
            });
        }
        let weight = weight.clamp(0.0, 1.0);
        let data = self
            .data
            .iter()
            .zip(&other.data)
            .map(|(&a, &b)| (f32::from(a) + (f32::from(b) - f32::from(a)) * weight).round() as u8)
            .collect();
        RgbImage::new(self.width, self.height, data)
    }

    pub fn data(&self) -> &[u8] {
        &self.data
    }

    pub fn rgb(&self, x: usize, y: usize) -> [u8; 3] {
        let base = (y * self.width + x) * 3;
        [self.data[base], self.data[base + 1], self.data[base + 2]]
    }

    pub fn view(&self) -> ImageView<'_> {
        ImageView {
            data: &self.data,
            width: self.width,
            height: self.height,
            stride: self.width * 3,
            format: PixelFormat::Rgb,
        }
    }
}
