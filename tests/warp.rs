//! The landmark warp on real data: a real face photo (NASA's astronaut) moved by known similarity
//! transforms drives an anime portrait (Ren'Py's Sylvie); BlazeFace re-detects the portrait's
//! landmarks on the output and they must have moved where relative motion sends them.

mod common;

use animecam::face::{BlazeFace, Detection, FaceDetector};
use animecam::image::{crop_square, read_image, RgbImage};
use animecam::inference::{Provider, ProviderOptions};
use animecam::motion::{centroid, Point, Similarity};
use animecam::portrait::Portrait;
use animecam::warp::{warp_targets, LandmarkWarp};
use opencv::core::{Mat, Scalar, Size};
use opencv::prelude::*;

use common::{media, root};

fn detector() -> BlazeFace {
    let options = ProviderOptions {
        provider: Provider::Cpu,
        intra_threads: 1,
        ..ProviderOptions::default()
    };
    BlazeFace::load(&root().join("models/blazeface"), &options).unwrap()
}

/// The photo rotated by `degrees` and scaled by `scale` about `pivot`, then shifted.
fn transformed(photo: &RgbImage, pivot: Point, shift: Point, scale: f32, degrees: f32) -> RgbImage {
    let size = (photo.width(), photo.height());
    let data = common::move_photo(
        photo,
        (pivot[0], pivot[1]),
        (0.0, 0.0),
        (shift[0], shift[1]),
        scale,
        degrees,
        size,
    );
    RgbImage::new(size.0, size.1, data).unwrap()
}

fn gray(image: &RgbImage) -> Mat {
    let rgb = common::to_mat(image);
    let mut gray = Mat::default();
    opencv::imgproc::cvt_color_def(&rgb, &mut gray, opencv::imgproc::COLOR_RGB2GRAY).unwrap();
    gray
}

/// The head's motion between the portrait and the warped output, re-detected on the pixels: the
/// affine alignment (OpenCV's ECC) of the face disc of the portrait onto the output, as rotation
/// (degrees, image coordinates), zoom and the shift of the face's centre. BlazeFace's landmarks
/// on a drawn face are too rough to measure a warp with (its eye landmark sits between Sylvie's
/// eyes), though they drive it well enough.
fn head_motion(
    portrait: &RgbImage,
    output: &RgbImage,
    centre: Point,
    face_size: f32,
) -> (f32, f32, Point) {
    let half = |image: &RgbImage| {
        let mut small = Mat::default();
        let size = Size::new(image.width() as i32 / 2, image.height() as i32 / 2);
        opencv::imgproc::resize(
            &gray(image),
            &mut small,
            size,
            0.0,
            0.0,
            opencv::imgproc::INTER_AREA,
        )
        .unwrap();
        small
    };
    let (template, input) = (half(portrait), half(output));
    let mut mask = Mat::zeros(template.rows(), template.cols(), opencv::core::CV_8UC1)
        .unwrap()
        .to_mat()
        .unwrap();
    let disc_centre = opencv::core::Point::new((centre[0] / 2.0) as i32, (centre[1] / 2.0) as i32);
    opencv::imgproc::circle(
        &mut mask,
        disc_centre,
        (0.3 * face_size / 2.0) as i32,
        Scalar::all(255.0),
        -1,
        opencv::imgproc::LINE_8,
        0,
    )
    .unwrap();
    // Start from the shift that best matches the face patch; ECC then finds turn and zoom.
    let radius = (0.3 * face_size / 2.0) as i32;
    let corner = opencv::core::Point::new(disc_centre.x - radius, disc_centre.y - radius);
    let patch = Mat::roi(
        &template,
        opencv::core::Rect::new(corner.x, corner.y, 2 * radius, 2 * radius),
    )
    .unwrap()
    .try_clone()
    .unwrap();
    let mut scores = Mat::default();
    opencv::imgproc::match_template_def(
        &input,
        &patch,
        &mut scores,
        opencv::imgproc::TM_CCOEFF_NORMED,
    )
    .unwrap();
    let mut best = opencv::core::Point::default();
    opencv::core::min_max_loc(
        &scores,
        None,
        None,
        None,
        Some(&mut best),
        &opencv::core::no_array(),
    )
    .unwrap();
    let mut warp = Mat::eye(2, 3, opencv::core::CV_32F)
        .unwrap()
        .to_mat()
        .unwrap();
    *warp.at_2d_mut::<f32>(0, 2).unwrap() = (best.x - corner.x) as f32;
    *warp.at_2d_mut::<f32>(1, 2).unwrap() = (best.y - corner.y) as f32;
    let criteria = opencv::core::TermCriteria::new(
        opencv::core::TermCriteria_COUNT + opencv::core::TermCriteria_EPS,
        200,
        1e-6,
    )
    .unwrap();
    opencv::video::find_transform_ecc(
        &template,
        &input,
        &mut warp,
        opencv::video::MOTION_AFFINE,
        criteria,
        &mask,
        5,
    )
    .unwrap();
    let at = |r: i32, c: i32| *warp.at_2d::<f32>(r, c).unwrap();
    let (a, b, c, d) = (at(0, 0), at(0, 1), at(1, 0), at(1, 1));
    let angle = (c - b).atan2(a + d).to_degrees();
    let zoom = (a * d - b * c).sqrt();
    let (x, y) = (centre[0] / 2.0, centre[1] / 2.0);
    let moved = [a * x + b * y + at(0, 2), c * x + d * y + at(1, 2)];
    (angle, zoom, [2.0 * (moved[0] - x), 2.0 * (moved[1] - y)])
}

