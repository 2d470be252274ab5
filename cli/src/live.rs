//! Running a pipeline: the bus loop, keys in live modes, and once-a-second statistics.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use animecam::activity::{ActivitySnapshot, AvatarState};
use crossbeam_channel::{select, tick, unbounded, Receiver};
use gst::prelude::*;

use crate::remote::ClientLink;

/// What a key press asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Recalibrate,
    NextPortrait,
    PreviousPortrait,
    Quit,
}

/// Reads keys in raw mode on a thread while the pipeline runs; nothing when stdin is no terminal.
struct Keys {
    receiver: Receiver<Command>,
    raw: bool,
}

impl Keys {
    fn start() -> Keys {
        let raw = std::io::stdin().is_terminal() && crossterm::terminal::enable_raw_mode().is_ok();
        if !raw {
            // No keys will come: a receiver that never yields (a disconnected one would make the
            // select loop spin and eat a core).
            return Keys {
                receiver: crossbeam_channel::never(),
                raw,
            };
        }
        let (sender, receiver) = unbounded();
        {
            std::thread::spawn(move || loop {
                use crossterm::event::{self, Event, KeyCode, KeyModifiers};
                let key = match event::read() {
                    Ok(Event::Key(key)) => key,
                    Ok(_) => continue,
                    // The terminal is gone: no more keys will come.
                    Err(_) => break,
                };
                let command = match key.code {
                    KeyCode::Char('r') | KeyCode::Char(' ') => Command::Recalibrate,
                    KeyCode::Char('n') | KeyCode::Right => Command::NextPortrait,
                    KeyCode::Char('p') | KeyCode::Left => Command::PreviousPortrait,
                    KeyCode::Char('q') | KeyCode::Esc => Command::Quit,
                    KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                        Command::Quit
                    }
                    _ => continue,
                };
                if sender.send(command).is_err() {
                    break;
                }
            });
        }
        Keys { receiver, raw }
    }
}

impl Drop for Keys {
    fn drop(&mut self) {
        if self.raw {
            let _ = crossterm::terminal::disable_raw_mode();
        }
    }
}

/// Frames and latency seen at the sink, shared with a pad probe.
#[derive(Default)]
struct Counters {
    frames: AtomicU64,
    /// Sum of glass-to-glass latencies (capture timestamp to sink) in microseconds.
    latency_us: AtomicU64,
    /// Frames whose latency is known (a remote frame's capture time may not come back).
    timed: AtomicU64,
    /// The largest latency seen, in microseconds.
    max_latency_us: AtomicU64,
    /// Running time of the last frame shown, and the largest gap between two shown frames, in
    /// microseconds (a stall shows here: a portrait loading on the streaming thread, say).
    last_running_us: AtomicU64,
    max_gap_us: AtomicU64,
}

/// What a live run saw at its sink.
#[derive(Debug, Clone)]
pub struct LiveStats {
    pub frames: u64,
    pub mean_latency_ms: f64,
    pub max_latency_ms: f64,
    /// The largest gap between the timestamps of two frames shown.
    pub max_gap_ms: f64,
    /// What the animation did over the whole run, and its engine's name.
    pub activity: Option<(String, ActivitySnapshot)>,
    /// Frames the face tracker saw: the camera's frames.
    pub camera_frames: Option<u64>,
}

/// The counters the elements publish in their `stats` property.
struct Watched {
    animate: Option<gst::Element>,
    tracker: Option<gst::Element>,
}

impl Watched {
    fn find(pipeline: &gst::Pipeline) -> Watched {
        let has_stats = |element: &gst::Element| element.has_property("stats");
        Watched {
            animate: pipeline.by_name("animate").filter(has_stats),
            tracker: pipeline
                .iterate_recurse()
                .into_iter()
                .flatten()
                .find(|e| e.factory().is_some_and(|f| f.name() == "facetrack")),
        }
    }

    fn activity(&self) -> Option<(String, ActivitySnapshot)> {
        let stats = self.animate.as_ref()?.property::<gst::Structure>("stats");
        gstanimecam::stats::activity_from_structure(&stats).ok()
    }

