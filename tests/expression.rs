//! The landmark warp driven by the face mesh, as the fommanimate element runs it (the library's
//! Animator fed by the library's Tracker): the portrait's eyes close with the driver's and reopen,
//! a still face with sensor noise moves nothing (breathing off), and a real face moved far beyond
//! what a webcam sees keeps the portrait's face inside the picture. Real photos throughout; needs
//! the converted face mesh (set-up makes it) and says so without it.

mod common;

use animecam::animate::{Animator, AvatarMaker, AvatarSpec, DetectorSettings, Driving, Engine};
use animecam::face::{mesh_points, FaceTrack, MeshRegion};
use animecam::image::{read_image, ImageView, PixelFormat, RgbImage};
use animecam::motion::Point;
use common::{add_noise, astronaut, face_mesh, media, move_photo, region_difference, tracker};

const SIZE: usize = 256;
const WIDTH: usize = 640;
const HEIGHT: usize = 480;

fn animator() -> Animator {
    let maker = AvatarMaker::new(Engine::Warp, SIZE, DetectorSettings::default());
    let spec = AvatarSpec {
        path: media("sylvie_green_normal.png"),
        crop: None,
        margin: 0.4,
    };
    Animator::new(&maker, maker.make(&spec).unwrap())
}

/// What fommanimate reads off facetrack's meta.
fn driving(track: &FaceTrack) -> Driving {
    Driving::from_track(track, WIDTH, HEIGHT)
}

fn midpoint(a: Point, b: Point) -> Point {
    [(a[0] + b[0]) / 2.0, (a[1] + b[1]) / 2.0]
}

#[test]
fn the_portraits_eyes_close_with_the_drivers_within_one_frame_and_reopen() {
    let mut mesh = face_mesh();
    let data = astronaut(0.0, (WIDTH, HEIGHT));
    let frame = ImageView::new(&data, WIDTH, HEIGHT, WIDTH * 3, PixelFormat::Rgb).unwrap();
    let mut tracker = tracker(face_mesh());
    let open = driving(&tracker.update(&frame, 0.0).unwrap());
    // The same real face with each upper lid moved onto the lower one: closed eyes.
    let face = open.keypoints.values.clone();
    let region = MeshRegion::around(
        midpoint(face[0], face[1]).into_tuple(),
        open.face_size,
        Some((face[0], face[1])),
    );
    let mut found = mesh.run(&frame, region).unwrap();
    for (upper, lower) in [
        (mesh_points::RIGHT_EYE_UPPER, mesh_points::RIGHT_EYE_LOWER),
        (mesh_points::LEFT_EYE_UPPER, mesh_points::LEFT_EYE_LOWER),
    ] {
        found.points[upper] = found.points[lower];
    }
    let closed = Driving {
        expression: Some(found.expression()),
        ..open.clone()
    };
    assert!(closed.expression.unwrap().right_eye < 0.05);

    let mut animator = animator();
    // The face is held still until it calibrates (the tracker's smoothing settles first).
    for _ in 0..20 {
        animator.frame(Some(&open), 0.0).unwrap();
    }
    assert!(animator.is_calibrated());
    let rest = animator.frame(Some(&open), 0.0).unwrap().0.clone();
    let points = animator.feature_points().unwrap();
    let eye_side = 0.9 * (points[1][1] - points[0][1]).abs().max(8.0) * 2.0;
    let eyes = [
        midpoint(points[0], points[1]),
        midpoint(points[2], points[3]),
    ];
    // The very frame the driver's eyes close, the portrait's do.
    let shut = animator.frame(Some(&closed), 0.0).unwrap().0.clone();
    for eye in eyes {
        let change = region_difference(&shut, &rest, eye, eye_side);
        assert!(
            change > 8.0,
            "the eye at {eye:?} did not close: {change:.1}"
        );
    }
    let moved = animator.feature_points().unwrap();
    for (upper, lower) in [(0, 1), (2, 3)] {
        let gap = (moved[lower][1] - moved[upper][1]).abs();
        let rest_gap = (points[lower][1] - points[upper][1]).abs();
        assert!(gap < 0.15 * rest_gap, "lid gap {gap:.1} of {rest_gap:.1}");
    }
    // And they reopen.
    let again = animator.frame(Some(&open), 0.0).unwrap().0.clone();
    for eye in eyes {
        let change = region_difference(&again, &rest, eye, eye_side);
        assert!(
            change < 1.0,
            "the eye at {eye:?} did not reopen: {change:.2}"
        );
    }
}

