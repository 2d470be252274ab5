//! What the library's integration tests share: moving a real photo by a known transform, sensor
//! noise, the face tracker with its mesh, and comparing regions of pictures.
#![allow(dead_code)]

mod series;
#[allow(unused_imports)]
pub use series::pearson;

use std::path::PathBuf;

use animecam::face::{BlazeFace, FaceMesh, Tracker, TrackerConfig};
use animecam::image::RgbImage;
use animecam::inference::{Provider, ProviderOptions};
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
    let source = to_mat(photo);
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

/// One CPU thread: the tests run side by side.
pub fn options() -> ProviderOptions {
    ProviderOptions {
        provider: Provider::Cpu,
        intra_threads: 1,
        ..ProviderOptions::default()
    }
}

/// The converted face mesh (set-up makes it).
pub fn face_mesh() -> FaceMesh {
    let dir = root().join("models/face_mesh");
    assert!(
        dir.join("manifest.json").is_file(),
        "models/face_mesh missing: run `make setup` (or `make face-mesh`), which converts MediaPipe's face mesh"
    );
    FaceMesh::load(&dir, &options()).unwrap()
}

/// The tracker as facetrack runs it with `mesh`.
pub fn tracker(mesh: FaceMesh) -> Tracker {
    let detector = BlazeFace::load(&root().join("models/blazeface"), &options()).unwrap();
    let mut tracker = Tracker::new(Box::new(detector), TrackerConfig::default());
    tracker.set_mesh(Some(mesh));
    tracker
}

/// Deterministic sensor noise of amplitude `amount` (uniform), from `seed`.
pub fn add_noise(pixels: &mut [u8], amount: i32, seed: u64) {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    for value in pixels.iter_mut() {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let noise = ((state >> 33) % (2 * amount as u64 + 1)) as i32 - amount;
        *value = (*value as i32 + noise).clamp(0, 255) as u8;
    }
}

/// Mean absolute difference of two pictures inside the square of side `side` around `centre`.
pub fn region_difference(a: &RgbImage, b: &RgbImage, centre: [f32; 2], side: f32) -> f64 {
    let (x0, y0) = (
        (centre[0] - side / 2.0).max(0.0) as usize,
        (centre[1] - side / 2.0).max(0.0) as usize,
    );
    let (x1, y1) = (
        ((centre[0] + side / 2.0) as usize).min(a.width()),
        ((centre[1] + side / 2.0) as usize).min(a.height()),
    );
    let mut total = 0u64;
    for y in y0..y1 {
        for x in x0..x1 {
            total += a
                .rgb(x, y)
                .iter()
                .zip(b.rgb(x, y))
                .map(|(p, q)| p.abs_diff(q) as u64)
                .sum::<u64>();
        }
    }
    total as f64 / (((x1 - x0) * (y1 - y0) * 3).max(1)) as f64
}

/// The astronaut photo's face (scikit-image's, a real face) turned by `degrees` and placed on a
/// grey canvas of `size`, as the tests' camera sees it still. Packed RGB bytes.
pub fn astronaut(degrees: f32, size: (usize, usize)) -> Vec<u8> {
    let photo = animecam::image::read_image(&media("astronaut.png")).unwrap();
    move_photo(
        &photo,
        (230.0, 150.0),
        (90.0, 90.0),
        (0.0, 0.0),
        1.0,
        degrees,
        size,
    )
}

/// `image` as a three-channel OpenCV picture (RGB order).
pub fn to_mat(image: &RgbImage) -> Mat {
    Mat::new_rows_cols_with_data(
        image.height() as i32,
        (image.width() * 3) as i32,
        image.data(),
    )
    .unwrap()
    .reshape(3, image.height() as i32)
    .unwrap()
    .try_clone()
    .unwrap()
}