    fn camera_frames(&self) -> Option<u64> {
        let stats = self.tracker.as_ref()?.property::<gst::Structure>("stats");
        gstanimecam::stats::faces_from_structure(&stats)
            .ok()
            .map(|(frames, _)| frames)
    }
}

/// What the avatar does, second by second, from the elements' stats: the status line's words.
pub struct AvatarReport {
    watched: Watched,
    last_activity: Option<(String, ActivitySnapshot)>,
    last_camera: Option<u64>,
}

impl AvatarReport {
    pub fn new(pipeline: &gst::Pipeline) -> AvatarReport {
        let watched = Watched::find(pipeline);
        AvatarReport {
            last_activity: watched.activity(),
            last_camera: watched.camera_frames(),
            watched,
        }
    }

    /// What the avatar did since the last call (`animating`, `no face: ...`), when the
    /// pipeline animates here.
    pub fn since_last(&mut self) -> Option<String> {
        let (activity, camera) = (self.watched.activity(), self.watched.camera_frames());
        let summary = match (&activity, &self.last_activity) {
            (Some((engine, now)), Some((_, before))) => Some(avatar_summary(
                engine,
                &now.since(before),
                camera.zip(self.last_camera).map(|(n, b)| n - b),
            )),
            _ => None,
        };
        (self.last_activity, self.last_camera) = (activity, camera);
        summary
    }
}

/// What the avatar did in the last second, for the status line: its state, and the network's own
/// rate when it is slower than the camera (then the picture cannot keep up, and the user should
/// know it is the network and not the camera).
pub fn avatar_summary(
    engine: &str,
    last_second: &ActivitySnapshot,
    camera_frames: Option<u64>,
) -> String {
    let state = last_second.state();
    // The network's rate from its own time per picture: frames without a face, or dropped while
    // the machine was busy with something else, do not make it look slower than it is.
    let rate = last_second
        .time_per_picture()
        .map(|t| 1.0 / t.as_secs_f64().max(1e-6));
    match (camera_frames, rate) {
        (Some(camera), Some(rate))
            if state == AvatarState::Animating && rate < 0.9 * camera as f64 =>
        {
            format!("{state} ({engine} {rate:.1} fps, camera {camera} fps)")
        }
        _ => state.to_string(),
    }
}

/// Counts frames reaching `sink` and how late they are against the pipeline clock: since their
/// capture, which is their timestamp, or, for frames made remotely, the capture time the server
/// echoed with them.
fn watch_sink(
    pipeline: &gst::Pipeline,
    sink: &gst::Element,
    remote: Option<Arc<ClientLink>>,
) -> Arc<Counters> {
    let counters = Arc::new(Counters::default());
    let shared = counters.clone();
    let pipeline = pipeline.downgrade();
    if let Some(pad) = sink.static_pad("sink") {
        pad.add_probe(gst::PadProbeType::BUFFER, move |pad, info| {
            shared.frames.fetch_add(1, Ordering::Relaxed);
            let (Some(buffer), Some(pipeline)) = (info.buffer(), pipeline.upgrade()) else {
                return gst::PadProbeReturn::Ok;
            };
            let running = running_time(pad, buffer);
            let captured = match &remote {
                Some(link) => running.and_then(|running| link.captured(running)),
                None => running,
            };
            if let (Some(running), Some(captured), Some(now)) =
                (running, captured, pipeline.current_running_time())
            {
                let last = shared
                    .last_running_us
                    .swap(running.useconds(), Ordering::Relaxed);
                if last > 0 {
                    shared
                        .max_gap_us
                        .fetch_max(running.useconds().saturating_sub(last), Ordering::Relaxed);
                }
                let late = now.saturating_sub(captured);
                shared.timed.fetch_add(1, Ordering::Relaxed);
                shared
                    .latency_us
                    .fetch_add(late.useconds(), Ordering::Relaxed);
                shared
                    .max_latency_us
                    .fetch_max(late.useconds(), Ordering::Relaxed);
            }
            gst::PadProbeReturn::Ok
        });
    }
    counters
}

/// A buffer's running time on `pad`.
pub fn running_time(pad: &gst::Pad, buffer: &gst::BufferRef) -> Option<gst::ClockTime> {
    pad.sticky_event::<gst::event::Segment>(0).and_then(|s| {
        s.segment()
            .downcast_ref::<gst::ClockTime>()
            .and_then(|s| s.to_running_time(buffer.pts()))
    })
}

