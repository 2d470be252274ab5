//! `animecam models import FILE` run as a user runs it: a checkpoint in the official layout (the
//! committed tiny FOMM checkpoint, torch 1.0's legacy format as vox-cpk.pth.tar has it) from a
//! folder with spaces, by a relative path; the set it writes is then checked and run by the
//! elements. What the graphs compute is tested against the PyTorch export in
//! models/tests_import (the importer's own tests).

mod common;

use common::*;

fn fixture(name: &str) -> std::path::PathBuf {
    root().join("models/tests_import/data").join(name)
}

#[test]
fn a_downloaded_fomm_checkpoint_becomes_a_set_the_elements_run() {
    let dir = temp_dir("import");
    std::fs::create_dir_all(dir.join("Down loads")).unwrap();
    let download = dir.join("Down loads/vox adv cpk.pth.tar");
    std::fs::copy(fixture("tiny-fomm.pth.tar"), &download).unwrap();
    let models = dir.join("my models");
    std::fs::create_dir_all(&models).unwrap();
    std::os::unix::fs::symlink(root().join("models/blazeface"), models.join("blazeface")).unwrap();

    let run = animecam_in(
        &dir,
        &[
            "models",
            "import",
            "Down loads/vox adv cpk.pth.tar",
            "--models",
            "my models",
        ],
    );
    let text = stdout(&run);
    assert!(run.status.success(), "{text}{}", stderr(&run));
    assert!(
        text.contains("found: FOMM tiny, kp_detector + generator"),
        "{text}"
    );
    assert!(
        text.contains("wrote") && text.contains("my models/vox-256"),
        "{text}"
    );
    assert_eq!(
        std::fs::read(&download).unwrap(),
        std::fs::read(fixture("tiny-fomm.pth.tar")).unwrap(),
        "the user's file is left as it was"
    );

    // `animecam models` verifies the set as it verifies any other.
    let listed = animecam_in(
        &dir,
        &["models", "--models", "my models", "--provider", "cpu"],
    );
    let listing = stdout(&listed);
    for graph in ["fomm_kp", "fomm_encoder", "fomm_generator"] {
        assert!(listing.contains(graph), "{listing}");
    }
    assert!(listing.contains("sha256 ok, runs on cpu"), "{listing}");
    assert!(!listing.contains("PROBLEM"), "{listing}");

    // The elements animate the portrait with it (random tiny weights: a greenish picture, not a
    // face), and the animation changes as the driving face moves.
    let output = dir.join("driven clip.mp4");
    let animated = animecam_in(
        &dir,
        &[
            "clip",
            media("carphone_pristine.mp4").to_str().unwrap(),
            "driven clip.mp4",
            "--portrait",
            media("sylvie_green_normal.png").to_str().unwrap(),
            "--mode",
            "fomm",
            "--models",
            "my models",
            "--size",
            "128",
        ],
    );
    assert!(animated.status.success(), "{}", stderr(&animated));
    let clip = decode(&output, &[30, 90]);
    assert_eq!(clip.frames, 120);
    let (first, later) = (animation_half(&clip.kept[0]), animation_half(&clip.kept[1]));
    let mean = first.iter().sum::<f64>() / first.len() as f64;
    let spread =
        (first.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / first.len() as f64).sqrt();
    assert!(
        spread > 3.0,
        "the animation is a picture, not one colour ({spread:.1})"
    );
    let moved = first
        .iter()
        .zip(&later)
        .map(|(a, b)| (a - b).abs())
        .sum::<f64>()
        / first.len() as f64;
    assert!(moved > 1.0, "the animation follows the clip ({moved:.2})");
}

/// The right half of a side-by-side frame (the animation), as each pixel's luma.
fn animation_half(frame: &Frame) -> Vec<f64> {
    (0..frame.height)
        .flat_map(|y| (frame.width / 2..frame.width).map(move |x| (x, y)))
        .map(|(x, y)| {
            let [r, g, b] = frame.rgb(x, y).map(f64::from);
            0.299 * r + 0.587 * g + 0.114 * b
        })
        .collect()
}

#[test]
fn a_file_that_is_not_a_checkpoint_is_refused_by_name() {
    let dir = temp_dir("import-refused");
    let models = dir.join("models");
    for (file, needles) in [
        (
            media("grace_hopper.jpg"),
            &["grace_hopper.jpg", "not a PyTorch checkpoint"][..],
        ),
        (
            dir.join("nowhere.pth.tar"),
            &["nowhere.pth.tar", "not found"][..],
        ),
    ] {
        let run = animecam(&[
            "models",
            "import",
            file.to_str().unwrap(),
            "--models",
            models.to_str().unwrap(),
        ]);
        assert_eq!(run.status.code(), Some(2), "{}", stderr(&run));
        for needle in needles {
            assert!(stderr(&run).contains(needle), "{}", stderr(&run));
        }
        assert!(
            !models.exists() || std::fs::read_dir(&models).unwrap().next().is_none(),
            "nothing written"
        );
    }
}

#[test]
fn an_imported_style_network_is_listed_with_the_other_sets() {
    // An AnimeGANv2 state dict in animegan2-pytorch's layout, seeded random weights, written as
    // torch.save writes it (by the importer tests' own writer: no PyTorch here).
    let dir = temp_dir("import-style");
    let written = std::process::Command::new(root().join(".venv/bin/python"))
        .args([
            "-c",
            "import sys, style_weights; open(sys.argv[1], 'wb').write(style_weights.checkpoint_bytes(style_weights.animegan2_state()))",
        ])
        .arg(dir.join("Paprika 1.pt"))
        .env(
            "PYTHONPATH",
            format!(
                "{}:{}",
                root().join("models").display(),
                root().join("models/tests_import").display()
            ),
        )
        .env("ORT_DISABLE_TELEMETRY", "1")
        .status()
        .unwrap();
    assert!(written.success());
    let run = animecam_in(
        &dir,
        &[
            "models",
            "import",
            "Paprika 1.pt",
            "--models",
            "m",
            "--size",
            "64",
        ],
    );
    assert!(run.status.success(), "{}", stderr(&run));
    assert!(
        stdout(&run).contains("found: AnimeGANv2 generator, 2.1 M parameters"),
        "{}",
        stdout(&run)
    );
    let listed = animecam_in(&dir, &["models", "--models", "m", "--provider", "cpu"]);
    let listing = stdout(&listed);
    assert!(listed.status.success(), "{listing}{}", stderr(&listed));
    assert!(
        listing.contains("paprika-1 (m/styles/paprika-1, fp32): AnimeGANv2 style network")
            && listing.contains("sha256 ok, runs on cpu"),
        "{listing}"
    );
}
