//! The bridge to OpenCV: Mat headers over our frames and copies back out of Mats.

use opencv::core::{Mat, Size};
use opencv::prelude::*;

use super::format::PixelFormat;
use super::{ImageError, ImageView, RgbImage};

impl ImageView<'_> {
    /// An OpenCV header over the same bytes; OpenCV only reads through it.
    pub(super) fn as_mat(&self) -> Result<Mat, ImageError> {
        // SAFETY: the layout was checked in `new`, the Mat is only read, and it does not outlive
        // `self` (every caller drops it before returning).
        let mat = unsafe {
            Mat::new_rows_cols_with_data_unsafe(
                self.height as i32,
                self.width as i32,
                self.format.cv_type(),
                self.data.as_ptr() as *mut std::ffi::c_void,
                self.stride,
            )?
        };
        Ok(mat)
    }
}

impl RgbImage {
    /// An owned 3-channel OpenCV copy, for OpenCV calls that keep their input (remap sources).
    pub(crate) fn to_mat(&self) -> Result<Mat, ImageError> {
        Ok(self.view().as_mat()?.try_clone()?)
    }
}

pub(super) fn rgb_from_mat(mat: &Mat, format: PixelFormat) -> Result<RgbImage, ImageError> {
    let (width, height) = (mat.cols() as usize, mat.rows() as usize);
    let bytes = mat.data_bytes()?;
    let view = ImageView::new(
        bytes,
        width,
        height,
        width * format.bytes_per_pixel(),
        format,
    )?;
    Ok(RgbImage::from_view(&view))
}

/// A single-channel 8-bit copy of a frame at `width` x `height` (area-averaged when smaller), for
/// OpenCV's detectors and optical flow.
pub fn gray(view: &ImageView<'_>, width: usize, height: usize) -> Result<Mat, ImageError> {
    let code = match view.format {
        PixelFormat::Rgb => opencv::imgproc::COLOR_RGB2GRAY,
        PixelFormat::Bgr => opencv::imgproc::COLOR_BGR2GRAY,
        PixelFormat::Rgba | PixelFormat::Rgbx => opencv::imgproc::COLOR_RGBA2GRAY,
        PixelFormat::Bgra | PixelFormat::Bgrx => opencv::imgproc::COLOR_BGRA2GRAY,
    };
    let mut full = Mat::default();
    opencv::imgproc::cvt_color_def(&view.as_mat()?, &mut full, code)?;
    if (width, height) == (view.width, view.height) {
        return Ok(full);
    }
    let mut scaled = Mat::default();
    opencv::imgproc::resize(
        &full,
        &mut scaled,
        Size::new(width as i32, height as i32),
        0.0,
        0.0,
        opencv::imgproc::INTER_AREA,
    )?;
    Ok(scaled)
}
