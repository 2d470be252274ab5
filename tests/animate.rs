//! The animation session the fommanimate element runs, on its own: calibration, a reset for a
//! new stream, another track recalibrating, and a swap keeping the calibration. The warp engine
//! with a real portrait and the astronaut's real landmarks.

mod common;

use std::path::PathBuf;

use animecam::animate::{
    Animator, AvatarMaker, AvatarSpec, DetectorSettings, Driving, Engine, Outcome,
};
use animecam::face::{BlazeFace, FaceDetector};
use animecam::inference::{Provider, ProviderOptions};
use animecam::motion::Keypoints;
use animecam::stylize::mean_abs_difference;
use animecam::tensor::{crop_square, read_image, SquareCrop};
use common::media;

/// The astronaut's landmarks in a 480x480 view shifted right by `shift` pixels.
fn pose(detector: &mut BlazeFace, shift: f32, track: u64) -> Driving {
    let photo = read_image(&media("astronaut.png")).unwrap();
    let view = crop_square(
        &photo.view(),
        SquareCrop {
            center_x: 256.0 - shift,
            center_y: 256.0,
            side: 480.0,
        },
        480,
    )
    .unwrap();
    let face = detector.detect(&view.view()).unwrap().remove(0);
    Driving {
        face_size: face.face.width.max(face.face.height),
        keypoints: Keypoints {
            values: face.landmarks,
            jacobians: Vec::new(),
        },
        track: Some(track),
        expression: None,
        pose: None,
        mesh: Vec::new(),
    }
}

#[test]
fn the_session_calibrates_resets_and_recalibrates_on_another_face() {
    let mut detector = BlazeFace::load(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/blazeface"),
        &ProviderOptions {
            provider: Provider::Cpu,
            ..ProviderOptions::default()
        },
    )
    .unwrap();
    let maker = AvatarMaker::new(Engine::Warp, 256, DetectorSettings::default());
    let spec = AvatarSpec {
        path: media("sylvie_green_normal.png"),
        crop: None,
        margin: 0.4,
    };
    let mut animator = Animator::new(&maker, maker.make(&spec).unwrap());
    let still = animator.avatar().still().clone();
    let (rest, moved) = (pose(&mut detector, 0.0, 1), pose(&mut detector, 40.0, 1));

    // No face yet: the portrait at rest.
    let (picture, outcome) = animator.frame(None).unwrap();
    assert_eq!((picture, outcome), (&still, Outcome::NoFace));
    // The first face calibrates: the portrait at rest again.
    let (picture, outcome) = animator.frame(Some(&rest)).unwrap();
    assert_eq!(outcome, Outcome::Generated { calibrated: true });
    assert!(mean_abs_difference(picture.data(), still.data()) < 1.0);
    // The face moved 40 px: so does the avatar.
    let (picture, _) = animator.frame(Some(&moved)).unwrap();
    let shifted = mean_abs_difference(picture.data(), still.data());
    assert!(shifted > 3.0, "the avatar did not move: {shifted}");
    // No face: the last picture stays.
    let last = picture.clone();
    assert_eq!(animator.frame(None).unwrap().0, &last);

    // A new stream: the next face is the rest pose, wherever it is.
    animator.reset();
    assert_eq!(animator.frame(None).unwrap().0, &still);
    let (picture, outcome) = animator.frame(Some(&moved)).unwrap();
    assert_eq!(outcome, Outcome::Generated { calibrated: true });
    assert!(mean_abs_difference(picture.data(), still.data()) < 1.0);

    // Another person (another track id) at the old place: calibrated afresh, not moved by the
    // difference between two people's poses.
    let other = pose(&mut detector, 0.0, 2);
    let (picture, outcome) = animator.frame(Some(&other)).unwrap();
    assert_eq!(outcome, Outcome::Generated { calibrated: true });
    assert!(mean_abs_difference(picture.data(), still.data()) < 1.0);
    // The same person moving is not a new calibration.
    let same = pose(&mut detector, 40.0, 2);
    let (_, outcome) = animator.frame(Some(&same)).unwrap();
    assert_eq!(outcome, Outcome::Generated { calibrated: false });

    // A swapped avatar keeps the calibration: the moved face moves the new avatar too.
    let smile = AvatarSpec {
        path: media("sylvie_green_smile.png"),
        ..spec
    };
    animator.swap(maker.make(&smile).unwrap());
    let smile_still = animator.avatar().still().clone();
    let (picture, outcome) = animator.frame(Some(&same)).unwrap();
    assert_eq!(outcome, Outcome::Generated { calibrated: false });
    assert!(mean_abs_difference(picture.data(), smile_still.data()) > 3.0);
}

#[test]
fn the_stylization_session_holds_the_face_and_forgets_it_on_a_new_stream() {
    use animecam::face::Rect;
    use animecam::stylize::{FaceCrop, FaceOutcome, FaceStylizer, StylizeSettings, Stylizer};
    use animecam::tensor::{ImageViewMut, PixelFormat};

    let tiny = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/tiny");
    let options = ProviderOptions {
        provider: Provider::Cpu,
        ..ProviderOptions::default()
    };
    let mut session = FaceStylizer::new(Stylizer::load(&tiny, "ugatit_light", &options).unwrap());
    let photo = read_image(&media("astronaut.png")).unwrap();
    let (width, height) = (photo.width(), photo.height());
    let face = FaceCrop {
        track: 1,
        crop: Rect::from_center(0.45, 0.3, 0.4, 0.4),
    };
    let settings = StylizeSettings {
        feather: 0.1,
        smoothing: 0.0,
        hold_frames: 2,
    };
    let run = |session: &mut FaceStylizer, face: Option<FaceCrop>| {
        let mut data = vec![0u8; width * height * 3];
        let mut output =
            ImageViewMut::new(&mut data, width, height, width * 3, PixelFormat::Rgb).unwrap();
        let outcome = session
            .face(&photo.view(), &mut output, face, &settings)
            .unwrap();
        let changed = mean_abs_difference(&data, photo.data());
        (outcome, changed)
    };
    let (outcome, changed) = run(&mut session, Some(face));
    assert_eq!(outcome, FaceOutcome::Stylized);
    assert!(changed > 1.0, "the face was redrawn: {changed}");
    // Two frames without a face keep the stylized face; the third leaves the frame as it is.
    for _ in 0..2 {
        let (outcome, changed) = run(&mut session, None);
        assert_eq!(outcome, FaceOutcome::Held);
        assert!(changed > 1.0);
    }
    assert_eq!(run(&mut session, None), (FaceOutcome::Unchanged, 0.0));
    // A new stream holds nothing of the old one.
    run(&mut session, Some(face));
    session.reset();
    assert_eq!(run(&mut session, None), (FaceOutcome::Unchanged, 0.0));
}
