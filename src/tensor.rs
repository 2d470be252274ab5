//! Frames as plain image views (width, height, stride, pixel format), square crops with
//! out-of-frame padding, and conversion to and from the float tensors the models take.
//!
//! Coordinates are continuous pixel coordinates: pixel `(i, j)` covers `[i, i+1) x [j, j+1)`, so a
//! crop of side `s` centred on `(cx, cy)` covers `[cx - s/2, cx + s/2)`.

use ndarray::{Array4, ArrayView4, ArrayViewMut4};
use opencv::core::{Mat, Scalar, Size, BORDER_CONSTANT, CV_8UC3, CV_8UC4};
use opencv::prelude::*;

use crate::inference::{Layout, Normalization};

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TensorError {
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
    #[error("tensor of shape {shape:?} is not a single {layout:?} RGB image")]
    NotAnImage { shape: Vec<usize>, layout: Layout },
    #[error("image sizes differ: {from:?} into {into:?}")]
    SizeMismatch {
        from: (usize, usize),
        into: (usize, usize),
    },
    #[error("cannot read image {path}: {reason}")]
    Unreadable { path: String, reason: String },
    #[error("OpenCV: {0}")]
    OpenCv(String),
    #[error("{0}")]
    Geometry(String),
}

impl From<opencv::Error> for TensorError {
    fn from(error: opencv::Error) -> Self {
        TensorError::OpenCv(error.to_string())
    }
}

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
    fn rgb_offsets(self) -> [usize; 3] {
        match self {
            PixelFormat::Rgb | PixelFormat::Rgba | PixelFormat::Rgbx => [0, 1, 2],
            PixelFormat::Bgr | PixelFormat::Bgra | PixelFormat::Bgrx => [2, 1, 0],
        }
    }

    fn cv_type(self) -> i32 {
        if self.bytes_per_pixel() == 3 {
            CV_8UC3
        } else {
            CV_8UC4
        }
    }
}

