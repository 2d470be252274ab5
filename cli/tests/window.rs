//! `animecam webcam` opens a real window on a real X server (Xvfb): the screen is grabbed with
//! GStreamer's ximagesrc and compared with the portraits at rest, and the keys are typed into a
//! real terminal (tmux) as a person types them.
//!
//! Stand-in: the webcam, which cannot exist on a build machine, is a recorded clip of a real face
//! (the carphone clip, three times over) played at its own pace through `--camera`.
//! Without Xvfb or tmux (`make setup` installs both) the tests say so and pass without checking.

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;

#[test]
fn the_window_shows_the_avatar_and_the_keys_work() {
    let x = Xvfb::start();
    assert!(
        installed("tmux"),
        "tmux not installed: run `make setup` (it installs the tmux package)"
    );
    let dir = temp_dir("window");
    let (first, second) = portraits(&dir);
    let clip = long_face_clip(&dir);
    const SIZE: usize = 256;
    let script = dir.join("run.sh");
    let exit_file = dir.join("exit code");
    std::fs::write(
        &script,
        format!(
            "'{}' webcam --portrait '{}' --size {SIZE} --camera '{}'; echo $? > '{}'; sleep 60\n",
            env!("CARGO_BIN_EXE_animecam"),
            first.display(),
            camera(&clip),
            exit_file.display()
        ),
    )
    .unwrap();
    let terminal = Terminal::start(
        &format!("bash '{}'", script.display()),
        &[("DISPLAY", x.display.as_str())],
    );
    let screen = terminal.wait_for("fps, latency", Duration::from_secs(30));
    assert!(screen.contains("window: glimagesink"), "{screen}");
    assert!(!screen.contains("error"), "{screen}");

    let (rest_first, rest_second) = (at_rest(&first, SIZE), at_rest(&second, SIZE));
    save_png(&rest_first, &dir.join("at rest 1.png"));
    let mut grabs = Vec::new();
    for _ in 0..6 {
        grabs.push(grab(&x.display, SIZE, SIZE));
        std::thread::sleep(Duration::from_millis(300));
    }
    for (index, window) in grabs.iter().enumerate() {
        save_png(window, &dir.join(format!("grab {index}.png")));
        let (to_first, to_second) = (
            difference(window, &rest_first, (0, SIZE)),
            difference(window, &rest_second, (0, SIZE)),
        );
        eprintln!("grab {index}: colour difference to the portrait {to_first:.2}, to the other {to_second:.2}");
        assert!(
            to_first < 0.3 && to_first < 0.5 * to_second,
            "grab {index}: the window is not the first portrait (difference {to_first:.2}, to the other {to_second:.2})"
        );
    }
    // The talking face moves the avatar: the window changes from grab to grab.
    let moved = grabs
        .windows(2)
        .map(|pair| {
            let pixels = pair[0].data.iter().zip(&pair[1].data);
            pixels.map(|(u, v)| u.abs_diff(*v) as f64).sum::<f64>() / pair[0].data.len() as f64
        })
        .fold(0.0, f64::max);
    eprintln!("largest mean pixel change between grabs 0.3 s apart: {moved:.1}");
    assert!(moved > 3.0, "the avatar stands still: {moved:.1}");

    terminal.keys("n");
    terminal.wait_for("portrait: ", Duration::from_secs(5));
    std::thread::sleep(Duration::from_millis(1500));
    let window = grab(&x.display, SIZE, SIZE);
    let (to_first, to_second) = (
        difference(&window, &rest_first, (0, SIZE)),
        difference(&window, &rest_second, (0, SIZE)),
    );
    assert!(
        to_second < 0.3 && to_second < 0.5 * to_first,
        "after n the window is not the next portrait (difference {to_second:.2}, to the first {to_first:.2})"
    );

    // r: the element takes the next face as the rest pose, and the status line says so.
    let calibrations = |screen: &str| screen.matches(", calibrating:").count();
    let before = calibrations(&terminal.screen());
    terminal.keys("r");
    terminal.wait_for("recalibrating", Duration::from_secs(5));
    let started = Instant::now();
    while calibrations(&terminal.screen()) <= before {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no calibration after r:\n{}",
            terminal.screen()
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    terminal.keys("q");
    let started = Instant::now();
    while !exit_file.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "q did not quit:\n{}",
            terminal.screen()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(100));
    let code = std::fs::read_to_string(&exit_file).unwrap();
    assert_eq!(code.trim(), "0", "{}", terminal.screen());
}

#[test]
fn preview_shows_the_camera_beside_the_avatar() {
    let x = Xvfb::start();
    let dir = temp_dir("preview");
    let (first, second) = portraits(&dir);
    let clip = long_face_clip(&dir);
    let mut child = command()
        .env("DISPLAY", &x.display)
        .args(["webcam", "--preview", "--portrait"])
        .arg(&first)
        .args(["--camera", &camera(&clip), "--seconds", "8"])
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The second status line: frames have been shown for a second.
    let mut status = std::io::BufRead::lines(std::io::BufReader::new(child.stderr.take().unwrap()));
    let shown = status
        .by_ref()
        .map_while(Result::ok)
        .filter(|line| line.contains("fps, latency"))
        .nth(1);
    assert!(shown.is_some(), "webcam --preview printed no status");
    // The camera (176x144, scaled to 512 high) on the left, the 512 avatar from x=682.
    let screen = grab(&x.display, 682 + 512, 512);
    save_png(&screen, &dir.join("preview.png"));
    status.for_each(drop);
    let output = child.wait().unwrap();
    assert!(output.success());
    let screen_ref = &screen;
    let camera_side: Vec<u8> = (0..512)
        .flat_map(|y| (0..600).flat_map(move |x| screen_ref.rgb(x, y)))
        .collect();
    let brightness = camera_side.iter().map(|&v| v as f64).sum::<f64>() / camera_side.len() as f64;
    assert!(
        brightness > 40.0,
        "the camera side is dark: {brightness:.1}"
    );
    let (to_first, to_second) = (
        difference(&screen, &at_rest(&first, 512), (682, 512)),
        difference(&screen, &at_rest(&second, 512), (682, 512)),
    );
    assert!(
        to_first < 0.3 && to_first < 0.5 * to_second,
        "the avatar side is not the portrait (difference {to_first:.2}, to another {to_second:.2})"
    );
}
