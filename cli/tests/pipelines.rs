//! Every description in pipelines/ parses and runs through the real elements. Devices that cannot
//! exist on a build machine get stand-ins, named here: videotestsrc for the webcam (v4l2src) and
//! fakesink for the v4l2loopback device (v4l2sink) and the window. The SRT sink is real, on a
//! local port.

use std::collections::HashMap;
use std::path::PathBuf;

use animecam_cli::descriptions::{self, edit, names, Mode};
use gst::prelude::*;

mod common;
use common::buffers_reaching;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

const TEST_CAMERA: &str =
    "videotestsrc is-live=true num-buffers=45 pattern=ball ! video/x-raw,width=320,height=240,framerate=30/1";

/// GStreamer and the plugin, once for all tests.
fn init() {
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(|| {
        gst::init().unwrap();
        gstanimecam::plugin_register_static().unwrap();
    });
}

/// A description filled in as scripts/pipeline.sh and the CLI do it (the CLI's own `expand`),
/// parsed, with the stand-ins put in place of the named elements `stand_ins` gives (each taking
/// the name of the element it stands for).
fn launched(
    description: &str,
    variables: &[(&str, String)],
    stand_ins: &[(&str, &str)],
) -> Result<gst::Pipeline, String> {
    init();
    let variables: HashMap<&str, String> = variables.iter().cloned().collect();
    let pipeline = descriptions::launch(description, &variables, Mode::Warp, false)?;
    for (name, stand_in) in stand_ins {
        let stand_in = match *name {
            names::CAMERA => edit::source_part(stand_in)?,
            _ => edit::part(stand_in)?,
        };
        stand_in.set_property("name", name);
        edit::replace(&pipeline, name, &stand_in)?;
    }
    Ok(pipeline)
}

/// Runs a description with stand-ins to EOS; returns the error, if any.
fn run(
    description: &str,
    variables: &[(&str, String)],
    stand_ins: &[(&str, &str)],
) -> Result<(), String> {
    let pipeline = launched(description, variables, stand_ins)?;
    let bus = pipeline.bus().unwrap();
    pipeline
        .set_state(gst::State::Playing)
        .map_err(|e| format!("{e}"))?;
    let outcome = match bus
        .timed_pop_filtered(
            gst::ClockTime::from_seconds(60),
            &[gst::MessageType::Eos, gst::MessageType::Error],
        )
        .map(|m| m.view().clone_message_error())
    {
        Some(Some(error)) => Err(error),
        Some(None) => Ok(()),
        None => Err("no end of stream within 60 s".into()),
    };
    pipeline.set_state(gst::State::Null).unwrap();
    outcome
}

trait ErrorText {
    fn clone_message_error(&self) -> Option<String>;
}

impl ErrorText for gst::MessageView<'_> {
    fn clone_message_error(&self) -> Option<String> {
        match self {
            gst::MessageView::Error(e) => Some(format!("{} ({:?})", e.error(), e.debug())),
            _ => None,
        }
    }
}

fn portrait() -> (&'static str, String) {
    let path = root().join(".cache/media/sylvie_green_normal.png");
    assert!(path.is_file(), "run `make setup`");
    ("PORTRAIT", path.display().to_string())
}

#[test]
fn webcam_description_runs() {
    let stand_ins = [
        (names::CAMERA, TEST_CAMERA),
        (names::WINDOW, "fakesink sync=false"),
    ];
    run(descriptions::WEBCAM, &[portrait()], &stand_ins).unwrap();
    let preview = [portrait(), ("SIZE", "128".into())];
    run(descriptions::WEBCAM_PREVIEW, &preview, &stand_ins).unwrap();
}

#[test]
fn virtualcam_description_runs() {
    let stand_ins = [(names::CAMERA, TEST_CAMERA), ("loopback", "fakesink")];
    run(descriptions::VIRTUALCAM, &[portrait()], &stand_ins).unwrap();
}

#[test]
fn stream_description_runs_with_a_real_srt_listener() {
    let variables = [portrait(), ("PORT", "38123".into())];
    run(
        descriptions::STREAM,
        &variables,
        &[(names::CAMERA, TEST_CAMERA)],
    )
    .unwrap();
}

#[test]
fn clip_descriptions_run() {
    let output = std::env::temp_dir().join(format!("animecam-pipeline-{}.mp4", std::process::id()));
    let input = root().join(".cache/media/carphone_pristine.mp4");
    run(
        descriptions::CLIP_SILENT,
        &[
            portrait(),
            ("INPUT", input.display().to_string()),
            ("OUTPUT", output.display().to_string()),
            ("SIZE", "128".into()),
        ],
        &[],
    )
    .unwrap();
    assert!(std::fs::metadata(&output).unwrap().len() > 10_000);
    // clip.gst needs a clip with audio; carphone has none, so its audio branch never links and
    // mp4mux would wait: that is why the CLI picks clip-silent.gst for it. Parse it at least.
    gst::init().unwrap();
    assert!(descriptions::flatten(descriptions::CLIP).contains("avenc_aac"));
    std::fs::remove_file(output).unwrap();
}

#[test]
fn serve_and_remote_descriptions_animate_over_srt_as_written() {
    // The descriptions filled in and parsed as the CLI does (`descriptions::launch`), a test
    // camera and a fakesink in place of the camera and the window, but with none of what the
    // CLI sets after parsing (frame packing, capture times, one client at a time): the picture
    // still makes the round trip.
    init();
    let (_, portrait) = portrait();
    let port = "38211";
    let common = [
        ("PASSPHRASE", "correct-horse-battery"),
        ("LATENCY", "40"),
        ("PORT", port),
        ("RETURN_PORT", "38212"),
        ("SERVER_PORT", port),
        ("SERVER", "127.0.0.1"),
        ("SIZE", "256"),
    ];
    let common: Vec<(&str, String)> = common
        .into_iter()
        .map(|(name, value)| (name, value.to_owned()))
        .collect();
    let mut variables = common.clone();
    variables.push(("PORTRAIT", portrait));
    let server = launched(descriptions::SERVE, &variables, &[]).unwrap();
    let client = launched(
        descriptions::REMOTE,
        &common,
        &[
            (
                names::CAMERA,
                "videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate=30/1",
            ),
            (names::WINDOW, "fakesink sync=false async=false"),
        ],
    )
    .unwrap();
    let shown = buffers_reaching(&client, names::WINDOW);
    server.set_state(gst::State::Playing).unwrap();
    client.set_state(gst::State::Playing).unwrap();
    std::thread::sleep(std::time::Duration::from_secs(4));
    for pipeline in [&client, &server] {
        let error = pipeline
            .bus()
            .unwrap()
            .pop_filtered(&[gst::MessageType::Error])
            .map(|m| m.view().clone_message_error());
        assert_eq!(error, None);
    }
    client.set_state(gst::State::Null).unwrap();
    server.set_state(gst::State::Null).unwrap();
    let shown = shown.load(std::sync::atomic::Ordering::Relaxed);
    // 30 fps for 4 s, less the connection and the first key frame.
    assert!(shown >= 60, "{shown} frames came back");
}
