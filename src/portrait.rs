//! The source portrait of the animation elements: decoded, its face found (or a crop given), the
//! square the engines animate.

use std::path::{Path, PathBuf};

use crate::face::{portrait_crop, BlazeFace, Detection};
use crate::image::{declared_size, read_image_with_alpha, ImageError, RgbImage, SquareCrop};
use crate::inference::{Provider, ProviderOptions};
use crate::model_sets;

/// The largest portrait animecam reads, in pixels: 8192 x 8192 (67 megapixels, above every
/// phone camera but the 200-megapixel ones). A portrait is cut to a face square of a few hundred
/// pixels; decoding a far larger picture costs gigabytes and tens of seconds before the first
/// frame (a 20000 x 20000 PNG: 2.5 GB and 33 s), so the size its header declares is checked first.
pub const MAX_PORTRAIT_PIXELS: usize = 8192 * 8192;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PortraitError {
    #[error("portrait '{path}' is {width} x {height} pixels, more than the {} pixels (8192 x 8192) animecam reads as a portrait: scale it down", MAX_PORTRAIT_PIXELS)]
    TooLarge {
        path: String,
        width: usize,
        height: usize,
    },
    #[error("cannot use '{path}' as the source portrait: not an image animecam reads: expected a PNG or JPEG, whose header gives its size before anything decodes it")]
    NotPngOrJpeg { path: String },
    #[error("cannot use '{path}' as the source portrait: {source}. Expected a PNG or JPEG file")]
    Unreadable { path: String, source: ImageError },
    #[error("crop '{0}' is not \"x,y,side\" in pixels: three finite numbers, the side positive")]
    BadCrop(String),
    #[error("crop '{crop}' is outside the {width}x{height} portrait: its centre must lie in the picture")]
    CropOutside {
        crop: String,
        width: usize,
        height: usize,
    },
}

/// Refuses a portrait whose header declares more than [`MAX_PORTRAIT_PIXELS`], before anything
/// decodes it, and a file whose size no PNG or JPEG header declares (OpenCV would decode a
/// 20000 x 20000 BMP or WebP as readily). A file that cannot be opened, or is not a regular
/// file, is left to the reader, which says why.
pub fn check_size(path: &Path) -> Result<(), PortraitError> {
    match declared_size(path) {
        Ok(None) if path.is_file() => Err(PortraitError::NotPngOrJpeg {
            path: path.display().to_string(),
        }),
        Ok(Some((width, height))) if width.saturating_mul(height) > MAX_PORTRAIT_PIXELS => {
            Err(PortraitError::TooLarge {
                path: path.display().to_string(),
                width,
                height,
            })
        }
        _ => Ok(()),
    }
}

/// Where the portrait's face is looked for: BlazeFace's folder and where it runs.
#[derive(Debug, Clone)]
pub struct DetectorSettings {
    pub dir: PathBuf,
    pub options: ProviderOptions,
}

impl Default for DetectorSettings {
    /// The checkout's (or `$ANIMECAM_MODELS`') detector on one CPU thread: a portrait is searched
    /// once, and a GPU session is not worth its start-up for that.
    fn default() -> Self {
        DetectorSettings {
            dir: model_sets::BLAZEFACE.dir(),
            options: ProviderOptions {
                provider: Provider::Cpu,
                intra_threads: 1,
                ..ProviderOptions::default()
            },
        }
    }
}

impl DetectorSettings {
    /// The detector these settings describe, or why it cannot run.
    pub fn load(&self) -> Result<BlazeFace, String> {
        BlazeFace::load(&self.dir, &self.options).map_err(|e| e.to_string())
    }
}

/// Why the portrait's face was not found; the portrait's centred square is used instead.
#[derive(Debug, Clone, PartialEq)]
pub enum FaceSearch {
    Found(Detection),
    /// The crop was given explicitly.
    Given,
    /// The detector ran and found no face.
    NoFace,
    /// The detector could not run (its model is missing, say), with the reason.
    DetectorUnavailable(String),
}

/// A decoded portrait and the square of it to animate.
#[derive(Debug, Clone)]
pub struct Portrait {
    pub image: RgbImage,
    /// The file's alpha channel (a grey picture) when it has one: the avatar without its
    /// background.
    pub alpha: Option<RgbImage>,
    pub crop: SquareCrop,
    pub face: FaceSearch,
}

/// The square of a portrait a user chose to animate: its top-left corner and side, in the
/// portrait's pixels. Written "x,y,side" (the element's `source-crop`), which [`str::parse`] reads.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PortraitCrop {
    pub x: f32,
    pub y: f32,
    pub side: f32,
}

impl PortraitCrop {
    /// The square in the frame's terms.
    pub fn square(&self) -> SquareCrop {
        SquareCrop {
            center_x: self.x + self.side / 2.0,
            center_y: self.y + self.side / 2.0,
            side: self.side,
        }
    }
}

impl std::str::FromStr for PortraitCrop {
    type Err = PortraitError;

    /// Reads "x,y,side": three finite numbers, the side positive.
    fn from_str(text: &str) -> Result<Self, PortraitError> {
        let numbers: Vec<f32> = text
            .split(',')
            .map(|part| part.trim().parse::<f32>())
            .collect::<Result<_, _>>()
            .map_err(|_| PortraitError::BadCrop(text.to_owned()))?;
        match numbers[..] {
            [x, y, side] if x.is_finite() && y.is_finite() && side.is_finite() && side > 0.0 => {
                Ok(PortraitCrop { x, y, side })
            }
            _ => Err(PortraitError::BadCrop(text.to_owned())),
        }
    }
}