/// Portraits to cycle through with n/p: the images of the portrait's folder, sorted.
pub fn portrait_list(portrait: &Path) -> Vec<PathBuf> {
    let folder = if portrait.is_dir() {
        portrait.to_path_buf()
    } else {
        // A bare file name has an empty parent: the current folder.
        portrait
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), PathBuf::from)
    };
    let mut images: Vec<PathBuf> = std::fs::read_dir(&folder)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| {
            let ext = path
                .extension()
                .and_then(|e| e.to_str())
                .unwrap_or("")
                .to_ascii_lowercase();
            matches!(ext.as_str(), "png" | "jpg" | "jpeg")
        })
        .collect();
    images.sort();
    images
}

/// The first image of a folder, or the file itself.
pub fn first_portrait(portrait: &Path) -> Option<PathBuf> {
    if portrait.is_dir() {
        portrait_list(portrait).into_iter().next()
    } else {
        Some(portrait.to_path_buf())
    }
}

/// What a key did to the animation.
pub enum KeyEffect {
    Recalibrated,
    Portrait(PathBuf),
}

/// The keys' effect on an animation element: recalibration, and the portraits n and p cycle
/// through (the folder of the portrait it started with).
pub struct AnimationKeys {
    portraits: Vec<PathBuf>,
    current: usize,
}

impl AnimationKeys {
    pub fn new(portrait: Option<&Path>) -> AnimationKeys {
        let portraits = portrait.map(portrait_list).unwrap_or_default();
        let current = portrait
            .and_then(first_portrait)
            .and_then(|p| {
                let wanted = p.canonicalize().ok()?;
                portraits
                    .iter()
                    .position(|q| q.canonicalize().ok().as_ref() == Some(&wanted))
            })
            .unwrap_or(0);
        AnimationKeys { portraits, current }
    }

    /// The portrait shown now, when there is a folder to cycle through.
    pub fn portrait(&self) -> Option<&Path> {
        self.portraits.get(self.current).map(PathBuf::as_path)
    }

    /// Does what `command` asks of `animate`; what it did, if anything.
    pub fn apply(&mut self, animate: &gst::Element, command: Command) -> Option<KeyEffect> {
        match command {
            Command::Recalibrate if animate.has_property("engine") => {
                animate.emit_by_name::<()>("recalibrate", &[]);
                Some(KeyEffect::Recalibrated)
            }
            Command::NextPortrait | Command::PreviousPortrait
                if !self.portraits.is_empty() && animate.has_property("source") =>
            {
                let count = self.portraits.len();
                self.current = match command {
                    Command::NextPortrait => (self.current + 1) % count,
                    _ => (self.current + count - 1) % count,
                };
                let path = self.portraits[self.current].clone();
                animate.set_property("source", path.to_string_lossy().to_string());
                Some(KeyEffect::Portrait(path))
            }
            _ => None,
        }
    }
}

/// Sends the pipeline's bus messages to the returned channel and sets it playing; when it cannot
/// start, the error the failing element posted.
pub fn play(pipeline: &gst::Pipeline) -> Result<Receiver<gst::Message>, String> {
    let bus = pipeline.bus().expect("pipelines have a bus");
    let (sender, messages) = unbounded::<gst::Message>();
    bus.set_sync_handler(move |_, message| {
        let _ = sender.send(message.clone());
        gst::BusSyncReply::Drop
    });
    if pipeline.set_state(gst::State::Playing).is_err() {
        // The element that failed posts its error on the bus, possibly from another thread.
        let deadline = Instant::now() + Duration::from_secs(2);
        let error =
            std::iter::from_fn(|| messages.recv_deadline(deadline).ok()).find_map(|message| {
                match message.view() {
                    gst::MessageView::Error(error) => Some(describe_error(error)),
                    _ => None,
                }
            });
        return Err(error.unwrap_or_else(|| "the pipeline could not start".into()));
    }
    Ok(messages)
}

