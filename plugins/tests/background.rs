//! fommanimate's backgrounds on the real talking-face clip with the bundled portrait, whose PNG
//! has an alpha channel: transparent output carries the portrait's alpha and moves it with the
//! avatar; a key colour fills exactly where the portrait is transparent, and GStreamer's own
//! `alpha` element keys it out again.

mod common;

use animecam::animate::{AvatarMaker, AvatarSpec, DetectorSettings, Engine};
use common::{init, media};
use gst::prelude::*;

const SIZE: usize = 256;

/// The clip through `chain` (elements each followed by `!`) into an RGBA appsink: every frame's
/// bytes, and the warnings posted. An error fails the test.
fn clip_through(chain: &str) -> (Vec<Vec<u8>>, Vec<String>) {
    init();
    let description = format!(
        "filesrc location={} ! decodebin ! videoconvert ! {chain} \
         video/x-raw,format=RGBA ! appsink name=sink sync=false",
        media("carphone_pristine.mp4").display(),
    );
    let pipeline = common::launch(&description);
    let sink = common::appsink(&pipeline, "sink");
    pipeline.set_state(gst::State::Playing).unwrap();
    let mut frames = Vec::new();
    while let Some(sample) = sink.try_pull_sample(gst::ClockTime::from_seconds(10)) {
        frames.push(sample.buffer().unwrap().map_readable().unwrap().to_vec());
    }
    // One pass over both kinds: popping one kind drops the others.
    let (errors, warnings): (Vec<_>, Vec<_>) = pipeline
        .bus()
        .unwrap()
        .iter_filtered(&[gst::MessageType::Error, gst::MessageType::Warning])
        .partition(|message| message.type_() == gst::MessageType::Error);
    let warnings = warnings
        .iter()
        .map(|message| match message.view() {
            gst::MessageView::Warning(warning) => warning.error().to_string(),
            _ => format!("{message:?}"),
        })
        .collect();
    pipeline.set_state(gst::State::Null).unwrap();
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(frames.len(), 120);
    (frames, warnings)
}

/// The clip through facetrack and the warp with `background`, then `after` (elements each
/// followed by `!`); every frame's bytes (RGBA).
fn run(background: &str, after: &str) -> Vec<Vec<u8>> {
    let portrait = media("sylvie_green_normal.png");
    clip_through(&format!(
        "facetrack ! fommanimate engine=warp source={} output-size={SIZE} {background} ! {after}",
        portrait.display()
    ))
    .0
}

fn alpha_of(frame: &[u8]) -> Vec<u8> {
    frame.chunks(4).map(|pixel| pixel[3]).collect()
}

fn centroid(alpha: &[u8]) -> [f64; 2] {
    let (mut sum, mut sx, mut sy) = (0.0, 0.0, 0.0);
    for (index, &a) in alpha.iter().enumerate() {
        let a = a as f64;
        sum += a;
        sx += a * (index % SIZE) as f64;
        sy += a * (index / SIZE) as f64;
    }
    [sx / sum, sy / sum]
}

#[test]
fn transparent_output_carries_the_portraits_alpha_and_moves_it() {
    let frames = run("background=transparent", "");
    // The first frame is the portrait at rest (no rest pose yet): its alpha is the file's,
    // framed as the library frames it.
    let maker = AvatarMaker::new(Engine::Warp, SIZE, DetectorSettings::default());
    let avatar = maker
        .make(&AvatarSpec {
            path: media("sylvie_green_normal.png"),
            crop: None,
            margin: 0.4,
        })
        .unwrap();
    let still: Vec<u8> = avatar
        .still_alpha()
        .unwrap()
        .data()
        .chunks(3)
        .map(|grey| grey[0])
        .collect();
    assert_eq!(alpha_of(&frames[0]), still);
    // The talking man moves his head: the avatar's alpha moves with it (how far the whole
    // silhouette's centroid travels over the clip, in pixels).
    let rest = centroid(&still);
    let travel = frames
        .iter()
        .map(|frame| {
            let [x, y] = centroid(&alpha_of(frame));
            (x - rest[0]).hypot(y - rest[1])
        })
        .fold(0.0, f64::max);
    eprintln!("the alpha's centroid travelled up to {travel:.1} px");
    // Opaque where the portrait is, all along (a warp reading the alpha wrongly blurs it).
    for frame in &frames {
        let opaque = alpha_of(frame).iter().filter(|&&a| a == 255).count();
        assert!(opaque > SIZE * SIZE / 2, "{opaque} opaque pixels");
    }
    assert!(travel > 2.0, "the alpha stood still: {travel:.2} px");
    // Transparent where the portrait is: pixels clear in the file stay clear at rest.
    let clear = still.iter().filter(|&&a| a == 0).count();
    assert!(clear > SIZE * SIZE / 10, "{clear} clear pixels");
}

