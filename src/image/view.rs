//! Borrowed frames: a buffer of rows read (or written) pixel by pixel in any packed format.

use super::format::{check_layout, PixelFormat};
use super::{ImageError, RgbImage};

/// A borrowed frame: `height` rows of `stride` bytes, `width` pixels of `format` each.
#[derive(Debug, Clone, Copy)]
pub struct ImageView<'a> {
    pub(super) data: &'a [u8],
    pub(super) width: usize,
    pub(super) height: usize,
    pub(super) stride: usize,
    pub(super) format: PixelFormat,
}

impl<'a> ImageView<'a> {
    pub fn new(
        data: &'a [u8],
        width: usize,
        height: usize,
        stride: usize,
        format: PixelFormat,
    ) -> Result<Self, ImageError> {
        check_layout(data.len(), width, height, stride, format)?;
        Ok(ImageView {
            data,
            width,
            height,
            stride,
            format,
        })
    }

    pub fn width(&self) -> usize {
        self.width
    }

    pub fn height(&self) -> usize {
        self.height
    }

    pub fn format(&self) -> PixelFormat {
        self.format
    }

    /// The RGB value of pixel `(x, y)`.
    pub fn rgb(&self, x: usize, y: usize) -> [u8; 3] {
        let base = y * self.stride + x * self.format.bytes_per_pixel();
        self.format
            .rgb_offsets()
            .map(|offset| self.data[base + offset])
    }
}

/// A mutable borrowed frame, for writing results back.
#[derive(Debug)]
pub struct ImageViewMut<'a> {
    pub(super) data: &'a mut [u8],
    pub(super) width: usize,
    pub(super) height: usize,
    pub(super) stride: usize,
    pub(super) format: PixelFormat,
}

impl<'a> ImageViewMut<'a> {
    pub fn new(
        data: &'a mut [u8],
        width: usize,
        height: usize,
        stride: usize,
        format: PixelFormat,
    ) -> Result<Self, ImageError> {
        check_layout(data.len(), width, height, stride, format)?;
        Ok(ImageViewMut {
            data,
            width,
            height,
            stride,
            format,
        })
    }

    pub fn width(&self) -> usize {
        self.width
    }

    pub fn height(&self) -> usize {
        self.height
    }

    pub fn as_view(&self) -> ImageView<'_> {
        ImageView {
            data: self.data,
            width: self.width,
            height: self.height,
            stride: self.stride,
            format: self.format,
        }
    }

    /// Whether the format has an alpha byte (RGBA, BGRA).
    pub fn has_alpha(&self) -> bool {
        matches!(self.format, PixelFormat::Rgba | PixelFormat::Bgra)
    }

    /// Sets pixel `(x, y)` and its alpha (a padding byte becomes opaque; RGB has none).
    pub fn set_rgba(&mut self, x: usize, y: usize, rgb: [u8; 3], alpha: u8) {
        self.set_rgb(x, y, rgb);
        if self.has_alpha() {
            let base = y * self.stride + x * 4;
            self.data[base + 3] = alpha;
        }
    }

    /// Sets pixel `(x, y)`; a padding or alpha byte becomes opaque.
    pub fn set_rgb(&mut self, x: usize, y: usize, rgb: [u8; 3]) {
        let bytes = self.format.bytes_per_pixel();
        let base = y * self.stride + x * bytes;
        if bytes == 4 {
            self.data[base + 3] = 255;
        }
        for (offset, value) in self.format.rgb_offsets().into_iter().zip(rgb) {
            self.data[base + offset] = value;
        }
    }

    /// Copies a frame of the same size into this one, converting the pixel format.
    pub fn write_view(&mut self, source: &ImageView<'_>) -> Result<(), ImageError> {
        if (source.width, source.height) != (self.width, self.height) {
            return Err(ImageError::SizeMismatch {
                from: (source.width, source.height),
                into: (self.width, self.height),
            });
        }
        let row = self.width * self.format.bytes_per_pixel();
        if source.format == self.format {
            for y in 0..self.height {
                self.data[y * self.stride..][..row]
                    .copy_from_slice(&source.data[y * source.stride..][..row]);
            }
            return Ok(());
        }
        for y in 0..self.height {
            for x in 0..self.width {
                self.set_rgb(x, y, source.rgb(x, y));
            }
        }
        Ok(())
    }

    /// Writes a whole RGB image of the same size into the frame, converting the pixel format.
    pub fn write_rgb(&mut self, image: &RgbImage) -> Result<(), ImageError> {
        if (image.width, image.height) != (self.width, self.height) {
            return Err(ImageError::SizeMismatch {
                from: (image.width, image.height),
                into: (self.width, self.height),
            });
        }
        for y in 0..self.height {
            for x in 0..self.width {
                self.set_rgb(x, y, image.rgb(x, y));
            }
        }
        Ok(())
    }
}
