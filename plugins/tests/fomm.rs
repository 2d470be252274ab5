//! FOMM end to end with the tiny models (models/tiny, random weights made by the exporter): a
//! driving clip made from a real face photo (NASA's astronaut) -> facetrack -> fommkeypoints ->
//! fommanimate -> appsink. Checks frames, caps, timestamps, calibration, motion, swapping the
//! portrait while playing, and the errors users see for bad input.

mod common;

use std::path::PathBuf;

use animecam::face::{portrait_crop, BlazeFace, FaceDetector};
use animecam::fomm::Fomm;
use animecam::image::{crop_square, read_image, RgbImage, SquareCrop};
use animecam::inference::{Provider, ProviderOptions};
use animecam::stylize::mean_abs_difference;
use common::{init, media, root, tiny};
use gst::prelude::*;

const SIZE: usize = 256;

/// Frame `t` of the driving clip: a 256x256 view of the photo whose window drifts right and
/// zooms in, so the face moves and grows by known amounts.
fn driving_frame(photo: &RgbImage, t: usize) -> RgbImage {
    let crop = SquareCrop {
        center_x: 230.0 - 2.0 * t as f32,
        center_y: 150.0,
        side: 300.0 - 3.0 * t as f32,
    };
    crop_square(&photo.view(), crop, SIZE).unwrap()
}

struct Output {
    frames: Vec<(Option<gst::ClockTime>, Vec<u8>)>,
    caps: Option<gst::Caps>,
    messages: Vec<gst::Structure>,
    warnings: Vec<String>,
    error: Option<String>,
}

/// Pushes `frames` through `facetrack ! fommkeypoints ! fommanimate` configured by `animate`,
/// calling `between(index, pipeline)` before each frame.
fn run(frames: &[RgbImage], animate: &str, between: impl Fn(usize, &gst::Pipeline)) -> Output {
    let tiny = tiny();
    let tiny = tiny.display();
    run_chain(
        frames,
        &format!(
            "fommkeypoints model-dir={tiny} ! fommanimate name=animate model-dir={tiny} {animate}"
        ),
        between,
    )
}

/// Pushes `frames` through `facetrack ! <chain>`, calling `between(index, pipeline)` before each.
/// facetrack gives BlazeFace's landmarks only: these tests are about the animation's frames,
/// calibration and errors, which the face mesh's rest-pose choice would delay (tests/expression.rs
/// covers the mesh).
fn run_chain(frames: &[RgbImage], chain: &str, between: impl Fn(usize, &gst::Pipeline)) -> Output {
    init();
    let description = format!(
        "appsrc name=src format=time caps=video/x-raw,format=RGB,width={SIZE},height={SIZE},framerate=25/1 ! \
         videoconvert ! facetrack landmarks=blazeface ! {chain} ! video/x-raw,format=RGB ! appsink name=sink sync=false"
    );
    let pipeline = common::launch(&description);
    let src = common::appsrc(&pipeline, "src");
    let sink = common::appsink(&pipeline, "sink");
    let bus = pipeline.bus().unwrap();
    let mut output = Output {
        frames: Vec::new(),
        caps: None,
        messages: Vec::new(),
        warnings: Vec::new(),
        error: None,
    };
    let drain_bus = |output: &mut Output| {
        while let Some(message) = bus.pop() {
            match message.view() {
                gst::MessageView::Error(e) => {
                    output
                        .error
                        .get_or_insert(format!("{} ({:?})", e.error(), e.debug()));
                }
                gst::MessageView::Warning(w) => output.warnings.push(w.error().to_string()),
                gst::MessageView::Element(e) => {
                    if let Some(s) = e.structure() {
                        output.messages.push(s.to_owned());
                    }
                }
                _ => {}
            }
        }
    };
    if pipeline.set_state(gst::State::Playing).is_err() {
        drain_bus(&mut output);
        pipeline.set_state(gst::State::Null).unwrap();
        return output;
    }
    let pull = |output: &mut Output| {
        if let Some(sample) = sink.try_pull_sample(gst::ClockTime::from_seconds(10)) {
            output.caps = sample.caps().map(|c| c.to_owned());
            let buffer = sample.buffer().unwrap();
            output
                .frames
                .push((buffer.pts(), buffer.map_readable().unwrap().to_vec()));
        }
    };
    for (index, frame) in frames.iter().enumerate() {
        between(index, &pipeline);
        let mut buffer = gst::Buffer::from_slice(frame.data().to_vec());
        {
            let buffer = buffer.get_mut().unwrap();
            buffer.set_pts(gst::ClockTime::from_mseconds(40 * index as u64));
            buffer.set_duration(gst::ClockTime::from_mseconds(40));
        }
        if src.push_buffer(buffer).is_err() {
            break;
        }
        pull(&mut output);
        drain_bus(&mut output);
        if output.error.is_some() {
            break;
        }
    }
    let _ = src.end_of_stream();
    pipeline.set_state(gst::State::Null).unwrap();
    drain_bus(&mut output);
    output
}