impl std::fmt::Display for PortraitCrop {
    /// "x,y,side", as it is parsed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{},{},{}", self.x, self.y, self.side)
    }
}

impl Portrait {
    /// Decodes `path` and decides the square to animate: `crop` when given, else around the
    /// face BlazeFace finds (with `margin`), else the centred square.
    pub fn load(
        path: &Path,
        crop: Option<PortraitCrop>,
        margin: f32,
    ) -> Result<Portrait, PortraitError> {
        let mut detector = DetectorSettings::default().load();
        Self::load_with(
            path,
            crop,
            margin,
            detector.as_mut().map_err(|e| e.as_str()),
        )
    }

    /// [`Portrait::load`] with the face searched by `detector` (or the reason there is none).
    pub fn load_with(
        path: &Path,
        crop: Option<PortraitCrop>,
        margin: f32,
        detector: Result<&mut BlazeFace, &str>,
    ) -> Result<Portrait, PortraitError> {
        check_size(path)?;
        let (image, alpha) =
            read_image_with_alpha(path).map_err(|source| PortraitError::Unreadable {
                path: path.display().to_string(),
                source,
            })?;
        if let Some(given) = crop {
            let crop = given.square();
            let inside = |centre: f32, side: usize| (0.0..side as f32).contains(&centre);
            if !inside(crop.center_x, image.width()) || !inside(crop.center_y, image.height()) {
                return Err(PortraitError::CropOutside {
                    crop: given.to_string(),
                    width: image.width(),
                    height: image.height(),
                });
            }
            return Ok(Portrait {
                image,
                alpha,
                crop,
                face: FaceSearch::Given,
            });
        }
        let found = detector.map_err(str::to_owned).and_then(|detector| {
            portrait_crop(&image, detector, margin).map_err(|e| e.to_string())
        });
        let (crop, face) = match found {
            Ok((crop, Some(face))) => (crop, FaceSearch::Found(face)),
            Ok((crop, None)) => (crop, FaceSearch::NoFace),
            Err(reason) => (
                SquareCrop::centred(image.width(), image.height()),
                FaceSearch::DetectorUnavailable(reason),
            ),
        };
        Ok(Portrait {
            image,
            alpha,
            crop,
            face,
        })
    }

    /// The face's landmarks in the coordinates of the crop resized to `size` x `size`.
    pub fn landmarks_in_crop(&self, size: usize) -> Option<Vec<[f32; 2]>> {
        let FaceSearch::Found(face) = &self.face else {
            return None;
        };
        let scale = size as f32 / self.crop.side;
        Some(
            face.landmarks
                .iter()
                .map(|[x, y]| {
                    [
                        (x - self.crop.left()) * scale,
                        (y - self.crop.top()) * scale,
                    ]
                })
                .collect(),
        )
    }

    /// A sentence for the bus when the face was not found, `None` when it was (or was given).
    pub fn warning(&self, path: &str) -> Option<String> {
        match &self.face {
            FaceSearch::Found(_) | FaceSearch::Given => None,
            FaceSearch::NoFace => Some(format!(
                "No face found in the source portrait '{path}': using its centred square. Set source-crop to frame the face"
            )),
            FaceSearch::DetectorUnavailable(reason) => Some(format!(
                "Cannot look for the face in '{path}' ({reason}): using its centred square. Set source-crop, or run `make setup` for the face detector"
            )),
        }
    }
}

impl Portrait {
    /// The face's larger side in the coordinates of the crop resized to `size` x `size`.
    pub fn face_size_in_crop(&self, size: usize) -> Option<f32> {
        let FaceSearch::Found(face) = &self.face else {
            return None;
        };
        Some(face.face.width.max(face.face.height) * size as f32 / self.crop.side)
    }
}

/// BlazeFace's six landmarks for a frontal face centred in a crop of side `size` framed with
/// `margin` (see [`crate::face::crop_box`]), with the face's size: a stand-in when the portrait's
/// own landmarks cannot be found. Proportions measured on BlazeFace boxes of real faces.
pub fn canonical_landmarks(size: usize, margin: f32) -> (Vec<[f32; 2]>, f32) {
    let face = size as f32 / (1.0 + 2.0 * margin.max(0.0));
    let left = (size as f32 - face) / 2.0;
    let layout = [
        [0.28, 0.27],
        [0.72, 0.27],
        [0.5, 0.47],
        [0.5, 0.69],
        [0.02, 0.38],
        [0.98, 0.38],
    ];
    (
        layout
            .iter()
            .map(|[u, v]| [left + u * face, left + v * face])
            .collect(),
        face,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crops_parse_from_corner_and_side() {
        let parse_crop = |text: &str| text.parse::<PortraitCrop>().map(|crop| crop.square());
        let crop = parse_crop("10, 20,100").unwrap();
        assert_eq!(
            (crop.center_x, crop.center_y, crop.side),
            (60.0, 70.0, 100.0)
        );
        assert!(parse_crop("10,20").is_err());
        assert!(parse_crop("10,20,-5").is_err());
        for bad in ["NaN,0,10", "0,inf,10", "0,0,0", "0,0,inf", "0,0,NaN"] {
            assert!(
                parse_crop(bad).unwrap_err().to_string().contains(bad),
                "{bad}"
            );
        }
        assert!(parse_crop("a,b,c")
            .unwrap_err()
            .to_string()
            .contains("\"x,y,side\""));
    }
}