pub struct LiveOptions {
    pub portrait: Option<PathBuf>,
    /// Stop after this long (tests, benchmarks); None runs until quit or end of stream.
    pub duration: Option<Duration>,
    pub quiet: bool,
    /// Said once when the pipeline runs: where the picture goes.
    pub status: String,
    /// The link to the server when the animation runs remotely: keys go there.
    pub remote: Option<Arc<ClientLink>>,
}

/// Where frames leave for the viewer: the encoder's input where the picture is encoded (a muxer
/// downstream of it pushes packets, not frames), else the sink (not the remote link's own).
fn shown_frames_element(pipeline: &gst::Pipeline) -> Option<gst::Element> {
    pipeline.by_name("encoder").or_else(|| {
        pipeline
            .iterate_sinks()
            .into_iter()
            .flatten()
            .find(|sink| sink.name() != "uplink")
    })
}

/// Runs a live pipeline until end of stream, an error, `q`, Ctrl-C or the duration; prints FPS
/// and latency once a second. Returns what the viewer was shown. The pipeline is back in NULL
/// whatever happened, so that no element is torn down while it streams.
pub fn run_live(pipeline: &gst::Pipeline, options: &LiveOptions) -> Result<LiveStats, String> {
    let outcome = run_until_stopped(pipeline, options);
    pipeline.set_state(gst::State::Null).ok();
    if let Some(bus) = pipeline.bus() {
        bus.unset_sync_handler();
    }
    outcome
}

fn run_until_stopped(pipeline: &gst::Pipeline, options: &LiveOptions) -> Result<LiveStats, String> {
    let shown = shown_frames_element(pipeline).ok_or("the pipeline has no sink")?;
    let counters = watch_sink(pipeline, &shown, options.remote.clone());
    let animate = pipeline.by_name("animate");
    let mut animation_keys = AnimationKeys::new(options.portrait.as_deref());
    // Installed before the (possibly long) start: a Ctrl-C then ends the run as soon as it can.
    let interrupts = crate::signals::interrupts();
    let messages = play(pipeline)?;
    let keys = Keys::start();
    if !options.quiet && !options.status.is_empty() {
        eprint!("{}\r\n", options.status);
        if keys.raw {
            eprint!("keys: r recalibrate, n/p next/previous portrait, q quit\r\n");
        }
    }
    if !options.quiet {
        for line in networks(pipeline) {
            eprint!("{line}\r\n");
        }
    }
    let started = Instant::now();
    let seconds = tick(Duration::from_secs(1));
    let (mut last_frames, mut last_latency, mut last_timed) = (0u64, 0u64, 0u64);
    let mut avatar = AvatarReport::new(pipeline);
    let end = options.duration.map_or_else(crossbeam_channel::never, |d| {
        crossbeam_channel::at(started + d)
    });
    let outcome = loop {
        select! {
            recv(end) -> _ => break Ok(()),
            recv(messages) -> message => {
                let Ok(message) = message else { break Ok(()) };
                match message.view() {
                    gst::MessageView::Eos(..) => break Ok(()),
                    gst::MessageView::Error(error) => break Err(describe_error(error)),
                    gst::MessageView::Warning(warning) => {
                        let verdict = options.remote.as_ref().map(|link| link.watch.judge(&describe_warning(warning)));
                        match verdict {
                            Some(crate::remote::Verdict::Stop(error)) => break Err(error),
                            Some(crate::remote::Verdict::Quiet) => {}
                            _ if !options.quiet => eprint!("warning: {}\r\n", warning.error()),
                            _ => {}
                        }
                    }
                    _ => {}
                }
            }
            recv(interrupts) -> _ => break Ok(()),
            recv(keys.receiver) -> command => {
                match command {
                    Ok(Command::Quit) => break Ok(()),
                    Ok(command) if options.remote.is_some() => {
                        if let Some(link) = &options.remote {
                            link.send(command);
                            let what = match command {
                                Command::Recalibrate => "recalibrate: hold still, facing the camera",
                                Command::NextPortrait => "next portrait",
                                _ => "previous portrait",
                            };
                            eprint!("sent to the server: {what}\r\n");
                        }
                    }
                    Ok(command) => {
                        match animate.as_ref().and_then(|a| animation_keys.apply(a, command)) {
                            Some(KeyEffect::Recalibrated) => eprint!("recalibrating: hold still, facing the camera\r\n"),
                            Some(KeyEffect::Portrait(path)) => eprint!("portrait: {}\r\n", path.display()),
                            None => {}
                        }
                    }
                    Err(_) => {}
                }
            }
            recv(seconds) -> _ => {
                let frames = counters.frames.load(Ordering::Relaxed);
                let latency = counters.latency_us.load(Ordering::Relaxed);
                let timed = counters.timed.load(Ordering::Relaxed);
                let new = frames - last_frames;
                let summary = avatar.since_last().or_else(|| {
                    options.remote.as_ref().and_then(|link| link.server_state())
                });
                if !options.quiet {
                    let mean = if timed > last_timed { (latency - last_latency) as f64 / (timed - last_timed) as f64 / 1000.0 } else { 0.0 };
                    let summary = summary.map(|s| format!(", {s}")).unwrap_or_default();
                    eprint!("{new:3} fps, latency {mean:6.1} ms{summary}\r\n");
                }
                (last_frames, last_latency, last_timed) = (frames, latency, timed);
            }
        }
    };
    drop(keys);
    let frames = counters.frames.load(Ordering::Relaxed);
    outcome.map(|()| LiveStats {
        activity: avatar.watched.activity(),
        camera_frames: avatar.watched.camera_frames(),
        frames,
        mean_latency_ms: counters.latency_us.load(Ordering::Relaxed) as f64
            / counters.timed.load(Ordering::Relaxed).max(1) as f64
            / 1000.0,
        max_latency_ms: counters.max_latency_us.load(Ordering::Relaxed) as f64 / 1000.0,
        max_gap_ms: counters.max_gap_us.load(Ordering::Relaxed) as f64 / 1000.0,
    })
}

