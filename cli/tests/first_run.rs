//! A new user's first run, as people really type it: relative paths and odd file names from
//! another working directory, failures that end cleanly, nothing overwritten, every mode's clip
//! laid out right, model sets checked for real, and nothing sent off the machine.
//!
//! Stand-ins, where the real thing cannot exist on a build machine: videotestsrc for the webcam,
//! fakesink for the window; the SRT listener is real, on a local port.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;

/// A portrait whose name is pipeline syntax: pasted into a description, it would add a tee and a
/// filesink writing INJECTED.bin beside it.
const INJECTION: &str = "a.png ! tee name=x ! queue ! filesink location=INJECTED.bin x. ! queue ! fommanimate engine=warp source=a.png";

const TEST_CAMERA: &str =
    "videotestsrc is-live=true num-buffers=30 ! video/x-raw,width=320,height=240,framerate=30/1";

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() && !path.is_symlink() {
            found.extend(files_under(&path));
        } else {
            found.push(path);
        }
    }
    found
}

fn assert_not_injected(dir: &Path) {
    let injected: Vec<_> = files_under(dir)
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n == "INJECTED.bin"))
        .collect();
    assert!(
        injected.is_empty(),
        "a file name was parsed as pipeline syntax: {injected:?}"
    );
}

/// A folder tree as a user has it: the clip and a portrait folder beside a working folder, all
/// with names that need quoting in a shell and escaping in gst-launch.
struct UserFiles {
    top: PathBuf,
    work: PathBuf,
}

fn user_files(tag: &str) -> UserFiles {
    let top = temp_dir(tag);
    let work = top.join("work dir");
    let clips = top.join("media 'clips' $HOME");
    let portraits = top.join("my portraits, ünïcode");
    for dir in [&work, &clips, &portraits] {
        std::fs::create_dir_all(dir).unwrap();
    }
    std::fs::copy(
        media("carphone_pristine.mp4"),
        clips.join("talk \"it\" !=$x.mp4"),
    )
    .unwrap();
    let portrait = media("sylvie_green_normal.png");
    std::fs::copy(&portrait, work.join(INJECTION)).unwrap();
    std::fs::copy(&portrait, work.join("a.png")).unwrap();
    std::fs::copy(&portrait, portraits.join("sylvie (1).png")).unwrap();
    UserFiles { top, work }
}

