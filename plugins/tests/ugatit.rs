//! ugatit with the tiny models (models/tiny, random weights made by the exporter) on the real
//! talking-face clip: caps, frames and timestamps kept, pixels outside the face crop untouched,
//! frames without a face unchanged, the whole-frame mode, flicker, and bad configuration.

mod common;

use std::path::PathBuf;

use animecam::face::square_crop;
use animecam::stylize::mean_abs_difference;
use common::{init, root, tiny};
use gst::prelude::*;
use gstanimecam::meta;

fn clip() -> PathBuf {
    let path = root().join(".cache/media/carphone_pristine.mp4");
    assert!(
        path.is_file(),
        "{} missing: run `make setup`",
        path.display()
    );
    path
}

struct Sample {
    pts: Option<gst::ClockTime>,
    data: Vec<u8>,
    caps: gst::Caps,
    face: Option<animecam::face::FaceTrack>,
}

/// Runs `description` with appsinks named in `sinks` to EOS; returns each sink's samples.
fn run(description: &str, sinks: &[&str]) -> Result<Vec<Vec<Sample>>, String> {
    init();
    let pipeline = common::launch(description);
    let appsinks: Vec<gst_app::AppSink> = sinks
        .iter()
        .map(|name| common::appsink(&pipeline, name))
        .collect();
    let bus = pipeline.bus().unwrap();
    if pipeline.set_state(gst::State::Playing).is_err() {
        let message = common::bus_error(&bus).unwrap_or_else(|| "state change failed".into());
        pipeline.set_state(gst::State::Null).unwrap();
        return Err(message);
    }
    let mut results: Vec<Vec<Sample>> = sinks.iter().map(|_| Vec::new()).collect();
    let outcome = loop {
        let mut pulled = false;
        for (sink, samples) in appsinks.iter().zip(results.iter_mut()) {
            if let Some(sample) = sink.try_pull_sample(gst::ClockTime::from_mseconds(5)) {
                let buffer = sample.buffer().unwrap();
                samples.push(Sample {
                    pts: buffer.pts(),
                    data: buffer.map_readable().unwrap().to_vec(),
                    caps: sample.caps().unwrap().to_owned(),
                    face: meta::read_face(buffer).map(|m| m.unwrap()),
                });
                pulled = true;
            }
        }
        if pulled {
            continue;
        }
        if let Some(message) = bus.pop() {
            match message.view() {
                gst::MessageView::Eos(..) => break Ok(()),
                gst::MessageView::Error(e) => {
                    break Err(format!("{} ({:?})", e.error(), e.debug()))
                }
                _ => {}
            }
        }
    };
    pipeline.set_state(gst::State::Null).unwrap();
    outcome.map(|()| results)
}

#[test]
fn face_mode_redraws_only_the_face_crop() {
    let description = format!(
        "filesrc location={} ! decodebin ! videoconvert ! video/x-raw,format=BGRx ! facetrack ! tee name=t \
         t. ! queue ! ugatit model-dir={} variant=light ! appsink name=styled sync=false \
         t. ! queue ! appsink name=plain sync=false",
        clip().display(),
        tiny().display()
    );
    let results = run(&description, &["styled", "plain"]).unwrap();
    let (styled, plain) = (&results[0], &results[1]);
    assert_eq!(styled.len(), 120);
    assert_eq!(plain.len(), 120);
    let mut changed_frames = 0;
    for (index, (out, input)) in styled.iter().zip(plain).enumerate() {
        assert_eq!(out.caps, input.caps, "caps kept");
        assert_eq!(out.pts, input.pts, "timestamps kept");
        let structure = input.caps.structure(0).unwrap();
        let (width, height) = (
            structure.get::<i32>("width").unwrap() as usize,
            structure.get::<i32>("height").unwrap() as usize,
        );
        let face = input.face.clone().expect("facetrack attached a face meta");
        if !face.state.has_face() {
            assert_eq!(
                out.data, input.data,
                "frame {index} without a face must pass unchanged"
            );
            continue;
        }
        let crop = square_crop(&face.crop.to_pixels(width, height));
        let (left, top) = (crop.left().round() as i64, crop.top().round() as i64);
        let side = crop.side.round() as i64;
        let mut inside_changed = false;
        for y in 0..height as i64 {
            for x in 0..width as i64 {
                let offset = (y as usize * width + x as usize) * 4;
                let same = out.data[offset..offset + 4] == input.data[offset..offset + 4];
                let inside = (left..left + side).contains(&x) && (top..top + side).contains(&y);
                if !inside {
                    assert!(
                        same,
                        "frame {index}: pixel ({x}, {y}) outside the crop changed"
                    );
                } else if !same {
                    inside_changed = true;
                }
            }
        }
        changed_frames += inside_changed as usize;
    }
    assert!(
        changed_frames >= 100,
        "the face was redrawn on only {changed_frames} frames"
    );
}

#[test]
fn without_a_face_frames_pass_unchanged() {
    let source =
        "videotestsrc num-buffers=8 pattern=ball ! video/x-raw,format=RGBA,width=160,height=120";
    let description = format!(
        "{source} ! facetrack ! tee name=t t. ! queue ! ugatit model-dir={} ! appsink name=styled sync=false \
         t. ! queue ! appsink name=plain sync=false",
        tiny().display()
    );
    let results = run(&description, &["styled", "plain"]).unwrap();
    assert_eq!(results[0].len(), 8);
    for (out, input) in results[0].iter().zip(&results[1]) {
        assert_eq!(out.data, input.data);
    }
}

