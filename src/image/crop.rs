//! Crops: squares with out-of-frame padding, and rotated squares with their map back to the frame.

use opencv::core::{Mat, Scalar, Size, BORDER_CONSTANT};
use opencv::prelude::*;

use super::format::PixelFormat;
use super::opencv_bridge::rgb_from_mat;
use super::{ImageError, ImageView, RgbImage};

/// A square region of a frame in pixel coordinates; it may extend past the frame's edges.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SquareCrop {
    pub center_x: f32,
    pub center_y: f32,
    pub side: f32,
}

impl SquareCrop {
    /// The smallest square centred on the frame that holds all of it: a letterbox.
    pub fn letterbox(width: usize, height: usize) -> Self {
        SquareCrop {
            center_x: width as f32 / 2.0,
            center_y: height as f32 / 2.0,
            side: width.max(height) as f32,
        }
    }

    /// The largest square centred in the frame.
    pub fn centred(width: usize, height: usize) -> Self {
        SquareCrop {
            center_x: width as f32 / 2.0,
            center_y: height as f32 / 2.0,
            side: width.min(height) as f32,
        }
    }

    pub fn left(&self) -> f32 {
        self.center_x - self.side / 2.0
    }

    pub fn top(&self) -> f32 {
        self.center_y - self.side / 2.0
    }

    /// Frame coordinates of a point given in [0, 1] coordinates of the crop.
    pub fn to_frame(&self, u: f32, v: f32) -> (f32, f32) {
        (self.left() + u * self.side, self.top() + v * self.side)
    }
}

/// Crops wider than this many frames are not padded whole (see [`crop_square`]).
const PADDING_LIMIT: i64 = 3;

/// Past this shrink factor bilinear sampling aliases; crops then go through area averaging.
const MAX_BILINEAR_SHRINK: f32 = 2.0;

/// What a crop shows where it reaches outside the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outside {
    Black,
    /// The frame's border pixels repeated outwards: a portrait that fills its frame goes on
    /// past it instead of ending in black (a crop many frames wide is black far out still).
    Extended,
}

/// Samples a square region of a frame into a `size` x `size` RGB image. Parts outside the frame
/// are black.
pub fn crop_square(
    view: &ImageView<'_>,
    crop: SquareCrop,
    size: usize,
) -> Result<RgbImage, ImageError> {
    crop_square_with(view, crop, size, Outside::Black)
}

/// [`crop_square`], the parts outside the frame as `outside` says. Close to the crop's own resolution the sampling is bilinear at sub-pixel positions
/// (so a smoothly moving crop moves smoothly); for large shrink factors it averages areas on the
/// crop rounded to whole pixels.
pub fn crop_square_with(
    view: &ImageView<'_>,
    crop: SquareCrop,
    size: usize,
    outside: Outside,
) -> Result<RgbImage, ImageError> {
    let border = match outside {
        Outside::Black => BORDER_CONSTANT,
        Outside::Extended => opencv::core::BORDER_REPLICATE,
    };
    if size == 0 || crop.side.is_nan() || crop.side <= 0.0 {
        return Err(ImageError::Empty {
            width: size,
            height: size,
        });
    }
    let source = view.as_mat()?;
    let scale = crop.side / size as f32;
    let mut sampled = Mat::default();
    if scale <= MAX_BILINEAR_SHRINK {
        // Destination pixel centre (j + 0.5) maps to left + (j + 0.5) * scale in continuous
        // coordinates, i.e. that minus 0.5 in OpenCV's pixel-index coordinates.
        let offset_x = crop.left() + 0.5 * scale - 0.5;
        let offset_y = crop.top() + 0.5 * scale - 0.5;
        let matrix = Mat::from_slice_2d(&[
            [scale as f64, 0.0, offset_x as f64],
            [0.0, scale as f64, offset_y as f64],
        ])?;
        opencv::imgproc::warp_affine(
            &source,
            &mut sampled,
            &matrix,
            Size::new(size as i32, size as i32),
            opencv::imgproc::INTER_LINEAR | opencv::imgproc::WARP_INVERSE_MAP,
            border,
            Scalar::all(0.0),
        )?;
    } else {
        let side = crop.side.round().max(1.0) as i64;
        let left = crop.left().round() as i64;
        let top = crop.top().round() as i64;
        let (width, height) = (view.width as i64, view.height as i64);
        let x0 = left.clamp(0, width);
        let y0 = top.clamp(0, height);
        let x1 = (left + side).clamp(0, width);
        let y1 = (top + side).clamp(0, height);
        // The part of the crop inside the frame, if any.
        let visible = if x1 > x0 && y1 > y0 {
            let rect =
                opencv::core::Rect::new(x0 as i32, y0 as i32, (x1 - x0) as i32, (y1 - y0) as i32);
            Some(Mat::roi(&source, rect)?)
        } else {
            None
        };
        let frame_side = width.max(height);
        if side > PADDING_LIMIT * frame_side {
            // A crop many frames wide (a huge margin): padding it whole would allocate its full
            // area. Shrink only what is visible into its place in a black output instead.
            sampled = Mat::new_rows_cols_with_default(
                size as i32,
                size as i32,
                view.format.cv_type(),
                Scalar::all(0.0),
            )?;
            let scale = size as f64 / side as f64;
            let to = |v: i64, origin: i64| ((v - origin) as f64 * scale).round() as i32;
            let (tx0, ty0, tx1, ty1) = (to(x0, left), to(y0, top), to(x1, left), to(y1, top));
            if let (Some(inside), true) = (&visible, tx1 > tx0 && ty1 > ty0) {
                let mut shrunk = Mat::default();
                opencv::imgproc::resize(
                    inside,
                    &mut shrunk,
                    Size::new(tx1 - tx0, ty1 - ty0),
                    0.0,
                    0.0,
                    opencv::imgproc::INTER_AREA,
                )?;
                let mut target = Mat::roi_mut(
                    &mut sampled,
                    opencv::core::Rect::new(tx0, ty0, tx1 - tx0, ty1 - ty0),
                )?;
                shrunk.copy_to(&mut target)?;
            }
        } else {
            let mut padded = Mat::default();
            if let Some(inside) = &visible {
                opencv::core::copy_make_border(
                    inside,
                    &mut padded,
                    (y0 - top) as i32,
                    (top + side - y1) as i32,
                    (x0 - left) as i32,
                    (left + side - x1) as i32,
                    border,
                    Scalar::all(0.0),
                )?;
            } else {
                padded = Mat::new_rows_cols_with_default(
                    side as i32,
                    side as i32,
                    view.format.cv_type(),
                    Scalar::all(0.0),
                )?;
            }
            opencv::imgproc::resize(
                &padded,
                &mut sampled,
                Size::new(size as i32, size as i32),
                0.0,
                0.0,
                opencv::imgproc::INTER_AREA,
            )?;
        }
    }
    rgb_from_mat(&sampled, view.format)
}