#[test]
fn clip_takes_paths_as_people_type_them() {
    let files = user_files("paths");
    let input = "../media 'clips' $HOME/talk \"it\" !=$x.mp4";
    let run = animecam_in(
        &files.work,
        &[
            "clip",
            input,
            "anime é $x=1.mp4",
            "--portrait",
            &format!("./{INJECTION}"),
            "--size",
            "128",
        ],
    );
    assert!(run.status.success(), "{}", stderr(&run));
    let clip = decode(&files.work.join("anime é $x=1.mp4"), &[]);
    assert_eq!(clip.frames, 120, "one output frame per clip frame");
    assert_eq!(clip.size, (256, 128));

    // A portrait folder, and an output one folder up.
    let run = animecam_in(
        &files.work,
        &[
            "clip",
            input,
            "../anime (2).mp4",
            "--portrait",
            "../my portraits, ünïcode",
            "--size",
            "64",
        ],
    );
    assert!(run.status.success(), "{}", stderr(&run));
    assert_eq!(decode(&files.top.join("anime (2).mp4"), &[]).frames, 120);
    assert_not_injected(&files.top);
    let leftovers: Vec<_> = files_under(&files.top)
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".part"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn pipeline_script_takes_file_names_as_values() {
    let files = user_files("script");
    let plugin_dir = Path::new(env!("CARGO_BIN_EXE_animecam")).parent().unwrap();
    let run = std::process::Command::new(root().join("scripts/pipeline.sh"))
        .arg(root().join("pipelines/clip-silent.gst"))
        .current_dir(&files.work)
        .env("GST_PLUGIN_PATH", plugin_dir)
        .env("INPUT", "../media 'clips' $HOME/talk \"it\" !=$x.mp4")
        .env("OUTPUT", "script out $x é.mp4")
        .env("PORTRAIT", INJECTION)
        .env("SIZE", "96")
        .output()
        .unwrap();
    assert!(run.status.success(), "{}{}", stdout(&run), stderr(&run));
    let clip = decode(&files.work.join("script out $x é.mp4"), &[]);
    assert_eq!(clip.frames, 120);
    assert_eq!(clip.size, (192, 96));
    assert_not_injected(&files.top);
}

#[test]
fn live_descriptions_take_file_names_as_values() {
    let files = user_files("live");
    let webcam = animecam_in(
        &files.work,
        &[
            "webcam",
            "--portrait",
            INJECTION,
            "--camera",
            TEST_CAMERA,
            "--sink",
            "fakesink",
        ],
    );
    assert!(webcam.status.success(), "{}", stderr(&webcam));
    let port = free_port();
    let stream = animecam_in(
        &files.work,
        &[
            "stream",
            "--portrait",
            INJECTION,
            "--camera",
            TEST_CAMERA,
            "--port",
            &port.to_string(),
        ],
    );
    assert!(stream.status.success(), "{}", stderr(&stream));
    assert_not_injected(&files.top);
}

/// A UDP port nobody listens on now.
#[test]
fn stream_prints_the_frames_it_sends() {
    let dir = temp_dir("stream-fps");
    let run = animecam_in(
        &dir,
        &[
            "stream",
            "--portrait",
            media("sylvie_green_normal.png").to_str().unwrap(),
            "--camera",
            "videotestsrc is-live=true ! video/x-raw,width=320,height=240,framerate=30/1",
            "--port",
            &free_port().to_string(),
            "--seconds",
            "3.5",
            "--size",
            "128",
        ],
    );
    assert!(run.status.success(), "{}", stderr(&run));
    // Lines like " 30 fps, latency   12.0 ms": a warp at 128 keeps up with a 30 fps camera (the
    // bound leaves room for a machine busy with other tests; the old count was always 0).
    let rates: Vec<u32> = stderr(&run)
        .lines()
        .filter_map(|l| l.split(" fps").next()?.trim().parse().ok())
        .collect();
    assert!(rates.len() >= 2, "{}", stderr(&run));
    assert!(
        rates[1..].iter().all(|&fps| (10..=32).contains(&fps)),
        "{rates:?}: {}",
        stderr(&run)
    );
}

#[test]
fn stream_on_a_busy_port_says_so() {
    let busy = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
    let port = busy.local_addr().unwrap().port().to_string();
    let run = animecam(&[
        "stream",
        "--portrait",
        media("sylvie_green_normal.png").to_str().unwrap(),
        "--camera",
        TEST_CAMERA,
        "--port",
        &port,
    ]);
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    assert!(
        stderr(&run).contains(&format!("port {port} is in use")),
        "{}",
        stderr(&run)
    );
}

/// A FOMM model folder whose keypoint graph is damaged (its checksum no longer matches).
fn broken_models(dir: &Path) -> PathBuf {
    let models = dir.join("broken models");
    let set = models.join("vox-256");
    tiny_set(&set, |id| id.starts_with("fomm"));
    std::fs::write(set.join("fomm_kp.onnx"), b"not a graph").unwrap();
    std::os::unix::fs::symlink(root().join("models/blazeface"), models.join("blazeface")).unwrap();
    models
}

#[test]
fn a_live_start_that_fails_exits_1_without_crashing() {
    let dir = temp_dir("live-fails");
    let models = broken_models(&dir);
    let portrait = media("sylvie_green_normal.png");
    let fomm = |mode: &str, port: u16| {
        let mut args = vec![
            mode.to_owned(),
            "--mode".into(),
            "fomm".into(),
            "--models".into(),
            models.to_str().unwrap().into(),
            "--portrait".into(),
            portrait.to_str().unwrap().into(),
            "--camera".into(),
            TEST_CAMERA.into(),
        ];
        match mode {
            "webcam" => args.extend(["--sink".into(), "fakesink".into()]),
            _ => args.extend(["--port".into(), port.to_string()]),
        }
        command().args(&args).output().unwrap()
    };
    for attempt in 0..10 {
        let mode = if attempt % 2 == 0 { "webcam" } else { "stream" };
        let run = fomm(mode, free_port());
        assert_eq!(
            run.status.code(),
            Some(1),
            "{mode} attempt {attempt}: {}",
            stderr(&run)
        );
        let text = stderr(&run);
        assert!(
            text.contains("fomm_kp.onnx") && text.contains("sha256"),
            "{mode}: {text}"
        );
    }

    // --models reaches the face detector too: a folder without one is named, with the fix.
    let empty = dir.join("no detector");
    std::fs::create_dir_all(&empty).unwrap();
    let run = animecam(&[
        "webcam",
        "--models",
        empty.to_str().unwrap(),
        "--portrait",
        portrait.to_str().unwrap(),
        "--camera",
        TEST_CAMERA,
        "--sink",
        "fakesink",
    ]);
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    let text = stderr(&run);
    assert!(
        text.contains(&format!(
            "Cannot load the BlazeFace face detector from {}",
            empty.join("blazeface").display()
        )) && text.contains("make setup"),
        "{text}"
    );

    // A portrait that is no picture: the file is named, exit 1.
    let fake = dir.join("portrait.png");
    std::fs::write(&fake, "hello").unwrap();
    let run = animecam(&[
        "webcam",
        "--portrait",
        fake.to_str().unwrap(),
        "--camera",
        TEST_CAMERA,
        "--sink",
        "fakesink",
    ]);
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    assert!(stderr(&run).contains("portrait.png"), "{}", stderr(&run));
}

#[test]
fn webcam_without_a_display_says_so_before_starting() {
    let run = command()
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .args([
            "webcam",
            "--portrait",
            media("sylvie_green_normal.png").to_str().unwrap(),
            "--camera",
            TEST_CAMERA,
        ])
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    let text = stderr(&run);
    assert!(
        text.contains("no display") && text.contains("virtualcam") && text.contains("--sink"),
        "{text}"
    );
}

fn sha256(path: &Path) -> String {
    animecam::inference::sha256_file(path).unwrap()
}

#[test]
fn clip_never_writes_over_what_the_user_gave() {
    let dir = temp_dir("overwrite");
    let input = dir.join("in.mp4");
    std::fs::copy(media("carphone_pristine.mp4"), &input).unwrap();
    let before = sha256(&input);
    let portrait = media("sylvie_green_normal.png");
    let portrait = portrait.to_str().unwrap();
    let cases: [(&[&str], &str); 5] = [
        (
            &[
                "clip",
                "in.mp4",
                "./in.mp4",
                "--portrait",
                portrait,
                "--force",
            ],
            "is the input clip",
        ),
        (
            &["clip", "in.mp4", "in.mp4", "--portrait", portrait],
            "is the input clip",
        ),
        (
            &["clip", "in.mp4", "missing/out.mp4", "--portrait", portrait],
            "folder missing does not exist",
        ),
        (
            &["clip", "in.mp4", "out.mkv", "--portrait", portrait],
            "does not end in .mp4",
        ),
        (
            &["clip", "in.mp4", ".", "--portrait", portrait],
            "does not end in .mp4",
        ),
    ];
    for (args, needle) in cases {
        let run = animecam_in(&dir, args);
        assert_eq!(run.status.code(), Some(1), "{args:?}: {}", stderr(&run));
        assert!(stderr(&run).contains(needle), "{args:?}: {}", stderr(&run));
    }
    assert_eq!(sha256(&input), before, "the input is unchanged");
    assert_eq!(files_under(&dir), vec![input], "nothing else was written");
}

#[test]
fn ctrl_c_during_a_clip_finishes_a_playable_file() {
    let dir = temp_dir("sigint");
    // A large output makes the run last long enough (~3 s) to interrupt it early.
    let mut child = command()
        .current_dir(&dir)
        .args([
            "clip",
            media("carphone_pristine.mp4").to_str().unwrap(),
            "out.mp4",
            "--portrait",
            media("sylvie_green_normal.png").to_str().unwrap(),
            "--size",
            "1024",
        ])
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let partial = dir.join(".out.mp4.part");
    let started = Instant::now();
    // A few frames in (2048x1024 H.264 frames are ~16 kB): the run has ~100 frames to go.
    while std::fs::metadata(&partial).map_or(0, |m| m.len()) < 50_000 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no partial file"
        );
        assert!(child.try_wait().unwrap().is_none(), "the clip ended early");
        std::thread::sleep(Duration::from_millis(50));
    }
    let kill = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let output = child.wait_with_output().unwrap();
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(130), "{text}");
    assert!(text.contains("interrupted: wrote the first"), "{text}");
    assert!(!partial.exists(), "the partial file is gone");
    let clip = decode(&dir.join("out.mp4"), &[]);
    assert!(
        (1..120).contains(&clip.frames),
        "a playable file with the frames before Ctrl-C: {} frames",
        clip.frames
    );
    assert_eq!(clip.size, (2048, 1024));
}

