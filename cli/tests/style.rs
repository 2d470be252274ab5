//! `--mode style --style NAME`: an imported style network redraws the face, as the CLI runs it.
//! The style is the committed test set made from a ready ONNX file as a user imports one
//! (models/tiny-styles/make_styles.py: NHWC, [0, 255], the picture's negative), so the test can
//! say what each pixel must become.

mod common;

use common::*;

/// A models folder with the face detector and the styles `names` under styles/.
fn models_with_styles(dir: &std::path::Path, names: &[&str]) -> std::path::PathBuf {
    let models = dir.join("my models");
    std::fs::create_dir_all(models.join("styles")).unwrap();
    std::os::unix::fs::symlink(root().join("models/blazeface"), models.join("blazeface")).unwrap();
    for name in names {
        std::os::unix::fs::symlink(
            root().join("models/tiny-styles/styles").join(name),
            models.join("styles").join(name),
        )
        .unwrap();
    }
    models
}

/// A models folder with the face detector and the style `invert` under styles/.
fn models_with_the_invert_style(dir: &std::path::Path) -> std::path::PathBuf {
    models_with_styles(dir, &["invert"])
}

/// Mean |a - b| over a square block of two frames' pixels, in byte levels.
fn block_difference(
    a: &Frame,
    a_left: usize,
    b: &Frame,
    b_left: usize,
    (x0, y0, side): (usize, usize, usize),
    negate_b: bool,
) -> f64 {
    let mut total = 0.0;
    for y in y0..y0 + side {
        for x in x0..x0 + side {
            let (p, q) = (a.rgb(a_left + x, y), b.rgb(b_left + x, y));
            for c in 0..3 {
                let q = if negate_b { 255 - q[c] } else { q[c] };
                total += (f64::from(p[c]) - f64::from(q)).abs();
            }
        }
    }
    total / (side * side * 3) as f64
}

