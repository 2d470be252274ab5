//! Reading pictures from files.

use opencv::core::Mat;
use opencv::prelude::*;

use super::{ImageError, RgbImage};

/// Reads a PNG or JPEG. Transparent pixels are laid over white, as portraits are drawn.
pub fn read_image(path: &std::path::Path) -> Result<RgbImage, ImageError> {
    read_image_with_alpha(path).map(|(image, _)| image)
}

/// [`read_image`], and the file's alpha channel when it has one, as a grey picture (alpha in all
/// three channels): kept that way, it goes through the very crops, resizes and warps the colours
/// go through.
pub fn read_image_with_alpha(
    path: &std::path::Path,
) -> Result<(RgbImage, Option<RgbImage>), ImageError> {
    let unreadable = |reason: &str| ImageError::Unreadable {
        path: path.display().to_string(),
        reason: reason.to_owned(),
    };
    if !path.is_file() {
        return Err(unreadable("no such file"));
    }
    // JPEGs (phone photos above all) are turned upright by their EXIF orientation, which only
    // IMREAD_COLOR applies; other files keep their alpha channel with IMREAD_UNCHANGED.
    let mut magic = [0u8; 2];
    let is_jpeg = std::fs::File::open(path)
        .and_then(|mut file| std::io::Read::read_exact(&mut file, &mut magic))
        .is_ok()
        && magic == [0xFF, 0xD8];
    let flags = if is_jpeg {
        opencv::imgcodecs::IMREAD_COLOR
    } else {
        opencv::imgcodecs::IMREAD_UNCHANGED
    };
    let mat = opencv::imgcodecs::imread(path.as_os_str(), flags)?;
    if mat.empty() {
        return Err(unreadable(
            "not an image OpenCV can decode (expected PNG or JPEG)",
        ));
    }
    let mut eight_bit = Mat::default();
    let depth = mat.depth();
    if depth == opencv::core::CV_16U {
        mat.convert_to(&mut eight_bit, opencv::core::CV_8U, 1.0 / 257.0, 0.0)?;
    } else if depth == opencv::core::CV_8U {
        eight_bit = mat;
    } else {
        return Err(unreadable(
            "unsupported sample depth (expected 8 or 16 bits)",
        ));
    }
    let (width, height) = (eight_bit.cols() as usize, eight_bit.rows() as usize);
    let channels = eight_bit.channels() as usize;
    let bytes = eight_bit.data_bytes()?;
    let mut data = Vec::with_capacity(width * height * 3);
    let mut alpha_plane = Vec::with_capacity(if channels == 4 { width * height * 3 } else { 0 });
    for pixel in bytes.chunks_exact(channels) {
        match channels {
            1 => data.extend_from_slice(&[pixel[0]; 3]),
            3 => data.extend_from_slice(&[pixel[2], pixel[1], pixel[0]]),
            4 => {
                let alpha = pixel[3] as u32;
                let over_white =
                    |v: u8| ((v as u32 * alpha + 255 * (255 - alpha) + 127) / 255) as u8;
                data.extend_from_slice(&[
                    over_white(pixel[2]),
                    over_white(pixel[1]),
                    over_white(pixel[0]),
                ]);
                alpha_plane.extend_from_slice(&[pixel[3]; 3]);
            }
            _ => return Err(unreadable("unsupported channel count")),
        }
    }
    let alpha = if channels == 4 {
        Some(RgbImage::new(width, height, alpha_plane)?)
    } else {
        None
    };
    Ok((RgbImage::new(width, height, data)?, alpha))
}
