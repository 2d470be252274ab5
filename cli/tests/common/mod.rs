//! What the CLI tests share: running the built `animecam` as a user runs it, temporary folders,
//! model folders laid out as users have them, and reading written clips back.
#![allow(dead_code)]

mod ports;
mod screen;
mod xvfb;
#[allow(unused_imports)]
pub use ports::{free_port, free_ports};
#[allow(unused_imports)]
pub use screen::*;
#[allow(unused_imports)]
pub use xvfb::Xvfb;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use gst::prelude::*;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap()
}

pub fn media(name: &str) -> PathBuf {
    let path = root().join(".cache/media").join(name);
    assert!(
        path.is_file(),
        "{} missing: run `make setup`",
        path.display()
    );
    path
}

/// The built `animecam`, ready to run.
pub fn command() -> Command {
    Command::new(env!("CARGO_BIN_EXE_animecam"))
}

pub fn animecam(args: &[&str]) -> Output {
    command().args(args).output().expect("animecam runs")
}

/// `animecam` run from `dir`, as a user in another working directory runs it.
pub fn animecam_in(dir: &Path, args: &[&str]) -> Output {
    command()
        .current_dir(dir)
        .args(args)
        .output()
        .expect("animecam runs")
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).to_string()
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).to_string()
}

/// A new empty folder for one test.
pub fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("animecam-cli-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A models folder laid out as `--models` expects it, over the committed tiny random-weight
/// graphs: blazeface/, vox-256/ and ugatit/.
pub fn tiny_models(dir: &Path) -> PathBuf {
    let models = dir.join("models");
    std::fs::create_dir_all(&models).unwrap();
    for (name, target) in [
        ("blazeface", "models/blazeface"),
        ("vox-256", "models/tiny"),
        ("ugatit", "models/tiny"),
    ] {
        std::os::unix::fs::symlink(root().join(target), models.join(name)).unwrap();
    }
    models
}

/// A model set in `set` made of the tiny graphs whose ids `keep` accepts, with their manifest,
/// as a user's own export (not a test fixture); the manifest is returned for further edits.
pub fn tiny_set(set: &Path, keep: impl Fn(&str) -> bool) -> serde_json::Value {
    std::fs::create_dir_all(set).unwrap();
    let mut manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("models/tiny/manifest.json")).unwrap(),
    )
    .unwrap();
    let models = manifest["models"].as_object_mut().unwrap();
    models.retain(|id, _| keep(id));
    for spec in models.values() {
        let file = spec["file"].as_str().unwrap();
        std::fs::copy(root().join("models/tiny").join(file), set.join(file)).unwrap();
    }
    manifest["test_fixture"] = false.into();
    write_manifest(set, &manifest);
    manifest
}

pub fn write_manifest(set: &Path, manifest: &serde_json::Value) {
    std::fs::write(
        set.join("manifest.json"),
        serde_json::to_string(manifest).unwrap(),
    )
    .unwrap();
}

/// A decoded video frame, packed RGB.
pub struct Frame {
    pub width: usize,
    pub height: usize,
    pub data: Vec<u8>,
}

impl Frame {
    /// A frame from an appsink's RGB sample (rows padded to GStreamer's stride are unpadded).
    pub fn from_sample(sample: &gst::Sample) -> Frame {
        let caps = sample.caps().unwrap().structure(0).unwrap().to_owned();
        let (width, height): (i32, i32) = (caps.get("width").unwrap(), caps.get("height").unwrap());
        let (width, height) = (width as usize, height as usize);
        let map = sample.buffer().unwrap().map_readable().unwrap();
        let stride = map.len() / height;
        let data = map
            .chunks(stride)
            .flat_map(|row| row[..width * 3].iter().copied())
            .collect();
        Frame {
            width,
            height,
            data,
        }
    }

    pub fn rgb(&self, x: usize, y: usize) -> [u8; 3] {
        let i = (y * self.width + x) * 3;
        [self.data[i], self.data[i + 1], self.data[i + 2]]
    }
}

