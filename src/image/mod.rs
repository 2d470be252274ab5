//! Frames as plain image views (width, height, stride, pixel format), owned RGB pictures, file
//! I/O, square and rotated crops with out-of-frame padding, and resizing. The NCHW/NHWC tensors
//! the models take are made from these by the `tensor` module, one floor up.
//!
//! Coordinates are continuous pixel coordinates: pixel `(i, j)` covers `[i, i+1) x [j, j+1)`, so a
//! crop of side `s` centred on `(cx, cy)` covers `[cx - s/2, cx + s/2)`.

mod crop;
mod format;
mod io;
mod opencv_bridge;
mod remap;
mod resize;
mod rgb;
#[cfg(test)]
mod tests;
mod view;

pub use crop::{crop_rotated, crop_square, crop_square_with, CropMap, Outside, SquareCrop};
pub use format::PixelFormat;
pub use io::{declared_size, read_image, read_image_with_alpha, write_png};
pub use opencv_bridge::gray;
pub use remap::{backward_map, read_through};
pub use rgb::RgbImage;
pub use view::{ImageView, ImageViewMut};

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ImageError {
    #[error("image buffer of {len} bytes is too small for {width}x{height} {format:?} with stride {stride} (needs {needed})")]
    BufferTooSmall {
        len: usize,
        width: usize,
        height: usize,
        stride: usize,
        format: PixelFormat,
        needed: usize,
    },
    #[error("stride {stride} is smaller than a row of {width} {format:?} pixels")]
    StrideTooSmall {
        stride: usize,
        width: usize,
        format: PixelFormat,
    },
    #[error("empty image {width}x{height}")]
    Empty { width: usize, height: usize },
    #[error("image sizes differ: {from:?} into {into:?}")]
    SizeMismatch {
        from: (usize, usize),
        into: (usize, usize),
    },
    #[error("cannot read image {path}: {reason}")]
    Unreadable { path: String, reason: String },
    #[error("cannot write image {path}: {reason}")]
    Unwritable { path: String, reason: String },
    #[error("OpenCV: {0}")]
    OpenCv(String),
    #[error("{0}")]
    Geometry(String),
}

impl From<opencv::Error> for ImageError {
    fn from(error: opencv::Error) -> Self {
        ImageError::OpenCv(error.to_string())
    }
}