/// The compositor's checkerboard (its default background) shows where no input covers the frame.
/// A pixel is "uncovered" when it lies in a row of one colour, which is what a letterbox or an
/// empty area is: such rows must be black, never grey.
fn assert_halves_filled(frame: &Frame, size: usize, what: &str, square: bool) {
    if square {
        // The animation is a square picture: its top and bottom rows are lit too.
        let lit = |p: [u8; 3]| p.iter().any(|&c| c > 40);
        for row in [1, size - 2] {
            assert!(
                (size..2 * size).any(|x| lit(frame.rgb(x, row))),
                "{what}: row {row} of the animation is black"
            );
        }
    }
    assert_eq!((frame.width, frame.height), (2 * size, size), "{what}");
    for y in 0..frame.height {
        for half in [0, size] {
            let first = frame.rgb(half, y);
            let uniform = (half..half + size).all(|x| frame.rgb(x, y) == first);
            assert!(
                !uniform || first.iter().all(|&c| c < 24),
                "{what}: row {y} of the half at x={half} is plain {first:?}"
            );
        }
    }
    // The picture fills its half edge to edge: something non-black in the first and the last
    // column of each half (a smaller animation would leave a black band at the right).
    let lit = |p: [u8; 3]| p.iter().any(|&c| c > 40);
    for half in [0, size] {
        for column in [half + 1, half + size - 2] {
            assert!(
                (0..frame.height).any(|y| lit(frame.rgb(column, y))),
                "{what}: column {column} is black from top to bottom"
            );
        }
    }
    // The checkerboard itself: 8-pixel squares of two mid greys, alternating in both directions.
    let grey = |p: [u8; 3]| {
        p.iter().max().unwrap() - p.iter().min().unwrap() <= 3 && (60..200).contains(&p[0])
    };
    let near = |a: [u8; 3], b: [u8; 3]| a.iter().zip(b).all(|(x, y)| x.abs_diff(y) <= 8);
    let checker = (0..frame.height - 16)
        .step_by(8)
        .flat_map(|y| (0..frame.width - 16).step_by(8).map(move |x| (x, y)))
        .filter(|&(x, y)| {
            let (a, b) = (frame.rgb(x + 4, y + 4), frame.rgb(x + 12, y + 4));
            let (c, d) = (frame.rgb(x + 4, y + 12), frame.rgb(x + 12, y + 12));
            grey(a) && grey(b) && a[0].abs_diff(b[0]) > 30 && near(a, d) && near(b, c)
        })
        .count();
    assert_eq!(checker, 0, "{what}: checkerboard squares");
}

