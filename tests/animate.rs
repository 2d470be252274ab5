//! The animation session the fommanimate element runs, on its own: calibration, a reset for a
//! new stream, another track recalibrating, and a swap keeping the calibration. The warp engine
//! with a real portrait and the astronaut's real landmarks.

mod common;

use std::path::PathBuf;

use animecam::animate::{
    Animator, AvatarMaker, AvatarSpec, DetectorSettings, Driving, Engine, Outcome,
};
use animecam::face::{BlazeFace, FaceDetector};
use animecam::image::{crop_square, crop_square_with, read_image, Outside, SquareCrop};
use animecam::inference::{Provider, ProviderOptions};
use animecam::motion::Keypoints;
use animecam::stylize::mean_abs_difference;
use common::media;

/// The face detector set-up fetched, on the CPU.
/// Stream time for a frame at 30 fps, one frame after the last.
#[derive(Default)]
struct Clock {
    frames: u32,
}

impl Clock {
    fn next(&mut self) -> f64 {
        self.frames += 1;
        f64::from(self.frames) / 30.0
    }
}

fn detector() -> BlazeFace {
    BlazeFace::load(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/blazeface"),
        &ProviderOptions {
            provider: Provider::Cpu,
            ..ProviderOptions::default()
        },
    )
    .unwrap()
}

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
    let face_size = face.face.width.max(face.face.height);
    Driving::from_landmarks(face.landmarks, face_size, Some(track))
}

#[test]
fn the_session_calibrates_resets_and_recalibrates_on_another_face() {
    let mut detector = detector();
    let maker = AvatarMaker::new(Engine::Warp, 256, DetectorSettings::default());
    let spec = AvatarSpec {
        path: media("sylvie_green_normal.png"),
        crop: None,
        margin: 0.4,
    };
    let mut animator = Animator::new(&maker, maker.make(&spec).unwrap());
    // Breathing would move the chest on every frame: here only the face moves the avatar.
    animator.idle.breathing = false;
    let mut clock = Clock::default();
    let still = animator.avatar().still().clone();
    let (rest, moved) = (pose(&mut detector, 0.0, 1), pose(&mut detector, 40.0, 1));

    // No face yet: the portrait at rest.
    let (picture, outcome) = animator.frame(None, clock.next()).unwrap();
    assert_eq!((picture, outcome), (&still, Outcome::NoFace));
    // The first face calibrates: the portrait at rest again.
    let (picture, outcome) = animator.frame(Some(&rest), clock.next()).unwrap();
    assert_eq!(outcome, Outcome::Generated { calibrated: true });
    assert!(mean_abs_difference(picture.data(), still.data()) < 1.0);
    // The face moved 40 px: so does the avatar.
    let (picture, _) = animator.frame(Some(&moved), clock.next()).unwrap();
    let shifted = mean_abs_difference(picture.data(), still.data());
    assert!(shifted > 3.0, "the avatar did not move: {shifted}");
    // No face: the last picture stays.
    let last = picture.clone();
    assert_eq!(animator.frame(None, clock.next()).unwrap().0, &last);

    // A new stream: the next face is the rest pose, wherever it is.
    animator.reset();
    assert_eq!(animator.frame(None, clock.next()).unwrap().0, &still);
    let (picture, outcome) = animator.frame(Some(&moved), clock.next()).unwrap();
    assert_eq!(outcome, Outcome::Generated { calibrated: true });
    assert!(mean_abs_difference(picture.data(), still.data()) < 1.0);

    // Another person (another track id) at the old place: calibrated afresh, not moved by the
    // difference between two people's poses.
    let other = pose(&mut detector, 0.0, 2);
    let (picture, outcome) = animator.frame(Some(&other), clock.next()).unwrap();
    assert_eq!(outcome, Outcome::Generated { calibrated: true });
    assert!(mean_abs_difference(picture.data(), still.data()) < 1.0);
    // The same person moving is not a new calibration.
    let same = pose(&mut detector, 40.0, 2);
    let (_, outcome) = animator.frame(Some(&same), clock.next()).unwrap();
    assert_eq!(outcome, Outcome::Generated { calibrated: false });

    // A swapped avatar keeps the calibration: the moved face moves the new avatar too.
    let smile = AvatarSpec {
        path: media("sylvie_green_smile.png"),
        ..spec
    };
    animator.swap(maker.make(&smile).unwrap());
    let smile_still = animator.avatar().still().clone();
    let (picture, outcome) = animator.frame(Some(&same), clock.next()).unwrap();
    assert_eq!(outcome, Outcome::Generated { calibrated: false });
    assert!(mean_abs_difference(picture.data(), smile_still.data()) > 3.0);
}