trait IntoTuple {
    fn into_tuple(self) -> (f32, f32);
}

impl IntoTuple for Point {
    fn into_tuple(self) -> (f32, f32) {
        (self[0], self[1])
    }
}

#[test]
fn a_still_face_with_sensor_noise_moves_nothing_with_breathing_off() {
    let mesh = face_mesh();
    let still = astronaut(0.0, (WIDTH, HEIGHT));
    let mut tracker = tracker(mesh);
    let mut animator = animator();
    animator.idle.breathing = false;
    let mut previous: Option<RgbImage> = None;
    // Right eye, left eye, mouth, the whole picture.
    let mut worst = [0.0f64; 4];
    // 10 s at 30 fps.
    for t in 0..300 {
        let mut data = still.clone();
        add_noise(&mut data, 6, t);
        let frame = ImageView::new(&data, WIDTH, HEIGHT, WIDTH * 3, PixelFormat::Rgb).unwrap();
        let track = tracker.update(&frame, t as f64 / 30.0).unwrap();
        assert!(track.state.has_face(), "frame {t}");
        let picture = animator
            .frame(Some(&driving(&track)), t as f64 / 30.0)
            .unwrap()
            .0
            .clone();
        let points = animator.feature_points().unwrap();
        let regions = [
            midpoint(points[0], points[1]),
            midpoint(points[2], points[3]),
            midpoint(points[4], points[5]),
        ];
        if let Some(previous) = &previous {
            for (worst, centre) in worst.iter_mut().zip(regions) {
                let d = region_difference(&picture, previous, centre, 40.0);
                *worst = worst.max(d);
            }
            let whole = animecam::stylize::mean_abs_difference(picture.data(), previous.data());
            worst[3] = worst[3].max(whole);
        }
        previous = Some(picture);
    }
    eprintln!(
        "largest frame-to-frame change: right eye {:.2}, left eye {:.2}, mouth {:.2}, whole picture {:.2}",
        worst[0], worst[1], worst[2], worst[3]
    );
    assert!(worst.iter().all(|&w| w <= 1.0), "{worst:?}");
}

#[test]
fn a_face_moved_far_beyond_a_webcams_keeps_the_portrait_in_the_picture() {
    let mesh = face_mesh();
    let photo = read_image(&media("astronaut.png")).unwrap();
    let mut tracker = tracker(mesh);
    let mut animator = animator();
    let frames = 120;
    let mut seen = 0;
    for t in 0..frames {
        let phase = t as f32 / (frames - 1) as f32;
        // Zoom 0.5 to 2.2, across the whole frame and back, rolling up to 30 degrees.
        let zoom = 0.5 + 1.7 * (std::f32::consts::PI * phase).sin().powi(2);
        let shift = (
            -250.0 + 500.0 * phase,
            60.0 * (2.0 * std::f32::consts::PI * phase).sin(),
        );
        let roll = 30.0 * (3.0 * std::f32::consts::PI * phase).sin();
        let data = move_photo(
            &photo,
            (230.0, 150.0),
            (90.0, 90.0),
            shift,
            zoom,
            roll,
            (WIDTH, HEIGHT),
        );
        let frame = ImageView::new(&data, WIDTH, HEIGHT, WIDTH * 3, PixelFormat::Rgb).unwrap();
        let track = tracker.update(&frame, t as f64 / 30.0).unwrap();
        let drive = track.state.has_face().then(|| driving(&track));
        seen += usize::from(drive.is_some());
        let picture = animator
            .frame(drive.as_ref(), t as f64 / 30.0)
            .unwrap()
            .0
            .clone();
        // The portrait's eyes, mouth and chin stay inside the picture...
        for point in animator.feature_points().unwrap() {
            assert!(
                (0.0..SIZE as f32).contains(&point[0]) && (0.0..SIZE as f32).contains(&point[1]),
                "frame {t} (zoom {zoom:.2}, roll {roll:.0}): a feature at {point:?}"
            );
        }
        // ...and the picture is never blank.
        let mean =
            picture.data().iter().map(|&v| v as f64).sum::<f64>() / picture.data().len() as f64;
        let spread = (picture
            .data()
            .iter()
            .map(|&v| (v as f64 - mean).powi(2))
            .sum::<f64>()
            / picture.data().len() as f64)
            .sqrt();
        assert!(spread > 20.0, "frame {t}: a flat picture ({spread:.1})");
    }
    assert!(
        seen > frames / 2,
        "the face was followed on {seen} of {frames} frames"
    );
}