fn portrait() -> PathBuf {
    media("sylvie_green_normal.png")
}

#[test]
fn animates_the_portrait_frame_for_frame() {
    let photo = read_image(&media("astronaut.png")).unwrap();
    let frames: Vec<RgbImage> = (0..12).map(|t| driving_frame(&photo, t)).collect();
    let output = run(
        &frames,
        &format!("source={} output-size=96", portrait().display()),
        |_, _| {},
    );
    assert_eq!(output.error, None);
    assert_eq!(
        output.frames.len(),
        frames.len(),
        "one output frame per driving frame"
    );
    let caps = output.caps.unwrap();
    let structure = caps.structure(0).unwrap();
    assert_eq!(structure.get::<i32>("width").unwrap(), 96);
    assert_eq!(structure.get::<i32>("height").unwrap(), 96);
    assert_eq!(
        structure.get::<gst::Fraction>("framerate").unwrap(),
        gst::Fraction::new(25, 1)
    );
    for (index, (pts, _)) in output.frames.iter().enumerate() {
        assert_eq!(*pts, Some(gst::ClockTime::from_mseconds(40 * index as u64)));
    }
    let calibrated: Vec<_> = output
        .messages
        .iter()
        .filter(|m| m.name() == "fommanimate-calibrated")
        .collect();
    assert_eq!(calibrated.len(), 1, "{:?}", output.messages);

    // The calibration frame: relative motion gives back the source keypoints, so the output is
    // the generator's rendering of the portrait at rest, which the library computes the same way.
    let options = ProviderOptions {
        provider: Provider::Cpu,
        ..ProviderOptions::default()
    };
    let mut fomm = Fomm::load(&tiny(), &options).unwrap();
    let image = read_image(&portrait()).unwrap();
    let mut detector = BlazeFace::load(&root().join("models/blazeface"), &options).unwrap();
    let (crop, face) = portrait_crop(&image, &mut detector, 0.4).unwrap();
    assert!(face.is_some(), "Sylvie's face is found");
    let source = fomm
        .encode_source(&crop_square(&image.view(), crop, fomm.image_size()).unwrap())
        .unwrap();
    let at_rest = fomm
        .animate(&source, &source.keypoints)
        .unwrap()
        .resized(96, 96)
        .unwrap();
    assert!(
        mean_abs_difference(&output.frames[0].1, at_rest.data()) < 0.5,
        "calibration frame differs from the portrait at rest by {}",
        mean_abs_difference(&output.frames[0].1, at_rest.data())
    );
    // The face moves and grows through the clip: the animation follows.
    let drift: Vec<f64> = output
        .frames
        .iter()
        .map(|f| mean_abs_difference(&output.frames[0].1, &f.1))
        .collect();
    eprintln!("mean |frame - calibration frame| per frame: {drift:.3?}");
    // Random-weight tiny models respond weakly, but every moved pose must show.
    assert!(
        drift[1..].iter().all(|d| *d > 0.05),
        "output did not follow the motion: {drift:?}"
    );
}