#[test]
fn a_key_colour_fills_exactly_the_transparent_pixels_and_keys_out_again() {
    let transparent = run("background=transparent", "");
    let keyed = run("background=color background-color=0x0000ff", "");
    let mut outside = 0;
    for (clear, colour) in transparent.iter().zip(&keyed) {
        for (a, b) in clear.chunks(4).zip(colour.chunks(4)) {
            if a[3] == 0 {
                outside += 1;
                assert_eq!(
                    b,
                    [0, 0, 255, 255],
                    "a pixel outside the avatar is not the key colour"
                );
            }
        }
    }
    assert!(outside > 120 * SIZE * SIZE / 10);
    // GStreamer's chroma keyer recovers the alpha from the keyed output.
    let recovered = |colour: &str, method: &str| {
        let keyed = run(
            &format!("background=color background-color={colour}"),
            &format!("alpha method={method} ! videoconvert !"),
        );
        let (mut total, mut count) = (0u64, 0u64);
        for (want, got) in transparent.iter().zip(&keyed) {
            for (a, b) in want.chunks(4).zip(got.chunks(4)) {
                total += u64::from(a[3].abs_diff(b[3]));
                count += 1;
            }
        }
        total as f64 / count as f64
    };
    let blue = recovered("0x0000ff", "blue");
    let green = recovered("0x00ff00", "green");
    eprintln!(
        "alpha recovered within {blue:.2} levels on average (blue key), {green:.2} (green key)"
    );
    // Measured: 1.55 (blue) and 1.93 (green) levels, the difference on the soft edges.
    assert!(blue < 4.0 && green < 4.0, "{blue:.2}, {green:.2} levels");
}

#[test]
fn fomm_carries_the_alpha_by_its_deformation() {
    // The tiny random-weight graphs (made by the exporter, with the deformation output).
    let tiny = common::tiny();
    let (frames, warnings) = clip_through(&format!(
        "facetrack landmarks=blazeface ! fommkeypoints model-dir={tiny} ! \
         fommanimate name=animate model-dir={tiny} source={} background=transparent !",
        media("sylvie_green_normal.png").display(),
        tiny = tiny.display(),
    ));
    assert!(warnings.is_empty(), "{warnings:?}");
    // Every frame keeps the portrait's clear background and its opaque figure: the
    // deformation moves the alpha, it does not lose it (the tiny generator's pictures are
    // random, its deformation is not: at rest it is the identity, see tests/animate.rs).
    for frame in &frames {
        let alpha = alpha_of(frame);
        let clear = alpha.iter().filter(|&&a| a == 0).count();
        let opaque = alpha.iter().filter(|&&a| a == 255).count();
        assert!(
            clear > alpha.len() / 10 && opaque > alpha.len() / 3,
            "{clear} clear, {opaque} opaque of {}",
            alpha.len()
        );
    }
}

#[test]
fn fomm_blames_a_portrait_without_alpha_not_the_generator() {
    // The tiny generator has its deformation output (the test above moves the alpha by it): a
    // portrait without an alpha channel is what leaves the background in place.
    let opaque = std::env::temp_dir().join(format!("opaque-portrait-{}.png", std::process::id()));
    let portrait = animecam::image::read_image(&media("sylvie_green_normal.png")).unwrap();
    common::write_png(&portrait, &opaque);
    let tiny = common::tiny();
    let (_, warnings) = clip_through(&format!(
        "facetrack landmarks=blazeface ! fommkeypoints model-dir={tiny} ! \
         fommanimate name=animate model-dir={tiny} source={} background=transparent !",
        opaque.display(),
        tiny = tiny.display(),
    ));
    let _ = std::fs::remove_file(&opaque);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("the portrait has no alpha channel"),
        "{warnings:?}"
    );
    assert!(!warnings[0].contains("deformation"), "{warnings:?}");
}