#[test]
fn the_stylization_session_holds_the_face_and_forgets_it_on_a_new_stream() {
    use animecam::face::Rect;
    use animecam::image::{ImageViewMut, PixelFormat};
    use animecam::stylize::{FaceCrop, FaceOutcome, FaceStylizer, StylizeSettings, Stylizer};

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
        mesh: Vec::new(),
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
    let (outcome, changed) = run(&mut session, Some(face.clone()));
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
    run(&mut session, Some(face.clone()));
    session.reset();
    assert_eq!(run(&mut session, None), (FaceOutcome::Unchanged, 0.0));
}

/// Centroid (x, y) of a grey alpha picture, weighted by alpha.
fn alpha_centroid(alpha: &animecam::image::RgbImage) -> [f64; 2] {
    let (mut sum, mut sx, mut sy) = (0.0, 0.0, 0.0);
    for y in 0..alpha.height() {
        for x in 0..alpha.width() {
            let a = alpha.data()[(y * alpha.width() + x) * 3] as f64;
            sum += a;
            sx += a * x as f64;
            sy += a * y as f64;
        }
    }
    [sx / sum, sy / sum]
}

#[test]
fn the_warp_moves_the_portraits_alpha_with_its_pixels() {
    use animecam::image::read_image_with_alpha;
    use animecam::portrait::Portrait;

    let mut detector = detector();
    let maker = AvatarMaker::new(Engine::Warp, 256, DetectorSettings::default());
    let path = media("sylvie_green_normal.png");
    let spec = AvatarSpec {
        path: path.clone(),
        crop: None,
        margin: 0.4,
    };
    let mut animator = Animator::new(&maker, maker.make(&spec).unwrap());
    let mut clock = Clock::default();
    animator.carry_alpha = true;
    // Breathing would move the chest on every frame: here only the face moves the avatar.
    animator.idle.breathing = false;

    // The still's alpha is the file's alpha, framed as the colours are (the border extended
    // where the square reaches past the picture).
    let (_, file_alpha) = read_image_with_alpha(&path).unwrap();
    let framing = Portrait::load(&path, None, 0.4).unwrap().crop;
    let expected =
        crop_square_with(&file_alpha.unwrap().view(), framing, 256, Outside::Extended).unwrap();
    assert_eq!(
        animator.frame(None, clock.next()).unwrap().1,
        Outcome::NoFace
    );
    let still_alpha = animator.alpha().expect("the portrait has alpha").clone();
    assert_eq!(still_alpha, expected);
    let opaque = still_alpha.data().iter().filter(|&&a| a == 255).count() / 3;
    let clear = still_alpha.data().iter().filter(|&&a| a == 0).count() / 3;
    assert!(
        opaque > 256 * 256 / 10 && clear > 256 * 256 / 10,
        "{opaque} opaque, {clear} clear"
    );

    // At rest the warp is the identity: the alpha as the file has it.
    let (rest, moved) = (pose(&mut detector, 0.0, 1), pose(&mut detector, 40.0, 1));
    animator.frame(Some(&rest), clock.next()).unwrap();
    let at_rest = animator.alpha().unwrap().clone();
    let worst = at_rest
        .data()
        .iter()
        .zip(still_alpha.data())
        .map(|(a, b)| a.abs_diff(*b))
        .max()
        .unwrap();
    eprintln!("at rest: alpha within {worst} levels of the file's");
    assert!(worst <= 1, "at rest the alpha moved: {worst} levels");

    // The face moves: the alpha moves as the drawn character does. The character is measured
    // on the colour picture, independently of the alpha: its pixels that are not the white the
    // portrait is shown over.
    let still = animator.avatar().still().clone();
    let features_before = animator.feature_points().unwrap();
    let picture = animator
        .frame(Some(&moved), clock.next())
        .unwrap()
        .0
        .clone();
    let features_after = animator.feature_points().unwrap();
    let moved_alpha = animator.alpha().unwrap().clone();
    let drawn = |picture: &animecam::image::RgbImage| {
        let mask: Vec<u8> = picture
            .data()
            .chunks(3)
            .flat_map(|p| [if p.iter().any(|&v| v < 240) { 255 } else { 0 }; 3])
            .collect();
        alpha_centroid(
            &animecam::image::RgbImage::new(picture.width(), picture.height(), mask).unwrap(),
        )
    };
    let shift = |a: [f64; 2], b: [f64; 2]| [b[0] - a[0], b[1] - a[1]];
    let character = shift(drawn(&still), drawn(&picture));
    let alpha = shift(alpha_centroid(&still_alpha), alpha_centroid(&moved_alpha));
    let mean = |points: &[animecam::motion::Point]| {
        let n = points.len() as f64;
        [
            points.iter().map(|p| p[0] as f64).sum::<f64>() / n,
            points.iter().map(|p| p[1] as f64).sum::<f64>() / n,
        ]
    };
    let head = shift(mean(&features_before), mean(&features_after));
    eprintln!("head moved {head:?} px, the drawn character {character:?}, the alpha {alpha:?}");
    assert!(head[0] > 20.0, "the head did not move right: {head:?}");
    assert!(alpha[0] > 10.0, "the alpha did not move right: {alpha:?}");
    assert!(
        (alpha[0] - character[0]).abs() <= 1.0 && (alpha[1] - character[1]).abs() <= 1.0,
        "the character moved {character:?}, its alpha {alpha:?}"
    );
}

