//! Small and far faces: a real face photo (NASA's astronaut, scikit-image) scaled so that its
//! face is 40, 60 and 80 pixels wide, placed at nine positions of a 640x480 frame. BlazeFace's
//! short-range model misses the smallest; `detector=auto` (short range, then the full-range
//! model where it finds none) finds every one. Needs the full-range model set-up converts.

mod common;

use animecam::face::{BlazeFace, EitherRange, FaceDetector};
use animecam::image::{read_image, ImageView, PixelFormat};
use animecam::inference::{Provider, ProviderOptions};
use common::{media, move_photo, root};

const WIDTH: usize = 640;
const HEIGHT: usize = 480;

fn load(set: &str) -> BlazeFace {
    let options = ProviderOptions {
        provider: Provider::Cpu,
        intra_threads: 1,
        ..ProviderOptions::default()
    };
    BlazeFace::load(&root().join("models").join(set), &options).unwrap_or_else(|e| {
        panic!("{e}: run `make setup`, which fetches and converts the detectors")
    })
}

#[test]
fn auto_finds_faces_of_40_60_and_80_pixels_anywhere_in_the_frame() {
    let photo = read_image(&media("astronaut.png")).unwrap();
    // The face in the photo, by the short-range model at its own size.
    let mut short = load("blazeface");
    let face = short.detect(&photo.view()).unwrap().remove(0).face;
    let (centre, side) = (face.center(), face.width);
    let mut auto = EitherRange::new(load("blazeface"), load("face_detection_full_range"));
    let mut found_by_short = 0;
    let mut frames = 0;
    for target in [40.0f32, 60.0, 80.0] {
        for (x, y) in [
            (90.0, 70.0),
            (320.0, 70.0),
            (550.0, 70.0),
            (90.0, 240.0),
            (320.0, 240.0),
            (550.0, 240.0),
            (90.0, 410.0),
            (320.0, 410.0),
            (550.0, 410.0),
        ] {
            frames += 1;
            let data = move_photo(
                &photo,
                centre,
                (x - centre.0, y - centre.1),
                (0.0, 0.0),
                target / side,
                0.0,
                (WIDTH, HEIGHT),
            );
            let frame = ImageView::new(&data, WIDTH, HEIGHT, WIDTH * 3, PixelFormat::Rgb).unwrap();
            // The face where it was put, about its size.
            let is_it = |found: &animecam::face::Detection| {
                let (cx, cy) = found.face.center();
                (cx - x).abs() < 0.5 * target
                    && (cy - y).abs() < 0.5 * target
                    && (0.6 * target..1.6 * target).contains(&found.face.width)
            };
            found_by_short += usize::from(short.detect(&frame).unwrap().iter().any(is_it));
            let found = auto.detect(&frame).unwrap();
            assert!(
                found.iter().any(is_it),
                "a {target} px face at ({x}, {y}) was not found: {found:?}"
            );
        }
    }
    eprintln!(
        "{frames} frames: auto found every face, the short-range model alone {found_by_short}"
    );
    assert!(
        found_by_short < frames,
        "the short-range model found all {frames}: this test no longer shows what auto adds"
    );
}