fn face(detector: &mut BlazeFace, image: &RgbImage) -> Detection {
    let mut faces = detector.detect(&image.view()).unwrap();
    assert!(!faces.is_empty(), "no face found");
    faces.sort_by(|a, b| b.face.area().total_cmp(&a.face.area()));
    faces.remove(0)
}

#[test]
fn portrait_landmarks_follow_the_driving_face() {
    const SIZE: usize = 512;
    let mut detector = detector();
    let portrait = Portrait::load(&media("sylvie_green_normal.png"), None, 0.4).unwrap();
    let crop = crop_square(&portrait.image.view(), portrait.crop, SIZE).unwrap();
    let landmarks = portrait
        .landmarks_in_crop(SIZE)
        .expect("Sylvie's face is found");
    let face_size = portrait.face_size_in_crop(SIZE).unwrap();
    let warp = LandmarkWarp::new(&crop, landmarks.clone(), face_size, None).unwrap();

    let photo = read_image(&media("astronaut.png")).unwrap();
    let rest = face(&mut detector, &photo);
    let pivot = rest.face.center();
    let pivot = [pivot.0, pivot.1];
    let rest_size = rest.face.width.max(rest.face.height);

    let centre = animecam::motion::centroid(&landmarks[..4]);

    // On the calibration frame (driving = initial) the output is the portrait itself.
    let targets = warp_targets(
        &landmarks,
        face_size,
        &rest.landmarks,
        &rest.landmarks,
        rest_size,
    )
    .unwrap();
    assert!(
        warp.warp(&targets).unwrap() == crop,
        "calibration frame differs from the portrait"
    );

    // Head moves: a shift of 0.2 face sizes, a zoom with a shift, and a tilt. The astronaut's
    // head already leans about 10 degrees, and BlazeFace misreads leans much past 15: the tilt
    // turns her towards upright.
    for (shift, scale, degrees) in [
        ([0.2 * rest_size, 0.0], 1.0, 0.0),
        ([0.0, -0.15 * rest_size], 1.1, 0.0),
        ([0.0, 0.0], 1.0, 10.0),
    ] {
        let moved = face(
            &mut detector,
            &transformed(&photo, pivot, shift, scale, degrees),
        );
        let targets = warp_targets(
            &landmarks,
            face_size,
            &moved.landmarks,
            &rest.landmarks,
            rest_size,
        )
        .unwrap();
        let output = warp.warp(&targets).unwrap();
        // The head's motion on the output's pixels, against the motion asked of the warp (the
        // similarity of the portrait's landmarks to their targets) and against the known
        // transform of the driving photo (through the driving detector, relative motion and the
        // warp; BlazeFace's own reading of a real face is off by up to ~6 degrees and ~8% of
        // zoom, hence the wider tolerances there). OpenCV's positive angle turns a picture
        // counter-clockwise: a negative rotation in image coordinates (y down).
        let (angle, zoom, moved_by) = head_motion(&crop, &output, centre, face_size);
        let asked = Similarity::fit(&landmarks[..4], &targets[..4]);
        let asked_shift = {
            let (from, to) = (centroid(&landmarks[..4]), centroid(&targets[..4]));
            [to[0] - from[0], to[1] - from[1]]
        };
        let driven = Similarity::fit(&rest.landmarks[..4], &moved.landmarks[..4]);
        let known_shift = [
            shift[0] / rest_size * face_size,
            shift[1] / rest_size * face_size,
        ];
        eprintln!(
            "photo moved {:.2}, {:.2} face sizes, zoom {scale}, turned {degrees} deg | driving detector: rotation {:.1}, zoom {:.3} | \
             warp asked: rotation {:.1}, zoom {:.3}, shift {:.0?} px | output: rotation {angle:.1}, zoom {zoom:.3}, shift {moved_by:.0?} px",
            shift[0] / rest_size,
            shift[1] / rest_size,
            driven.angle_degrees(),
            driven.scale(),
            asked.angle_degrees(),
            asked.scale(),
            asked_shift,
        );
        assert!(
            (angle - asked.angle_degrees()).abs() < 3.0,
            "rotation {angle} for {}",
            asked.angle_degrees()
        );
        assert!(
            (zoom / asked.scale() - 1.0).abs() < 0.05,
            "zoom {zoom} for {}",
            asked.scale()
        );
        assert!(
            (angle + degrees).abs() < 10.0,
            "rotation {angle} for a {degrees} degree turn"
        );
        assert!((zoom / scale - 1.0).abs() < 0.15, "zoom {zoom} for {scale}");
        for axis in 0..2 {
            assert!(
                (moved_by[axis] - asked_shift[axis]).abs() < 0.04 * face_size,
                "shift {moved_by:?} for {asked_shift:?}"
            );
            assert!(
                (moved_by[axis] - known_shift[axis]).abs() < 0.1 * face_size,
                "shift {moved_by:?} for {known_shift:?}"
            );
        }
    }
}