/// A square of side `side` centred at `(center_x, center_y)` and turned by `angle` radians
/// (counter-clockwise in the picture), cut out of the frame and resized to `size` x `size`; what
/// lies outside the frame is black. Returns the picture and the map from its pixels back to the
/// frame's: `frame = origin + u * axis_u + v * axis_v`.
pub fn crop_rotated(
    view: &ImageView<'_>,
    (center_x, center_y): (f32, f32),
    side: f32,
    angle: f32,
    size: usize,
) -> Result<(RgbImage, CropMap), ImageError> {
    let code = match view.format {
        PixelFormat::Rgb => None,
        PixelFormat::Bgr => Some(opencv::imgproc::COLOR_BGR2RGB),
        PixelFormat::Rgba | PixelFormat::Rgbx => Some(opencv::imgproc::COLOR_RGBA2RGB),
        PixelFormat::Bgra | PixelFormat::Bgrx => Some(opencv::imgproc::COLOR_BGRA2RGB),
    };
    let source = view.as_mat()?;
    let mut rgb = Mat::default();
    let source = match code {
        Some(code) => {
            opencv::imgproc::cvt_color_def(&source, &mut rgb, code)?;
            &rgb
        }
        None => &source,
    };
    let scale = side / size as f32;
    let (cos, sin) = (angle.cos() * scale, angle.sin() * scale);
    // Output pixel (u, v) -> frame point: the square's axes turned by the angle; a picture turned
    // counter-clockwise on screen has its x axis going up-right (y grows downwards).
    let half = size as f32 / 2.0;
    let map = CropMap {
        origin: [
            center_x - half * cos - half * sin,
            center_y + half * sin - half * cos,
        ],
        axis_u: [cos, -sin],
        axis_v: [sin, cos],
    };
    let matrix = Mat::from_slice_2d(&[
        [
            map.axis_u[0] as f64,
            map.axis_v[0] as f64,
            map.origin[0] as f64,
        ],
        [
            map.axis_u[1] as f64,
            map.axis_v[1] as f64,
            map.origin[1] as f64,
        ],
    ])?;
    let mut cut = Mat::default();
    opencv::imgproc::warp_affine(
        source,
        &mut cut,
        &matrix,
        opencv::core::Size::new(size as i32, size as i32),
        opencv::imgproc::INTER_LINEAR | opencv::imgproc::WARP_INVERSE_MAP,
        opencv::core::BORDER_CONSTANT,
        opencv::core::Scalar::all(0.0),
    )?;
    Ok((rgb_from_mat(&cut, PixelFormat::Rgb)?, map))
}

/// Where a pixel of a cut-out picture lies in the frame it was cut from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CropMap {
    pub origin: [f32; 2],
    pub axis_u: [f32; 2],
    pub axis_v: [f32; 2],
}

impl CropMap {
    /// The frame point of the picture's point `(u, v)`.
    pub fn to_frame(&self, u: f32, v: f32) -> [f32; 2] {
        [
            self.origin[0] + u * self.axis_u[0] + v * self.axis_v[0],
            self.origin[1] + u * self.axis_u[1] + v * self.axis_v[1],
        ]
    }

    /// How many frame pixels one picture pixel spans.
    pub fn scale(&self) -> f32 {
        self.axis_u[0].hypot(self.axis_u[1])
    }
}
