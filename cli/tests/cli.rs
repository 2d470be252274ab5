//! The animecam command line, run as a user runs it. Cameras and v4l2loopback cannot exist on a
//! build machine: live modes get a test source instead (`--camera "videotestsrc ..."`) and a
//! fakesink for the window, which the tests say where they do it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use gst::prelude::*;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn media(name: &str) -> PathBuf {
    let path = root().join(".cache/media").join(name);
    assert!(
        path.is_file(),
        "{} missing: run `make setup`",
        path.display()
    );
    path
}

fn animecam(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_animecam"))
        .args(args)
        .output()
        .expect("animecam runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).to_string()
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("animecam-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Frames, duration, size and whether there is audio, read back by decoding the file.
fn inspect(path: &Path) -> (usize, gst::ClockTime, (i32, i32), bool) {
    gst::init().unwrap();
    let pipeline = gst::parse::launch(&format!(
        "filesrc location={} ! qtdemux name=demux demux.video_0 ! decodebin ! appsink name=sink sync=false",
        path.display()
    ))
    .unwrap()
    .downcast::<gst::Pipeline>()
    .unwrap();
    let sink = pipeline
        .by_name("sink")
        .unwrap()
        .downcast::<gst_app::AppSink>()
        .unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    let mut frames = 0;
    let mut size = (0, 0);
    let mut last = gst::ClockTime::ZERO;
    while let Some(sample) = sink.try_pull_sample(gst::ClockTime::from_seconds(10)) {
        frames += 1;
        let buffer = sample.buffer().unwrap();
        last = buffer.pts().unwrap() + buffer.duration().unwrap_or(gst::ClockTime::ZERO);
        let caps = sample.caps().unwrap().structure(0).unwrap().to_owned();
        size = (caps.get("width").unwrap(), caps.get("height").unwrap());
        if sink.is_eos() {
            break;
        }
    }
    pipeline.set_state(gst::State::Null).unwrap();
    let uri = gst::glib::filename_to_uri(path, None).unwrap();
    let info = has_audio(&uri);
    (frames, last, size, info)
}

/// Whether decoding the file yields an audio stream.
fn has_audio(uri: &str) -> bool {
    let pipeline =
        gst::parse::launch(&format!("uridecodebin uri={uri} name=d d. ! fakesink")).unwrap();
    let has_audio = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = has_audio.clone();
    let decode = pipeline
        .downcast_ref::<gst::Bin>()
        .unwrap()
        .by_name("d")
        .unwrap();
    decode.connect_pad_added(move |_, pad| {
        if pad.current_caps().is_some_and(|c| {
            c.structure(0)
                .is_some_and(|s| s.name().starts_with("audio/"))
        }) {
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    });
    pipeline.set_state(gst::State::Paused).unwrap();
    let _ = pipeline.state(gst::ClockTime::from_seconds(10));
    pipeline.set_state(gst::State::Null).unwrap();
    has_audio.load(std::sync::atomic::Ordering::SeqCst)
}

#[test]
fn clip_mode_writes_the_clip_and_the_animation_side_by_side() {
    let output = temp("side-by-side.mp4");
    let run = animecam(&[
        "clip",
        media("carphone_pristine.mp4").to_str().unwrap(),
        output.to_str().unwrap(),
        "--portrait",
        media("sylvie_green_normal.png").to_str().unwrap(),
        "--size",
        "256",
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    let (frames, duration, size, audio) = inspect(&output);
    assert_eq!(frames, 120, "one output frame per clip frame");
    assert_eq!(size, (512, 256), "clip and animation side by side");
    assert!(
        (duration.mseconds() as i64 - 4004).abs() < 60,
        "duration {duration}"
    );
    assert!(
        !audio,
        "the carphone clip has no audio, nor does the output"
    );

    // The output is not overwritten without --force.
    let again = animecam(&[
        "clip",
        media("carphone_pristine.mp4").to_str().unwrap(),
        output.to_str().unwrap(),
        "--portrait",
        media("sylvie_green_normal.png").to_str().unwrap(),
    ]);
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("exists") && stderr(&again).contains("--force"),
        "{}",
        stderr(&again)
    );
}

#[test]
fn clip_mode_keeps_the_clips_audio() {
    gst::init().unwrap();
    // A driving clip with sound: the carphone video with a tone muxed in.
    let input = temp("with-audio.mp4");
    let make = gst::parse::launch(&format!(
        "filesrc location={} ! qtdemux ! h264parse ! queue ! mp4mux name=mux ! filesink location={} \
         audiotestsrc num-buffers=180 ! audioconvert ! avenc_aac ! queue ! mux.",
        media("carphone_pristine.mp4").display(),
        input.display()
    ))
    .unwrap();
    make.set_state(gst::State::Playing).unwrap();
    make.bus()
        .unwrap()
        .timed_pop_filtered(gst::ClockTime::from_seconds(30), &[gst::MessageType::Eos]);
    make.set_state(gst::State::Null).unwrap();
    assert!(has_audio(
        &gst::glib::filename_to_uri(&input, None).unwrap()
    ));

    let output = temp("with-audio-out.mp4");
    let run = animecam(&[
        "clip",
        input.to_str().unwrap(),
        output.to_str().unwrap(),
        "--portrait",
        media("sylvie_green_smile.png").to_str().unwrap(),
        "--size",
        "128",
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    assert!(
        stderr(&run).contains("with the clip's audio"),
        "{}",
        stderr(&run)
    );
    let (frames, _, _, audio) = inspect(&output);
    assert_eq!(frames, 120);
    assert!(audio, "the output has the clip's audio track");
}

#[test]
fn webcam_mode_runs_live_with_a_test_source() {
    // No webcam on a build machine: videotestsrc stands in for v4l2src, fakesink for the window.
    let run = animecam(&[
        "webcam",
        "--portrait",
        media("sylvie_green_normal.png").to_str().unwrap(),
        "--camera",
        "videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate=30/1",
        "--sink",
        "fakesink sync=false",
        "--seconds",
        "2.5",
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    let text = stderr(&run);
    assert!(text.contains("fps, latency"), "{text}");
}

#[test]
fn errors_name_the_problem_and_the_fix() {
    let portrait = media("sylvie_green_normal.png");
    let portrait = portrait.to_str().unwrap();
    let cases: Vec<(Vec<&str>, &[&str])> = vec![
        (
            vec![
                "webcam",
                "--device",
                "/dev/video-nonexistent",
                "--portrait",
                portrait,
            ],
            &["/dev/video-nonexistent", "--device"],
        ),
        (
            vec![
                "webcam",
                "--camera",
                "videotestsrc",
                "--portrait",
                "/nonexistent/portrait.png",
            ],
            &["/nonexistent/portrait.png", "PNG or JPEG"],
        ),
        (
            vec!["webcam", "--camera", "videotestsrc"],
            &["no portrait", "--portrait"],
        ),
        (
            vec![
                "webcam",
                "--camera",
                "videotestsrc",
                "--portrait",
                portrait,
                "--mode",
                "fomm",
                "--models",
                "/nonexistent/models",
            ],
            &["vox-256", "README, Models", "--mode warp"],
        ),
        (
            vec![
                "virtualcam",
                "--portrait",
                portrait,
                "--output",
                "/dev/video-nope",
            ],
            &["/dev/video-nope", "modprobe v4l2loopback"],
        ),
        (
            vec![
                "clip",
                "/nonexistent/clip.mp4",
                "/tmp/x.mp4",
                "--portrait",
                portrait,
            ],
            &["/nonexistent/clip.mp4"],
        ),
    ];
    for (args, needles) in cases {
        let run = animecam(&args);
        assert!(!run.status.success(), "{args:?} succeeded");
        let text = stderr(&run);
        for needle in needles {
            assert!(text.contains(needle), "{args:?}: '{needle}' not in: {text}");
        }
    }
    let bad_option = animecam(&["webcam", "--mode", "dance"]);
    assert_eq!(bad_option.status.code(), Some(2));
    assert!(stderr(&bad_option).contains("dance"));
}

#[test]
fn models_lists_and_checks_the_model_sets() {
    let run = animecam(&[
        "models",
        "--models",
        root().join("models").to_str().unwrap(),
        "--provider",
        "cpu",
    ]);
    let text = String::from_utf8_lossy(&run.stdout).to_string();
    assert!(
        text.contains("fomm_generator") && text.contains("sha256 ok, runs on cpu"),
        "{text}{}",
        stderr(&run)
    );
    assert!(text.contains("blazeface_front"), "{text}");
    // The test set's deliberately wrong model is reported as a problem: exit code 1.
    assert!(
        text.contains("scale_bias_wrong_shape") && text.contains("PROBLEM"),
        "{text}"
    );
    assert_eq!(run.status.code(), Some(1));
}