/// A written clip read back by decoding it.
pub struct Clip {
    /// Video frames decoded.
    pub frames: usize,
    /// Width and height of the video.
    pub size: (usize, usize),
    pub audio: bool,
    /// The frames asked for, by index.
    pub kept: Vec<Frame>,
}

/// A pipeline from a gst-launch description (tests write valid ones).
pub fn launch(description: &str) -> gst::Pipeline {
    gst::init().unwrap();
    gst::parse::launch(description)
        .unwrap_or_else(|e| panic!("{e}: {description}"))
        .downcast::<gst::Pipeline>()
        .expect("a pipeline")
}

/// The appsink named "sink" of `pipeline`.
pub fn appsink(pipeline: &gst::Pipeline) -> gst_app::AppSink {
    pipeline
        .by_name("sink")
        .and_then(|sink| sink.downcast::<gst_app::AppSink>().ok())
        .expect("an appsink named sink")
}

/// Decodes a file: counts its video frames and keeps the ones at the indices in `keep`.
pub fn decode(path: &Path, keep: &[usize]) -> Clip {
    let pipeline = launch(
        "filesrc name=file ! decodebin name=decode decode. ! videoconvert ! video/x-raw,format=RGB ! \
         appsink name=sink sync=false",
    );
    // Set as a property: file names with spaces or quotes need no escaping.
    pipeline
        .by_name("file")
        .unwrap()
        .set_property("location", path.to_str().unwrap());
    let audio = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let seen = audio.clone();
    let bin = pipeline.downgrade();
    pipeline
        .by_name("decode")
        .unwrap()
        .connect_pad_added(move |_, pad| {
            let is_audio = pad
                .current_caps()
                .and_then(|c| c.structure(0).map(|s| s.name().starts_with("audio/")))
                .unwrap_or(false);
            if let (true, Some(bin)) = (is_audio, bin.upgrade()) {
                seen.store(true, std::sync::atomic::Ordering::SeqCst);
                // Audio is only noted: it goes to a fakesink so that it does not stall the video.
                let sink = gst::ElementFactory::make("fakesink").build().unwrap();
                bin.add(&sink).unwrap();
                sink.sync_state_with_parent().unwrap();
                pad.link(&sink.static_pad("sink").unwrap()).unwrap();
            }
        });
    let sink = appsink(&pipeline);
    pipeline.set_state(gst::State::Playing).unwrap();
    let mut clip = Clip {
        frames: 0,
        size: (0, 0),
        audio: false,
        kept: Vec::new(),
    };
    while let Some(sample) = sink.try_pull_sample(gst::ClockTime::from_seconds(10)) {
        clip.frames += 1;
        if clip.frames == 1 || keep.contains(&(clip.frames - 1)) {
            let frame = Frame::from_sample(&sample);
            clip.size = (frame.width, frame.height);
            if keep.contains(&(clip.frames - 1)) {
                clip.kept.push(frame);
            }
        }
    }
    pipeline.set_state(gst::State::Null).unwrap();
    clip.audio = audio.load(std::sync::atomic::Ordering::SeqCst);
    clip
}

/// Writes a frame as a PNG, for a person to look at when a picture test fails.
pub fn save_png(frame: &Frame, path: &Path) {
    let pipeline = launch(&format!(
        "appsrc name=src caps=video/x-raw,format=RGB,width={},height={},framerate=0/1 ! videoconvert ! pngenc ! filesink name=file",
        frame.width, frame.height
    ));
    pipeline
        .by_name("file")
        .unwrap()
        .set_property("location", path.to_str().unwrap());
    let source = pipeline
        .by_name("src")
        .unwrap()
        .downcast::<gst_app::AppSrc>()
        .unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    // GStreamer's RGB rows start on 4-byte boundaries.
    let stride = (frame.width * 3).div_ceil(4) * 4;
    let mut data = vec![0u8; stride * frame.height];
    for (row, pixels) in data
        .chunks_mut(stride)
        .zip(frame.data.chunks(frame.width * 3))
    {
        row[..pixels.len()].copy_from_slice(pixels);
    }
    source.push_buffer(gst::Buffer::from_slice(data)).unwrap();
    source.end_of_stream().unwrap();
    pipeline
        .bus()
        .unwrap()
        .timed_pop_filtered(gst::ClockTime::from_seconds(10), &[gst::MessageType::Eos]);
    pipeline.set_state(gst::State::Null).unwrap();
}

