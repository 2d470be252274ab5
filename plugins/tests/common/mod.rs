//! What the element tests share: GStreamer with the plugin registered, and the media and models
//! `make setup` and the exporter provide.
#![allow(dead_code)]

#[path = "../../../tests/common/series.rs"]
mod series;
#[allow(unused_imports)]
pub use series::pearson;

use std::path::PathBuf;
use std::sync::Once;

use gst::prelude::*;

pub fn init() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        gst::init().unwrap();
        gstanimecam::plugin_register_static().expect("animecam plugin registers");
    });
}

/// The checkout's root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A file set-up fetched into .cache/media.
pub fn media(name: &str) -> PathBuf {
    let path = root().join(".cache/media").join(name);
    assert!(
        path.is_file(),
        "{} missing: run `make setup`",
        path.display()
    );
    path
}

/// The committed tiny random-weight models.
pub fn tiny() -> PathBuf {
    root().join("models/tiny")
}

/// A pipeline from a gst-launch description (tests write valid ones).
pub fn launch(description: &str) -> gst::Pipeline {
    use gst::prelude::*;
    gst::parse::launch(description)
        .unwrap_or_else(|e| panic!("{e}: {description}"))
        .downcast::<gst::Pipeline>()
        .expect("a pipeline")
}

/// The appsrc named `name` in `pipeline`.
pub fn appsrc(pipeline: &gst::Pipeline, name: &str) -> gst_app::AppSrc {
    use gst::prelude::*;
    pipeline
        .by_name(name)
        .and_then(|element| element.downcast::<gst_app::AppSrc>().ok())
        .unwrap_or_else(|| panic!("no appsrc named {name}"))
}

/// The appsink named `name` in `pipeline`.
pub fn appsink(pipeline: &gst::Pipeline, name: &str) -> gst_app::AppSink {
    use gst::prelude::*;
    pipeline
        .by_name(name)
        .and_then(|element| element.downcast::<gst_app::AppSink>().ok())
        .unwrap_or_else(|| panic!("no appsink named {name}"))
}

/// The first error waiting on the bus, with its debug text (why a start failed, say).
pub fn bus_error(bus: &gst::Bus) -> Option<String> {
    bus.iter_filtered(&[gst::MessageType::Error])
        .next()
        .map(|message| match message.view() {
            gst::MessageView::Error(error) => format!("{} ({:?})", error.error(), error.debug()),
            _ => unreachable!("filtered to errors"),
        })
}

/// The Progress messages (kind, code) a pipeline posts until its end of stream or error.
pub fn progress_messages(description: &str) -> Vec<(gst::ProgressType, String)> {
    use gst::prelude::*;
    init();
    let pipeline = launch(description);
    // A start that fails (a missing model) fails the state change: its messages still count.
    let _ = pipeline.set_state(gst::State::Playing);
    let bus = pipeline.bus().unwrap();
    let mut progress = Vec::new();
    while let Some(message) = bus.timed_pop(gst::ClockTime::from_seconds(20)) {
        match message.view() {
            gst::MessageView::Progress(p) => {
                let (kind, code, _text) = p.get();
                progress.push((kind, code.to_string()));
            }
            gst::MessageView::Eos(..) | gst::MessageView::Error(..) => break,
            _ => {}
        }
    }
    pipeline.set_state(gst::State::Null).unwrap();
    progress
}

/// Writes a picture as a PNG (for a person to look at).
pub fn write_png(image: &animecam::image::RgbImage, path: &std::path::Path) {
    use gst::prelude::*;
    init();
    let pipeline = launch(&format!(
        "appsrc name=src caps=video/x-raw,format=RGB,width={},height={},framerate=1/1 ! videoconvert ! pngenc ! filesink location={}",
        image.width(),
        image.height(),
        path.display()
    ));
    let src = appsrc(&pipeline, "src");
    pipeline.set_state(gst::State::Playing).unwrap();
    let _ = src.push_buffer(gst::Buffer::from_slice(image.data().to_vec()));
    let _ = src.end_of_stream();
    pipeline
        .bus()
        .unwrap()
        .timed_pop_filtered(gst::ClockTime::from_seconds(5), &[gst::MessageType::Eos]);
    pipeline.set_state(gst::State::Null).unwrap();
}

/// The frames of `clip` (in the fetched media), packed RGB, with their width and height.
pub fn decode(clip: &str) -> (usize, usize, Vec<Vec<u8>>) {
    init();
    let pipeline = launch(&format!(
        "filesrc location=\"{}\" ! decodebin ! videoconvert ! video/x-raw,format=RGB ! appsink name=sink sync=false",
        media(clip).display()
    ));
    let sink = appsink(&pipeline, "sink");
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