#[test]
fn clip_mode_style_redraws_the_face_and_leaves_the_rest() {
    let dir = temp_dir("style");
    let models = models_with_the_invert_style(&dir);
    let output = dir.join("styled clip.mp4");
    let run = animecam(&[
        "clip",
        media("carphone_pristine.mp4").to_str().unwrap(),
        output.to_str().unwrap(),
        "--mode",
        "style",
        "--style",
        "invert",
        "--models",
        models.to_str().unwrap(),
        "--size",
        "128",
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    let clip = decode(&output, &[30, 60]);
    assert_eq!((clip.frames, clip.size), (120, (256, 128)));
    for frame in &clip.kept {
        // The clip on the left, the styled picture on the right, at the same scale: the face in
        // the middle is the negative of the clip's, a corner far from the face is the clip's.
        let face = block_difference(frame, 128, frame, 0, (48, 48, 32), true);
        let not_negated = block_difference(frame, 128, frame, 0, (48, 48, 32), false);
        let corner = block_difference(frame, 128, frame, 0, (0, 0, 12), false);
        assert!(
            face < 15.0 && not_negated > 30.0,
            "face: {face:.1} from the negative, {not_negated:.1} from the clip"
        );
        assert!(corner < 3.0, "corner: {corner:.1} from the clip");
    }
}

#[test]
fn a_style_that_is_not_imported_is_named_with_those_that_are() {
    let dir = temp_dir("style-missing");
    let models = models_with_the_invert_style(&dir);
    let clip = media("carphone_pristine.mp4");
    for (args, needle) in [
        (
            vec!["--style", "hayao"],
            "--style hayao: no such style (imported: invert)",
        ),
        (vec![], "--mode style needs --style NAME (imported: invert)"),
    ] {
        let mut all = vec![
            "clip",
            clip.to_str().unwrap(),
            "/tmp/never-written.mp4",
            "--mode",
            "style",
            "--models",
            models.to_str().unwrap(),
        ];
        all.extend(args);
        let run = animecam(&all);
        assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
        assert!(stderr(&run).contains(needle), "{}", stderr(&run));
    }
    assert!(!std::path::Path::new("/tmp/never-written.mp4").exists());
}

#[test]
fn n_swaps_to_the_next_imported_style_while_the_webcam_runs() {
    // A terminal (tmux) to press keys in; the camera is a test double (one frame of the talking
    // clip, repeated live): no webcam exists here.
    assert!(
        installed("tmux"),
        "tmux not installed: run `make setup` (it installs the tmux package)"
    );
    let dir = temp_dir("style-keys");
    let models = models_with_styles(&dir, &["identity", "invert"]);
    let shown = dir.join("shown.rgb");
    let script = dir.join("webcam.sh");
    std::fs::write(
        &script,
        format!(
            "'{}' webcam --mode style --style invert --models '{}' --camera '{}' --sink '{}' --seconds 25; sleep 30\n",
            env!("CARGO_BIN_EXE_animecam"),
            models.display(),
            still_face(320, 240, 15),
            raw_sink(&shown)
        ),
    )
    .unwrap();
    let terminal = Terminal::start(&format!("bash '{}'", script.display()), &[]);
    let screen = terminal.wait_for("fps, latency", std::time::Duration::from_secs(30));
    assert!(screen.contains("n/p next/previous style"), "{screen}");
    std::thread::sleep(std::time::Duration::from_secs(1));
    let before = frames(&shown);
    terminal.keys("n");
    // invert, identity: sorted, so the next after invert is identity (it wraps round).
    terminal.wait_for("style: identity", std::time::Duration::from_secs(5));
    std::thread::sleep(std::time::Duration::from_secs(2));
    terminal.keys("q");
    let after = frames(&shown);
    let (last_before, last_after) = (before.last().unwrap(), after.last().unwrap());
    // The face in the middle of the picture: invert's negative before, the face itself after,
    // so the two add up to white; the run never restarted (the frames kept coming).
    let mut from_white = 0.0;
    let mut count = 0.0;
    for y in SHOWN * 3 / 8..SHOWN * 5 / 8 {
        for x in SHOWN * 3 / 8..SHOWN * 5 / 8 {
            let offset = (y * SHOWN + x) * 3;
            let (a, b) = (&last_before[offset..], &last_after[offset..]);
            for c in 0..3 {
                from_white += (f64::from(a[c]) + f64::from(b[c]) - 255.0).abs();
                count += 1.0;
            }
        }
    }
    let from_white = from_white / count;
    assert!(
        from_white < 20.0,
        "the face after n is not the negative of the face before: |before + after - 255| = {from_white:.1}"
    );
    assert!(
        after.len() > before.len() + 15,
        "frames stopped coming: {} then {}",
        before.len(),
        after.len()
    );
}

#[test]
fn the_live_benchmark_runs_a_style_network() {
    // The committed invert style stands in for the benchmark's random-weight style sets (too
    // small for its times to mean anything: this checks that style mode runs and is counted).
    let dir = temp_dir("style-bench");
    let models = models_with_styles(&dir, &["invert"]);
    let bench = |style: &str| {
        animecam(&[
            "bench",
            "--models",
            models.to_str().unwrap(),
            "--live",
            "3",
            "--mode",
            "style",
            "--style",
            style,
        ])
    };
    let run = bench("invert");
    assert!(run.status.success(), "{}", stderr(&run));
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    let count = |key: &str| report[key].as_u64().unwrap();
    // A real face in every camera frame and a network far faster than the camera: nearly every
    // frame is stylised (a busy machine's leaky queue may drop a few).
    assert!(count("camera_frames") >= 60, "{report}");
    assert!(
        count("generated") as f64 >= 0.8 * count("camera_frames") as f64,
        "{report}"
    );
    assert!(
        stderr(&run).contains("style network made"),
        "{}",
        stderr(&run)
    );
    let missing = bench("hayao");
    assert_eq!(missing.status.code(), Some(1), "{}", stderr(&missing));
    assert!(
        stderr(&missing).contains("--style hayao: no benchmark style network"),
        "{}",
        stderr(&missing)
    );
}
