//! What the avatar is shown over: its portrait's own background, nothing (an alpha channel, for
//! an OBS overlay) or a flat colour (for a call app's chroma key).

use crate::image::{ImageError, ImageViewMut, RgbImage};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Background {
    /// The portrait as drawn, over white where it is transparent.
    #[default]
    Portrait,
    /// The avatar's alpha in the output's alpha channel (RGBA or BGRA output).
    Transparent,
    /// The avatar over this colour (RGB).
    Color([u8; 3]),
}

/// Writes an avatar picture into `out` over `background`. `picture` is the avatar as decoded,
/// over white; `alpha` its alpha as a grey picture. Without an alpha, the portrait's own
/// background is written and `Ok(false)` returned when another was asked for.
pub fn write_avatar(
    out: &mut ImageViewMut<'_>,
    picture: &RgbImage,
    alpha: Option<&RgbImage>,
    background: Background,
) -> Result<bool, ImageError> {
    let alpha = match (background, alpha) {
        (Background::Portrait, _) | (_, None) => {
            out.write_rgb(picture)?;
            return Ok(background == Background::Portrait);
        }
        (_, Some(alpha)) => alpha,
    };
    if (alpha.width(), alpha.height()) != (picture.width(), picture.height())
        || (picture.width(), picture.height()) != (out.width(), out.height())
    {
        return Err(ImageError::SizeMismatch {
            from: (picture.width(), picture.height()),
            into: (out.width(), out.height()),
        });
    }
    if background == Background::Transparent && !out.has_alpha() {
        return Err(ImageError::Geometry(
            "a transparent background needs RGBA or BGRA output".into(),
        ));
    }
    for y in 0..picture.height() {
        for x in 0..picture.width() {
            let over_white = picture.rgb(x, y);
            let a = alpha.rgb(x, y)[0] as i32;
            match background {
                Background::Color(color) => {
                    // Over white v = c a + 255 (1 - a); over the colour: c a + k (1 - a)
                    // = v + (k - 255)(1 - a).
                    let keyed = [0, 1, 2].map(|i| {
                        let v = over_white[i] as i32 + (color[i] as i32 - 255) * (255 - a) / 255;
                        v.clamp(0, 255) as u8
                    });
                    out.set_rgb(x, y, keyed);
                }
                _ => {
                    // Straight (not premultiplied) colour, as GStreamer's RGBA is: undo the white.
                    let straight = [0, 1, 2].map(|i| {
                        if a == 0 {
                            0
                        } else {
                            ((over_white[i] as i32 - 255 + a) * 255 / a).clamp(0, 255) as u8
                        }
                    });
                    out.set_rgba(x, y, straight, a as u8);
                }
            }
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::PixelFormat;

    #[test]
    fn colour_keys_exactly_where_transparent_and_straight_alpha_undoes_the_white() {
        // One opaque red pixel, one half-transparent red one (over white: pink), one clear one.
        let picture = RgbImage::new(3, 1, vec![255, 0, 0, 255, 128, 128, 255, 255, 255]).unwrap();
        let alpha = RgbImage::new(3, 1, vec![255, 255, 255, 127, 127, 127, 0, 0, 0]).unwrap();
        let mut data = vec![0u8; 12];
        let mut out = ImageViewMut::new(&mut data, 3, 1, 12, PixelFormat::Rgba).unwrap();
        let green = Background::Color([0, 255, 0]);
        assert!(write_avatar(&mut out, &picture, Some(&alpha), green).unwrap());
        assert_eq!(&data[..4], &[255, 0, 0, 255]);
        assert_eq!(
            &data[8..],
            &[0, 255, 0, 255],
            "the clear pixel is the key colour"
        );
        assert!(
            data[4] > 120 && data[5] > 120 && data[6] < 10,
            "half red over green: {:?}",
            &data[4..8]
        );

        let mut out = ImageViewMut::new(&mut data, 3, 1, 12, PixelFormat::Rgba).unwrap();
        assert!(write_avatar(&mut out, &picture, Some(&alpha), Background::Transparent).unwrap());
        assert_eq!(&data[..4], &[255, 0, 0, 255]);
        assert_eq!(data[7], 127);
        assert!(
            data[4] >= 254 && data[5] <= 1,
            "straight red: {:?}",
            &data[4..8]
        );
        assert_eq!(data[11], 0);

        // No alpha: the portrait's background, and the caller is told.
        let mut out = ImageViewMut::new(&mut data, 3, 1, 12, PixelFormat::Rgba).unwrap();
        assert!(!write_avatar(&mut out, &picture, None, Background::Transparent).unwrap());
        assert_eq!(&data[8..], &[255, 255, 255, 255]);
        // RGBx cannot carry alpha.
        let mut out = ImageViewMut::new(&mut data, 3, 1, 12, PixelFormat::Rgbx).unwrap();
        assert!(write_avatar(&mut out, &picture, Some(&alpha), Background::Transparent).is_err());
    }
}
