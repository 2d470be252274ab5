//! The studio's window on a real X server (Xvfb), driven through GTK's own API as a user's
//! clicks drive it: the widgets' signals, in the window's main loop.
//!
//! Stand-in: the webcam, which cannot exist on a build machine, is the talking-face clip (looped)
//! played at its own pace through `--camera`. Everything else is real: the pipeline, the
//! elements, the portraits set-up fetched, the SRT stream read back by a stock receiver.
//!
//! One test: GTK runs on one thread per process. It sets DISPLAY for GTK, which is safe only
//! with no other thread about, so it is ignored in the binary's run with the others and
//! `make test` runs it alone (`cargo test -p animecam-cli --bin animecam -- --ignored studio`).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use gst::prelude::*;
use gtk::prelude::*;
use gtk::{gdk, glib};

use super::settings::{Background, Settings};
use super::{Places, Studio};
use crate::args::Live;
use crate::commands::bench::fixtures::{looped_clip, media, TempFolder};
use animecam_cli::descriptions::Mode;

#[path = "../../../../tests/common/xvfb.rs"]
#[allow(dead_code)]
mod xvfb;

#[path = "../../../../tests/common/ports.rs"]
#[allow(dead_code)]
mod ports;
use ports::free_port;

mod pictures;
use pictures::{at_rest, decoded, receive_stream, Shot, MOUTH_BOX};

fn ok<T>(result: Result<T, crate::failure::Failure>) -> T {
    result.unwrap_or_else(|failure| panic!("{}", failure.message))
}

