//! `--mode style --style NAME`: an imported style network redraws the face, as the CLI runs it.
//! The style is the committed test set made from a ready ONNX file as a user imports one
//! (models/tiny-styles/make_invert.py: NHWC, [0, 255], the picture's negative), so the test can
//! say what each pixel must become.

mod common;

use common::*;

/// A models folder with the face detector and the style `invert` under styles/.
fn models_with_the_invert_style(dir: &std::path::Path) -> std::path::PathBuf {
    let models = dir.join("my models");
    std::fs::create_dir_all(models.join("styles")).unwrap();
    std::os::unix::fs::symlink(root().join("models/blazeface"), models.join("blazeface")).unwrap();
    std::os::unix::fs::symlink(
        root().join("models/tiny-styles/styles/invert"),
        models.join("styles/invert"),
    )
    .unwrap();
    models
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