#[test]
fn every_mode_fills_both_halves_of_the_clip() {
    let dir = temp_dir("layout");
    let models = tiny_models(&dir);
    // A light-only U-GAT-IT export, as someone who converted one checkpoint has.
    let light = dir.join("light models");
    tiny_set(&light.join("ugatit"), |id| id == "ugatit_light");
    std::os::unix::fs::symlink(root().join("models/blazeface"), light.join("blazeface")).unwrap();

    let portrait = media("sylvie_green_normal.png");
    let clip = media("carphone_pristine.mp4");
    for (mode, models, extra) in [
        ("fomm", &models, vec![]),
        ("ugatit", &models, vec![]),
        ("ugatit", &light, vec!["--variant", "light"]),
        ("ugatit", &light, vec![]),
        ("warp", &models, vec![]),
    ] {
        let output = dir.join(format!(
            "{mode}-{}.mp4",
            extra.len() + models.as_os_str().len()
        ));
        let mut args = vec![
            "clip",
            clip.to_str().unwrap(),
            output.to_str().unwrap(),
            "--portrait",
            portrait.to_str().unwrap(),
            "--mode",
            mode,
            "--models",
            models.to_str().unwrap(),
            "--size",
            "192",
        ];
        args.extend(extra.iter());
        let run = animecam(&args);
        assert!(run.status.success(), "{args:?}: {}", stderr(&run));
        let clip = decode(&output, &[0, 60, 119]);
        assert_eq!(clip.frames, 120, "{mode}");
        // U-GAT-IT redraws the clip's own (wider than high) picture, letterboxed into its half.
        let square = mode != "ugatit";
        for frame in &clip.kept {
            assert_halves_filled(frame, 192, &format!("{mode} {extra:?}"), square);
        }
    }
    // The full generator is asked for by name where only the light one was converted.
    let run = animecam(&[
        "clip",
        clip.to_str().unwrap(),
        dir.join("full.mp4").to_str().unwrap(),
        "--mode",
        "ugatit",
        "--variant",
        "full",
        "--models",
        light.to_str().unwrap(),
    ]);
    assert_eq!(run.status.code(), Some(1));
    assert!(stderr(&run).contains("ugatit_full"), "{}", stderr(&run));
}