#[test]
fn frame_mode_outputs_the_model_size_or_the_input_size() {
    let source = "videotestsrc num-buffers=3 pattern=smpte ! video/x-raw,format=RGBx,width=160,height=120,framerate=10/1";
    let results = run(
        &format!(
            "{source} ! ugatit region=frame model-dir={} ! appsink name=sink",
            tiny().display()
        ),
        &["sink"],
    )
    .unwrap();
    let caps = &results[0][0].caps;
    assert_eq!(caps.structure(0).unwrap().get::<i32>("width").unwrap(), 64);
    assert_eq!(caps.structure(0).unwrap().get::<i32>("height").unwrap(), 64);
    assert_eq!(results[0].len(), 3);
    assert_eq!(results[0][2].pts, Some(gst::ClockTime::from_mseconds(200)));
    let results = run(
        &format!(
            "{source} ! ugatit region=frame frame-output=input model-dir={} ! appsink name=sink",
            tiny().display()
        ),
        &["sink"],
    )
    .unwrap();
    let structure = results[0][0].caps.structure(0).unwrap();
    assert_eq!(
        (
            structure.get::<i32>("width").unwrap(),
            structure.get::<i32>("height").unwrap()
        ),
        (160, 120)
    );
}

#[test]
fn temporal_smoothing_reduces_flicker_on_a_still_face() {
    // A still face with sensor noise: the clip's first frame, repeated, with seeded noise.
    let frames = run(
        &format!(
            "filesrc location={} ! decodebin ! videoconvert ! video/x-raw,format=RGB ! appsink name=sink sync=false",
            clip().display()
        ),
        &["sink"],
    )
    .unwrap();
    let first = &frames[0][0];
    let caps = first.caps.clone();
    let mut flicker = Vec::new();
    for smoothing in [0.0f32, 0.7] {
        init();
        let pipeline = common::launch(&format!(
            "appsrc name=src format=time caps={caps} ! facetrack ! ugatit model-dir={} variant=light temporal-smoothing={smoothing} ! appsink name=sink sync=false",
            tiny().display(),
            caps = caps.to_string().replace(' ', "")
        ));
        let src = common::appsrc(&pipeline, "src");
        let sink = common::appsink(&pipeline, "sink");
        pipeline.set_state(gst::State::Playing).unwrap();
        let mut outputs: Vec<Vec<u8>> = Vec::new();
        let mut seed = 12345u64;
        for index in 0..30u64 {
            let mut data = first.data.clone();
            for value in &mut data {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                *value = (*value as i32 + ((seed >> 60) as i32 - 8)).clamp(0, 255) as u8;
            }
            let mut buffer = gst::Buffer::from_slice(data);
            buffer
                .get_mut()
                .unwrap()
                .set_pts(gst::ClockTime::from_mseconds(33 * index));
            src.push_buffer(buffer).unwrap();
            let sample = sink
                .try_pull_sample(gst::ClockTime::from_seconds(10))
                .unwrap();
            outputs.push(sample.buffer().unwrap().map_readable().unwrap().to_vec());
        }
        pipeline.set_state(gst::State::Null).unwrap();
        let mean: f64 = outputs[10..]
            .windows(2)
            .map(|w| mean_abs_difference(&w[0], &w[1]))
            .sum::<f64>()
            / (outputs.len() - 11) as f64;
        flicker.push(mean);
    }
    eprintln!(
        "flicker (mean |frame - previous frame|, still noisy face, tiny light model): smoothing off {:.3}, 0.7 {:.3}",
        flicker[0], flicker[1]
    );
    assert!(
        flicker[1] < flicker[0],
        "smoothing did not reduce flicker: {flicker:?}"
    );
}

#[test]
fn bad_models_are_errors_that_name_what_was_expected() {
    let error = run(
        "videotestsrc num-buffers=1 ! video/x-raw,format=RGB ! ugatit model-dir=/nonexistent/ugatit ! appsink name=sink",
        &["sink"],
    )
    .err()
    .unwrap();
    assert!(
        error.contains("/nonexistent/ugatit") && error.contains("manifest.json"),
        "{error}"
    );

    let dir = std::env::temp_dir().join(format!("animecam-broken-ugatit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(
        root().join("models/tiny/ugatit_full.onnx"),
        dir.join("ugatit_full.onnx"),
    )
    .unwrap();
    let manifest = std::fs::read_to_string(root().join("models/tiny/manifest.json")).unwrap();
    let mut manifest: serde_json::Value = serde_json::from_str(&manifest).unwrap();
    manifest["models"]["ugatit_full"]["inputs"][0]["shape"] = serde_json::json!([1, 3, 256, 256]);
    std::fs::write(dir.join("manifest.json"), manifest.to_string()).unwrap();
    let error = run(
        &format!(
            "videotestsrc num-buffers=1 ! video/x-raw,format=RGB ! ugatit model-dir={} ! appsink name=sink",
            dir.display()
        ),
        &["sink"],
    )
    .err()
    .unwrap();
    assert!(
        error.contains(
            "input 'image': expected float32 [1, 3, 256, 256], found float32 [1, 3, 64, 64]"
        ),
        "{error}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}
