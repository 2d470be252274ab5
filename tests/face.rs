//! Face detection and tracking on real images: a public-domain photo (NASA's astronaut, from
//! scikit-image) moved by known transforms, and anime portraits (Ren'Py's Sylvie, Expat licence).
//! The media come from `scripts/setup.sh assets` (run by `make test`).

mod common;

use std::path::{Path, PathBuf};

use animecam::face::{
    BlazeFace, FaceDetector, FaceTrack, HaarCascade, Rect, TrackState, Tracker, TrackerConfig,
    DEFAULT_HAAR_CASCADE,
};
use animecam::image::{read_image, ImageView, PixelFormat, RgbImage};
use animecam::inference::{Provider, ProviderOptions};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn media(name: &str) -> RgbImage {
    let path = root().join(".cache/media").join(name);
    read_image(&path).unwrap_or_else(|e| panic!("{e}: run `make setup` to fetch the test media"))
}

fn blazeface() -> BlazeFace {
    let options = ProviderOptions {
        provider: Provider::Cpu,
        intra_threads: 1,
        ..ProviderOptions::default()
    };
    BlazeFace::load(&root().join("models/blazeface"), &options)
        .unwrap_or_else(|e| panic!("{e}: run `make setup` to fetch the detector"))
}

const WIDTH: usize = 640;
const HEIGHT: usize = 480;
const FPS: f64 = 30.0;

/// Where the astronaut's 512x512 image sits on the 640x480 canvas at rest.
const PHOTO_OFFSET: (f32, f32) = (64.0, -16.0);

/// The photo on a grey canvas, rotated by `degrees` and scaled by `scale` about `pivot`, then
/// shifted, with seeded Gaussian-like sensor noise of amplitude `noise`.
fn synthetic_frame(
    photo: &RgbImage,
    pivot: (f32, f32),
    shift: (f32, f32),
    scale: f32,
    degrees: f32,
    noise: u8,
    seed: u64,
) -> Vec<u8> {
    // Pivot given on the canvas; the transform works in photo coordinates.
    let mut data = common::move_photo(
        photo,
        (pivot.0 - PHOTO_OFFSET.0, pivot.1 - PHOTO_OFFSET.1),
        PHOTO_OFFSET,
        shift,
        scale,
        degrees,
        (WIDTH, HEIGHT),
    );
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    for value in &mut data {
        // Sum of two uniforms: a triangular, roughly Gaussian, noise.
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let a = (state >> 33) % (noise as u64 + 1);
        let b = (state >> 45) % (noise as u64 + 1);
        *value = (*value as i32 + a as i32 - b as i32).clamp(0, 255) as u8;
    }
    data
}

fn view(data: &[u8]) -> ImageView<'_> {
    ImageView::new(data, WIDTH, HEIGHT, WIDTH * 3, PixelFormat::Rgb).unwrap()
}

fn std_dev(values: &[f32]) -> f32 {
    let mean = values.iter().sum::<f32>() / values.len() as f32;
    (values.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / values.len() as f32).sqrt()
}

#[test]
fn blazeface_finds_the_astronaut_with_landmarks_in_place() {
    let photo = media("astronaut.png");
    let faces = blazeface().detect(&photo.view()).unwrap();
    assert_eq!(faces.len(), 1, "{faces:?}");
    let face = &faces[0];
    assert!(face.score > 0.8, "{face:?}");
    // Eileen Collins' face in the photo spans roughly x 175..275, y 75..180.
    let truth = Rect {
        x: 175.0,
        y: 75.0,
        width: 100.0,
        height: 105.0,
    };
    assert!(face.face.iou(&truth) > 0.6, "{face:?}");
    let [right_eye, left_eye, nose, mouth, ..] = face.landmarks[..] else {
        panic!("six landmarks expected: {face:?}");
    };
    assert!(right_eye[0] < left_eye[0], "eyes in image order");
    assert!(
        nose[1] > right_eye[1].max(left_eye[1]) && mouth[1] > nose[1],
        "eyes, nose, mouth top to bottom"
    );
}

#[test]
fn blazeface_finds_anime_faces() {
    let mut detector = blazeface();
    for expression in ["normal", "smile", "surprised"] {
        let portrait = media(&format!("sylvie_green_{expression}.png"));
        let faces = detector.detect(&portrait.view()).unwrap();
        assert_eq!(faces.len(), 1, "{expression}: {faces:?}");
        // Sylvie's face in the 456x700 sprite: roughly x 125..265, y 55..195.
        let truth = Rect {
            x: 125.0,
            y: 55.0,
            width: 140.0,
            height: 140.0,
        };
        assert!(faces[0].face.iou(&truth) > 0.6, "{expression}: {faces:?}");
    }
}

#[test]
fn haar_finds_the_astronaut_without_onnx() {
    let photo = media("astronaut.png");
    let mut haar = HaarCascade::load(Path::new(DEFAULT_HAAR_CASCADE)).unwrap();
    let faces = haar.detect(&photo.view()).unwrap();
    let truth = Rect {
        x: 175.0,
        y: 75.0,
        width: 100.0,
        height: 105.0,
    };
    assert!(faces.iter().any(|f| f.face.iou(&truth) > 0.5), "{faces:?}");
    let missing = HaarCascade::load(Path::new("/nonexistent/cascade.xml"))
        .err()
        .unwrap()
        .to_string();
    assert!(
        missing.contains("/nonexistent/cascade.xml") && missing.contains("opencv-data"),
        "{missing}"
    );
}