#[test]
fn numbers_are_checked_at_the_command_line() {
    let portrait = media("sylvie_green_normal.png");
    let portrait = portrait.to_str().unwrap();
    for (args, needle) in [
        (
            vec!["--size", "0"],
            "'0' is not an even number of pixels from 64 to 2048",
        ),
        (vec!["--size", "99999"], "from 64 to 2048"),
        (vec!["--size", "4097"], "from 64 to 2048"),
        (vec!["--size", "257"], "even"),
        (vec!["--seconds", "0"], "more than 0"),
        (vec!["--seconds", "nan"], "more than 0"),
    ] {
        let mut all = vec!["webcam", "--portrait", portrait, "--sink", "fakesink"];
        all.extend(args.iter());
        let run = animecam(&all);
        assert_eq!(run.status.code(), Some(2), "{args:?}");
        assert!(stderr(&run).contains(needle), "{args:?}: {}", stderr(&run));
        assert!(!stderr(&run).contains("GLib"), "{}", stderr(&run));
    }
    let run = animecam(&["stream", "--portrait", portrait, "--port", "0"]);
    assert_eq!(run.status.code(), Some(2));
    assert!(stderr(&run).contains("'0'"), "{}", stderr(&run));
}

#[test]
fn model_sets_are_checked_for_real() {
    // On a fresh clone the default folder holds the detector and the test fixtures only.
    let elsewhere = temp_dir("models-default");
    let run = animecam_in(&elsewhere, &["models"]);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}{}",
        stdout(&run),
        stderr(&run)
    );
    assert!(stdout(&run).contains("blazeface_front"), "{}", stdout(&run));
    assert!(!stdout(&run).contains("scale_bias"), "{}", stdout(&run));

    // A set whose graph breaks its contract: checksums match, the input shape does not.
    let dir = temp_dir("models-contract");
    let set = dir.join("vox-256");
    let mut manifest = tiny_set(&set, |id| id.starts_with("fomm"));
    manifest["models"]["fomm_kp"]["inputs"][0]["shape"][2] = 99.into();
    write_manifest(&set, &manifest);
    std::os::unix::fs::symlink(root().join("models/blazeface"), dir.join("blazeface")).unwrap();
    let doctor = command()
        .env("ANIMECAM_MODELS", &dir)
        .arg("doctor")
        .output()
        .unwrap();
    let report = stdout(&doctor);
    let verdict = report
        .split("FAIL  vox-256:")
        .nth(1)
        .and_then(|rest| rest.split("fix:").next())
        .unwrap_or_default();
    assert!(
        verdict.contains("fomm_kp.onnx does not match its contract")
            && verdict.contains("expected float32 [1, 3, 99, 64]"),
        "{report}"
    );
    assert!(report.contains("ok    blazeface"), "{report}");
    let models = animecam(&["models", "--models", dir.to_str().unwrap()]);
    assert_eq!(models.status.code(), Some(1));
    assert!(stdout(&models).contains("PROBLEM"), "{}", stdout(&models));

    // A manifest naming a file outside its folder is refused, not opened.
    manifest["models"]["fomm_kp"]["file"] = "../../../../etc/passwd".into();
    write_manifest(&set, &manifest);
    let models = animecam(&["models", "--models", dir.to_str().unwrap()]);
    assert_eq!(models.status.code(), Some(1));
    assert!(
        stdout(&models).contains("outside its folder"),
        "{}",
        stdout(&models)
    );
}