/// Bilinear sample of a grey picture at pixel coordinates (x, y), zero outside (grid_sample's
/// padding): written here apart from the library's OpenCV path, to check it.
fn sample(alpha: &animecam::image::RgbImage, x: f32, y: f32) -> f32 {
    let at = |x: i64, y: i64| -> f32 {
        if x < 0 || y < 0 || x >= alpha.width() as i64 || y >= alpha.height() as i64 {
            0.0
        } else {
            alpha.data()[(y as usize * alpha.width() + x as usize) * 3] as f32
        }
    };
    let (x0, y0) = (x.floor(), y.floor());
    let (fx, fy) = (x - x0, y - y0);
    let (x0, y0) = (x0 as i64, y0 as i64);
    let top = at(x0, y0) * (1.0 - fx) + at(x0 + 1, y0) * fx;
    let bottom = at(x0, y0 + 1) * (1.0 - fx) + at(x0 + 1, y0 + 1) * fx;
    top * (1.0 - fy) + bottom * fy
}

/// The tiny FOMM set the exporters made (models/tiny), on the CPU.
fn tiny_fomm() -> animecam::fomm::Fomm {
    let tiny = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/tiny");
    let options = ProviderOptions {
        provider: Provider::Cpu,
        ..ProviderOptions::default()
    };
    animecam::fomm::Fomm::load(&tiny, &options).unwrap()
}

/// `fomm`'s keypoints of the astronaut's face, its crop moved `shift` pixels left.
fn astronaut_keypoints(fomm: &mut animecam::fomm::Fomm, shift: f32) -> Keypoints {
    let photo = read_image(&media("astronaut.png")).unwrap();
    let view = crop_square(
        &photo.view(),
        SquareCrop {
            center_x: 230.0 - shift,
            center_y: 150.0,
            side: 300.0,
        },
        fomm.image_size(),
    )
    .unwrap();
    fomm.keypoints(&view).unwrap()
}

