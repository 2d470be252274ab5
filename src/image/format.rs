//! Packed 8-bit pixel layouts and the check that a buffer holds the frame it claims to.

use opencv::core::{CV_8UC3, CV_8UC4};

use super::ImageError;

/// Packed 8-bit pixel layouts we read and write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PixelFormat {
    Rgb,
    Bgr,
    Rgba,
    Bgra,
    Rgbx,
    Bgrx,
}

impl PixelFormat {
    pub fn bytes_per_pixel(self) -> usize {
        match self {
            PixelFormat::Rgb | PixelFormat::Bgr => 3,
            _ => 4,
        }
    }

    /// Byte offsets of red, green and blue inside a pixel.
    pub(super) fn rgb_offsets(self) -> [usize; 3] {
        match self {
            PixelFormat::Rgb | PixelFormat::Rgba | PixelFormat::Rgbx => [0, 1, 2],
            PixelFormat::Bgr | PixelFormat::Bgra | PixelFormat::Bgrx => [2, 1, 0],
        }
    }

    pub(super) fn cv_type(self) -> i32 {
        if self.bytes_per_pixel() == 3 {
            CV_8UC3
        } else {
            CV_8UC4
        }
    }
}

pub(super) fn check_layout(
    len: usize,
    width: usize,
    height: usize,
    stride: usize,
    format: PixelFormat,
) -> Result<(), ImageError> {
    if width == 0 || height == 0 {
        return Err(ImageError::Empty { width, height });
    }
    let row = width * format.bytes_per_pixel();
    if stride < row {
        return Err(ImageError::StrideTooSmall {
            stride,
            width,
            format,
        });
    }
    let needed = stride * (height - 1) + row;
    if len < needed {
        return Err(ImageError::BufferTooSmall {
            len,
            width,
            height,
            stride,
            format,
            needed,
        });
    }
    Ok(())
}
