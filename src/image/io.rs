//! Reading pictures from files.

use std::io::{BufRead, Read, Seek};

use opencv::core::Mat;
use opencv::prelude::*;

use super::{ImageError, RgbImage};

/// The width and height a PNG or JPEG declares in its header (PNG's IHDR, JPEG's start of
/// frame), read without decoding a pixel: a picture's cost is known before it is paid. `None` for
/// other files, or a header this reader does not follow; the decoder judges those.
pub fn declared_size(path: &std::path::Path) -> std::io::Result<Option<(usize, usize)>> {
    // Opening a FIFO with no writer blocks for ever, and a device has no header to read.
    if !std::fs::metadata(path)?.is_file() {
        return Ok(None);
    }
    let mut file = std::io::BufReader::new(std::fs::File::open(path)?);
    let mut start = [0u8; 8];
    if file.read_exact(&mut start).is_err() {
        return Ok(None);
    }
    if start == PNG_SIGNATURE {
        // The first chunk is IHDR: length (4), type (4), width (4), height (4), big-endian.
        let mut ihdr = [0u8; 16];
        if file.read_exact(&mut ihdr).is_err() || &ihdr[4..8] != b"IHDR" {
            return Ok(None);
        }
        let width = u32::from_be_bytes([ihdr[8], ihdr[9], ihdr[10], ihdr[11]]);
        let height = u32::from_be_bytes([ihdr[12], ihdr[13], ihdr[14], ihdr[15]]);
        return Ok(Some((width as usize, height as usize)));
    }
    if start[..2] != [0xFF, 0xD8] {
        return Ok(None);
    }
    file.seek(std::io::SeekFrom::Start(2))?;
    Ok(jpeg_frame_size(&mut file).ok().flatten())
}

const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];

/// Walks a JPEG's segments (after its start-of-image marker) to its start of frame.
fn jpeg_frame_size(file: &mut impl BufRead) -> std::io::Result<Option<(usize, usize)>> {
    let mut byte = [0u8; 1];
    loop {
        // A marker is 0xFF (any number of them, the padding) and its code. Stray bytes before
        // it are skipped, as libjpeg does: it decodes such files, so their size must be found.
        file.read_exact(&mut byte)?;
        while byte[0] != 0xFF {
            file.read_exact(&mut byte)?;
        }
        while byte[0] == 0xFF {
            file.read_exact(&mut byte)?;
        }
        let marker = byte[0];
        match marker {
            // Markers without a segment.
            0x01 | 0xD0..=0xD8 => continue,
            // End of image or start of scan before any frame header.
            0xD9 | 0xDA => return Ok(None),
            _ => {}
        }
        let length = read_u16(file)?;
        // Start-of-frame markers, all but DHT (C4), JPG (C8) and DAC (CC).
        if (0xC0..=0xCF).contains(&marker) && ![0xC4, 0xC8, 0xCC].contains(&marker) {
            file.read_exact(&mut byte)?; // sample precision
            let height = read_u16(file)?;
            let width = read_u16(file)?;
            return Ok(Some((width as usize, height as usize)));
        }
        let Some(skip) = length.checked_sub(2) else {
            return Ok(None);
        };
        std::io::copy(&mut file.by_ref().take(skip as u64), &mut std::io::sink())?;
    }
}

fn read_u16(file: &mut impl Read) -> std::io::Result<u16> {
    let mut two = [0u8; 2];
    file.read_exact(&mut two)?;
    Ok(u16::from_be_bytes(two))
}

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

/// Writes `image` as a PNG at `path` (replacing what is there: callers decide whether they may).
pub fn write_png(path: &std::path::Path, image: &RgbImage) -> Result<(), ImageError> {
    let failed = |reason: String| ImageError::Unwritable {
        path: path.display().to_string(),
        reason,
    };
    let rgb = image.to_mat()?;
    let mut bgr = Mat::default();
    opencv::imgproc::cvt_color_def(&rgb, &mut bgr, opencv::imgproc::COLOR_RGB2BGR)?;
    match opencv::imgcodecs::imwrite_def(path.as_os_str(), &bgr) {
        Ok(true) => Ok(()),
        Ok(false) => Err(failed("OpenCV could not encode or write it".into())),
        Err(e) => Err(failed(e.to_string())),
    }
}