fn check_layout(
    len: usize,
    width: usize,
    height: usize,
    stride: usize,
    format: PixelFormat,
) -> Result<(), TensorError> {
    if width == 0 || height == 0 {
        return Err(TensorError::Empty { width, height });
    }
    let row = width * format.bytes_per_pixel();
    if stride < row {
        return Err(TensorError::StrideTooSmall {
            stride,
            width,
            format,
        });
    }
    let needed = stride * (height - 1) + row;
    if len < needed {
        return Err(TensorError::BufferTooSmall {
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

/// A borrowed frame: `height` rows of `stride` bytes, `width` pixels of `format` each.
#[derive(Debug, Clone, Copy)]
pub struct ImageView<'a> {
    data: &'a [u8],
    width: usize,
    height: usize,
    stride: usize,
    format: PixelFormat,
}

impl<'a> ImageView<'a> {
    pub fn new(
        data: &'a [u8],
        width: usize,
        height: usize,
        stride: usize,
        format: PixelFormat,
    ) -> Result<Self, TensorError> {
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

    /// An OpenCV header over the same bytes; OpenCV only reads through it.
    fn as_mat(&self) -> Result<Mat, TensorError> {
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

/// A mutable borrowed frame, for writing results back.
#[derive(Debug)]
pub struct ImageViewMut<'a> {
    data: &'a mut [u8],
    width: usize,
    height: usize,
    stride: usize,
    format: PixelFormat,
}

impl<'a> ImageViewMut<'a> {
    pub fn new(
        data: &'a mut [u8],
        width: usize,
        height: usize,
        stride: usize,
        format: PixelFormat,
    ) -> Result<Self, TensorError> {
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
    pub fn write_view(&mut self, source: &ImageView<'_>) -> Result<(), TensorError> {
        if (source.width, source.height) != (self.width, self.height) {
            return Err(TensorError::SizeMismatch {
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
    pub fn write_rgb(&mut self, image: &RgbImage) -> Result<(), TensorError> {
        if (image.width, image.height) != (self.width, self.height) {
            return Err(TensorError::SizeMismatch {
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

/// An owned, tightly packed RGB image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RgbImage {
    width: usize,
    height: usize,
    data: Vec<u8>,
}

impl RgbImage {
    /// An owned 3-channel OpenCV copy, for OpenCV calls that keep their input (remap sources).
    pub(crate) fn to_mat(&self) -> Result<Mat, TensorError> {
        Ok(self.view().as_mat()?.try_clone()?)
    }

    /// The `width` x `height` rectangle whose top-left pixel is (`left`, `top`), copied row by row.
    pub fn region(
        &self,
        left: usize,
        top: usize,
        width: usize,
        height: usize,
    ) -> Result<RgbImage, TensorError> {
        if left + width > self.width || top + height > self.height {
            return Err(TensorError::Geometry(format!(
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

    pub fn new(width: usize, height: usize, data: Vec<u8>) -> Result<Self, TensorError> {
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

    /// The image at `width` x `height`: borrowed when it already is, else resized (see
    /// [`RgbImage::resized`]). Per-frame paths take crops already at the model's size.
    pub fn at_size(
        &self,
        width: usize,
        height: usize,
    ) -> Result<std::borrow::Cow<'_, RgbImage>, TensorError> {
        if (width, height) == (self.width, self.height) {
            Ok(std::borrow::Cow::Borrowed(self))
        } else {
            self.resized(width, height).map(std::borrow::Cow::Owned)
        }
    }

    /// Resized copy: area averaging when shrinking (no aliasing), bilinear when growing.
    pub fn resized(&self, width: usize, height: usize) -> Result<RgbImage, TensorError> {
        if (width, height) == (self.width, self.height) {
            return Ok(self.clone());
        }
        let shrinking = width < self.width || height < self.height;
        let interpolation = if shrinking {
            opencv::imgproc::INTER_AREA
        } else {
            opencv::imgproc::INTER_LINEAR
        };
        let mut resized = Mat::default();
        opencv::imgproc::resize(
            &self.view().as_mat()?,
            &mut resized,
            Size::new(width as i32, height as i32),
            0.0,
            0.0,
            interpolation,
        )?;
        rgb_from_mat(&resized, PixelFormat::Rgb)
    }
}

/// Reads a PNG or JPEG. Transparent pixels are laid over white, as portraits are drawn.
pub fn read_image(path: &std::path::Path) -> Result<RgbImage, TensorError> {
    read_image_with_alpha(path).map(|(image, _)| image)
}

/// [`read_image`], and the file's alpha channel when it has one, as a grey picture (alpha in all
/// three channels): kept that way, it goes through the very crops, resizes and warps the colours
/// go through.
pub fn read_image_with_alpha(
    path: &std::path::Path,
) -> Result<(RgbImage, Option<RgbImage>), TensorError> {
    let unreadable = |reason: &str| TensorError::Unreadable {
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

fn rgb_from_mat(mat: &Mat, format: PixelFormat) -> Result<RgbImage, TensorError> {
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
pub fn gray(view: &ImageView<'_>, width: usize, height: usize) -> Result<Mat, TensorError> {
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
) -> Result<(RgbImage, CropMap), TensorError> {
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

/// Samples a square region of a frame into a `size` x `size` RGB image. Parts outside the frame
/// are black. Close to the crop's own resolution the sampling is bilinear at sub-pixel positions
/// (so a smoothly moving crop moves smoothly); for large shrink factors it averages areas on the
/// crop rounded to whole pixels.
pub fn crop_square(
    view: &ImageView<'_>,
    crop: SquareCrop,
    size: usize,
) -> Result<RgbImage, TensorError> {
    if size == 0 || crop.side.is_nan() || crop.side <= 0.0 {
        return Err(TensorError::Empty {
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
            BORDER_CONSTANT,
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
                    BORDER_CONSTANT,
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

/// Fills a preallocated `[1, 3, h, w]` (NCHW) or `[1, h, w, 3]` (NHWC) tensor from an RGB image
/// with the model's normalisation, so the per-frame path allocates nothing.
pub fn fill_tensor(
    image: &RgbImage,
    layout: Layout,
    normalization: Normalization,
    tensor: &mut ArrayViewMut4<'_, f32>,
) -> Result<(), TensorError> {
    let expected = match layout {
        Layout::Nchw => [1, 3, image.height, image.width],
        Layout::Nhwc => [1, image.height, image.width, 3],
    };
    if tensor.shape() != expected {
        return Err(TensorError::NotAnImage {
            shape: tensor.shape().to_vec(),
            layout,
        });
    }
    let (scale, offset) = normalization.scale_offset();
    for (index, pixel) in image.data.chunks_exact(3).enumerate() {
        let (y, x) = (index / image.width, index % image.width);
        for (channel, &byte) in pixel.iter().enumerate() {
            let value = byte as f32 * scale + offset;
            match layout {
                Layout::Nchw => tensor[[0, channel, y, x]] = value,
                Layout::Nhwc => tensor[[0, y, x, channel]] = value,
            }
        }
    }
    Ok(())
}

/// An RGB image as a new tensor (see [`fill_tensor`]).
pub fn to_tensor(
    image: &RgbImage,
    layout: Layout,
    normalization: Normalization,
) -> Result<Array4<f32>, TensorError> {
    let shape = match layout {
        Layout::Nchw => [1, 3, image.height, image.width],
        Layout::Nhwc => [1, image.height, image.width, 3],
    };
    let mut tensor = Array4::zeros(shape);
    fill_tensor(image, layout, normalization, &mut tensor.view_mut())?;
    Ok(tensor)
}

/// A model's image output back to RGB bytes, undoing the normalisation (values are clamped).
pub fn from_tensor(
    tensor: ArrayView4<'_, f32>,
    layout: Layout,
    normalization: Normalization,
) -> Result<RgbImage, TensorError> {
    let shape = tensor.shape();
    let (height, width) = match layout {
        Layout::Nchw if shape[0] == 1 && shape[1] == 3 => (shape[2], shape[3]),
        Layout::Nhwc if shape[0] == 1 && shape[3] == 3 => (shape[1], shape[2]),
        _ => {
            return Err(TensorError::NotAnImage {
                shape: shape.to_vec(),
                layout,
            })
        }
    };
    let mut data = Vec::with_capacity(width * height * 3);
    for y in 0..height {
        for x in 0..width {
            for channel in 0..3 {
                let value = match layout {
                    Layout::Nchw => tensor[[0, channel, y, x]],
                    Layout::Nhwc => tensor[[0, y, x, channel]],
                };
                data.push(normalization.to_byte(value));
            }
        }
    }
    RgbImage::new(width, height, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A BGRx frame whose pixel (x, y) is (r, g, b) = (10x + y, 100 + x, 200 - y), with `pad`
    /// junk bytes after each row.
    fn bgrx_frame(width: usize, height: usize, pad: usize) -> (Vec<u8>, usize) {
        let stride = width * 4 + pad;
        let mut data = vec![0xEE; stride * height];
        for y in 0..height {
            for x in 0..width {
                let base = y * stride + x * 4;
                data[base..base + 4].copy_from_slice(&[
                    (200 - y) as u8,
                    (100 + x) as u8,
                    (10 * x + y) as u8,
                    0,
                ]);
            }
        }
        (data, stride)
    }

    fn expected(x: usize, y: usize) -> [u8; 3] {
        [(10 * x + y) as u8, (100 + x) as u8, (200 - y) as u8]
    }

    #[test]
    fn views_check_strides_and_sizes() {
        let data = vec![0u8; 30];
        assert!(ImageView::new(&data, 3, 3, 13, PixelFormat::Rgbx).is_err());
        assert_eq!(
            ImageView::new(&data, 2, 2, 7, PixelFormat::Rgbx).unwrap_err(),
            TensorError::StrideTooSmall {
                stride: 7,
                width: 2,
                format: PixelFormat::Rgbx
            }
        );
        // The last row needs no padding after it.
        assert!(ImageView::new(&data, 3, 3, 10, PixelFormat::Rgb).is_ok());
        let error = ImageView::new(&data, 3, 3, 11, PixelFormat::Rgb).unwrap_err();
        assert!(error.to_string().contains("needs 31"), "{error}");
    }

    #[test]
    fn crop_inside_an_odd_stride_frame_is_exact() {
        let (data, stride) = bgrx_frame(7, 5, 3);
        let view = ImageView::new(&data, 7, 5, stride, PixelFormat::Bgrx).unwrap();
        // A 3x3 square whose corner is pixel (2, 1), at scale 1: integer positions, no blending.
        let crop = SquareCrop {
            center_x: 3.5,
            center_y: 2.5,
            side: 3.0,
        };
        let image = crop_square(&view, crop, 3).unwrap();
        for y in 0..3 {
            for x in 0..3 {
                assert_eq!(image.rgb(x, y), expected(x + 2, y + 1), "at ({x}, {y})");
            }
        }
    }

    #[test]
    fn crop_leaving_the_frame_pads_with_black() {
        let (data, stride) = bgrx_frame(4, 3, 4);
        let view = ImageView::new(&data, 4, 3, stride, PixelFormat::Bgrx).unwrap();
        // Covers x in [-2, 2), y in [-1, 3): two columns and one row outside.
        let crop = SquareCrop {
            center_x: 0.0,
            center_y: 1.0,
            side: 4.0,
        };
        let image = crop_square(&view, crop, 4).unwrap();
        for y in 0..4 {
            for x in 0..4 {
                let inside = x >= 2 && y >= 1;
                let want = if inside {
                    expected(x - 2, y - 1)
                } else {
                    [0, 0, 0]
                };
                assert_eq!(image.rgb(x, y), want, "at ({x}, {y})");
            }
        }
    }

    #[test]
    fn large_shrinks_average_areas_and_pad_outside() {
        // 8x8 RGB frame of 4x4 blocks: 0, 40 / 80, 120 (grey). A letterbox of 8x4 content.
        let mut data = vec![0u8; 8 * 4 * 3];
        for y in 0..4 {
            for x in 0..8 {
                let value = if x < 4 { 40 } else { 120 };
                data[(y * 8 + x) * 3..][..3].fill(value);
            }
        }
        let view = ImageView::new(&data, 8, 4, 24, PixelFormat::Rgb).unwrap();
        let image = crop_square(&view, SquareCrop::letterbox(8, 4), 2).unwrap();
        // The letterbox is 8x8 with the content in rows [2, 6); each output pixel averages a 4x4
        // block that is half padding (0) and half content.
        assert_eq!(image.rgb(0, 0), [20, 20, 20]);
        assert_eq!(image.rgb(1, 0), [60, 60, 60]);
        assert_eq!(image.rgb(0, 1), [20, 20, 20]);
        assert_eq!(image.rgb(1, 1), [60, 60, 60]);
    }

    #[test]
    fn crops_many_frames_wide_keep_the_frame_in_its_place() {
        // A 4x4 white frame in a 64-pixel crop centred on it, shrunk to 16: the frame becomes one
        // pixel in the middle (it spans output pixels 7.5 to 8.5, rounded to whole pixels).
        let data = vec![255u8; 4 * 4 * 3];
        let view = ImageView::new(&data, 4, 4, 12, PixelFormat::Rgb).unwrap();
        let crop = SquareCrop {
            center_x: 2.0,
            center_y: 2.0,
            side: 64.0,
        };
        let image = crop_square(&view, crop, 16).unwrap();
        assert_eq!(image.rgb(8, 8), [255, 255, 255]);
        assert_eq!(image.rgb(7, 8), [0, 0, 0]);
        assert_eq!(image.rgb(8, 9), [0, 0, 0]);
        assert_eq!(image.rgb(0, 0), [0, 0, 0]);
    }

    #[test]
    fn crop_entirely_outside_is_black() {
        let (data, stride) = bgrx_frame(4, 4, 0);
        let view = ImageView::new(&data, 4, 4, stride, PixelFormat::Bgrx).unwrap();
        for side in [2.0, 40.0] {
            let crop = SquareCrop {
                center_x: -100.0,
                center_y: 2.0,
                side,
            };
            let image = crop_square(&view, crop, 2).unwrap();
            assert!(image.data().iter().all(|&v| v == 0));
        }
    }

    #[test]
    fn tensors_hold_normalised_channels_in_both_layouts() {
        let image = RgbImage::new(2, 1, vec![0, 51, 255, 255, 102, 0]).unwrap();
        let nchw = to_tensor(&image, Layout::Nchw, Normalization::Unit).unwrap();
        assert_eq!(nchw.shape(), &[1, 3, 1, 2]);
        assert_eq!(nchw[[0, 0, 0, 0]], 0.0);
        assert!((nchw[[0, 1, 0, 0]] - 0.2).abs() < 1e-6);
        assert_eq!(nchw[[0, 2, 0, 0]], 1.0);
        assert_eq!(nchw[[0, 0, 0, 1]], 1.0);
        let nhwc = to_tensor(&image, Layout::Nhwc, Normalization::Symmetric).unwrap();
        assert_eq!(nhwc.shape(), &[1, 1, 2, 3]);
        assert_eq!(nhwc[[0, 0, 0, 0]], -1.0);
        assert_eq!(nhwc[[0, 0, 0, 2]], 1.0);
        assert!((nhwc[[0, 0, 1, 1]] - (102.0 / 127.5 - 1.0)).abs() < 1e-6);

        for layout in [Layout::Nchw, Layout::Nhwc] {
            for normalization in [
                Normalization::Unit,
                Normalization::Symmetric,
                Normalization::Byte,
            ] {
                let tensor = to_tensor(&image, layout, normalization).unwrap();
                let back = from_tensor(tensor.view(), layout, normalization).unwrap();
                assert_eq!(back, image, "{layout:?} {normalization:?}");
            }
        }
        let wrong = Array4::<f32>::zeros([1, 4, 2, 2]);
        assert!(from_tensor(wrong.view(), Layout::Nchw, Normalization::Unit).is_err());
    }

    #[test]
    fn writing_back_converts_format_and_keeps_row_padding() {
        let image = RgbImage::new(2, 2, vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]).unwrap();
        let stride = 2 * 4 + 3;
        let mut data = vec![0xEE; stride * 2];
        let mut frame = ImageViewMut::new(&mut data, 2, 2, stride, PixelFormat::Bgra).unwrap();
        frame.write_rgb(&image).unwrap();
        assert_eq!(RgbImage::from_view(&frame.as_view()), image);
        assert_eq!(&data[..8], &[3, 2, 1, 255, 6, 5, 4, 255]);
        assert_eq!(&data[8..11], &[0xEE; 3], "row padding untouched");
        let mut small = vec![0u8; 3];
        let mut one = ImageViewMut::new(&mut small, 1, 1, 3, PixelFormat::Rgb).unwrap();
        assert!(one.write_rgb(&image).is_err());
    }

    #[test]
    fn resizing_averages_when_shrinking() {
        let image = RgbImage::new(
            2,
            2,
            vec![0, 0, 0, 100, 100, 100, 200, 200, 200, 40, 40, 40],
        )
        .unwrap();
        let small = image.resized(1, 1).unwrap();
        assert_eq!(small.rgb(0, 0), [85, 85, 85]);
        assert_eq!(image.resized(2, 2).unwrap(), image);
    }
}
