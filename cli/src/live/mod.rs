//! The live loop: runs a pipeline until end of stream, an error, `q`, Ctrl-C or the duration,
//! with keys bound to the animation and once-a-second statistics. Where the animation runs on
//! another machine, the loop talks to it through a [`Link`], which it knows only as that
//! interface.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use animecam_cli::descriptions::names;
use crossbeam_channel::{select, tick};
use gst::prelude::*;

use crate::bus::{describe_error, describe_warning, networks, play, running_time, WarningsSaid};
use crate::key_command::Command;
use crate::keys::{AnimationKeys, Choices, KeyEffect, Keys};
use crate::report::{AvatarReport, Latency, LiveStats, ShownFrames};

mod link;

pub use link::{Link, Verdict};

/// Counts frames reaching `sink` and how late they are against the pipeline clock: since their
/// capture, which is their timestamp, or, for frames made elsewhere, the capture time the link
/// says.
fn watch_sink(
    pipeline: &gst::Pipeline,
    sink: &gst::Element,
    link: Option<Arc<dyn Link>>,
) -> Arc<Mutex<ShownFrames>> {
    let shown = Arc::new(Mutex::new(ShownFrames::default()));
    let shared = shown.clone();
    let pipeline = pipeline.downgrade();
    if let Some(pad) = sink.static_pad("sink") {
        pad.add_probe(gst::PadProbeType::BUFFER, move |pad, info| {
            let at = Instant::now();
            let running = info.buffer().and_then(|buffer| running_time(pad, buffer));
            let captured = match &link {
                Some(link) => running.and_then(|running| link.captured(running)),
                None => running,
            };
            let now = pipeline
                .upgrade()
                .and_then(|pipeline| pipeline.current_running_time());
            shared.lock().unwrap().shown(
                at,
                now.map(|t| t.useconds()),
                running.map(|t| t.useconds()),
                captured.map(|t| t.useconds()),
            );
            gst::PadProbeReturn::Ok
        });
    }
    shown
}

/// How a live run goes.
pub struct LiveOptions {
    /// What n and p cycle through.
    pub choices: Choices,
    /// Stop after this long (tests, benchmarks); None runs until quit or end of stream.
    pub duration: Option<Duration>,
    pub quiet: bool,
    /// Said once when the pipeline runs: where the picture goes.
    pub status: String,
    /// The link to where the animation runs, when not here: keys go there.
    pub link: Option<Arc<dyn Link>>,
}

/// Where frames leave for the viewer: the encoder's input where the picture is encoded (a muxer
/// downstream of it pushes packets, not frames), else the sink (not the remote link's own).
fn shown_frames_element(pipeline: &gst::Pipeline) -> Option<gst::Element> {
    pipeline.by_name(names::ENCODER).or_else(|| {
        pipeline
            .iterate_sinks()
            .into_iter()
            .flatten()
            .find(|sink| sink.name() != names::UPLINK && sink.name() != names::PACE)
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
    let shown_frames = watch_sink(pipeline, &shown, options.link.clone());
    let animate = pipeline.by_name(names::ANIMATE);
    let mut animation_keys = AnimationKeys::new(&options.choices);
    // Installed before the (possibly long) start: a Ctrl-C then ends the run as soon as it can.
    let interrupts = crate::signals::interrupts();
    let messages = play(pipeline)?;
    let keys = Keys::start();
    if !options.quiet && !options.status.is_empty() {
        eprint!("{}\r\n", options.status);
        if keys.raw {
            eprint!(
                "keys: r recalibrate, n/p next/previous {}, q quit\r\n",
                animation_keys.cycles()
            );
        }
    }
    if !options.quiet {
        for line in networks(pipeline) {
            eprint!("{line}\r\n");
        }
    }
    let started = Instant::now();
    let seconds = tick(Duration::from_secs(1));
    let mut last_second = Latency::default();
    let mut avatar = AvatarReport::new(pipeline);
    let mut said = WarningsSaid::default();
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
                        let verdict = options.link.as_ref().map(|link| link.judge(&describe_warning(warning)));
                        match verdict {
                            Some(Verdict::Stop(error)) => break Err(error),
                            Some(Verdict::Quiet) => {}
                            _ if !options.quiet && said.first_time(&warning.error().to_string()) => {
                                eprint!("warning: {}\r\n", warning.error())
                            }
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
                    Ok(command) if options.link.is_some() => {
                        if let Some(link) = &options.link {
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
                            Some(KeyEffect::Style(name)) => eprint!("style: {name} (loading)\r\n"),
                            None => {}
                        }
                    }
                    Err(_) => {}
                }
            }
            recv(seconds) -> _ => {
                let all = shown_frames.lock().unwrap().all;
                let new = all.frames - last_second.frames;
                let summary = avatar.since_last().or_else(|| {
                    options.link.as_ref().and_then(|link| link.avatar_state())
                });
                if !options.quiet {
                    let mean = all.mean_ms_since(&last_second);
                    let summary = summary.map(|s| format!(", {s}")).unwrap_or_default();
                    eprint!("{new:3} fps, latency {mean:6.1} ms{summary}\r\n");
                }
                last_second = all;
            }
        }
    };
    drop(keys);
    let ended = Instant::now();
    let shown = shown_frames.lock().unwrap().clone();
    outcome.map(|()| LiveStats {
        activity: avatar.watched.activity(),
        camera_frames: avatar.watched.camera_frames(),
        shown,
        ended,
    })
}
