//! The elements' `stats` property counts what really happened to the frames: pictures made on
//! frames with a face, repeats on frames without one, and the tracker's frames and faces. Real
//! pipelines on the real talking-face clip and on a faceless test pattern.

mod common;

use animecam::activity::{ActivitySnapshot, AvatarState};
use common::*;
use gst::prelude::*;
use gstanimecam::stats::{activity_from_structure, faces_from_structure};

/// Runs `source ! facetrack ! <animation>` to the end; the animation's and the tracker's stats.
fn run(source: &str, animation: &str) -> ((String, ActivitySnapshot), (u64, u64)) {
    init();
    let pipeline = launch(&format!(
        "{source} ! videoconvert ! facetrack name=track landmarks=blazeface ! {animation} name=animate ! fakesink"
    ));
    pipeline.set_state(gst::State::Playing).unwrap();
    let bus = pipeline.bus().unwrap();
    let message = bus
        .timed_pop_filtered(
            gst::ClockTime::from_seconds(60),
            &[gst::MessageType::Eos, gst::MessageType::Error],
        )
        .expect("the run ends");
    assert!(
        matches!(message.view(), gst::MessageView::Eos(..)),
        "{message:?}"
    );
    let read = |name: &str| {
        pipeline
            .by_name(name)
            .unwrap()
            .property::<gst::Structure>("stats")
    };
    let activity = activity_from_structure(&read("animate")).unwrap();
    let faces = faces_from_structure(&read("track")).unwrap();
    pipeline.set_state(gst::State::Null).unwrap();
    (activity, faces)
}

fn talking_face() -> String {
    format!(
        "filesrc location=\"{}\" ! decodebin",
        media("carphone_pristine.mp4").display()
    )
}

#[test]
fn the_warp_counts_a_picture_per_frame_with_a_face() {
    let portrait = media("sylvie_green_normal.png");
    let warp = format!("fommanimate engine=warp source=\"{}\"", portrait.display());
    let ((engine, activity), (frames, faces)) = run(&talking_face(), &warp);
    assert_eq!(engine, "warp");
    assert_eq!(
        (frames, faces),
        (120, 120),
        "BlazeFace sees the face throughout"
    );
    assert_eq!(activity.frames, 120);
    assert_eq!(activity.generated, 120);
    assert_eq!(activity.repeated_without_face, 0);
    assert_eq!(activity.calibrations, 1);
    assert!(!activity.loading);
    assert!(activity.time_per_picture().unwrap().as_secs_f64() > 0.0);
    assert_eq!(activity.state(), AvatarState::Calibrating);

    let ((_, faceless), (frames, faces)) = run(
        "videotestsrc num-buffers=40 pattern=ball ! video/x-raw,width=320,height=240",
        &warp,
    );
    assert_eq!((frames, faces), (40, 0));
    assert_eq!(
        (
            faceless.frames,
            faceless.generated,
            faceless.repeated_without_face
        ),
        (40, 0, 40)
    );
    assert_eq!(faceless.state(), AvatarState::NoFace);
}

#[test]
fn fomm_and_ugatit_count_their_network_runs() {
    let portrait = media("sylvie_green_normal.png");
    let tiny = tiny();
    let ((engine, fomm), _) = run(
        &talking_face(),
        &format!(
            "fommkeypoints model-dir=\"{0}\" ! fommanimate model-dir=\"{0}\" source=\"{1}\"",
            tiny.display(),
            portrait.display()
        ),
    );
    assert_eq!(engine, "FOMM");
    assert_eq!(
        (fomm.frames, fomm.generated, fomm.calibrations),
        (120, 120, 1)
    );

    let ((engine, ugatit), _) = run(
        &talking_face(),
        &format!("ugatit model-dir=\"{}\"", tiny.display()),
    );
    assert_eq!(engine, "U-GAT-IT");
    assert_eq!(
        (
            ugatit.frames,
            ugatit.generated,
            ugatit.repeated_without_face
        ),
        (120, 120, 0)
    );

    // The same element running an imported style network says so.
    let style = common::root().join("models/tiny-styles/styles/invert");
    let ((engine, styled), _) = run(
        &talking_face(),
        &format!("ugatit model-dir=\"{}\"", style.display()),
    );
    assert_eq!(engine, "style network");
    assert_eq!((styled.frames, styled.generated), (120, 120));
}