/// Runs the tracker over a clip whose frame `t` is made by `frame_at(t)`; returns the tracks.
fn track_clip(
    frames: usize,
    config: TrackerConfig,
    frame_at: impl Fn(usize) -> Vec<u8>,
) -> Vec<FaceTrack> {
    let mut tracker = Tracker::new(Box::new(blazeface()), config);
    (0..frames)
        .map(|t| tracker.update(&view(&frame_at(t)), t as f64 / FPS).unwrap())
        .collect()
}

#[test]
fn tracking_follows_known_affine_motion() {
    let photo = media("astronaut.png");
    // Ground truth: the box found on the untransformed frame, moved by each frame's transform.
    let rest = synthetic_frame(&photo, (0.0, 0.0), (0.0, 0.0), 1.0, 0.0, 0, 0);
    let reference = blazeface().detect(&view(&rest)).unwrap()[0].face;
    let pivot = reference.center();

    let frames = 150;
    let motion = |t: usize| {
        let phase = t as f32 / frames as f32 * std::f32::consts::TAU;
        let shift = (70.0 * phase.sin(), 40.0 * (2.0 * phase).sin());
        let scale = 1.0 + 0.3 * (phase * 1.5).sin(); // 0.7 ..= 1.3
        let degrees = 15.0 * (phase * 0.5).sin();
        (shift, scale, degrees)
    };
    let tracks = track_clip(frames, TrackerConfig::default(), |t| {
        let (shift, scale, degrees) = motion(t);
        synthetic_frame(&photo, pivot, shift, scale, degrees, 6, t as u64)
    });

    let mut ious = Vec::new();
    for (t, track) in tracks.iter().enumerate() {
        // The reference box turned with the face: its axis-aligned bounds are what an upright
        // box around the rotated face should be.
        let (shift, scale, degrees) = motion(t);
        let (sin, cos) = degrees.to_radians().abs().sin_cos();
        let truth = Rect::from_center(
            pivot.0 + shift.0,
            pivot.1 + shift.1,
            scale * (reference.width * cos + reference.height * sin),
            scale * (reference.width * sin + reference.height * cos),
        );
        let found = track.face.to_pixels(WIDTH, HEIGHT);
        ious.push(if track.state.has_face() {
            found.iou(&truth)
        } else {
            0.0
        });
    }
    let detected = tracks.iter().filter(|t| t.state.has_face()).count() as f32 / frames as f32;
    let mean_iou = ious.iter().sum::<f32>() / frames as f32;
    let tracked = tracks
        .iter()
        .filter(|t| t.state == TrackState::Tracked)
        .count();
    eprintln!("affine clip: face on {:.1}% of frames, mean IoU {mean_iou:.3}, min IoU {:.3}, {tracked} frames by optical flow",
        detected * 100.0, ious.iter().cloned().fold(1.0, f32::min));
    assert!(detected >= 0.95, "face on {detected} of frames");
    assert!(mean_iou >= 0.8, "mean IoU {mean_iou}");
    assert!(
        tracked > frames / 2,
        "optical flow carried only {tracked} frames"
    );
    assert!(
        tracks.iter().all(|t| t.track_id == 1),
        "one face, one track id"
    );
}

#[test]
fn a_still_face_stays_still_under_sensor_noise() {
    let photo = media("astronaut.png");
    let tracks = track_clip(100, TrackerConfig::default(), |t| {
        synthetic_frame(&photo, (0.0, 0.0), (0.0, 0.0), 1.0, 0.0, 8, t as u64)
    });
    assert!(tracks.iter().all(|t| t.state.has_face()));
    let boxes: Vec<Rect> = tracks
        .iter()
        .map(|t| t.face.to_pixels(WIDTH, HEIGHT))
        .collect();
    let centre_x: Vec<f32> = boxes.iter().map(|b| b.center().0).collect();
    let centre_y: Vec<f32> = boxes.iter().map(|b| b.center().1).collect();
    let side: Vec<f32> = boxes.iter().map(|b| b.width.max(b.height)).collect();
    let (sx, sy, ss) = (std_dev(&centre_x), std_dev(&centre_y), std_dev(&side));
    eprintln!("still face at 640x480: std dev centre x {sx:.3} px, y {sy:.3} px, side {ss:.3} px");
    assert!(sx <= 0.5 && sy <= 0.5 && ss <= 0.5, "jitter {sx} {sy} {ss}");
    // The crop the models take is square in pixels and holds the face.
    let crop = tracks[50].crop.to_pixels(WIDTH, HEIGHT);
    assert!((crop.width - crop.height).abs() < 1e-3);
    assert!(crop.iou(&boxes[50]) > 0.2 && crop.width > boxes[50].width);
}

#[test]
fn a_face_that_leaves_is_held_then_lost_and_a_new_one_gets_a_new_id() {
    let photo = media("astronaut.png");
    let empty = vec![128u8; WIDTH * HEIGHT * 3];
    let config = TrackerConfig {
        hold_frames: 5,
        ..TrackerConfig::default()
    };
    let tracks = track_clip(30, config, |t| {
        if (10..20).contains(&t) {
            empty.clone()
        } else {
            synthetic_frame(&photo, (0.0, 0.0), (0.0, 0.0), 1.0, 0.0, 4, t as u64)
        }
    });
    let states: Vec<TrackState> = tracks.iter().map(|t| t.state).collect();
    assert!(states[..10].iter().all(|s| s.has_face()));
    assert!(
        states[10..15].iter().all(|s| *s == TrackState::Held),
        "{states:?}"
    );
    assert!(
        states[15..20].iter().all(|s| *s == TrackState::Lost),
        "{states:?}"
    );
    assert_eq!(states[20], TrackState::Detected);
    assert_eq!(tracks[5].track_id, 1);
    assert_eq!(tracks[25].track_id, 2);
}