/// A line per network element: where it runs and in which precision (read once the elements
/// have started, which loads their models). The warp, which runs no network, has none.
pub fn networks(pipeline: &gst::Pipeline) -> Vec<String> {
    let mut lines: Vec<String> = pipeline
        .iterate_recurse()
        .into_iter()
        .flatten()
        .filter(|element| element.has_property("precision-in-use"))
        .filter_map(|element| {
            let provider = element.property::<Option<String>>("provider-in-use")?;
            let precision = element.property::<Option<String>>("precision-in-use")?;
            (precision != "none")
                .then(|| format!("network {}: {provider}, {precision}", element.name()))
        })
        .collect();
    lines.sort();
    lines
}

/// A message's text with the element that posted it.
fn with_source(text: impl std::fmt::Display, message: &gst::MessageRef) -> String {
    let source = message.src().map(|s| s.path_string().to_string());
    format!("{text} (from {})", source.unwrap_or_default())
}

/// A warning with the element that gave it.
fn describe_warning(warning: &gst::message::Warning) -> String {
    with_source(warning.error(), warning.message())
}

/// An error message for the user: what failed, and which element said so.
pub fn describe_error(error: &gst::message::Error) -> String {
    with_source(error.error(), error.message())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn second(frames: u64, generated: u64, without_face: u64, each_ms: u64) -> ActivitySnapshot {
        ActivitySnapshot {
            frames,
            generated,
            repeated_without_face: without_face,
            calibrations: 0,
            generate_time: Duration::from_millis(each_ms * generated),
            loading: false,
        }
    }

    #[test]
    fn the_summary_names_a_network_slower_than_the_camera() {
        // FOMM at ~0.6 s a picture: two frames reach it while the camera gives 30.
        assert_eq!(
            avatar_summary("FOMM", &second(2, 2, 0, 600), Some(30)),
            "animating (FOMM 1.7 fps, camera 30 fps)"
        );
        // The warp keeps up: no rates, even when some frames had no face.
        assert_eq!(
            avatar_summary("warp", &second(30, 30, 0, 4), Some(30)),
            "animating"
        );
        assert_eq!(
            avatar_summary("warp", &second(30, 12, 18, 4), Some(30)),
            "animating"
        );
        assert_eq!(
            avatar_summary("warp", &second(30, 0, 30, 0), Some(30)),
            "no face: looking at the camera helps"
        );
        let mut loading = second(0, 0, 0, 0);
        loading.loading = true;
        assert_eq!(
            avatar_summary("FOMM", &loading, Some(30)),
            "loading portrait"
        );
    }
}