/// Variables under which ONNX Runtime keeps its telemetry quiet on its own (CI runs with CI=true):
/// removed, so that the test sees what a user's desktop does.
const QUIETING_VARIABLES: [&str; 5] = [
    "CI",
    "GITHUB_ACTIONS",
    "ORT_DISABLE_TELEMETRY",
    "ORT_RUNNING_UNIT_TESTS",
    "XDG_CACHE_HOME",
];

fn as_a_user(command: &mut std::process::Command, home: &Path) {
    for variable in QUIETING_VARIABLES {
        command.env_remove(variable);
    }
    command.env("HOME", home);
}

/// Network traffic in an strace log: connections or datagrams to internet addresses, and name
/// look-ups handed to a local resolver (systemd-resolved, nscd) over a UNIX socket. Other UNIX
/// sockets (the X server, D-Bus) are local by nature and not counted.
fn network_connections(log: &Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap()
        .lines()
        .filter(|l| {
            let sends = ["connect(", "sendto(", "sendmsg(", "sendmmsg("]
                .iter()
                .any(|call| l.contains(call));
            let internet = l.contains("AF_INET") || l.contains("AF_INET6");
            let resolver = l.contains("resolve") || l.contains("nscd");
            sends && (internet || resolver)
        })
        .map(str::to_owned)
        .collect()
}

#[test]
fn nothing_is_sent_off_the_machine() {
    let strace = std::process::Command::new("strace")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    // The control: ONNX Runtime's wheel on its own writes its device id under HOME, so the check
    // below can see telemetry when it happens.
    let control = temp_dir("privacy-control");
    let mut python = std::process::Command::new(root().join(".venv/bin/python"));
    python.args([
        "-c",
        "import sys, onnxruntime; onnxruntime.InferenceSession(sys.argv[1])",
        root().join("models/test/scale_bias.onnx").to_str().unwrap(),
    ]);
    as_a_user(&mut python, &control);
    assert!(python.status().unwrap().success());
    assert!(
        control.join(".cache/Microsoft").exists(),
        "the control run of ONNX Runtime left no telemetry folder: the check below would see nothing"
    );

    let home = temp_dir("privacy-home");
    let plugin_dir = Path::new(env!("CARGO_BIN_EXE_animecam")).parent().unwrap();
    let mut runs: Vec<(&str, std::process::Command)> = Vec::new();
    let mut gst = std::process::Command::new("gst-launch-1.0");
    gst.env("GST_PLUGIN_PATH", plugin_dir).args([
        "-q",
        "videotestsrc",
        "num-buffers=90",
        "!",
        "videoconvert",
        "!",
        "facetrack",
        "!",
        "fakesink",
    ]);
    runs.push(("facetrack pipeline", gst));
    let mut clip = command();
    clip.args([
        "clip",
        media("carphone_pristine.mp4").to_str().unwrap(),
        home.join("out.mp4").to_str().unwrap(),
        "--portrait",
        media("sylvie_green_normal.png").to_str().unwrap(),
        "--size",
        "64",
    ]);
    runs.push(("animecam clip", clip));
    for (what, mut run) in runs {
        as_a_user(&mut run, &home);
        let output = if strace {
            let log = home.join("strace.log");
            let mut traced = std::process::Command::new("strace");
            traced
                .args(["-f", "-e", "trace=connect,sendto,sendmsg,sendmmsg", "-o"])
                .arg(&log)
                .arg(run.get_program())
                .args(run.get_args());
            for (key, value) in run.get_envs() {
                match value {
                    Some(value) => traced.env(key, value),
                    None => traced.env_remove(key),
                };
            }
            let output = traced.output().unwrap();
            let connections = network_connections(&log);
            assert!(connections.is_empty(), "{what}: {connections:#?}");
            output
        } else {
            eprintln!("strace not installed: only the telemetry folder is checked");
            run.output().unwrap()
        };
        assert!(output.status.success(), "{what}: {}", stderr(&output));
        assert!(
            !home.join(".cache/Microsoft").exists(),
            "{what} left ONNX Runtime's telemetry folder in HOME"
        );
    }
}