/// Runs the window's main loop until `done` or `timeout`; how long it took, or None.
fn wait_until(timeout: Duration, mut done: impl FnMut() -> bool) -> Option<Duration> {
    let context = glib::MainContext::default();
    let started = Instant::now();
    while started.elapsed() < timeout {
        while context.iteration(false) {}
        if done() {
            return Some(started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    None
}

/// Runs the main loop for a while.
fn run_for(duration: Duration) {
    wait_until(duration, || false);
}

/// The portrait strip's button for a file name.
fn portrait_button(studio: &Studio, name: &str) -> gtk::Button {
    let mut child = studio.widgets().strip.first_child();
    while let Some(widget) = child {
        if widget.widget_name() == name {
            return widget.downcast().unwrap();
        }
        child = widget.next_sibling();
    }
    panic!("no portrait {name} in the strip");
}

fn gain(studio: &Studio, channel: &str) -> gtk::Scale {
    studio
        .widgets()
        .gains
        .iter()
        .find(|(name, _)| *name == channel)
        .map(|(_, scale)| scale.clone())
        .unwrap()
}

#[test]
#[ignore = "runs in a process of its own (it sets DISPLAY, which threads of other tests may be \
            reading): make test runs it alone"]
fn the_studio_animates_and_its_controls_change_the_avatar_live() {
    let x = xvfb::Xvfb::with_screen("1600x900x24");
    // The only DISPLAY this test process uses; set before GTK reads it.
    std::env::set_var("DISPLAY", &x.display);
    crate::init_for_tests();
    gtk::init().unwrap();
    let folder = TempFolder::new().unwrap();
    let clip = folder.path().join("face clip.mp4");
    looped_clip(&media("carphone_pristine.mp4").unwrap(), 6, &clip).unwrap();
    // The models a user has after set-up and importing FOMM (here the tiny set the exporter
    // makes), without U-GAT-IT.
    let models = folder.path().join("models");
    std::fs::create_dir_all(&models).unwrap();
    let checkout = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models");
    for (set, target) in [
        ("blazeface", "blazeface"),
        ("face_mesh_attention", "face_mesh_attention"),
        ("vox-256", "tiny"),
    ] {
        std::os::unix::fs::symlink(checkout.join(target), models.join(set)).unwrap();
    }
    let places = || Places {
        portraits: folder.path().join("my portraits"),
        settings: Some(folder.path().join("config").join("studio.json")),
        recordings: folder.path().join("my videos"),
        models: models.clone(),
    };
    let live = Live {
        device: "/dev/video0".to_owned(),
        camera: Some(format!(
            "filesrc location=\"{}\" ! decodebin ! videoconvert ! clocksync",
            clip.display()
        )),
        no_mirror: false,
        seconds: None,
    };
    let main_loop = glib::MainLoop::new(None, false);
    let opened = Instant::now();
    let studio = ok(Studio::open(places(), live.clone(), main_loop.clone()));

    // 1. The preview: within 5 s the avatar moves, and it is the first portrait (Eileen's).
    let shown = wait_until(
        Duration::from_secs(5) - opened.elapsed().min(Duration::from_secs(5)),
        || studio.painted() > 15,
    );
    assert!(
        shown.is_some(),
        "no avatar painted within 5 s: {}",
        studio.widgets().problem.text()
    );
    let first = Shot::of(&studio);
    run_for(Duration::from_millis(700));
    let second = Shot::of(&studio);
    let moved = first.change(&second);
    let eileen = at_rest(&places().portraits.join("eileen_happy.png"));
    let sylvie = at_rest(&places().portraits.join("sylvie_green_normal.png"));
    let (like_eileen, like_sylvie) = (
        second.colours_differ(&eileen),
        second.colours_differ(&sylvie),
    );
    println!("avatar: moved {moved:.2} levels in 0.7 s; colours against Eileen at rest {like_eileen:.3}, Sylvie {like_sylvie:.3}");
    assert!(moved > 0.5, "the avatar stands still: {moved:.2}");
    assert!(
        like_eileen < 0.15 && like_sylvie > 3.0 * like_eileen,
        "the avatar is not Eileen's portrait"
    );
    // The status line the terminal shows, said under the preview (once a second).
    let animating = wait_until(Duration::from_secs(3), || {
        studio.widgets().status.text().starts_with("animating")
    });
    assert!(
        animating.is_some(),
        "status: {}",
        studio.widgets().status.text()
    );

    // 2. A click on another portrait swaps the avatar within 1 s, in the same pipeline.
    let pipeline = studio.pipeline().unwrap();
    // The portrait animated is marked in the strip: the folder's first on a first start.
    let marked = |name: &str| portrait_button(&studio, name).has_css_class(super::widgets::CHOSEN);
    assert!(marked("eileen_happy.png") && !marked("sylvie_green_normal.png"));
    portrait_button(&studio, "sylvie_green_normal.png").emit_clicked();
    let swapped = wait_until(Duration::from_secs(1), || {
        Shot::of(&studio).colours_differ(&sylvie) < 0.15
    });
    println!("swap to Sylvie shown after {swapped:?}");
    assert!(
        swapped.is_some(),
        "Sylvie not shown within 1 s of the click"
    );
    assert_eq!(
        studio.pipeline().unwrap(),
        pipeline,
        "the swap restarted the pipeline"
    );
    assert!(marked("sylvie_green_normal.png") && !marked("eileen_happy.png"));

    // The face parts the warp found in Sylvie, drawn over her: her eyes (green) and irises
    // (blue), at her picture's size.
    studio.widgets().show_parts.set_active(true);
    let drawn = |studio: &Studio| {
        let texture = studio
            .widgets()
            .parts
            .paintable()?
            .downcast::<gdk::Texture>()
            .ok()?;
        let (width, height) = (texture.width() as usize, texture.height() as usize);
        let mut bgra = vec![0u8; width * height * 4];
        texture.download(&mut bgra, width * 4);
        let count = |[r, g, b]: [u8; 3]| bgra.chunks(4).filter(|p| p[..3] == [b, g, r]).count();
        Some(((width, height), count([40, 200, 60]), count([30, 90, 255])))
    };
    assert!(
        wait_until(Duration::from_secs(5), || drawn(&studio).is_some()).is_some(),
        "no face parts shown: {}",
        studio.widgets().problem.text()
    );
    let (size, eyes, irises) = drawn(&studio).unwrap();
    println!("Sylvie's face parts: {size:?}, {eyes} eye pixels, {irises} iris pixels");
    let portrait_size =
        animecam::image::read_image(&places().portraits.join("sylvie_green_normal.png")).unwrap();
    assert_eq!(size, (portrait_size.width(), portrait_size.height()));
    assert!(eyes > 50 && irises > 50);
    studio.widgets().show_parts.set_active(false);

    // 3. The key colour: the avatar's background (the portrait's transparent parts) turns blue.
    studio
        .widgets()
        .key_color
        .set_rgba(&gdk::RGBA::new(0.0, 0.0, 1.0, 1.0));
    studio.widgets().key_background.set_active(true);
    let keyed = wait_until(Duration::from_secs(1), || {
        let [r, g, b] = Shot::of(&studio).corner(24);
        b > 230.0 && r < 25.0 && g < 25.0
    });
    println!(
        "key colour shown after {keyed:?}: corner {:?}",
        Shot::of(&studio).corner(24)
    );
    assert!(
        keyed.is_some(),
        "the background did not turn the key colour"
    );

    // 4. Gains: every channel but the mouth at 0, so only the mouth moves while the clip talks;
    // then the mouth at 0 too: the avatar holds still.
    for (channel, scale) in &studio.widgets().gains {
        if *channel != "mouth" {
            scale.set_value(0.0);
        }
    }
    let changes = |seconds: f64| {
        let mut shots = vec![Shot::of(&studio)];
        let started = Instant::now();
        while started.elapsed().as_secs_f64() < seconds {
            run_for(Duration::from_millis(100));
            shots.push(Shot::of(&studio));
        }
        let change =
            shots.windows(2).map(|w| w[0].change(&w[1])).sum::<f64>() / (shots.len() - 1) as f64;
        // Sylvie's mouth, in the warp's square around her face.
        let mouth = MOUTH_BOX;
        let centre = shots
            .windows(2)
            .map(|w| w[1].change_in_box(&w[0], mouth.0, mouth.1))
            .sum::<f64>()
            / (shots.len() - 1) as f64;
        (change, centre)
    };
    run_for(Duration::from_millis(300));
    let (mouth_moving, where_moving) = changes(3.0);
    gain(&studio, "mouth").set_value(0.0);
    run_for(Duration::from_millis(300));
    let (mouth_still, _) = changes(3.0);
    println!(
        "only the mouth's gain at 1: {mouth_moving:.3} levels a frame, {where_moving:.1} times as much about the mouth; \
         at 0: {mouth_still:.3}"
    );
    assert!(
        mouth_moving > 0.05,
        "the mouth does not move while the clip talks: {mouth_moving:.3}"
    );
    assert!(
        where_moving > 3.0,
        "what moved is not the mouth: {where_moving:.1}"
    );
    assert!(
        mouth_still < mouth_moving / 5.0,
        "the mouth moves at gain 0: {mouth_still:.3}"
    );

    // 5. Recalibrate (the button, then the r key): each posts a calibration.
    let before = studio.calibrations();
    studio.widgets().recalibrate.emit_clicked();
    assert!(
        wait_until(Duration::from_secs(3), || studio.calibrations() > before).is_some(),
        "no calibration posted after Recalibrate"
    );

    // 6. Outputs: the virtual camera says why it is off; the OBS switch starts a stream a stock
    // receiver decodes.
    let virtual_camera = &studio.widgets().virtual_camera;
    if crate::commands::doctor::v4l2loopback_loaded() {
        assert!(virtual_camera.is_sensitive());
    } else {
        assert!(!virtual_camera.is_sensitive());
        assert!(studio
            .widgets()
            .virtual_camera_why
            .text()
            .contains(crate::commands::doctor::V4L2LOOPBACK_FIX));
    }
    let port = free_port();
    studio.widgets().stream_port.set_value(port as f64);
    studio.widgets().stream.set_active(true);
    assert!(studio
        .widgets()
        .stream_address
        .text()
        .contains(&format!(":{port}")));
    let receiver = receive_stream(port);
    wait_until(Duration::from_secs(25), || receiver.is_finished());
    let received = receiver.join().unwrap();
    println!("the OBS stream decoded by srtsrc ! tsdemux ! decodebin: {received:?}");
    let (width, height, mean) = received.expect("no frame from the stream");
    assert_eq!((width, height), (512, 512));
    assert!(mean > 30.0, "the stream's picture is black: {mean:.1}");

    // 7. Recordings: with the blue key an MP4, transparent a MOV that keeps the alpha (and the
    // live outputs go off, saying why).
    let record_for = |seconds: u64| -> PathBuf {
        studio.widgets().record.set_active(true);
        run_for(Duration::from_secs(seconds));
        let recording = studio.widgets().record_file.text().to_string();
        studio.widgets().record.set_active(false);
        let file = PathBuf::from(recording.strip_prefix("recording ").expect(&recording));
        assert_eq!(
            studio.widgets().record_file.text(),
            format!("recorded {}", file.display()),
            "{}",
            studio.widgets().problem.text()
        );
        file
    };
    let mp4 = record_for(2);
    let (frames, first) = decoded(&mp4);
    println!("recorded {}: {frames} frames", mp4.display());
    assert_eq!(mp4.extension().unwrap(), "mp4");
    assert!(frames >= 30, "{frames} frames in 2 s");
    let [r, g, b, _] = first.corner(24);
    assert!(
        b > 200.0 && r < 50.0 && g < 50.0,
        "the recording's background is not the key: {r} {g} {b}"
    );
    studio.widgets().transparent_background.set_active(true);
    run_for(Duration::from_millis(200));
    assert!(!studio.widgets().stream.is_active() && !studio.widgets().stream.is_sensitive());
    assert_eq!(
        studio.widgets().transparent_why.text(),
        super::session::TRANSPARENT_LIVE
    );
    let mov = record_for(2);
    let (frames, first) = decoded(&mov);
    let corner_alpha = first.corner(24)[3];
    let centre_alpha = first.rgba[256 * 512 + 256][3];
    println!("recorded {}: {frames} frames, alpha {corner_alpha} in the corner, {centre_alpha} in the face", mov.display());
    assert_eq!(mov.extension().unwrap(), "mov");
    assert!(frames >= 30, "{frames} frames in 2 s");
    assert!(
        corner_alpha < 10.0 && centre_alpha == 255,
        "the MOV lost the transparency"
    );
    studio.widgets().key_background.set_active(true);
    assert!(studio.widgets().stream.is_sensitive());
    // 8. Modes: FOMM (the tiny set, as the exporter makes it) takes over in a new pipeline;
    // U-GAT-IT, whose weights this models folder lacks, is off and says how to import them.
    let mode_button = |wanted: Mode| {
        studio
            .widgets()
            .modes
            .iter()
            .find(|(mode, _)| *mode == wanted)
            .unwrap()
            .1
            .clone()
    };
    assert!(!mode_button(Mode::Ugatit).is_sensitive());
    let ugatit_why = super::session::missing_weights(Mode::Ugatit, &models).unwrap();
    assert!(
        ugatit_why.contains("animecam models import"),
        "{ugatit_why}"
    );
    mode_button(Mode::Fomm).set_active(true);
    let fomm = wait_until(Duration::from_secs(20), || {
        let networks = studio.pipeline().is_some_and(|pipeline| {
            pipeline
                .iterate_recurse()
                .into_iter()
                .flatten()
                .any(|e| e.factory().is_some_and(|f| f.name() == "fommkeypoints"))
        });
        networks && studio.widgets().status.text().starts_with("animating")
    });
    println!(
        "FOMM animating after {fomm:?}: {}",
        studio.widgets().status.text()
    );
    assert!(
        fomm.is_some(),
        "FOMM not animating: {} {}",
        studio.widgets().status.text(),
        studio.widgets().problem.text()
    );
    let painted = studio.painted();
    run_for(Duration::from_millis(500));
    assert!(
        studio.painted() > painted,
        "FOMM's pictures are not painted"
    );
    mode_button(Mode::Warp).set_active(true);

    // A recording running when the window closes is finished into a file that plays.
    studio.widgets().record.set_active(true);
    run_for(Duration::from_secs(1));
    let closing_recording = PathBuf::from(
        studio
            .widgets()
            .record_file
            .text()
            .strip_prefix("recording ")
            .unwrap()
            .to_owned(),
    );

    // 9. Closing the window stops every pipeline within 2 s; the settings are kept.
    let pipeline = studio.pipeline().unwrap();
    let closing = Instant::now();
    studio.close();
    ok(studio.finish());
    let closed = closing.elapsed();
    println!("closed in {closed:?}");
    assert!(closed < Duration::from_secs(2));
    assert_eq!(pipeline.current_state(), gst::State::Null);
    let (frames, _) = decoded(&closing_recording);
    println!("the recording closed with the window: {frames} frames");
    assert!(frames >= 10);
    let (kept, problem) = Settings::load(places().settings.as_ref().unwrap());
    assert_eq!(problem, None);
    assert_eq!(kept.portrait.as_deref(), Some("sylvie_green_normal.png"));
    assert_eq!(kept.background, Background::Key(0x0000FF));
    assert_eq!(kept.gain("mouth"), 0.0);
    assert_eq!(kept.stream_port, port);
    drop(studio);

    // ... and there on the next start.
    let studio = ok(Studio::open(
        places(),
        live,
        glib::MainLoop::new(None, false),
    ));
    assert_eq!(gain(&studio, "mouth").value(), 0.0);
    assert!(studio.widgets().key_background.is_active());
    assert_eq!(studio.widgets().stream_port.value() as u16, port);
    studio.close();
    ok(studio.finish());
}
