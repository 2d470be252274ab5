//! Pictures moved by a backward map: for each output pixel, where to read in the source. The map
//! is evaluated on a coarse grid and resampled to every pixel (smooth maps only: splines, blended
//! affines), then the source is read through it.

use opencv::core::{Mat, BORDER_REPLICATE};
use opencv::prelude::*;

use super::ImageError;

/// The map `to_source` (an output pixel's x and y to the source's), for a `size` x `size`
/// output: evaluated every `step` pixels and bilinear in between, as one two-channel map.
pub fn backward_map(
    size: usize,
    step: usize,
    to_source: impl Fn([f32; 2]) -> [f32; 2],
) -> Result<Mat, ImageError> {
    let cells = size.div_ceil(step) + 1;
    // The map on the grid, x and y of each point side by side (a two-channel picture).
    let grid: Vec<f32> = (0..cells * cells)
        .flat_map(|index| {
            let (row, column) = (index / cells, index % cells);
            to_source([(column * step) as f32, (row * step) as f32])
        })
        .collect();
    let grid = Mat::new_rows_cols_with_data(cells as i32, (2 * cells) as i32, &grid)?
        .reshape(2, cells as i32)?
        .try_clone()?;
    // Pixel (x, y) reads the grid at (x, y) / step, which OpenCV's affine resampling does
    // exactly for steps of powers of two (its weights are in 32nds) and far faster than a loop.
    let scale = 1.0 / step as f64;
    let to_grid = Mat::from_slice_2d(&[[scale, 0.0, 0.0], [0.0, scale, 0.0]])?;
    let mut map = Mat::default();
    opencv::imgproc::warp_affine(
        &grid,
        &mut map,
        &to_grid,
        opencv::core::Size::new(size as i32, size as i32),
        opencv::imgproc::INTER_LINEAR | opencv::imgproc::WARP_INVERSE_MAP,
        BORDER_REPLICATE,
        0.0.into(),
    )?;
    Ok(map)
}

/// `source` read through `map` (each output pixel's x and y in the source; bilinear, the
/// source's border repeated outwards).
pub fn read_through(source: &Mat, map: &Mat) -> Result<Mat, ImageError> {
    let mut moved = Mat::default();
    opencv::imgproc::remap(
        source,
        &mut moved,
        map,
        &opencv::core::no_array(),
        opencv::imgproc::INTER_LINEAR,
        BORDER_REPLICATE,
        0.0.into(),
    )?;
    Ok(moved)
}
