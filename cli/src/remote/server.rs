//! The server's end of the remote link (`animecam serve`): one client at a time, a fresh pipeline
//! per client, keys from the client applied to the animation, capture times and the avatar's
//! state sent back in the frames made.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use animecam_cli::descriptions::edit::{named, pad};
use animecam_cli::descriptions::names;
use crossbeam_channel::{bounded, select, tick, unbounded, Sender};
use gio::prelude::*;
use gst::prelude::*;

use crate::bus::{describe_error, networks, play};
use crate::key_command::Command;
use crate::keys::{AnimationKeys, KeyEffect};
use crate::remote::protocol::Message;
use crate::remote::transport::{receive_in_frames, send_in_frames, CaptureTimes};
use crate::report::AvatarReport;

/// How long the client's video may stay away before its session ends (counted from its
/// connection, then from its last packet): libsrt alone can hold a session for a minute after a
/// sender stops or dies, or for ever while one keeps its connection open and sends nothing.
const UPLINK_SILENCE: Duration = Duration::from_secs(4);

/// How long a client's first video may take after it connects: a webcam can take seconds to
/// open, and a client dropped for it would only reconnect and be dropped again.
const FIRST_VIDEO: Duration = Duration::from_secs(10);

/// How long after a client's first connection its other one may take (a client opens both at
/// once; a stock sender opens the video one only).
const PAIRING: Duration = Duration::from_secs(4);

/// How long the video's listener waits for the network before it looks again whether it must
/// stop.
const POLL_TIMEOUT_MS: i32 = 100;

/// How many of the client's keys may wait to be applied; more are dropped.
const KEYS_WAITING: usize = 4;

/// Which of a client's two connections a listener takes.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Connection {
    /// The driving video in.
    Uplink,
    /// The animation out.
    Downlink,
}

/// Who is being served. A caller is admitted when its handshake arrives, before libsrt checks its
/// passphrase, so the session only belongs to a client once one of its connections is up.
#[derive(Default)]
struct Session {
    /// Stream ids of the handshakes admitted, by address, until their connection is up.
    admitted: HashMap<String, String>,
    /// The client served: its stream id (the same on both its connections) and address.
    client: Option<(String, String)>,
    /// Set once the client's uplink has gone: the session is over.
    ended: bool,
    /// Hosts told they were refused (a refused client retries every second).
    refused: std::collections::HashSet<String>,
    /// When the client's video connection came up.
    uplink_since: Option<Instant>,
    /// When the client's animation connection came up.
    downlink_since: Option<Instant>,
}

impl Session {
    /// Why the client's session must end at `now`, whatever its connections say: its video
    /// stopped (`last_video`: when the last packet came) or its other connection never came.
    fn stale(&self, last_video: Option<Instant>, now: Instant) -> Option<String> {
        self.client.as_ref()?;
        let first = match (self.uplink_since, self.downlink_since) {
            (Some(up), Some(down)) => up.min(down),
            (Some(at), None) | (None, Some(at)) => at,
            (None, None) => return None,
        };
        let missing = match (self.uplink_since, self.downlink_since) {
            (None, _) => Some("video"),
            (_, None) => Some("animation"),
            _ => None,
        };
        if let Some(missing) = missing {
            if now.duration_since(first) >= PAIRING {
                return Some(format!(
                    "its {missing} connection did not come within {} s of the other",
                    PAIRING.as_secs()
                ));
            }
        }
        let uplink_since = self.uplink_since?;
        let (quiet_since, allowed) = match last_video {
            Some(at) => (at.max(uplink_since), UPLINK_SILENCE),
            None => (uplink_since, FIRST_VIDEO),
        };
        (now.duration_since(quiet_since) >= allowed)
            .then(|| format!("no video came from it for {} s", allowed.as_secs()))
    }
}

/// Lets one client in and refuses others while it is served: both connections (the driving
/// video and the animation) must carry the same stream id, which the client makes up per run.
fn admit_one_client(
    listener: &gst::Element,
    connection: Connection,
    session: Arc<Mutex<Session>>,
    events: Sender<String>,
) {
    // Without it the SRT elements let every caller in without asking.
    listener.set_property("authentication", true);
    {
        let session = session.clone();
        let events = events.clone();
        listener.connect("caller-connecting", false, move |args| {
            let address = socket_address(args.get(1));
            let stream_id = args
                .get(2)
                .and_then(|a| a.get::<Option<String>>().ok())
                .flatten()
                .unwrap_or_default();
            let mut session = session.lock().unwrap();
            let admitted = match &session.client {
                _ if session.ended => false,
                None => true,
                Some((id, _)) => *id == stream_id,
            };
            if admitted {
                session.admitted.insert(address, stream_id);
            } else if let Some((_, serving)) = session.client.clone() {
                let host = address
                    .rsplit_once(':')
                    .map_or(address.as_str(), |(host, _)| host);
                if session.refused.insert(host.to_owned()) {
                    let _ = events.send(format!(
                        "refused {address}: serving {serving}, one client at a time"
                    ));
                }
            }
            Some(admitted.to_value())
        });
    }
    listener.connect("caller-added", false, move |args| {
        let address = socket_address(args.get(2));
        let mut session = session.lock().unwrap();
        let stream_id = session.admitted.remove(&address).unwrap_or_default();
        // Only the served client's connections count (two callers may both have been admitted
        // while nobody was served: the first one up is the client).
        if session
            .client
            .as_ref()
            .is_some_and(|(client, _)| *client != stream_id)
        {
            return None;
        }
        let since = match connection {
            Connection::Uplink => &mut session.uplink_since,
            Connection::Downlink => &mut session.downlink_since,
        };
        since.get_or_insert_with(Instant::now);
        if session.client.is_none() {
            let _ = events.send(format!("client {address} connected"));
            session.client = Some((stream_id, address));
        }
        None
    });
}

