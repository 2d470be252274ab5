//! The client's end of the remote link (`--remote` on the live commands): the keys and capture
//! times it puts into the frames it sends, the capture times and avatar state it reads back, and
//! how it takes the link's troubles (a server not up yet, refusing, or restarting).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use animecam_cli::descriptions::edit::{named, pad};
use animecam_cli::descriptions::names;
use crossbeam_channel::select;
use gst::prelude::*;

use crate::key_command::Command;
use crate::keys::Choices;
use crate::live::{run_live, Link, LiveOptions, Verdict};
use crate::remote::protocol::Message;
use crate::remote::transport::{receive_in_frames, send_in_frames, CaptureTimes};
use crate::report::LiveStats;

/// The client's end of the messages: keys to send, and the capture times echoed back.
pub struct ClientLink {
    keys: Mutex<Vec<Command>>,
    echoed: CaptureTimes,
    /// The avatar's state the server last sent, taken by the status line.
    server_state: Mutex<Option<String>>,
    watch: Arc<LinkWatch>,
}

impl ClientLink {
    /// Wires a client pipeline built from pipelines/remote.gst.
    pub fn attach(
        pipeline: &gst::Pipeline,
        watch: Arc<LinkWatch>,
    ) -> Result<Arc<ClientLink>, String> {
        let link = Arc::new(ClientLink {
            keys: Mutex::new(Vec::new()),
            echoed: CaptureTimes::default(),
            server_state: Mutex::new(None),
            watch,
        });
        // The two halves run independently: a sink that waited to preroll would wait for the
        // server, which waits for this pipeline's uplink to play.
        for sink in pipeline.iterate_recurse().into_iter().flatten() {
            if sink.element_flags().contains(gst::ElementFlags::SINK) && sink.has_property("async")
            {
                sink.set_property("async", false);
            }
        }
        let encoder = named(pipeline, names::UPLINK_ENCODER)?;
        let sending = link.clone();
        // A frame's running time at the encoder is its capture time: the camera stamps it so.
        send_in_frames(&pad(&encoder, "src")?, move |running| {
            let mut messages = vec![Message::Captured(running.nseconds())];
            messages.extend(sending.keys.lock().unwrap().drain(..).map(Message::Key));
            messages
        });
        let parse = named(pipeline, names::DOWNLINK_PARSE)?;
        let receiving = link.clone();
        receive_in_frames(&pad(&parse, "src")?, move |running, messages| {
            receiving.watch.connected();
            for message in messages {
                match message {
                    Message::Captured(ns) => receiving.echoed.insert(running, ns),
                    Message::State(state) => *receiving.server_state.lock().unwrap() = Some(state),
                    Message::Key(_) => {}
                }
            }
        });
        Ok(link)
    }
}

impl Link for ClientLink {
    fn send(&self, command: Command) {
        self.keys.lock().unwrap().push(command);
    }

    fn captured(&self, running: gst::ClockTime) -> Option<gst::ClockTime> {
        self.echoed.get(running).map(gst::ClockTime::from_nseconds)
    }

    fn avatar_state(&self) -> Option<String> {
        self.server_state.lock().unwrap().take()
    }

    fn judge(&self, message: &str) -> Verdict {
        self.watch.judge(message)
    }
}

/// How long a refused client keeps trying: longer than a server takes to end the session of a
/// client that vanished (4 s without its video, then a rebuild), so that a client restarted at
/// once gets in.
const REFUSED_PATIENCE: Duration = Duration::from_secs(15);

/// Follows the link's state across reconnections and pipeline rebuilds: the SRT elements warn
/// at each attempt to reconnect, which they make on their own.
pub struct LinkWatch {
    server: String,
    quiet: bool,
    state: Mutex<WatchState>,
}

#[derive(Default)]
struct WatchState {
    refused_since: Option<Instant>,
    said_lost: bool,
    stopped: Option<String>,
    ever_connected: bool,
}

impl LinkWatch {
    pub fn new(server: &str, quiet: bool) -> LinkWatch {
        LinkWatch {
            server: server.to_owned(),
            quiet,
            state: Mutex::default(),
        }
    }

    fn say(&self, line: String) {
        if !self.quiet {
            eprint!("{line}\r\n");
        }
    }

    /// Judges an error or warning posted by the pipeline (with its element's path).
    pub fn judge(&self, message: &str) -> Verdict {
        if !from_the_link(message) {
            return Verdict::Show;
        }
        let server = &self.server;
        let mut state = self.state.lock().unwrap();
        let verdict = if message.contains("passphrase") {
            Verdict::Stop(format!(
                "the server at {server} refused this passphrase: give the one `animecam serve` \
                 runs with (ANIMECAM_PASSPHRASE or --passphrase), or --insecure on both ends"
            ))
        } else if message.contains("Rogue peer") || message.contains("rejected") {
            // libsrt's words for a handshake the server's listener refused.
            let since = *state.refused_since.get_or_insert_with(Instant::now);
            if since.elapsed() >= REFUSED_PATIENCE {
                Verdict::Stop(format!(
                    "the server at {server} refused this client for {} s: it serves another client \
                     (one at a time), or it runs with --insecure and this client not",
                    REFUSED_PATIENCE.as_secs()
                ))
            } else {
                if since.elapsed() < Duration::from_millis(50) {
                    self.say(format!(
                        "the server at {server} refused the connection: it is serving another \
                         client; trying again for {} s",
                        REFUSED_PATIENCE.as_secs()
                    ));
                }
                Verdict::Quiet
            }
        } else {
            if !state.said_lost {
                state.said_lost = true;
                self.say(format!(
                    "no connection to the server at {server} ({message}): is `animecam serve` \
                     running there, and may UDP reach its two ports? Reconnecting every second \
                     meanwhile (the picture keeps its last frame); Ctrl-C stops"
                ));
            }
            Verdict::Quiet
        };
        if let Verdict::Stop(error) = &verdict {
            state.stopped = Some(error.clone());
        }
        verdict
    }