#[test]
fn fomm_moves_the_portraits_alpha_by_the_generators_deformation() {
    use animecam::fomm::deform_alpha;
    use animecam::image::read_image_with_alpha;
    use animecam::motion::{relative_motion, MotionOptions};
    use animecam::portrait::Portrait;

    let mut fomm = tiny_fomm();
    let size = fomm.image_size();
    let path = media("sylvie_green_normal.png");
    let portrait = Portrait::load(&path, None, 0.4).unwrap();
    let crop = crop_square(&portrait.image.view(), portrait.crop, size).unwrap();
    let (_, alpha) = read_image_with_alpha(&path).unwrap();
    let alpha = crop_square(&alpha.unwrap().view(), portrait.crop, size).unwrap();
    let source = fomm.encode_source(&crop).unwrap();
    let (rest, moved) = (
        astronaut_keypoints(&mut fomm, 0.0),
        astronaut_keypoints(&mut fomm, 30.0),
    );
    let mut frame = |driving: &Keypoints| {
        let motion =
            relative_motion(&source.keypoints, driving, &rest, MotionOptions::default()).unwrap();
        fomm.generator()
            .animate_with_deformation(&source, &motion)
            .unwrap()
            .1
            .unwrap()
    };

    // At rest every keypoint's motion is the identity, so is their mix: the deformation is the
    // identity grid, and the alpha the portrait's.
    let at_rest = frame(&rest);
    let step = 2.0 / (at_rest.shape()[1] - 1) as f32;
    for ((y, x, axis), value) in at_rest.indexed_iter() {
        let identity = -1.0 + step * [x, y][axis] as f32;
        assert!(
            (value - identity).abs() < 1e-4,
            "deformation at rest: {value} at ({x}, {y})"
        );
    }
    let still = deform_alpha(&alpha, &at_rest, size).unwrap();
    let worst = still
        .data()
        .iter()
        .zip(alpha.data())
        .map(|(a, b)| a.abs_diff(*b))
        .max()
        .unwrap();
    eprintln!("FOMM at rest: the alpha within {worst} levels of the portrait's");
    assert!(worst <= 1, "{worst} levels");

    // The driver moves: the alpha is the portrait's read through the deformation, as an
    // independent bilinear sampler computes it, and it moves the way the keypoints moved.
    let deformation = frame(&moved);
    let shifted = deform_alpha(&alpha, &deformation, size).unwrap();
    let (grid_h, grid_w) = (deformation.shape()[0], deformation.shape()[1]);
    let last = (size - 1) as f32;
    let mut worst = 0.0f32;
    for y in 0..size {
        for x in 0..size {
            // The output pixel's place on the deformation grid (corner-aligned, as its values).
            let gx = x as f32 * (grid_w - 1) as f32 / last;
            let gy = y as f32 * (grid_h - 1) as f32 / last;
            let (x0, y0) = (gx.floor() as usize, gy.floor() as usize);
            let (x1, y1) = ((x0 + 1).min(grid_w - 1), (y0 + 1).min(grid_h - 1));
            let (fx, fy) = (gx - x0 as f32, gy - y0 as f32);
            let mut source_point = [0.0f32; 2];
            for (axis, value) in source_point.iter_mut().enumerate() {
                let top =
                    deformation[[y0, x0, axis]] * (1.0 - fx) + deformation[[y0, x1, axis]] * fx;
                let bottom =
                    deformation[[y1, x0, axis]] * (1.0 - fx) + deformation[[y1, x1, axis]] * fx;
                *value = ((top * (1.0 - fy) + bottom * fy) + 1.0) / 2.0 * last;
            }
            let expected = sample(&alpha, source_point[0], source_point[1]);
            let got = shifted.data()[(y * size + x) * 3] as f32;
            worst = worst.max((expected - got).abs());
        }
    }
    // OpenCV's remap rounds sample positions to 1/32 pixel: up to 255/32/2 = 4 levels on an edge.
    assert!(
        worst <= 4.5,
        "the library's alpha differs from the sampler's by {worst} levels"
    );
    let keypoints_shift: f32 = moved
        .values
        .iter()
        .zip(&rest.values)
        .map(|(now, before)| now[0] - before[0])
        .sum::<f32>()
        / rest.values.len() as f32
        * size as f32
        / 2.0;
    let (before, after) = (alpha_centroid(&alpha), alpha_centroid(&shifted));
    let alpha_shift = (after[0] - before[0]) as f32;
    eprintln!("keypoints moved {keypoints_shift:.2} px, the alpha's centroid {alpha_shift:.2} px");
    assert!(
        keypoints_shift.abs() > 0.5,
        "the driver did not move: {keypoints_shift}"
    );
    assert!(
        alpha_shift * keypoints_shift > 0.0 && alpha_shift.abs() <= keypoints_shift.abs() + 1.0,
        "keypoints {keypoints_shift:.2} px, alpha {alpha_shift:.2} px"
    );
}