/// A client's address, from a signal's GSocketAddress argument.
fn socket_address(value: Option<&gst::glib::Value>) -> String {
    value
        .and_then(|a| a.get::<gio::SocketAddress>().ok())
        .map(|a| describe_address(&a))
        .unwrap_or_else(|| "an unknown address".into())
}

fn describe_address(address: &gio::SocketAddress) -> String {
    match address.downcast_ref::<gio::InetSocketAddress>() {
        Some(inet) => format!("{}:{}", inet.address(), inet.port()),
        None => "an unknown address".into(),
    }
}

/// How `serve` runs.
pub struct ServeOptions {
    /// The portrait (or folder of them) the server starts with, which n and p cycle through.
    /// What n and p cycle through.
    pub choices: crate::keys::Choices,
    pub port: u16,
    /// Stop after this long (tests).
    pub duration: Option<Duration>,
}

/// Serves clients one after the other until Ctrl-C (or the duration): each session gets a fresh
/// pipeline from `build`, so that nothing of one client's stream (timestamps, decoder state,
/// the tracker's calibration) reaches the next.
pub fn serve(
    build: impl Fn() -> Result<gst::Pipeline, String>,
    options: &ServeOptions,
) -> Result<(), String> {
    let interrupts = crate::signals::interrupts();
    let started = Instant::now();
    let end = options.duration.map_or_else(crossbeam_channel::never, |d| {
        crossbeam_channel::at(started + d)
    });
    // Kept across clients: the next one sees the portrait the last one left.
    let mut animation_keys = AnimationKeys::new(&options.choices);
    let mut first = true;
    loop {
        let pipeline = build()?;
        let session = Arc::new(Mutex::new(Session::default()));
        let (events, event_receiver) = unbounded::<String>();
        let uplink = named(&pipeline, names::UPLINK)?;
        let downlink = named(&pipeline, names::DOWNLINK)?;
        // With libsrt's endless wait, the video's listener cannot stop while its caller keeps
        // the connection open and sends nothing: the pipeline's teardown would wait for that
        // caller. (The animation's listener only writes: it never waits for its caller.)
        uplink.set_property("poll-timeout", POLL_TIMEOUT_MS);
        admit_one_client(&uplink, Connection::Uplink, session.clone(), events.clone());
        admit_one_client(
            &downlink,
            Connection::Downlink,
            session.clone(),
            events.clone(),
        );
        // When the client's video last came, straight from the network.
        let last_video: Arc<Mutex<Option<Instant>>> = Arc::default();
        {
            let last_video = last_video.clone();
            pad(&uplink, "src")?.add_probe(
                gst::PadProbeType::BUFFER | gst::PadProbeType::BUFFER_LIST,
                move |_, _| {
                    *last_video.lock().unwrap() = Some(Instant::now());
                    gst::PadProbeReturn::Ok
                },
            );
        }
        let (ended_sender, ended) = unbounded::<()>();
        {
            let session = session.clone();
            let ended_sender = ended_sender.clone();
            uplink.connect("caller-removed", false, move |_| {
                session.lock().unwrap().ended = true;
                let _ = ended_sender.send(());
                None
            });
        }
        {
            // The animation's connection gone while video still comes in: nobody sees the
            // animation, so the session ends too (the client reconnects on a fresh pipeline).
            let session = session.clone();
            downlink.connect("caller-removed", false, move |_| {
                session.lock().unwrap().ended = true;
                let _ = ended_sender.send(());
                None
            });
        }
        // Capture times in, echoed on the frame made from each; keys in.
        let captured = Arc::new(CaptureTimes::default());
        // A few keys waiting at most: a person presses no more, and a flood of them (a portrait
        // to load for each) must not keep this loop from the session's checks.
        let (keys_sender, keys) = bounded::<Command>(KEYS_WAITING);
        {
            let captured = captured.clone();
            let parse = named(&pipeline, names::UPLINK_PARSE)?;
            receive_in_frames(&pad(&parse, "src")?, move |running, messages| {
                for message in messages {
                    match message {
                        Message::Captured(ns) => captured.insert(running, ns),
                        Message::Key(command) => {
                            let _ = keys_sender.try_send(command);
                        }
                        Message::State(_) => {}
                    }
                }
            });
        }
        // The chain keeps each frame's running time from the decoder to the encoder.
        let encoder = named(&pipeline, names::ENCODER)?;
        let state: Arc<Mutex<Option<String>>> = Arc::default();
        {
            let state = state.clone();
            send_in_frames(&pad(&encoder, "src")?, move |running| {
                let mut messages: Vec<Message> = captured
                    .get(running)
                    .map(Message::Captured)
                    .into_iter()
                    .collect();
                messages.extend(state.lock().unwrap().take().map(Message::State));
                messages
            });
        }
        let mut avatar = AvatarReport::new(&pipeline);
        let animate = pipeline.by_name(names::ANIMATE);
        if let Some(animate) = &animate {
            animation_keys.restore(animate);
        }
        let bus = pipeline.bus().expect("pipelines have a bus");
        let messages = match play(&pipeline) {
            Ok(messages) => messages,
            Err(error) => {
                pipeline.set_state(gst::State::Null).ok();
                bus.unset_sync_handler();
                return Err(error);
            }
        };
        if first {
            for line in networks(&pipeline) {
                eprintln!("{line}");
            }
            eprintln!(
                "waiting for a client on UDP ports {} (video in) and {} (animation out)",
                options.port,
                options.port + 1
            );
        }
        first = false;
        let seconds = tick(Duration::from_secs(1));
        let checks = tick(Duration::from_millis(250));
        let outcome = loop {
            select! {
                recv(end) -> _ => break Some(Ok(())),
                recv(interrupts) -> _ => break Some(Ok(())),
                recv(ended) -> _ => break None,
                recv(event_receiver) -> event => {
                    if let Ok(event) = event {
                        eprintln!("{event}");
                    }
                }
                recv(keys) -> command => {
                    let (Some(animate), Ok(command)) = (&animate, command) else { continue };
                    match animation_keys.apply(animate, command) {
                        Some(KeyEffect::Recalibrated) => eprintln!("client: recalibrate"),
                        Some(KeyEffect::Portrait(path)) => {
                            eprintln!("client: portrait {}", path.display())
                        }
                        Some(KeyEffect::Style(name)) => eprintln!("client: style {name}"),
                        None => {}
                    }
                }
                recv(messages) -> message => {
                    let Ok(message) = message else { break None };
                    match message.view() {
                        // The client's stream ended (it stopped, or its connection broke).
                        gst::MessageView::Eos(..) => break None,
                        gst::MessageView::Error(error) => {
                            eprintln!("session ended: {}", describe_error(error));
                            break None;
                        }
                        _ => {}
                    }
                }
                // The client's status line says what the avatar does, as it would locally.
                recv(seconds) -> _ => *state.lock().unwrap() = avatar.since_last(),
                recv(checks) -> _ => {
                    let last_video = *last_video.lock().unwrap();
                    let mut session = session.lock().unwrap();
                    if let Some(reason) = session.stale(last_video, Instant::now()) {
                        // No one else gets in before the next pipeline.
                        session.ended = true;
                        eprintln!("session ended: {reason}");
                        break None;
                    }
                }
            }
        };
        pipeline.set_state(gst::State::Null).ok();
        bus.unset_sync_handler();
        let client = session.lock().unwrap().client.clone();
        if let Some((_, address)) = client {
            eprintln!("client {address} left: waiting for the next");
        }
        if let Some(result) = outcome {
            return result;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serving(uplink: Option<Instant>, downlink: Option<Instant>) -> Session {
        Session {
            client: Some(("run-1".into(), "127.0.0.1:5000".into())),
            uplink_since: uplink,
            downlink_since: downlink,
            ..Session::default()
        }
    }

    #[test]
    fn a_session_ends_when_its_video_stops_or_its_other_connection_never_comes() {
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        // No one served: nothing to end.
        assert_eq!(Session::default().stale(None, at(60_000)), None);
        // Both connections up, video flowing: kept however long it lasts.
        let both = serving(Some(start), Some(at(100)));
        assert_eq!(both.stale(Some(at(59_000)), at(60_000)), None);
        // The video stopped: ended once it has been silent for UPLINK_SILENCE, not before.
        assert_eq!(both.stale(Some(at(1_000)), at(4_900)), None);
        assert!(both
            .stale(Some(at(1_000)), at(5_000))
            .unwrap()
            .contains("no video"));
        // Connected, and no video ever came: a camera may take a while to open.
        assert_eq!(both.stale(None, at(9_900)), None);
        assert!(both.stale(None, at(10_000)).unwrap().contains("no video"));
        // The video connection alone (a stock sender), however busy it is.
        let uplink_only = serving(Some(start), None);
        assert_eq!(uplink_only.stale(Some(at(3_900)), at(3_900)), None);
        assert!(uplink_only
            .stale(Some(at(4_000)), at(4_000))
            .unwrap()
            .contains("animation connection did not come"));
        let downlink_only = serving(None, Some(start));
        assert!(downlink_only
            .stale(None, at(4_000))
            .unwrap()
            .contains("video connection did not come"));
    }
}