/// Whether a program is on the PATH.
pub fn installed(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A tmux server of our own with one terminal running a command; killed when dropped.
pub struct Terminal {
    socket: String,
}

impl Terminal {
    pub fn start(command: &str, environment: &[(&str, &str)]) -> Terminal {
        // One tmux server per terminal: tests of one binary run at once, and one's kill-server
        // must not end another's session.
        static TERMINALS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let socket = format!(
            "animecam-test-{}-{}",
            std::process::id(),
            TERMINALS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let mut tmux = Command::new("tmux");
        tmux.args(["-L", &socket, "new-session", "-d", "-x", "160", "-y", "40"]);
        for (name, value) in environment {
            tmux.args(["-e", &format!("{name}={value}")]);
        }
        let status = tmux.arg(command).status().unwrap();
        assert!(status.success());
        Terminal { socket }
    }

    pub fn screen(&self) -> String {
        let output = Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p", "-S", "-200"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout).to_string()
    }

    pub fn keys(&self, keys: &str) {
        let status = Command::new("tmux")
            .args(["-L", &self.socket, "send-keys", keys])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits until the screen shows `text`.
    pub fn wait_for(&self, text: &str, timeout: Duration) -> String {
        let started = Instant::now();
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(
                started.elapsed() < timeout,
                "'{text}' did not appear:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

/// A folder of two portraits whose names have spaces: (the first, the second).
pub fn portraits(dir: &Path) -> (PathBuf, PathBuf) {
    let folder = dir.join("my portraits");
    std::fs::create_dir_all(&folder).unwrap();
    let first = folder.join("1 sylvie.png");
    let second = folder.join("2 astronaut.png");
    std::fs::copy(media("sylvie_green_normal.png"), &first).unwrap();
    std::fs::copy(media("astronaut.png"), &second).unwrap();
    (first, second)
}

/// Counts the buffers reaching the sink pad of the element named `name` in `pipeline`.
pub fn buffers_reaching(
    pipeline: &gst::Pipeline,
    name: &str,
) -> std::sync::Arc<std::sync::atomic::AtomicU64> {
    let count = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counter = count.clone();
    pipeline
        .by_name(name)
        .unwrap()
        .static_pad("sink")
        .unwrap()
        .add_probe(gst::PadProbeType::BUFFER, move |_, _| {
            counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            gst::PadProbeReturn::Ok
        });
    count
}

/// The side of the frames `raw_sink` writes.
pub const SHOWN: usize = 96;

/// One frame of the face, repeated live at `fps` for as long as the run lasts.
pub fn still_face(width: u32, height: u32, fps: u32) -> String {
    format!(
        "filesrc location={} ! decodebin ! videoconvert ! videoscale ! \
         video/x-raw,width={width},height={height} ! imagefreeze is-live=true ! \
         video/x-raw,framerate={fps}/1",
        media("carphone_pristine.mp4").display()
    )
}

/// A sink writing every frame shown as SHOWN x SHOWN RGB into `file`.
pub fn raw_sink(file: &Path) -> String {
    format!(
        "videoscale ! video/x-raw,width={SHOWN},height={SHOWN} ! videoconvert ! \
         video/x-raw,format=RGB ! filesink location={}",
        file.display()
    )
}

pub fn frames(file: &Path) -> Vec<Vec<u8>> {
    let bytes = std::fs::read(file).unwrap_or_default();
    bytes
        .chunks_exact(SHOWN * SHOWN * 3)
        .map(<[u8]>::to_vec)
        .collect()
}