    /// Frames came back: the next loss is worth saying again.
    pub fn connected(&self) {
        let mut state = self.state.lock().unwrap();
        state.ever_connected = true;
        if state.said_lost || state.refused_since.is_some() {
            state.said_lost = false;
            state.refused_since = None;
            drop(state);
            self.say(format!("connected to the server at {}", self.server));
        }
    }

    /// Why a run that never got a picture in `elapsed` got none: the server refused this client
    /// as busy, or nothing answered.
    fn no_picture(&self, elapsed: Duration) -> String {
        let server = &self.server;
        let seconds = elapsed.as_secs_f64();
        if self.state.lock().unwrap().refused_since.is_some() {
            format!(
                "no picture came back from the server at {server} in {seconds:.0} s: it is \
                 serving another client (one at a time); try again when it is free"
            )
        } else {
            format!(
                "no picture came back from the server at {server} in {seconds:.0} s: is \
                 `animecam serve` running there, with this passphrase (or --insecure on both \
                 ends)?"
            )
        }
    }

    fn stopped(&self) -> Option<String> {
        self.state.lock().unwrap().stopped.clone()
    }
}

/// Runs a client until the duration, q or Ctrl-C. Once connected, the SRT elements reconnect on
/// their own after a drop or a server restart, and the output keeps its last frame meanwhile.
/// A connection that cannot be made at the start (the server not up yet, or refusing) fails
/// the pipeline: it is built again every second. A wrong passphrase, or a refusal that lasts,
/// ends the run with the reasons it can have. Returns what the last run showed, None when
/// stopped before one ran.
pub fn run_client(
    build: impl Fn() -> Result<gst::Pipeline, String>,
    server: &str,
    options: LiveOptions,
) -> Result<Option<LiveStats>, String> {
    let started = Instant::now();
    let interrupts = crate::signals::interrupts();
    let watch = Arc::new(LinkWatch::new(server, options.quiet));
    let mut first = true;
    loop {
        let pipeline = build()?;
        let link = ClientLink::attach(&pipeline, watch.clone())?;
        let remaining = options
            .duration
            .map(|duration| duration.saturating_sub(started.elapsed()));
        if remaining == Some(Duration::ZERO) {
            return Err(watch.no_picture(started.elapsed()));
        }
        let attempt = LiveOptions {
            choices: Choices::Nothing,
            duration: remaining,
            quiet: options.quiet,
            status: if first {
                options.status.clone()
            } else {
                String::new()
            },
            link: Some(link),
        };
        first = false;
        let error = match run_live(&pipeline, &attempt) {
            Ok(stats) if stats.frames() == 0 && !watch.state.lock().unwrap().ever_connected => {
                return Err(watch.no_picture(started.elapsed()))
            }
            Ok(stats) => return Ok(Some(stats)),
            Err(error) => error,
        };
        if let Some(error) = watch.stopped() {
            return Err(error);
        }
        match watch.judge(&error) {
            Verdict::Show => return Err(error),
            Verdict::Stop(error) => return Err(error),
            Verdict::Quiet => {}
        }
        select! {
            recv(interrupts) -> _ => return Ok(None),
            recv(crossbeam_channel::after(Duration::from_secs(1))) -> _ => {}
        }
    }
}

/// Whether a message described by [`crate::bus`] ("text (from /GstPipeline:pipeline0/
/// GstSRTSink:uplink)") comes from one of the link's two SRT elements: the name at the end of its
/// source's path, exactly (the link's other elements, such as downlink-queue, are not the link).
fn from_the_link(message: &str) -> bool {
    let Some(source) = message
        .rsplit_once(" (from ")
        .and_then(|(_, source)| source.strip_suffix(')'))
    else {
        return false;
    };
    let element = source.rsplit('/').next().unwrap_or_default();
    let name = element.split_once(':').map_or(element, |(_, name)| name);
    name == names::UPLINK || name == names::DOWNLINK
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_links_complaints_are_told_apart() {
        let watch = LinkWatch::new("gpu.local:7000", true);
        assert_eq!(
            watch.judge(
                "Internal data stream error. (from /GstPipeline:pipeline0/GstV4l2Src:v4l2src0)"
            ),
            Verdict::Show
        );
        assert_eq!(
            watch.judge("Failed to write to SRT socket: Connection does not exist (from /GstPipeline:pipeline0/GstSRTSink:uplink)"),
            Verdict::Quiet
        );
        assert_eq!(
            watch.judge("Error on SRT socket: Rogue peer or incorrect parameters. Trying to reconnect (from /GstPipeline:pipeline0/GstSRTSrc:downlink)"),
            Verdict::Quiet
        );
        // The link's other elements are not the link: their errors are shown.
        assert_eq!(
            watch.judge(
                "Internal data stream error. (from /GstPipeline:pipeline0/GstQueue:downlink-queue)"
            ),
            Verdict::Show
        );
        assert_eq!(
            watch.judge(
                "Could not decode stream. (from /GstPipeline:pipeline0/GstH264Parse:downlink-parse)"
            ),
            Verdict::Show
        );
        assert!(watch.stopped().is_none());
        let Verdict::Stop(error) = watch.judge(
            "Failed to authenticate: Incorrect passphrase. Trying to reconnect (from /GstPipeline:pipeline0/GstSRTSrc:downlink)",
        ) else {
            panic!("a wrong passphrase stops the client");
        };
        assert!(error.contains("gpu.local:7000") && error.contains("passphrase"));
        assert_eq!(watch.stopped(), Some(error));
    }
}
