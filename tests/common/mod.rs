//! What the library's integration tests share: moving a real photo by a known transform.
#![allow(dead_code)]

use std::path::PathBuf;

use animecam::image::RgbImage;
use opencv::core::{Mat, Point2f, Scalar, Size, BORDER_CONSTANT};
use opencv::prelude::*;

/// The checkout's root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A file set-up fetched into .cache/media.
pub fn media(name: &str) -> PathBuf {
    let path = root().join(".cache/media").join(name);
    assert!(
        path.is_file(),
        "{} missing: run `make setup`",
        path.display()
    );
    path
}

/// The photo turned by `degrees` (OpenCV's sense: counter-clockwise on screen) and scaled by
/// `scale` about `pivot` (photo pixels), then placed at `offset + shift` on a grey canvas of
/// `width` x `height`. Returns packed RGB bytes.
pub fn move_photo(
    photo: &RgbImage,
    pivot: (f32, f32),
    offset: (f32, f32),
    shift: (f32, f32),
    scale: f32,
    degrees: f32,
    (width, height): (usize, usize),
) -> Vec<u8> {
    let source = Mat::new_rows_cols_with_data(
        photo.height() as i32,
        (photo.width() * 3) as i32,
        photo.data(),
    )
    .unwrap()
    .reshape(3, photo.height() as i32)
    .unwrap()
    .try_clone()
    .unwrap();
    let mut matrix = opencv::imgproc::get_rotation_matrix_2d(
        Point2f::new(pivot.0, pivot.1),
        degrees as f64,
        scale as f64,
    )
    .unwrap();
    *matrix.at_2d_mut::<f64>(0, 2).unwrap() += (offset.0 + shift.0) as f64;
    *matrix.at_2d_mut::<f64>(1, 2).unwrap() += (offset.1 + shift.1) as f64;
    let mut canvas = Mat::default();
    opencv::imgproc::warp_affine(
        &source,
        &mut canvas,
        &matrix,
        Size::new(width as i32, height as i32),
        opencv::imgproc::INTER_LINEAR,
        BORDER_CONSTANT,
        Scalar::all(128.0),
    )
    .unwrap();
    canvas.data_bytes().unwrap().to_vec()
}