#[test]
fn portraits_swap_in_off_the_streaming_thread_and_the_newest_request_wins() {
    use animecam::activity::Activity;
    use animecam::animate::{PortraitSwap, Swapped};
    use animecam::portrait::PortraitError;
    use std::sync::Arc;

    let maker = AvatarMaker::new(Engine::Warp, 128, DetectorSettings::default());
    let normal = AvatarSpec {
        path: media("sylvie_green_normal.png"),
        crop: None,
        margin: 0.4,
    };
    let mut animator = Animator::new(&maker, maker.make(&normal).unwrap());
    let (swap, activity) = (PortraitSwap::default(), Arc::new(Activity::default()));
    // Waits for the newest request's result, as the streaming thread would frame by frame.
    let take = |animator: &mut Animator| loop {
        match swap.take_into(animator) {
            Some(Swapped::In(avatar)) => return Ok(avatar.spec().path.clone()),
            Some(Swapped::Failed(error)) => return Err(error),
            None => std::thread::sleep(std::time::Duration::from_millis(10)),
        }
    };

    // A crop that frames nothing is that request's result at once; the avatar stays.
    let requested = swap.request(maker.clone(), &activity, || {
        Some("0,0,-5".parse().map(|crop| AvatarSpec {
            crop: Some(crop),
            ..normal.clone()
        }))
    });
    assert_eq!(requested, None);
    let error = take(&mut animator).unwrap_err();
    assert!(error.contains("0,0,-5"), "{error}");
    assert!(!activity.snapshot().loading);
    assert_eq!(animator.avatar().spec(), &normal);

    // Two requests in a row: only the second is swapped in.
    let smile = AvatarSpec {
        path: media("sylvie_green_smile.png"),
        ..normal.clone()
    };
    for spec in [&normal, &smile] {
        let spec = spec.clone();
        let path = swap.request(maker.clone(), &activity, || {
            Some(Ok::<_, PortraitError>(spec.clone()))
        });
        assert_eq!(path.as_ref(), Some(&spec.path));
    }
    assert_eq!(take(&mut animator), Ok(smile.path.clone()));
    assert_eq!(animator.avatar().spec(), &smile);
    assert!(!activity.snapshot().loading);
    // Nothing more is waiting, and a request made before an invalidation never arrives.
    assert!(swap.take_into(&mut animator).is_none());
    swap.request(maker.clone(), &activity, || {
        Some(Ok::<_, PortraitError>(normal.clone()))
    });
    swap.invalidate();
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(swap.take_into(&mut animator).is_none());
    assert_eq!(animator.avatar().spec(), &smile);
}

#[test]
fn fomm_with_inbetweens_answers_every_frame_across_a_new_stream_and_a_portrait_swap() {
    use animecam::animate::KeyframePace;
    use animecam::motion::KeypointSet;

    let mut fomm = tiny_fomm();
    let keypoints: Vec<_> = (0..12)
        .map(|t| astronaut_keypoints(&mut fomm, 3.0 * t as f32))
        .collect();
    let maker = AvatarMaker::new(Engine::fomm(tiny_fomm()), 0, DetectorSettings::default());
    let spec = |name: &str| AvatarSpec {
        path: media(name),
        crop: None,
        margin: 0.4,
    };
    let mut animator = Animator::new(
        &maker,
        maker.make(&spec("sylvie_green_normal.png")).unwrap(),
    );
    animator.inbetweens = Some(KeyframePace::AsFastAsItCan);
    let swapped = maker.make(&spec("sylvie_green_smile.png")).unwrap();
    // Run on a thread: a frame that waited for a picture nobody makes would hang here.
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut outcomes = Vec::new();
        let mut swapped = Some(swapped);
        for round in 0..3 {
            // A new stream, then a new portrait, while the generator's thread may be busy.
            match round {
                1 => animator.reset(),
                2 => animator.swap(swapped.take().expect("swapped once")),
                _ => {}
            }
            for (t, keypoints) in keypoints.iter().enumerate() {
                let set = KeypointSet {
                    keypoints: keypoints.clone(),
                    crop: animecam::face::Rect::default(),
                };
                let driving = Driving::from_payloads(animator.engine(), None, Some(set), 64, 64)
                    .unwrap()
                    .unwrap();
                let (_, outcome) = animator.frame(Some(&driving), t as f64 / 30.0).unwrap();
                outcomes.push(outcome);
            }
        }
        done.send(outcomes).unwrap();
    });
    let outcomes = finished
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("every frame answered: none waits for a picture that never comes");
    assert_eq!(outcomes.len(), 36);
    let inbetweens = outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Inbetween { .. }))
        .count();
    eprintln!("{inbetweens} of 36 frames were in-betweens");
    assert!(inbetweens >= 18, "{outcomes:?}");
}