/// Waits until a portrait swap, prepared off the streaming thread, is ready.
fn wait_for_portrait(animate: &gst::Element) {
    let started = std::time::Instant::now();
    while animate
        .property::<gst::Structure>("stats")
        .get::<bool>("loading")
        .unwrap()
    {
        assert!(
            started.elapsed().as_secs() < 20,
            "the portrait never loaded"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

#[test]
fn swapping_the_portrait_while_playing_changes_the_output() {
    let photo = read_image(&media("astronaut.png")).unwrap();
    let still = driving_frame(&photo, 0);
    let frames = vec![still; 8];
    let other = media("sylvie_green_surprised.png");
    let output = run(
        &frames,
        &format!("source={}", media("astronaut.png").display()),
        |index, pipeline| {
            if index == 4 {
                let animate = pipeline.by_name("animate").unwrap();
                animate.set_property("source", other.to_str().unwrap());
                wait_for_portrait(&animate);
            }
        },
    );
    assert_eq!(output.error, None);
    assert_eq!(output.frames.len(), 8);
    // A still driving face gives a still output, until the portrait changes.
    assert_eq!(output.frames[1].1, output.frames[3].1);
    assert!(mean_abs_difference(&output.frames[3].1, &output.frames[4].1) > 1.0);
    assert_eq!(output.frames[5].1, output.frames[7].1);
}

#[test]
fn recalibrating_takes_the_next_frame_as_the_rest_pose() {
    let photo = read_image(&media("astronaut.png")).unwrap();
    let frames: Vec<RgbImage> = (0..6).map(|t| driving_frame(&photo, 3 * t)).collect();
    let output = run(
        &frames,
        &format!("source={}", portrait().display()),
        |index, pipeline| {
            if index == 3 {
                pipeline
                    .by_name("animate")
                    .unwrap()
                    .emit_by_name::<()>("recalibrate", &[]);
            }
        },
    );
    assert_eq!(output.error, None);
    let calibrations = output
        .messages
        .iter()
        .filter(|m| m.name() == "fommanimate-calibrated")
        .count();
    assert_eq!(calibrations, 2);
    // Both calibration frames show the portrait at rest, whatever the driving pose.
    assert!(mean_abs_difference(&output.frames[0].1, &output.frames[3].1) < 0.5);
}

#[test]
fn an_unreadable_portrait_is_an_error_naming_the_file() {
    let photo = read_image(&media("astronaut.png")).unwrap();
    let frames = vec![driving_frame(&photo, 0)];
    let output = run(&frames, "source=/nonexistent/portrait.png", |_, _| {});
    let error = output.error.expect("an error");
    assert!(
        error.contains("/nonexistent/portrait.png") && error.contains("PNG or JPEG"),
        "{error}"
    );

    let text =
        std::env::temp_dir().join(format!("animecam-not-an-image-{}.png", std::process::id()));
    std::fs::write(&text, "hello").unwrap();
    let output = run(&frames, &format!("source={}", text.display()), |_, _| {});
    let error = output.error.expect("an error");
    assert!(
        error.contains(text.to_str().unwrap()) && error.contains("not an image"),
        "{error}"
    );
    std::fs::remove_file(text).unwrap();
}

#[test]
fn a_portrait_without_a_face_uses_its_centre_and_warns() {
    let photo = read_image(&media("astronaut.png")).unwrap();
    let frames = vec![driving_frame(&photo, 0); 2];
    // Big Buck Bunny's first frame has no human face; a flat grey image has none at all.
    let grey = std::env::temp_dir().join(format!("animecam-grey-{}.png", std::process::id()));
    let flat = RgbImage::new(64, 48, vec![128; 64 * 48 * 3]).unwrap();
    common::write_png(&flat, &grey);
    let output = run(&frames, &format!("source={}", grey.display()), |_, _| {});
    assert_eq!(output.error, None);
    assert_eq!(output.frames.len(), 2);
    assert!(
        output
            .warnings
            .iter()
            .any(|w| w.contains("No face found") && w.contains("centred square")),
        "{:?}",
        output.warnings
    );
    std::fs::remove_file(grey).unwrap();
}

#[test]
fn a_model_breaking_its_contract_fails_at_start_naming_expected_and_found() {
    let dir = std::env::temp_dir().join(format!("animecam-broken-fomm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for file in ["fomm_kp.onnx", "fomm_encoder.onnx", "fomm_generator.onnx"] {
        std::fs::copy(tiny().join(file), dir.join(file)).unwrap();
    }
    let manifest = std::fs::read_to_string(tiny().join("manifest.json")).unwrap();
    let mut manifest: serde_json::Value = serde_json::from_str(&manifest).unwrap();
    manifest["models"]["fomm_kp"]["inputs"][0]["shape"] = serde_json::json!([1, 3, 256, 256]);
    std::fs::write(dir.join("manifest.json"), manifest.to_string()).unwrap();
    let photo = read_image(&media("astronaut.png")).unwrap();
    init();
    let pipeline = gst::parse::launch(&format!(
        "appsrc ! fommkeypoints model-dir={} ! fakesink",
        dir.display()
    ))
    .unwrap();
    drop(photo);
    assert!(pipeline.set_state(gst::State::Playing).is_err());
    let error = common::bus_error(&pipeline.bus().unwrap()).unwrap();
    pipeline.set_state(gst::State::Null).unwrap();
    assert!(
        error.contains(
            "input 'image': expected float32 [1, 3, 256, 256], found float32 [1, 3, 64, 64]"
        ),
        "{error}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_graph_exported_with_other_output_names_fails_at_start_naming_expected_and_found() {
    // The generator's output renamed in the graph and in its manifest alike: the contract holds,
    // but animecam reads 'prediction'. Same-length names keep the protobuf valid.
    let dir = std::env::temp_dir().join(format!("animecam-renamed-fomm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for file in ["fomm_kp.onnx", "fomm_encoder.onnx"] {
        std::fs::copy(tiny().join(file), dir.join(file)).unwrap();
    }
    let graph = std::fs::read(tiny().join("fomm_generator.onnx")).unwrap();
    let (old, new) = (b"prediction", b"frame_out0");
    let mut renamed = Vec::with_capacity(graph.len());
    let mut at = 0;
    while at < graph.len() {
        if graph[at..].starts_with(old) {
            renamed.extend_from_slice(new);
            at += old.len();
        } else {
            renamed.push(graph[at]);
            at += 1;
        }
    }
    assert_ne!(renamed, graph);
    let generator = dir.join("fomm_generator.onnx");
    std::fs::write(&generator, renamed).unwrap();
    let manifest = std::fs::read_to_string(tiny().join("manifest.json")).unwrap();
    let mut manifest: serde_json::Value = serde_json::from_str(&manifest).unwrap();
    let spec = &mut manifest["models"]["fomm_generator"];
    spec["outputs"][0]["name"] = "frame_out0".into();
    spec["sha256"] = animecam::inference::sha256_file(&generator).unwrap().into();
    std::fs::write(dir.join("manifest.json"), manifest.to_string()).unwrap();
    init();
    let pipeline = gst::parse::launch(&format!(
        "videotestsrc num-buffers=1 ! fommanimate model-dir=\"{}\" source=\"{}\" ! fakesink",
        dir.display(),
        portrait().display()
    ))
    .unwrap();
    assert!(pipeline.set_state(gst::State::Playing).is_err());
    let error = common::bus_error(&pipeline.bus().unwrap()).unwrap();
    pipeline.set_state(gst::State::Null).unwrap();
    assert!(
        error.contains(
            "animecam reads output 'prediction' of rank 4, the manifest has 'frame_out0' of rank 4"
        ),
        "{error}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_warp_engine_animates_from_facetrack_landmarks_alone() {
    let photo = read_image(&media("astronaut.png")).unwrap();
    let frames: Vec<RgbImage> = (0..8).map(|t| driving_frame(&photo, 2 * t)).collect();
    let chain = format!(
        "fommanimate engine=warp name=animate source={}",
        portrait().display()
    );
    let output = run_chain(&frames, &chain, |_, _| {});
    assert_eq!(output.error, None);
    assert_eq!(output.frames.len(), 8);
    let caps = output.caps.unwrap();
    assert_eq!(
        caps.structure(0).unwrap().get::<i32>("width").unwrap(),
        512,
        "the warp's default size"
    );
    // The calibration frame is the portrait's crop itself.
    let still = animecam::portrait::Portrait::load(&portrait(), None, 0.4).unwrap();
    let crop = crop_square(&still.image.view(), still.crop, 512).unwrap();
    assert!(
        mean_abs_difference(&output.frames[0].1, crop.data()) < 0.01,
        "calibration frame is not the portrait"
    );
    // The driving window drifts and zooms: the portrait moves.
    assert!(
        mean_abs_difference(&output.frames[0].1, &output.frames[7].1) > 1.0,
        "the warp did not follow the face"
    );
}

#[test]
fn a_bad_portrait_swapped_in_while_playing_keeps_the_current_one() {
    let photo = read_image(&media("astronaut.png")).unwrap();
    let frames = vec![driving_frame(&photo, 0); 6];
    let output = run(
        &frames,
        &format!("source={}", portrait().display()),
        |index, pipeline| {
            if index == 3 {
                let animate = pipeline.by_name("animate").unwrap();
                animate.set_property("source", "/nonexistent/next-portrait.png");
                wait_for_portrait(&animate);
            }
        },
    );
    assert_eq!(output.error, None, "one bad file must not end the session");
    assert_eq!(output.frames.len(), 6);
    assert!(
        output
            .warnings
            .iter()
            .any(|w| w.contains("/nonexistent/next-portrait.png")
                && w.contains("keeping the current portrait")),
        "{:?}",
        output.warnings
    );
    assert_eq!(
        output.frames[2].1, output.frames[5].1,
        "the avatar did not change"
    );
}

/// A 256x256 view of `photo` around `(x, y)` with side `side`, drifting right by 2 px a frame.
fn view_of(photo: &RgbImage, (x, y): (f32, f32), side: f32, t: usize) -> RgbImage {
    let crop = SquareCrop {
        center_x: x - 2.0 * t as f32,
        center_y: y,
        side,
    };
    crop_square(&photo.view(), crop, SIZE).unwrap()
}

/// Values of field `field` in the element messages named `name`.
fn message_values(output: &Output, name: &str, field: &str) -> Vec<u64> {
    output
        .messages
        .iter()
        .filter(|m| m.name() == name)
        .filter_map(|m| {
            m.get::<Option<gst::ClockTime>>(field)
                .ok()
                .flatten()
                .map(|t| t.mseconds())
                .or_else(|| m.get::<u64>(field).ok())
        })
        .collect()
}

#[test]
fn a_cut_to_another_person_starts_a_new_track_and_a_new_calibration() {
    // An edited clip: the astronaut for 20 frames, then Grace Hopper, each moved by a known drift.
    let astronaut = read_image(&media("astronaut.png")).unwrap();
    let hopper = read_image(&media("grace_hopper.jpg")).unwrap();
    let mut detector = BlazeFace::load(
        &root().join("models/blazeface"),
        &ProviderOptions {
            provider: Provider::Cpu,
            ..ProviderOptions::default()
        },
    )
    .unwrap();
    let face = detector.detect(&hopper.view()).unwrap()[0].face;
    let (hx, hy) = face.center();
    let side = 2.5 * face.width.max(face.height);
    const CUT: usize = 20;
    let frames: Vec<RgbImage> = (0..CUT)
        .map(|t| view_of(&astronaut, (230.0, 150.0), 300.0, t))
        .chain((0..20).map(|t| view_of(&hopper, (hx, hy), side, t)))
        .collect();
    let output = run_chain(
        &frames,
        &format!(
            "fommanimate name=animate engine=warp output-size={SIZE} source=\"{}\"",
            portrait().display()
        ),
        |_, _| {},
    );
    assert_eq!(output.error, None);
    assert_eq!(output.frames.len(), frames.len());
    let frame_ms = 40;
    let cut_ms = (CUT as u64 * frame_ms)..=((CUT as u64 + 2) * frame_ms);
    let ids = |name: &str| -> Vec<(u64, u64)> {
        output
            .messages
            .iter()
            .filter(|m| m.name() == name)
            .map(|m| {
                (
                    m.get::<u64>("track-id").unwrap(),
                    m.get::<Option<gst::ClockTime>>("running-time")
                        .unwrap()
                        .unwrap()
                        .mseconds(),
                )
            })
            .collect()
    };
    let (found, lost) = (ids("facetrack-face-found"), ids("facetrack-face-lost"));
    let first = found[0];
    assert_eq!(first.1, 0, "{found:?}");
    assert!(
        lost.iter()
            .any(|(id, at)| *id == first.0 && cut_ms.contains(at)),
        "the first face is lost at the cut: {lost:?}"
    );
    assert!(
        found
            .iter()
            .any(|(id, at)| *id != first.0 && cut_ms.contains(at)),
        "another face is found at the cut: {found:?}"
    );
    let calibrations = message_values(&output, "fommanimate-calibrated", "pts");
    assert!(
        calibrations.iter().any(|at| cut_ms.contains(at)),
        "the new face calibrates: {calibrations:?}"
    );
    // The avatar's face stays in the picture on every frame.
    for (index, (_, pixels)) in output.frames.iter().enumerate() {
        let picture = RgbImage::new(SIZE, SIZE, pixels.clone()).unwrap();
        // The short-range detector misses faces that fill its input: the picture is searched
        // shrunk to half, in the middle of a padded square, and the box mapped back.
        let padded = crop_square(
            &picture.view(),
            SquareCrop {
                center_x: SIZE as f32 / 2.0,
                center_y: SIZE as f32 / 2.0,
                side: 2.0 * SIZE as f32,
            },
            SIZE,
        )
        .unwrap();
        let faces: Vec<_> = detector
            .detect(&padded.view())
            .unwrap()
            .into_iter()
            .map(|mut face| {
                let (x, y) = face.face.center();
                face.face = animecam::face::Rect::from_center(
                    2.0 * x - SIZE as f32 / 2.0,
                    2.0 * y - SIZE as f32 / 2.0,
                    2.0 * face.face.width,
                    2.0 * face.face.height,
                );
                face
            })
            .collect();
        let Some(face) = faces.first() else {
            let path = std::env::temp_dir().join(format!("cut-{index}.png"));
            common::write_png(&picture, &path);
            panic!("frame {index}: no face in the avatar ({})", path.display());
        };
        let (x, y) = face.face.center();
        let inside = 0.15 * SIZE as f32..0.85 * SIZE as f32;
        assert!(
            inside.contains(&x) && inside.contains(&y),
            "frame {index}: the avatar's face is at {x:.0}, {y:.0}"
        );
    }
}

#[test]
fn a_flushing_seek_resets_the_calibration() {
    init();
    let still = {
        let output = run_chain(
            &[RgbImage::new(SIZE, SIZE, vec![128; SIZE * SIZE * 3]).unwrap()],
            // Breathing off: the chest's rise follows the stream's time, not the calibration.
            &format!(
                "fommanimate engine=warp output-size=128 breathing=false source=\"{}\"",
                portrait().display()
            ),
            |_, _| {},
        );
        output.frames[0].1.clone()
    };
    let pipeline = common::launch(&format!(
        "filesrc location=\"{}\" ! decodebin ! videoconvert ! facetrack landmarks=blazeface ! \
         fommanimate engine=warp output-size=128 breathing=false source=\"{}\" ! videoconvert ! \
         video/x-raw,format=RGB ! appsink name=sink sync=false",
        media("carphone_pristine.mp4").display(),
        portrait().display()
    ));
    let sink = common::appsink(&pipeline, "sink");
    pipeline.set_state(gst::State::Playing).unwrap();
    let pull = || {
        let sample = sink
            .try_pull_sample(gst::ClockTime::from_seconds(10))
            .expect("a frame");
        let buffer = sample.buffer().unwrap();
        let frame = (
            buffer.pts().unwrap(),
            buffer.map_readable().unwrap().to_vec(),
        );
        frame
    };
    let before: Vec<_> = (0..45).map(|_| pull()).collect();
    // Without a reset, the frame at 1 s is the face's motion since the first frame: visible.
    let one_second = before
        .iter()
        .find(|(pts, _)| *pts >= gst::ClockTime::from_seconds(1))
        .unwrap();
    let moved = mean_abs_difference(&one_second.1, &still);
    assert!(
        moved > 2.0,
        "the face did not move in the first second: {moved}"
    );
    assert!(pipeline
        .seek_simple(
            gst::SeekFlags::FLUSH | gst::SeekFlags::ACCURATE,
            gst::ClockTime::from_seconds(1),
        )
        .is_ok());
    let (pts, after) = pull();
    assert!(pts >= gst::ClockTime::from_seconds(1), "{pts}");
    let difference = mean_abs_difference(&after, &still);
    pipeline.set_state(gst::State::Null).unwrap();
    assert!(
        difference < 1.0,
        "the first frame after the seek is not the portrait at rest: {difference:.2}"
    );
}

#[test]
fn loading_the_fomm_models_is_announced_with_progress_messages() {
    let progress = common::progress_messages(&format!(
        "videotestsrc num-buffers=2 ! fommanimate model-dir=\"{}\" source=\"{}\" ! fakesink",
        tiny().display(),
        portrait().display()
    ));
    let kinds: Vec<gst::ProgressType> = progress.iter().map(|(kind, _)| *kind).collect();
    assert_eq!(
        kinds,
        vec![gst::ProgressType::Start, gst::ProgressType::Complete]
    );
    // One stable code for the step, which an application can wait for.
    assert!(
        progress.iter().all(|(_, code)| code == "loading"),
        "{progress:?}"
    );
}

#[test]
fn a_failed_load_ends_its_progress_with_an_error() {
    let empty = std::env::temp_dir().join(format!("animecam-no-models-{}", std::process::id()));
    std::fs::create_dir_all(&empty).unwrap();
    let progress = common::progress_messages(&format!(
        "videotestsrc num-buffers=2 ! fommanimate model-dir=\"{}\" source=\"{}\" ! fakesink",
        empty.display(),
        portrait().display()
    ));
    let _ = std::fs::remove_dir(&empty);
    assert_eq!(
        progress,
        vec![
            (gst::ProgressType::Start, "loading".to_owned()),
            (gst::ProgressType::Error, "loading".to_owned()),
        ]
    );
}

/// The horizontal shift from frame `a` to frame `b` (`size` x `size` RGB), in pixels: the offset
/// within 12 pixels that matches them best (mean absolute difference over the overlap), refined
/// by a parabola through its neighbours.
fn shift_between(a: &[u8], b: &[u8], size: usize) -> f64 {
    let cost = |dx: i64| -> f64 {
        let (mut total, mut count) = (0u64, 0u64);
        for y in 0..size {
            for x in 12..size - 12 {
                let moved = (x as i64 + dx) as usize;
                for c in 0..3 {
                    total +=
                        a[(y * size + x) * 3 + c].abs_diff(b[(y * size + moved) * 3 + c]) as u64;
                    count += 1;
                }
            }
        }
        total as f64 / count as f64
    };
    let costs: Vec<f64> = (-12..=12).map(cost).collect();
    let best = (0..costs.len())
        .min_by(|&i, &j| costs[i].total_cmp(&costs[j]))
        .unwrap();
    let refine = if best > 0 && best + 1 < costs.len() {
        let (l, c, r) = (costs[best - 1], costs[best], costs[best + 1]);
        let curve = l - 2.0 * c + r;
        if curve > 0.0 {
            0.5 * (l - r) / curve
        } else {
            0.0
        }
    } else {
        0.0
    };
    best as f64 - 12.0 + refine
}

#[test]
fn inbetweens_answer_every_frame_and_move_with_the_keypoints() {
    // The generator made slow on purpose: a picture on every 4th frame only (keyframe-every),
    // in-betweens on the others.
    let photo = read_image(&media("astronaut.png")).unwrap();
    let frames: Vec<RgbImage> = (0..20).map(|t| driving_frame(&photo, t)).collect();
    let keypoints = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = keypoints.clone();
    let output = run(
        &frames,
        &format!(
            "source={} output-size=96 in-betweens=on keyframe-every=4 adapt-scale=false",
            portrait().display()
        ),
        move |index, pipeline| {
            if index == 0 {
                let seen = seen.clone();
                pipeline
                    .by_name("animate")
                    .unwrap()
                    .static_pad("sink")
                    .unwrap()
                    .add_probe(gst::PadProbeType::BUFFER, move |_, info| {
                        if let Some(buffer) = info.buffer() {
                            let set = gstanimecam::meta::read_keypoints(buffer)
                                .and_then(Result::ok)
                                .map(|set| set.keypoints.values);
                            seen.lock().unwrap().push(set);
                        }
                        gst::PadProbeReturn::Ok
                    });
            }
        },
    );
    assert_eq!(output.error, None);
    assert_eq!(
        output.frames.len(),
        frames.len(),
        "one picture per input frame"
    );
    let keypoints = keypoints.lock().unwrap().clone();
    assert_eq!(keypoints.len(), frames.len());
    let size = 96;
    // Frame 0 calibrates and is a keyframe; 4, 8, ... are keyframes; the others in-betweens.
    let (mut expected, mut measured) = (Vec::new(), Vec::new());
    for t in (1..frames.len()).filter(|t| t % 4 != 0) {
        let key = t - t % 4;
        let (Some(now), Some(then)) = (&keypoints[t], &keypoints[key]) else {
            continue;
        };
        // With adapt-scale off the keypoints' relative motion is their own: its mean across
        // the picture, in output pixels.
        let mean: f64 = now
            .iter()
            .zip(then)
            .map(|(a, b)| (a[0] - b[0]) as f64)
            .sum::<f64>()
            / now.len() as f64
            * (size - 1) as f64
            / 2.0;
        expected.push(mean);
        measured.push(shift_between(
            &output.frames[key].1,
            &output.frames[t].1,
            size,
        ));
    }
    eprintln!("in-betweens: the keypoints moved {expected:.2?} px; the avatar {measured:.2?}");
    // Each in-between moves the way the keypoints moved, by a share of their mean motion that
    // stays about the same frame to frame (the blend leans to the keypoints' motion near them and
    // to rest far from them, and this measure averages the whole picture).
    let ratios: Vec<f64> = expected
        .iter()
        .zip(&measured)
        .filter(|(e, _)| e.abs() >= 0.3)
        .map(|(e, m)| m / e)
        .collect();
    assert!(
        ratios.len() >= 6,
        "the keypoints hardly moved: {expected:?}"
    );
    let mut sorted = ratios.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    eprintln!("avatar shift over keypoint shift: median {median:.3}, {ratios:.3?}");
    assert!(
        ratios.iter().all(|r| *r > 0.0),
        "an in-between moved against the keypoints: {ratios:?}"
    );
    assert!(
        ratios.iter().all(|r| (r / median - 1.0).abs() < 0.5),
        "the in-betweens' motion is not in proportion to the keypoints': {ratios:?}"
    );
    // A new keyframe lands without a jump larger than the motion since the last one.
    for key in (4..frames.len()).step_by(4) {
        let jump = mean_abs_difference(&output.frames[key - 1].1, &output.frames[key].1);
        let since = mean_abs_difference(&output.frames[key - 4].1, &output.frames[key].1);
        assert!(
            jump <= since + 0.5,
            "keyframe {key}: a jump of {jump:.2} levels, the motion since the last keyframe {since:.2}"
        );
    }
}
