//! The animecam command line, run as a user runs it. Cameras and v4l2loopback cannot exist on a
//! build machine: live modes get a test source instead (`--camera "videotestsrc ..."`) and a
//! fakesink for the window, which the tests say where they do it.

mod common;

use std::path::PathBuf;

use common::*;
use gst::prelude::*;

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("animecam-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Tests that measure time (live runs' frame counts and latency) run one at a time, and the int8
/// benchmark, which keeps both cores busy, with them: on 2 cores, parallel runs would measure
/// each other.
static TIMED: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn timed_alone() -> std::sync::MutexGuard<'static, ()> {
    TIMED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn has_audio(path: &std::path::Path) -> bool {
    decode(path, &[]).audio
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
    // A run that worked says nothing of errors (openh264's drain used to print one).
    assert!(!stderr(&run).contains("Error"), "{}", stderr(&run));
    let clip = decode(&output, &[]);
    assert_eq!(clip.frames, 120, "one output frame per clip frame");
    assert_eq!(clip.size, (512, 256), "clip and animation side by side");
    assert!(
        !clip.audio,
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

/// Pixels of the painted inside of an open mouth (dark red) in the animation's half of a
/// side-by-side frame.
fn open_mouth_pixels(frame: &Frame) -> usize {
    let inside = [70i32, 25, 35];
    (0..frame.height)
        .flat_map(|y| (frame.width / 2..frame.width).map(move |x| (x, y)))
        .filter(|&(x, y)| {
            frame
                .rgb(x, y)
                .iter()
                .zip(inside)
                .all(|(&c, want)| (c as i32 - want).abs() < 40)
        })
        .count()
}

#[test]
fn expression_reaches_the_warps_gains() {
    // The talking man opens his mouth wide on many frames; with the mouth's gain at 0 the
    // portrait's painted mouth inside (dark red) is gone from those frames. (That the mouth then
    // stays closed on every frame is measured on the element's own output, uncompressed:
    // plugins/tests/expression.rs.)
    let every_third: Vec<usize> = (0..120).step_by(3).collect();
    let opened = |expression: Option<&str>| -> Vec<usize> {
        let output = temp(&format!(
            "expression-{}.mp4",
            expression.unwrap_or("default")
        ));
        let clip_path = media("carphone_pristine.mp4");
        let portrait = media("sylvie_green_normal.png");
        let mut args = vec![
            "clip",
            clip_path.to_str().unwrap(),
            output.to_str().unwrap(),
            "--portrait",
            portrait.to_str().unwrap(),
            "--size",
            "256",
            "--force",
        ];
        if let Some(expression) = expression {
            args.extend(["--expression", expression]);
        }
        let run = animecam(&args);
        assert!(run.status.success(), "{}", stderr(&run));
        decode(&output, &every_third)
            .kept
            .iter()
            .map(open_mouth_pixels)
            .collect()
    };
    let talking = opened(None);
    let calmed = opened(Some("mouth=0"));
    let fewer = talking
        .iter()
        .zip(&calmed)
        .filter(|(talking, calmed)| **talking > **calmed + 20)
        .count();
    let more = talking
        .iter()
        .zip(&calmed)
        .filter(|(talking, calmed)| **calmed > **talking + 20)
        .count();
    eprintln!("frames with less of the mouth's inside with mouth=0: {fewer}, with more: {more}");
    assert!(fewer >= 5 && more == 0, "{talking:?} {calmed:?}");
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
    assert!(has_audio(&input));

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
    let clip = decode(&output, &[]);
    assert_eq!(clip.frames, 120);
    assert!(clip.audio, "the output has the clip's audio track");
}

/// Status lines of a live run (" 30 fps, latency 4.0 ms, animating").
fn status_lines(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|l| l.contains("fps, latency"))
        .collect()
}

#[test]
fn webcam_status_says_why_the_avatar_stands_still() {
    // No webcam on a build machine: videotestsrc (no face) stands in for v4l2src, fakesink for
    // the window.
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
    let lines = status_lines(&text);
    assert!(lines.len() >= 2, "{text}");
    // The first second may end before a frame reached the animation.
    assert!(
        lines[1..].iter().all(|l| l.ends_with("no face: resting")),
        "{text}"
    );
}

/// The numbers of the summary line "started in S s; then shown N frames in T s, latency mean M
/// ms, max X ms": (S, N, T, M, X).
fn live_summary(text: &str) -> (f64, u64, f64, f64, f64) {
    let line = text
        .lines()
        .find(|l| l.starts_with("started in ") && l.contains("; then shown "))
        .unwrap_or_else(|| panic!("no summary line in: {text}"));
    let numbers: Vec<f64> = line
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .filter_map(|t| t.parse().ok())
        .collect();
    assert_eq!(numbers.len(), 5, "{line}");
    (
        numbers[0],
        numbers[1] as u64,
        numbers[2],
        numbers[3],
        numbers[4],
    )
}

#[test]
fn the_live_summary_says_the_start_apart_from_the_steady_state() {
    let _alone = timed_alone();
    let seconds = 4.0;
    let run = animecam(&[
        "webcam",
        "--portrait",
        media("sylvie_green_normal.png").to_str().unwrap(),
        "--camera",
        "videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate=30/1",
        "--sink",
        "fakesink sync=false",
        "--seconds",
        &seconds.to_string(),
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    let text = stderr(&run);
    let (startup_s, frames, steady_s, mean_ms, max_ms) = live_summary(&text);
    // The start (models, the portrait's landmarks) takes a good part of a second; the steady
    // state's frames are a few milliseconds late, not pulled up by it.
    assert!(
        startup_s > 0.0 && mean_ms * 3.0 < startup_s * 1000.0,
        "{text}"
    );
    assert!(mean_ms <= max_ms, "{text}");
    // The steady state runs from the first picture to the end, at the camera's 30 fps.
    assert!(
        (startup_s + steady_s - seconds).abs() < 1.0,
        "start and steady state make up the run: {text}"
    );
    assert!(frames as f64 >= 20.0 * steady_s, "{text}");
    // Its mean is what the status lines said second by second once the first had passed.
    let status: Vec<f64> = status_lines(&text)
        .iter()
        .filter_map(|l| {
            l.split("latency")
                .nth(1)?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .collect();
    assert!(status.len() >= 3, "{text}");
    let steady_status = &status[1..];
    let highest = steady_status.iter().copied().fold(0.0, f64::max);
    let lowest = steady_status.iter().copied().fold(f64::INFINITY, f64::min);
    assert!(
        mean_ms <= highest * 1.5 + 5.0 && mean_ms >= lowest * 0.5 - 5.0,
        "steady mean {mean_ms} ms against status lines {status:?}: {text}"
    );
}

#[test]
fn webcam_status_says_animating_when_a_face_drives_it() {
    // A recorded talking face played at its own pace stands in for the webcam.
    let camera = format!(
        "filesrc location={} ! decodebin ! videoconvert ! clocksync",
        media("carphone_pristine.mp4").display()
    );
    let run = animecam(&[
        "webcam",
        "--portrait",
        media("sylvie_green_normal.png").to_str().unwrap(),
        "--camera",
        &camera,
        "--sink",
        "fakesink sync=false",
        "--seconds",
        "3.5",
        "--size",
        "256",
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    let text = stderr(&run);
    let lines = status_lines(&text);
    assert!(lines.len() >= 3, "{text}");
    // The first face calibrates (in the first second, or the next on a busy machine); then the
    // warp keeps up with the camera, the carphone face always in view.
    assert!(
        lines[..2].iter().any(|l| l.contains("calibrating")),
        "{text}"
    );
    assert!(
        lines[2..].iter().all(|l| l.ends_with(", animating")),
        "{text}"
    );
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
        (
            vec![
                "webcam",
                "--camera",
                "videotestsrc",
                "--portrait",
                portrait,
                "--mode",
                "fomm",
                "--expression",
                "turn=0.5",
            ],
            &["--expression", "--mode warp"],
        ),
        (
            vec![
                "webcam",
                "--camera",
                "videotestsrc",
                "--portrait",
                portrait,
                "--keypoints-precision",
                "fp32",
            ],
            &["--keypoints-precision", "--mode fomm"],
        ),
        // With --remote the server animates: the gains go to `animecam serve`.
        (
            vec![
                "webcam",
                "--remote",
                "127.0.0.1:7999",
                "--insecure",
                "--camera",
                "videotestsrc",
                "--expression",
                "turn=0.5",
            ],
            &["--expression to `animecam serve`"],
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
    let bad_gain = animecam(&["clip", "in.mp4", "out.mp4", "--expression", "ears=1"]);
    assert_eq!(bad_gain.status.code(), Some(2));
    let text = stderr(&bad_gain);
    assert!(
        text.contains("'ears' is not a channel") && text.contains("gaze"),
        "{text}"
    );
    let too_much = animecam(&["clip", "in.mp4", "out.mp4", "--expression", "turn=9"]);
    assert!(
        stderr(&too_much).contains("from 0 (off) to 3"),
        "{}",
        stderr(&too_much)
    );
    let bad_option = animecam(&["webcam", "--mode", "dance"]);
    assert_eq!(bad_option.status.code(), Some(2));
    assert!(stderr(&bad_option).contains("dance"));
}

#[test]
fn models_lists_and_checks_the_model_sets() {
    // A converted FOMM set (the tiny graphs, as a user's own export) and the test fixtures.
    let dir = temp("models");
    let set = dir.join("vox-256");
    let mut manifest = tiny_set(&set, |id| id.starts_with("fomm"));
    // One graph the set names but lacks.
    manifest["models"]["ugatit_full"] = manifest["models"]["fomm_kp"].clone();
    manifest["models"]["ugatit_full"]["file"] = "ugatit_full.onnx".into();
    write_manifest(&set, &manifest);
    for fixture in ["test", "blazeface"] {
        let link = dir.join(fixture);
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(root().join("models").join(fixture), link).unwrap();
    }
    let run = animecam(&[
        "models",
        "--models",
        dir.to_str().unwrap(),
        "--provider",
        "cpu",
    ]);
    let text = stdout(&run);
    assert!(
        text.contains("fomm_generator") && text.contains("sha256 ok, runs on cpu"),
        "{text}{}",
        stderr(&run)
    );
    assert!(text.contains("blazeface_front"), "{text}");
    // The missing graph is named as a problem: exit code 1.
    assert!(
        text.contains("ugatit_full") && text.contains("PROBLEM"),
        "{text}"
    );
    // Test fixtures (with their deliberately wrong graph) are not the user's model sets.
    assert!(!text.contains("scale_bias_wrong_shape"), "{text}");
    assert_eq!(run.status.code(), Some(1));
}

#[test]
fn models_and_doctor_say_what_is_wrong_with_a_broken_int8_set() {
    // A converted FOMM set (the tiny graphs) with a vox-256-int8 folder beside it that is empty,
    // then holds a manifest that is not JSON: both commands name the folder and the cause, as
    // precision=int8 and auto do, instead of saying there is no int8 set.
    let dir = temp("models-broken-int8");
    let set = dir.join("vox-256");
    tiny_set(&set, |id| id.starts_with("fomm"));
    let link = dir.join("blazeface");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(root().join("models/blazeface"), link).unwrap();
    let int8 = dir.join("vox-256-int8");
    let _ = std::fs::remove_dir_all(&int8);
    std::fs::create_dir_all(&int8).unwrap();
    let cause = format!("the int8 set {} cannot be used: ", int8.display());
    for (case, why) in [
        ("empty", "it has no manifest.json"),
        ("not json", "manifest.json is not valid: EOF while parsing"),
    ] {
        if case == "not json" {
            std::fs::write(int8.join("manifest.json"), "{\"format\": ").unwrap();
        }
        let models = animecam(&[
            "models",
            "--models",
            dir.to_str().unwrap(),
            "--provider",
            "cpu",
        ]);
        let text = stdout(&models);
        assert_eq!(models.status.code(), Some(1), "{case}: {text}");
        assert!(
            text.contains(&format!("PROBLEM: {cause}")) && text.contains(why),
            "{case}: {text}"
        );
        assert!(!text.contains("no int8 set beside it"), "{case}: {text}");

        let doctor = command()
            .env("ANIMECAM_MODELS", &dir)
            .arg("doctor")
            .output()
            .unwrap();
        let report = stdout(&doctor);
        let verdict = report
            .split("FAIL  vox-256:")
            .nth(1)
            .map(|rest| rest.lines().take(2).collect::<Vec<_>>().join("\n"))
            .unwrap_or_default();
        assert!(
            verdict.contains(&cause) && verdict.contains(why) && verdict.contains("fix: remove"),
            "{case}: {report}"
        );
        assert!(
            !report.contains("no int8 set (make int8-models"),
            "{case}: {report}"
        );
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_int8_benchmark_gives_each_speed_up_over_alternating_rounds() {
    let _alone = timed_alone();
    // The committed tiny graphs and their int8 form stand in for the benchmark sets: too small
    // for their ratios to mean anything, they check the table's shape and arithmetic.
    let json = temp("bench-int8.json");
    let run = animecam(&[
        "bench",
        "--models",
        root().join("models/tiny").to_str().unwrap(),
        "--int8-models",
        root().join("models/tiny-int8").to_str().unwrap(),
        "--no-python",
        "--frames",
        "3",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["int8_rounds"], 3, "{report}");
    let rows = report["int8"].as_array().unwrap();
    let stages: Vec<&str> = rows.iter().map(|r| r["stage"].as_str().unwrap()).collect();
    assert_eq!(
        stages,
        [
            "fomm keypoints",
            "fomm frame, source encoded once",
            "ugatit light 256",
            "ugatit full 256"
        ]
    );
    for row in rows {
        let rounds = row["rounds"].as_array().unwrap();
        assert_eq!(rounds.len(), 3, "{row}");
        // A speed-up is the recipe's: the row names it, as the int8 set's manifest does.
        assert!(
            row["recipe"].as_str().is_some_and(|r| !r.is_empty()),
            "{row}"
        );
        assert!(row["kept_float"].as_u64().is_some(), "{row}");
        // Each round's ratio is its own fp32 time over its own int8 time; the row gives their
        // median, smallest and largest.
        let mut ratios: Vec<f64> = rounds
            .iter()
            .map(|r| {
                let (fp32, int8) = (
                    r["fp32_ms"].as_f64().unwrap(),
                    r["int8_ms"].as_f64().unwrap(),
                );
                assert!(fp32 > 0.0 && int8 > 0.0, "{row}");
                assert!(
                    (r["speedup"].as_f64().unwrap() - fp32 / int8).abs() < 1e-9,
                    "{row}"
                );
                fp32 / int8
            })
            .collect();
        ratios.sort_by(f64::total_cmp);
        let value = |key: &str| row[key].as_f64().unwrap();
        let spread = [value("speedup_min"), value("speedup"), value("speedup_max")];
        assert!(
            spread
                .iter()
                .zip(&ratios)
                .all(|(a, b)| (a - b).abs() < 1e-9),
            "{row}"
        );
    }
    // The table says the same, one line a stage with the spread.
    let text = stderr(&run);
    assert!(text.contains("3 rounds a stage"), "{text}");
    let table: Vec<&str> = text.lines().filter(|l| l.contains("x - ")).collect();
    assert_eq!(table.len(), 4, "{text}");

    // A folder that is no int8 set is named; a spread needs at least three rounds.
    let wrong = animecam(&[
        "bench",
        "--models",
        root().join("models/tiny").to_str().unwrap(),
        "--int8-models",
        root().join("pipelines").to_str().unwrap(),
        "--no-python",
        "--frames",
        "2",
    ]);
    assert!(!wrong.status.success());
    assert!(
        stderr(&wrong).contains("--int8-models") && stderr(&wrong).contains("manifest.json"),
        "{}",
        stderr(&wrong)
    );
    let two = animecam(&["bench", "--rounds", "2"]);
    assert!(
        !two.status.success() && stderr(&two).contains("at least 3"),
        "{}",
        stderr(&two)
    );
}

#[test]
fn the_live_benchmark_counts_real_pictures_and_fails_without_a_face() {
    let _alone = timed_alone();
    // The warp needs no network: the committed tiny models stand in for the benchmark set.
    let tiny = root().join("models/tiny");
    let run = animecam(&[
        "bench",
        "--models",
        tiny.to_str().unwrap(),
        "--live",
        "3",
        "--mode",
        "warp",
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    let generated = report["generated"].as_u64().unwrap();
    let camera = report["camera_frames"].as_u64().unwrap();
    // A real face in every camera frame, and a warp far faster than the camera: every frame
    // after the first half second (the face mesh settling before the rest pose is taken)
    // becomes a picture, but a few a busy machine may drop.
    let waiting = report["repeated_without_face"].as_u64().unwrap();
    assert!(camera >= 60, "{report}");
    assert!(waiting <= 20, "{report}");
    assert!(
        generated as f64 >= 0.9 * (camera - waiting) as f64,
        "{report}"
    );
    // The start (loading the models, the first picture) is reported apart from the steady
    // state, whose latency the start does not pull up.
    let number = |key: &str| {
        report[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{key}: {report}"))
    };
    assert!(number("startup_s") > 0.0, "{report}");
    assert!(
        (number("startup_s") + number("steady_seconds") - 3.0).abs() < 1.0,
        "{report}"
    );
    assert!(
        number("mean_latency_ms") <= number("max_latency_ms")
            && number("startup_mean_latency_ms") <= number("startup_max_latency_ms"),
        "{report}"
    );
    assert!(
        report["frames_shown"].as_u64().unwrap() + report["startup_frames_shown"].as_u64().unwrap()
            >= camera / 2,
        "{report}"
    );

    let faceless = animecam(&[
        "bench",
        "--models",
        tiny.to_str().unwrap(),
        "--live",
        "2",
        "--mode",
        "warp",
        "--faceless",
    ]);
    assert_eq!(faceless.status.code(), Some(1), "{}", stderr(&faceless));
    assert!(
        stderr(&faceless).contains("made 0 pictures")
            && stderr(&faceless).contains("the camera shows no face"),
        "{}",
        stderr(&faceless)
    );
}

#[test]
fn in_betweens_predict_a_real_faces_motion_better_than_holding_the_keyframe() {
    // The committed tiny graphs stand in for the random set (their series only has to be there);
    // the real-motion series needs no FOMM weights: the talking clip's own face, keyframes every
    // 4th and 7th frame, moved by face-mesh keypoints.
    let json = temp("bench-inbetweens.json");
    let run = animecam(&[
        "bench",
        "--inbetweens",
        "--models",
        root().join("models/tiny").to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    let report: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let gain = |truth: &str, spacing: u64, method: &str| {
        let series = report
            .iter()
            .find(|s| s["truth"] == truth && s["spacing"] == spacing && s["method"] == method)
            .unwrap_or_else(|| panic!("no series {truth}, every {spacing}, {method}"));
        // The clip's 120 frames less the keyframes.
        let frames = series["frames"].as_array().unwrap().len() as u64;
        assert_eq!(frames, 120 - 120_u64.div_ceil(spacing), "{series}");
        series["mean_gain_db"].as_f64().unwrap()
    };
    let real = "real motion, mesh keypoints";
    for spacing in [4, 7] {
        gain("random-weight generator", spacing, "local affine");
        // Measured 1.5 and 1.9 dB: moved the wrong way, or not at all, it is 0 or below.
        let affine = gain(real, spacing, "local affine");
        assert!(
            affine > 0.7,
            "every {spacing}: local affine {affine:.2} dB over holding"
        );
        let ceiling = gain(real, spacing, "dense flow ceiling");
        assert!(
            ceiling > affine + 1.0,
            "every {spacing}: ceiling {ceiling:.2} dB"
        );
    }
}

#[test]
fn webcam_fomm_runs_the_int8_set_on_the_cpu_and_says_so() {
    // The committed tiny graphs stand in for the converted vox-256 set, their int8 form (made by
    // the quantiser) for vox-256-int8; a recorded talking face for the webcam.
    let dir = temp("int8");
    let models = common::tiny_models(&dir);
    std::os::unix::fs::symlink(root().join("models/tiny-int8"), models.join("vox-256-int8"))
        .unwrap();
    let camera = format!(
        "filesrc location={} ! decodebin ! videoconvert ! clocksync",
        media("carphone_pristine.mp4").display()
    );
    let portrait = media("sylvie_green_normal.png");
    let webcam_with = |precision: &str, extra: &[&str]| {
        let mut line = vec![
            "webcam",
            "--mode",
            "fomm",
            "--precision",
            precision,
            "--models",
            models.to_str().unwrap(),
            "--portrait",
            portrait.to_str().unwrap(),
            "--camera",
            &camera,
            "--sink",
            "fakesink sync=false",
            "--seconds",
            "2",
        ];
        line.extend(extra);
        animecam(&line)
    };
    let webcam = |precision: &str| webcam_with(precision, &[]);
    let auto = webcam("auto");
    let text = stderr(&auto);
    assert!(auto.status.success(), "{text}");
    let networks: Vec<&str> = text.lines().filter(|l| l.starts_with("network ")).collect();
    assert_eq!(networks.len(), 2, "{text}");
    assert!(
        networks.iter().all(|l| l.ends_with(": cpu, int8")),
        "{networks:?}"
    );
    // --precision fp32 names the generator's: live, the keypoints of every frame stay int8
    // where the set is there, unless --keypoints-precision says otherwise.
    let networks = |run: &std::process::Output| -> Vec<String> {
        let text = stderr(run);
        assert!(run.status.success(), "{text}");
        let mut lines: Vec<String> = text
            .lines()
            .filter(|l| l.starts_with("network "))
            .map(str::to_owned)
            .collect();
        lines.sort();
        lines
    };
    assert_eq!(
        networks(&webcam("fp32")),
        [
            "network animate: cpu, fp32",
            "network fommkeypoints0: cpu, int8"
        ]
    );
    assert_eq!(
        networks(&webcam_with("fp32", &["--keypoints-precision", "fp32"])),
        [
            "network animate: cpu, fp32",
            "network fommkeypoints0: cpu, fp32"
        ]
    );
    std::fs::remove_file(models.join("vox-256-int8")).unwrap();
    let missing = webcam("int8");
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains("vox-256-int8/manifest.json"),
        "{}",
        stderr(&missing)
    );
    // An empty int8 folder: both networks (fommkeypoints and fommanimate) fall back to fp32 and
    // each posts the same warning, which the user reads once.
    std::fs::create_dir(models.join("vox-256-int8")).unwrap();
    let broken = webcam("auto");
    let text = stderr(&broken);
    assert!(broken.status.success(), "{text}");
    assert_eq!(
        text.matches("warning: precision auto runs the fp32 set")
            .count(),
        1,
        "{text}"
    );
}

/// Every frame's alpha channel of a clip's video decoded by GStreamer as a player does
/// (decodebin picks pngdec; libav's avdec_png, of marginal rank, decodes every frame after the
/// first of such a file wrongly here, whoever wrote it: pngenc or avenc_png).
fn decoded_alpha(path: &std::path::Path) -> Vec<Vec<u8>> {
    let pipeline = common::launch(
        "filesrc name=file ! qtdemux name=demux demux.video_0 ! queue ! decodebin ! videoconvert ! \
         video/x-raw,format=RGBA ! appsink name=sink sync=false",
    );
    pipeline
        .by_name("file")
        .unwrap()
        .set_property("location", path.to_str().unwrap());
    let sink = common::appsink(&pipeline);
    pipeline.set_state(gst::State::Playing).unwrap();
    let mut frames = Vec::new();
    while let Some(sample) = sink.try_pull_sample(gst::ClockTime::from_seconds(10)) {
        let map = sample.buffer().unwrap().map_readable().unwrap().to_vec();
        frames.push(map.chunks(4).map(|pixel| pixel[3]).collect());
    }
    pipeline.set_state(gst::State::Null).unwrap();
    frames
}

#[test]
fn a_transparent_clip_reads_back_with_the_avatars_alpha() {
    let dir = temp_dir("transparent clip");
    let output = dir.join("over lay.mov");
    let run = animecam_in(
        &dir,
        &[
            "clip",
            media("carphone_pristine.mp4").to_str().unwrap(),
            "over lay.mov",
            "--portrait",
            media("sylvie_green_normal.png").to_str().unwrap(),
            "--background",
            "transparent",
            "--size",
            "128",
        ],
    );
    assert!(run.status.success(), "{}", stderr(&run));
    let frames = decoded_alpha(&output);
    assert_eq!(frames.len(), 120);
    for alpha in [&frames[0], &frames[60], &frames[119]] {
        assert_eq!(alpha.len(), 128 * 128);
        let clear = alpha.iter().filter(|&&a| a == 0).count();
        let opaque = alpha.iter().filter(|&&a| a == 255).count();
        assert!(
            clear > alpha.len() / 10 && opaque > alpha.len() / 10,
            "{clear} clear and {opaque} opaque pixels"
        );
    }

    // Transparency only where it can be carried, said before anything runs.
    let mp4 = animecam_in(
        &dir,
        &[
            "clip",
            media("carphone_pristine.mp4").to_str().unwrap(),
            "over lay.mp4",
            "--portrait",
            media("sylvie_green_normal.png").to_str().unwrap(),
            "--background",
            "transparent",
        ],
    );
    assert_eq!(mp4.status.code(), Some(1));
    assert!(
        stderr(&mp4).contains("name the output *.mov"),
        "{}",
        stderr(&mp4)
    );
    let live = animecam(&[
        "virtualcam",
        "--portrait",
        media("sylvie_green_normal.png").to_str().unwrap(),
        "--background",
        "transparent",
        "--output",
        "/dev/null",
    ]);
    assert_eq!(live.status.code(), Some(1));
    assert!(
        stderr(&live).contains("--background green"),
        "{}",
        stderr(&live)
    );
    let ugatit = animecam(&[
        "clip",
        media("carphone_pristine.mp4").to_str().unwrap(),
        dir.join("u.mov").to_str().unwrap(),
        "--mode",
        "ugatit",
        "--background",
        "transparent",
    ]);
    assert_eq!(ugatit.status.code(), Some(1));
    assert!(
        stderr(&ugatit).contains("--mode warp or fomm"),
        "{}",
        stderr(&ugatit)
    );
    let bad = animecam(&["webcam", "--background", "#12345"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("#RRGGBB"), "{}", stderr(&bad));
}

#[test]
fn ctrl_c_before_the_first_frame_leaves_no_file_and_says_so() {
    // A process started with SIGINT ignored (a shell without job control ignores it for what it
    // starts with `&`, and `nohup` does too) passes that on: the CLI would never see a Ctrl-C that
    // comes before its handler is installed. Say so rather than fail on it below.
    let ignored = std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|line| line.strip_prefix("SigIgn:"))
        .map(|mask| u64::from_str_radix(mask.trim(), 16).unwrap())
        .unwrap();
    assert_eq!(
        ignored & (1 << (2 - 1)),
        0,
        "SIGINT is ignored in this test process (started in the background without job control?): \
         run the tests in the foreground"
    );
    let dir = common::temp_dir("early sigint");
    // Interrupted as the run starts, and as soon as the pipeline has opened its working file
    // (before any frame is in it): each run leaves no file, or a playable one.
    let mut nothing_written = 0;
    for (index, wait_for_the_file) in [false, true, true, true, true].into_iter().enumerate() {
        let output = dir.join(format!("out-{index}.mp4"));
        let partial = dir.join(format!(".out-{index}.mp4.part"));
        let child = common::command()
            .args([
                "clip",
                media("carphone_pristine.mp4").to_str().unwrap(),
                output.to_str().unwrap(),
                "--portrait",
                media("sylvie_green_normal.png").to_str().unwrap(),
                "--size",
                "1024",
            ])
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let started = std::time::Instant::now();
        while wait_for_the_file && !partial.exists() {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(60),
                "no working file"
            );
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        let kill = std::process::Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(kill.success());
        let run = child.wait_with_output().unwrap();
        let text = stderr(&run);
        assert!(!run.status.success(), "run {index}: {text}");
        assert!(!partial.exists(), "run {index}: the working file is left");
        if output.exists() {
            let frames = decode(&output, &[]).frames;
            assert!(
                frames >= 1,
                "run {index}: {} holds no frame: {text}",
                output.display()
            );
            assert!(text.contains("interrupted: wrote the first"), "{text}");
        } else if wait_for_the_file {
            assert_eq!(run.status.code(), Some(130), "run {index}: {text}");
            assert!(
                text.contains("interrupted before the first frame: nothing was written"),
                "run {index}: {text}"
            );
            nothing_written += 1;
        }
    }
    assert!(
        nothing_written >= 1,
        "no run was interrupted before its first frame"
    );
}

#[test]
fn clip_warnings_reach_a_stderr_that_is_not_a_terminal() {
    // stderr is a pipe here. A JPEG has no alpha channel: the transparent clip cannot be
    // transparent, and the user is told why.
    let dir = common::temp_dir("opaque transparent");
    let run = animecam(&[
        "clip",
        media("carphone_pristine.mp4").to_str().unwrap(),
        dir.join("out.mov").to_str().unwrap(),
        "--portrait",
        media("grace_hopper.jpg").to_str().unwrap(),
        "--background",
        "transparent",
        "--size",
        "128",
    ]);
    let text = stderr(&run);
    assert!(run.status.success(), "{text}");
    assert!(
        text.contains("warning:") && text.contains("the portrait has no alpha channel"),
        "{text}"
    );
}

#[test]
fn a_huge_portrait_is_refused_before_anything_runs() {
    let dir = common::temp_dir("huge portrait");
    let portrait = dir.join("huge.png");
    let script = common::root().join("tests/data/huge_png.py");
    let made = std::process::Command::new("python3")
        .arg(script)
        .arg(&portrait)
        .status()
        .expect("python3 runs");
    assert!(made.success());
    let output = dir.join("out.mp4");
    let started = std::time::Instant::now();
    let run = animecam(&[
        "clip",
        media("carphone_pristine.mp4").to_str().unwrap(),
        output.to_str().unwrap(),
        "--portrait",
        portrait.to_str().unwrap(),
    ]);
    let text = stderr(&run);
    assert_eq!(run.status.code(), Some(1), "{text}");
    // Decoding it took 33 s and 2.5 GB before the first frame.
    assert!(started.elapsed().as_secs() < 10, "{:?}", started.elapsed());
    assert!(
        text.contains("20000 x 20000") && text.contains("67108864"),
        "{text}"
    );
    assert!(!output.exists());
}

#[test]
fn small_mistakes_are_named_for_what_they_are() {
    let dir = common::temp_dir("small mistakes");
    let portrait = media("sylvie_green_normal.png");
    let portrait = portrait.to_str().unwrap();
    let fifo = dir.join("camera.fifo");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let out = dir.join("out.mp4");
    let out = out.to_str().unwrap();
    for (input, what) in [
        (fifo.to_str().unwrap(), "is a FIFO"),
        ("/dev/zero", "is a character device"),
    ] {
        let run = animecam(&["clip", input, out, "--portrait", portrait]);
        let text = stderr(&run);
        assert_eq!(run.status.code(), Some(1), "{text}");
        assert!(
            text.contains(what) && !text.contains("not found"),
            "{input}: {text}"
        );
    }

    // The ports each command takes, said as they are (clap's range read "not in 1..65535").
    for (args, rule) in [
        (["serve", "--port", "65535"], "1 to 65534"),
        (["serve", "--port", "0"], "1 to 65534"),
        (["stream", "--port", "0"], "1 to 65535"),
    ] {
        let run = animecam(&args);
        let text = stderr(&run);
        assert_eq!(run.status.code(), Some(2), "{args:?}: {text}");
        assert!(
            text.contains(rule) && !text.contains(".."),
            "{args:?}: {text}"
        );
    }

    // An unencrypted server says who can use it.
    let port = 20000 + (std::process::id() % 20000) as u16;
    let serve = animecam(&[
        "serve",
        "--insecure",
        "--port",
        &port.to_string(),
        "--portrait",
        portrait,
        "--seconds",
        "0.5",
    ]);
    let text = stderr(&serve);
    assert!(serve.status.success(), "{text}");
    assert!(
        text.contains("warning: --insecure") && text.contains("anyone who can reach"),
        "{text}"
    );
}
