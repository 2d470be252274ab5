//! `animecam studio` as a user starts it: the built binary, from another working folder with
//! relative paths that have spaces in them, on a real X server (Xvfb). The screen is grabbed with
//! GStreamer's ximagesrc; the window is closed as a desktop session's end closes it (SIGTERM).
//! The controls are driven inside the window's own main loop by the studio's unit test
//! (`cli/src/commands/studio/tests.rs`).
//!
//! Stand-in: the webcam, which cannot exist on a build machine, is a recorded clip of a real face
//! (the carphone clip, three times over) played at its own pace through `--camera`.

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;

/// The avatar's square at the window's top-left corner (8 px margins), as studio.gst makes it.
const AVATAR: usize = 512;
const MARGIN: usize = 8;

/// The avatar's square out of a grab of the screen.
fn avatar_of(screen: &Frame) -> Frame {
    let mut data = Vec::with_capacity(AVATAR * AVATAR * 3);
    for y in MARGIN..MARGIN + AVATAR {
        for x in MARGIN..MARGIN + AVATAR {
            data.extend_from_slice(&screen.rgb(x, y));
        }
    }
    Frame {
        width: AVATAR,
        height: AVATAR,
        data,
    }
}

#[test]
fn the_studio_opens_animating_and_closes_keeping_the_settings() {
    let x = Xvfb::with_screen("1600x900x24");
    let home = temp_dir("studio");
    let clip = long_face_clip(&home);
    let config = home.join("config");
    let work = home.join("work folder");
    std::fs::create_dir_all(&work).unwrap();
    let started = Instant::now();
    let mut studio = command()
        .current_dir(&work)
        .args(["studio", "--portraits", "my portraits", "--camera"])
        .arg(camera(&clip))
        .env("DISPLAY", &x.display)
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", &config)
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The folder is made on first run with the portraits set-up fetched, where the user said.
    let eileen = work.join("my portraits").join("eileen_happy.png");
    let rest = loop {
        if eileen.is_file() {
            break at_rest(&eileen, AVATAR);
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "no portraits folder made"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let sylvie = at_rest(
        &work.join("my portraits").join("sylvie_green_normal.png"),
        AVATAR,
    );
    // Within 5 s of the start the window shows the first portrait, moving.
    let mut grabs = Vec::new();
    while grabs.len() < 2 {
        std::thread::sleep(Duration::from_millis(500));
        let avatar = avatar_of(&grab(&x.display, 1600, 900));
        let (to_rest, to_other) = (
            difference(&avatar, &rest, (0, AVATAR)),
            difference(&avatar, &sylvie, (0, AVATAR)),
        );
        if to_rest < 0.15 && to_other > 2.0 * to_rest {
            grabs.push(avatar);
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "no avatar in the window within 5 s (colour difference to the portrait at rest \
             {to_rest:.2}, to another {to_other:.2})"
        );
    }
    save_png(&grabs[1], &home.join("studio avatar.png"));
    let moved = grabs[0]
        .data
        .iter()
        .zip(&grabs[1].data)
        .map(|(a, b)| a.abs_diff(*b) as f64)
        .sum::<f64>()
        / grabs[0].data.len() as f64;
    eprintln!("the avatar moved {moved:.1} levels between two grabs 0.5 s apart");
    assert!(moved > 3.0, "the avatar stands still: {moved:.1}");

    // SIGTERM (a desktop session ending) closes the window: exit 0 within 2 s.
    let closing = Instant::now();
    assert!(std::process::Command::new("kill")
        .args(["-TERM", &studio.id().to_string()])
        .status()
        .unwrap()
        .success());
    let status = loop {
        if let Some(status) = studio.try_wait().unwrap() {
            break status;
        }
        if closing.elapsed() > Duration::from_secs(2) {
            let _ = studio.kill();
            panic!("the studio did not exit within 2 s of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut errors = String::new();
    std::io::Read::read_to_string(&mut studio.stderr.take().unwrap(), &mut errors).unwrap();
    assert!(status.success(), "exit {status}: {errors}");
    eprintln!("closed in {:?}", closing.elapsed());
    // The settings are kept in the user's config folder.
    let settings = std::fs::read_to_string(config.join("animecam").join("studio.json")).unwrap();
    assert!(settings.contains("\"mode\": \"warp\""), "{settings}");
}

#[test]
fn without_a_desktop_the_studio_says_what_to_use() {
    let output = command()
        .arg("studio")
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let text = stderr(&output);
    assert!(text.contains("needs a desktop"), "{text}");
    assert!(text.contains("animecam virtualcam"), "{text}");
}

#[test]
fn set_up_puts_the_studio_in_the_applications_menu() {
    let data = temp_dir("desktop entry");
    let output = std::process::Command::new(root().join("scripts/setup.sh"))
        .arg("desktop-entry")
        .env("XDG_DATA_HOME", &data)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let entry = std::fs::read_to_string(data.join("applications/animecam-studio.desktop")).unwrap();
    let value = |key: &str| {
        entry
            .lines()
            .find_map(|line| line.strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("no {key} in {entry}"))
            .replace("\\\\", "\\")
    };
    // Exec: the quoted binary, then the command, as a launcher reads it.
    let exec = value("Exec");
    let (quoted, command) = exec.rsplit_once(' ').unwrap();
    let binary = quoted
        .trim_matches('"')
        .replace("\\\"", "\"")
        .replace("\\\\", "\\");
    assert_eq!(command, "studio");
    assert_eq!(
        std::fs::canonicalize(&binary).unwrap(),
        std::fs::canonicalize(root().join("target/release/animecam")).unwrap()
    );
    assert!(std::path::Path::new(&value("Icon")).is_file(), "{entry}");
}
