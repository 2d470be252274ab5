//! Conversion between RGB pictures and the float tensors the models take (NCHW or NHWC, with
//! the model's normalisation), and back.

use ndarray::{Array4, ArrayView4, ArrayViewMut4};

use crate::image::{ImageError, RgbImage};
use crate::inference::{Layout, Normalization};

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TensorError {
    #[error("tensor of shape {shape:?} is not a single {layout:?} RGB image")]
    NotAnImage { shape: Vec<usize>, layout: Layout },
    #[error(transparent)]
    Image(#[from] ImageError),
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
        Layout::Nchw => [1, 3, image.height(), image.width()],
        Layout::Nhwc => [1, image.height(), image.width(), 3],
    };
    if tensor.shape() != expected {
        return Err(TensorError::NotAnImage {
            shape: tensor.shape().to_vec(),
            layout,
        });
    }
    let (scale, offset) = normalization.scale_offset();
    for (index, pixel) in image.data().chunks_exact(3).enumerate() {
        let (y, x) = (index / image.width(), index % image.width());
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
        Layout::Nchw => [1, 3, image.height(), image.width()],
        Layout::Nhwc => [1, image.height(), image.width(), 3],
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
    Ok(RgbImage::new(width, height, data)?)
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
