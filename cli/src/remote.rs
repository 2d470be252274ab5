//! Remote GPU: `animecam serve` runs the animation for one client at a time; `--remote` on the
//! live commands is that client. Video goes both ways as H.264 in MPEG-TS over SRT (encrypted,
//! with retransmission and a bounded latency). Inside the video, as SEI user data of each frame,
//! travel the client's keys and the frame's capture time, which the server puts back into the
//! frame it made from it, so that the client measures glass-to-glass latency on its own clock.
//! In the frames rather than in a stream of their own because the muxer would hold each frame
//! until the other stream's next buffer came (a frame more each way), and because a key then
//! reaches the server with the face it was pressed with.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::{select, tick, unbounded, Sender};
use gio::prelude::*;
use gst::prelude::*;

use crate::live::{running_time, AnimationKeys, Command, KeyEffect};

pub const SERVE: &str = include_str!("../../pipelines/serve.gst");
/// The readable form of `webcam --remote` (checked against what the CLI builds).
#[cfg(test)]
pub const REMOTE: &str = include_str!("../../pipelines/remote.gst");

/// The local tracking and animation of the live descriptions, which the remote link replaces.
pub const LOCAL_CHAIN: &str = "facetrack ! queue leaky=downstream max-size-buffers=1 ! ";

/// The passphrase of both descriptions; `--insecure` removes it.
pub const PASSPHRASE_SETTING: &str = " passphrase=${PASSPHRASE:?set PASSPHRASE: the same 10 to 79 characters on the server and its clients} pbkeylen=32";

/// The client's half of the link, in place of the tracking and the animation: the camera,
/// scaled and encoded, to the server; the animation back, decoded. The description continues
/// after it with the output of the command (window, virtual camera or stream).
const CLIENT_LINK: &str = "videoscale add-borders=true ! video/x-raw,width=640,height=480,pixel-aspect-ratio=1/1 ! \
     queue leaky=downstream max-size-buffers=1 ! videoconvert ! video/x-raw,format=I420 ! \
     openh264enc name=uplink-encoder complexity=low rate-control=bitrate bitrate=2000000 gop-size=30 ! \
     h264parse config-interval=-1 ! mpegtsmux name=uplink-mux alignment=7 latency=0 ! \
     srtsink name=uplink uri=srt://${SERVER:?set SERVER to the host animecam serve runs on}:${SERVER_PORT:-7000} streamid=${SESSION:-animecam} latency=${LATENCY:-120} passphrase=${PASSPHRASE:?set PASSPHRASE: the same 10 to 79 characters on the server and its clients} pbkeylen=32 sync=false \
     srtsrc name=downlink uri=srt://${SERVER:?set SERVER to the host animecam serve runs on}:${RETURN_PORT:-7001} streamid=${SESSION:-animecam} latency=${LATENCY:-120} passphrase=${PASSPHRASE:?set PASSPHRASE: the same 10 to 79 characters on the server and its clients} pbkeylen=32 ! \
     tsdemux latency=0 ! video/x-h264,alignment=au ! h264parse name=downlink-parse ! video/x-h264,stream-format=byte-stream ! avdec_h264 thread-type=slice ! \
     queue leaky=downstream max-size-buffers=1 ! ";

/// A live description (webcam, virtualcam or stream, comments dropped and lines joined) with the
/// tracking and the animation replaced by the link to the server.
pub fn client_description(local: &str, insecure: bool) -> Result<String, String> {
    let flat = crate::pipeline::flatten(local);
    let start = flat
        .find(LOCAL_CHAIN)
        .ok_or("the description has no tracking and animation to run remotely")?;
    let end = flat[start..]
        .find(crate::pipeline::WARP_CHAIN)
        .map(|at| start + at + crate::pipeline::WARP_CHAIN.len())
        .ok_or("the description has no animation to run remotely")?;
    // After the animation comes " ! <output>": the link ends with its leaky queue's " ! ".
    let rest = flat[end..]
        .trim_start()
        .trim_start_matches('!')
        .trim_start();
    let text = format!("{}{CLIENT_LINK}{rest}", &flat[..start]);
    Ok(if insecure {
        text.replace(PASSPHRASE_SETTING, "")
    } else {
        text
    })
}

/// The server's description with the chosen mode's chain.
pub fn server_description(mode: crate::pipeline::Mode, insecure: bool) -> String {
    let text = crate::pipeline::customise(SERVE, mode, None, false);
    if insecure {
        text.replace(PASSPHRASE_SETTING, "")
    } else {
        text
    }
}

/// The server's address as SRT should call it: an IPv4 address when the name has one, as
/// `serve` listens on IPv4 (libsrt would take the first address, which for `localhost` is often
/// IPv6's ::1, where nothing listens).
pub fn resolve(host: &str, port: u16) -> Result<String, String> {
    use std::net::ToSocketAddrs;
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addresses: Vec<std::net::SocketAddr> = (bare, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot find the server {host}: {e}"))?
        .collect();
    let chosen = addresses
        .iter()
        .find(|a| a.is_ipv4())
        .or_else(|| addresses.first())
        .ok_or_else(|| format!("cannot find the server {host}: the name has no address"))?;
    Ok(match chosen.ip() {
        std::net::IpAddr::V4(ip) => ip.to_string(),
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
    })
}

/// SRT's rule for passphrases, in bytes (libsrt refuses the connection otherwise).
pub fn check_passphrase(passphrase: &str) -> Result<(), String> {
    match passphrase.len() {
        10..=79 => Ok(()),
        n => Err(format!(
            "the passphrase has {n} bytes: SRT needs 10 to 79 (characters, when they are ASCII), \
             the same on the server and its clients"
        )),
    }
}

/// The UUID of our SEI messages (user data unregistered): 16 bytes, none of them zero, so that
/// the NAL needs no emulation prevention.
const SEI_UUID: &[u8; 16] = b"animecam/remote1";

/// What travels inside the video: keys up, capture times both ways.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// The capture time of this frame, in the client's running time (ns).
    Captured(u64),
    Key(Command),
    /// What the avatar did in the server's last second, as the status line says it.
    State(String),
}

impl Message {
    fn text(&self) -> String {
        match self {
            Message::Captured(ns) => format!("captured {ns}"),
            Message::Key(Command::Recalibrate) => "key recalibrate".into(),
            Message::Key(Command::NextPortrait) => "key next".into(),
            Message::Key(Command::PreviousPortrait) => "key previous".into(),
            Message::Key(Command::Quit) => "key quit".into(),
            // The separator and anything that is not printable ASCII cannot travel.
            Message::State(state) => format!(
                "state {}",
                state
                    .chars()
                    .filter(|c| c.is_ascii_graphic() && *c != ';' || *c == ' ')
                    .collect::<String>()
            ),
        }
    }

    fn parse(text: &str) -> Option<Message> {
        let (kind, value) = text.split_once(' ')?;
        match (kind, value) {
            ("captured", ns) => ns.parse().ok().map(Message::Captured),
            ("key", "recalibrate") => Some(Message::Key(Command::Recalibrate)),
            ("key", "next") => Some(Message::Key(Command::NextPortrait)),
            ("key", "previous") => Some(Message::Key(Command::PreviousPortrait)),
            ("state", state) => Some(Message::State(state.to_owned())),
            _ => None,
        }
    }
}

/// The NAL units of an H.264 byte stream: (start of the start code, start of the NAL).
fn nal_units(stream: &[u8]) -> Vec<(usize, usize)> {
    let mut units = Vec::new();
    let mut at = 0;
    while at + 3 <= stream.len() {
        if stream[at] == 0 && stream[at + 1] == 0 && stream[at + 2] == 1 {
            let code = if at > 0 && stream[at - 1] == 0 {
                at - 1
            } else {
                at
            };
            units.push((code, at + 3));
            at += 3;
        } else {
            at += 1;
        }
    }
    units
}

/// An access unit (H.264 byte stream) with an SEI NAL carrying `messages` placed before its
/// first slice, where the standard wants SEI. Decoders skip user data they do not know.
pub fn with_messages(access_unit: &[u8], messages: &[Message]) -> Vec<u8> {
    let text = messages
        .iter()
        .map(Message::text)
        .collect::<Vec<_>>()
        .join(";");
    let mut sei = vec![0, 0, 0, 1, 0x06, 0x05];
    let mut size = SEI_UUID.len() + text.len();
    while size >= 255 {
        sei.push(0xff);
        size -= 255;
    }
    sei.push(size as u8);
    sei.extend_from_slice(SEI_UUID);
    // Text has no zero byte: no emulation prevention needed.
    sei.extend(text.bytes().filter(|byte| *byte != 0));
    sei.push(0x80);
    let first_slice = nal_units(access_unit)
        .into_iter()
        .find(|(_, nal)| matches!(access_unit.get(*nal).map(|h| h & 0x1f), Some(1 | 5)))
        .map_or(access_unit.len(), |(code, _)| code);
    let mut unit = Vec::with_capacity(access_unit.len() + sei.len());
    unit.extend_from_slice(&access_unit[..first_slice]);
    unit.extend_from_slice(&sei);
    unit.extend_from_slice(&access_unit[first_slice..]);
    unit
}

/// The messages in an access unit's SEI NALs with our UUID; anything else is skipped.
pub fn messages_in(access_unit: &[u8]) -> Vec<Message> {
    let units = nal_units(access_unit);
    let mut messages = Vec::new();
    for (index, (_, nal)) in units.iter().enumerate() {
        if access_unit.get(*nal).map(|h| h & 0x1f) != Some(6) {
            continue;
        }
        let end = units
            .get(index + 1)
            .map_or(access_unit.len(), |(code, _)| *code);
        // Emulation prevention removed: 00 00 03 -> 00 00.
        let mut payload = Vec::with_capacity(end - nal);
        for &byte in &access_unit[nal + 1..end] {
            if byte == 3 && payload.ends_with(&[0, 0]) {
                continue;
            }
            payload.push(byte);
        }
        let mut rest = payload.as_slice();
        while rest.len() > 2 {
            let mut read = || {
                let mut value = 0usize;
                while let Some((&byte, tail)) = rest.split_first() {
                    rest = tail;
                    value += byte as usize;
                    if byte != 0xff {
                        return Some(value);
                    }
                }
                None
            };
            let (Some(kind), Some(size)) = (read(), read()) else {
                break;
            };
            if size > rest.len() {
                break;
            }
            let (body, tail) = rest.split_at(size);
            if kind == 5 && body.starts_with(SEI_UUID) {
                if let Ok(text) = std::str::from_utf8(&body[SEI_UUID.len()..]) {
                    messages.extend(text.split(';').filter_map(Message::parse));
                }
            }
            rest = tail;
            // What is left is the trailing bits (0x80) or the next message.
            if rest.first() == Some(&0x80) && rest.len() == 1 {
                break;
            }
        }
    }
    messages
}

/// Capture times by the running time of the frame they came in (not its timestamp: some
/// encoders, x264enc for one, move timestamps and their segment together); the latest few.
#[derive(Default)]
pub struct CaptureTimes(Mutex<VecDeque<(gst::ClockTime, u64)>>);

impl CaptureTimes {
    const KEPT: usize = 256;

    pub fn insert(&self, running: gst::ClockTime, captured_ns: u64) {
        let mut times = self.0.lock().unwrap();
        if times.len() == Self::KEPT {
            times.pop_front();
        }
        times.push_back((running, captured_ns));
    }

    pub fn get(&self, running: gst::ClockTime) -> Option<u64> {
        let times = self.0.lock().unwrap();
        times
            .iter()
            .rev()
            .find(|(at, _)| *at == running)
            .map(|(_, captured)| *captured)
    }
}

/// Puts `messages(running time)` into each encoded frame leaving `pad` (an encoder's output),
/// as an SEI NAL.
fn send_in_frames(
    pad: &gst::Pad,
    messages: impl Fn(gst::ClockTime) -> Vec<Message> + Send + Sync + 'static,
) {
    pad.add_probe(gst::PadProbeType::BUFFER, move |pad, info| {
        let Some(gst::PadProbeData::Buffer(buffer)) = info.data.as_mut() else {
            return gst::PadProbeReturn::Ok;
        };
        let Some(running) = running_time(pad, buffer) else {
            return gst::PadProbeReturn::Ok;
        };
        // Annex B start codes only: in length-prefixed (avc) H.264 the SEI would break the frame.
        let byte_stream = pad.current_caps().is_some_and(|caps| {
            caps.structure(0)
                .and_then(|s| s.get::<&str>("stream-format").ok())
                .is_none_or(|format| format == "byte-stream")
        });
        let messages = messages(running);
        if messages.is_empty() || !byte_stream {
            return gst::PadProbeReturn::Ok;
        }
        let Ok(map) = buffer.map_readable() else {
            return gst::PadProbeReturn::Ok;
        };
        let mut marked = gst::Buffer::from_mut_slice(with_messages(&map, &messages));
        drop(map);
        {
            let marked = marked.get_mut().expect("a new buffer is writable");
            let _ = buffer.copy_into(
                marked,
                gst::BufferCopyFlags::FLAGS
                    | gst::BufferCopyFlags::TIMESTAMPS
                    | gst::BufferCopyFlags::META,
                ..,
            );
        }
        *buffer = marked;
        gst::PadProbeReturn::Ok
    });
}

/// Calls `each` with the running time and the messages of every encoded frame passing `pad`.
fn receive_in_frames(
    pad: &gst::Pad,
    each: impl Fn(gst::ClockTime, Vec<Message>) + Send + Sync + 'static,
) {
    pad.add_probe(gst::PadProbeType::BUFFER, move |pad, info| {
        if let Some(buffer) = info.buffer() {
            if let (Some(running), Ok(map)) = (running_time(pad, buffer), buffer.map_readable()) {
                let messages = messages_in(&map);
                if !messages.is_empty() {
                    each(running, messages);
                }
            }
        }
        gst::PadProbeReturn::Ok
    });
}

/// The largest SRT payload: 7 MPEG-TS packets (libsrt's default payload size, 1316 bytes).
const SRT_PAYLOAD: usize = 7 * 188;

/// Sends each frame's MPEG-TS packets as soon as the muxer makes them. With alignment=7 (what
/// the descriptions say, so that they work in gst-launch too), the muxer keeps a frame's last
/// packets until the next buffer on any of its inputs completes seven, which in a live stream is
/// the next frame: 33 ms more each way at 30 fps. With alignment=1 it pushes every packet of a
/// frame at once as one buffer list, which this probe packs into SRT-sized buffers (one packet
/// per SRT message would be paced by SRT and arrive later still).
pub fn pack_for_srt(mux: &gst::Element) {
    mux.set_property("alignment", 1i32);
    let Some(pad) = mux.static_pad("src") else {
        return;
    };
    pad.add_probe(gst::PadProbeType::BUFFER_LIST, |_, info| {
        let Some(gst::PadProbeData::BufferList(list)) = info.data.as_mut() else {
            return gst::PadProbeReturn::Ok;
        };
        let mut packed = gst::BufferList::new_sized(list.len() * 188 / SRT_PAYLOAD + 1);
        {
            let packed = packed.get_mut().expect("a new list is writable");
            let mut chunk: Vec<u8> = Vec::with_capacity(SRT_PAYLOAD);
            let mut pts = None;
            let mut flush = |chunk: &mut Vec<u8>, pts: Option<gst::ClockTime>| {
                let mut buffer = gst::Buffer::from_slice(std::mem::replace(
                    chunk,
                    Vec::with_capacity(SRT_PAYLOAD),
                ));
                buffer
                    .get_mut()
                    .expect("a new buffer is writable")
                    .set_pts(pts);
                packed.add(buffer);
            };
            for buffer in list.iter() {
                let Ok(map) = buffer.map_readable() else {
                    continue;
                };
                if chunk.is_empty() {
                    pts = buffer.pts();
                }
                if chunk.len() + map.len() > SRT_PAYLOAD && !chunk.is_empty() {
                    flush(&mut chunk, pts);
                    pts = buffer.pts();
                }
                chunk.extend_from_slice(&map);
            }
            if !chunk.is_empty() {
                flush(&mut chunk, pts);
            }
        }
        *list = packed;
        gst::PadProbeReturn::Ok
    });
}

fn static_pad(element: &gst::Element, name: &str) -> Result<gst::Pad, String> {
    element
        .static_pad(name)
        .ok_or_else(|| format!("{} has no {name} pad", element.name()))
}

fn element<T: IsA<gst::Element>>(pipeline: &gst::Pipeline, name: &str) -> Result<T, String> {
    pipeline
        .by_name(name)
        .and_then(|element| element.downcast::<T>().ok())
        .ok_or_else(|| format!("the remote description has no {name} element of the right kind"))
}

/// The client's end of the messages: keys to send, and the capture times echoed back.
pub struct ClientLink {
    keys: Mutex<Vec<Command>>,
    echoed: CaptureTimes,
    /// The avatar's state the server last sent, taken by the status line.
    server_state: Mutex<Option<String>>,
    pub watch: Arc<LinkWatch>,
}

impl ClientLink {
    /// Wires a client pipeline built from [`client_description`].
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
        for sink in pipeline.iterate_sinks().into_iter().flatten() {
            if sink.has_property("async") {
                sink.set_property("async", false);
            }
        }
        let encoder: gst::Element = element(pipeline, "uplink-encoder")?;
        let sending = link.clone();
        // A frame's running time at the encoder is its capture time: the camera stamps it so.
        send_in_frames(&static_pad(&encoder, "src")?, move |running| {
            let mut messages = vec![Message::Captured(running.nseconds())];
            messages.extend(sending.keys.lock().unwrap().drain(..).map(Message::Key));
            messages
        });
        let parse: gst::Element = element(pipeline, "downlink-parse")?;
        let receiving = link.clone();
        receive_in_frames(&static_pad(&parse, "src")?, move |running, messages| {
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

    /// What the server said the avatar did in its last second, once.
    pub fn server_state(&self) -> Option<String> {
        self.server_state.lock().unwrap().take()
    }

    /// Sends a key with the next frame.
    pub fn send(&self, command: Command) {
        self.keys.lock().unwrap().push(command);
    }

    /// When the frame shown at this running time (made by the server) was captured, in this
    /// pipeline's running time.
    pub fn captured(&self, running: gst::ClockTime) -> Option<gst::ClockTime> {
        self.echoed.get(running).map(gst::ClockTime::from_nseconds)
    }
}

/// A description with its passphrase hidden, for error messages.
pub fn redact_passphrase(description: &str) -> String {
    let mut redacted = String::with_capacity(description.len());
    let mut rest = description;
    while let Some(at) = rest.find("passphrase=") {
        let value = &rest[at + "passphrase=".len()..];
        redacted.push_str(&rest[..at]);
        redacted.push_str("passphrase=(hidden)");
        // The value ends at the first space the parser does not read as escaped.
        let mut end = value.len();
        let mut escaped = false;
        for (index, character) in value.char_indices() {
            match character {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                ' ' => {
                    end = index;
                    break;
                }
                _ => {}
            }
        }
        rest = &value[end..];
    }
    redacted.push_str(rest);
    redacted
}

/// How long a refused client keeps trying: longer than a server takes to notice that the
/// previous client vanished (SRT's peer idle timeout, 5 s), so that a client restarted at once
/// gets in.
const REFUSED_PATIENCE: Duration = Duration::from_secs(15);

/// What the client makes of its SRT elements' complaints.
#[derive(Debug, PartialEq)]
pub enum Verdict {
    /// Not about the link: show it as it is.
    Show,
    /// Handled (said once in the user's terms, or not worth repeating).
    Quiet,
    /// Give up with this error.
    Stop(String),
}

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
        if !(message.contains("uplink") || message.contains("downlink")) {
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
    options: crate::live::LiveOptions,
) -> Result<Option<crate::live::LiveStats>, String> {
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
            return Err(format!(
                "no picture came back from the server at {server} in {:.0} s: is `animecam \
                 serve` running there, with this passphrase (or --insecure on both ends)?",
                started.elapsed().as_secs_f64()
            ));
        }
        let attempt = crate::live::LiveOptions {
            portrait: None,
            duration: remaining,
            quiet: options.quiet,
            status: if first {
                options.status.clone()
            } else {
                String::new()
            },
            remote: Some(link),
        };
        first = false;
        let error = match crate::live::run_live(&pipeline, &attempt) {
            Ok(stats) if stats.frames == 0 && !watch.state.lock().unwrap().ever_connected => {
                return Err(format!(
                    "no picture came back from the server at {server} in {:.0} s: is `animecam \
                     serve` running there, with this passphrase (or --insecure on both ends)?",
                    started.elapsed().as_secs_f64()
                ))
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
}

/// Lets one client in and refuses others while it is served: both connections (the driving
/// video and the animation) must carry the same stream id, which the client makes up per run.
fn admit_one_client(listener: &gst::Element, session: Arc<Mutex<Session>>, events: Sender<String>) {
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
    pub portrait: Option<std::path::PathBuf>,
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
    let mut animation_keys = AnimationKeys::new(options.portrait.as_deref());
    let mut first = true;
    loop {
        let pipeline = build()?;
        let session = Arc::new(Mutex::new(Session::default()));
        let (events, event_receiver) = unbounded::<String>();
        let uplink: gst::Element = element(&pipeline, "uplink")?;
        let downlink: gst::Element = element(&pipeline, "downlink")?;
        admit_one_client(&uplink, session.clone(), events.clone());
        admit_one_client(&downlink, session.clone(), events.clone());
        let (ended_sender, ended) = unbounded::<()>();
        {
            let session = session.clone();
            uplink.connect("caller-removed", false, move |_| {
                session.lock().unwrap().ended = true;
                let _ = ended_sender.send(());
                None
            });
        }
        // Capture times in, echoed on the frame made from each; keys in.
        let captured = Arc::new(CaptureTimes::default());
        let (keys_sender, keys) = unbounded::<Command>();
        {
            let captured = captured.clone();
            let parse: gst::Element = element(&pipeline, "uplink-parse")?;
            receive_in_frames(&static_pad(&parse, "src")?, move |running, messages| {
                for message in messages {
                    match message {
                        Message::Captured(ns) => captured.insert(running, ns),
                        Message::Key(command) => {
                            let _ = keys_sender.send(command);
                        }
                        Message::State(_) => {}
                    }
                }
            });
        }
        // The chain keeps each frame's running time from the decoder to the encoder.
        let encoder: gst::Element = element(&pipeline, "encoder")?;
        let state: Arc<Mutex<Option<String>>> = Arc::default();
        {
            let state = state.clone();
            send_in_frames(&static_pad(&encoder, "src")?, move |running| {
                let mut messages: Vec<Message> = captured
                    .get(running)
                    .map(Message::Captured)
                    .into_iter()
                    .collect();
                messages.extend(state.lock().unwrap().take().map(Message::State));
                messages
            });
        }
        let mut avatar = crate::live::AvatarReport::new(&pipeline);
        let animate = pipeline.by_name("animate");
        if let (Some(animate), Some(path)) = (&animate, animation_keys.portrait()) {
            if animate.has_property("source") {
                animate.set_property("source", path.to_string_lossy().to_string());
            }
        }
        let bus = pipeline.bus().expect("pipelines have a bus");
        let messages = match crate::live::play(&pipeline) {
            Ok(messages) => messages,
            Err(error) => {
                pipeline.set_state(gst::State::Null).ok();
                bus.unset_sync_handler();
                return Err(error);
            }
        };
        if first {
            for line in crate::live::networks(&pipeline) {
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
                        None => {}
                    }
                }
                recv(messages) -> message => {
                    let Ok(message) = message else { break None };
                    match message.view() {
                        // The client's stream ended (it stopped, or its connection broke).
                        gst::MessageView::Eos(..) => break None,
                        gst::MessageView::Error(error) => {
                            eprintln!("session ended: {}", crate::live::describe_error(error));
                            break None;
                        }
                        _ => {}
                    }
                }
                // The client's status line says what the avatar does, as it would locally.
                recv(seconds) -> _ => *state.lock().unwrap() = avatar.since_last(),
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

    /// An access unit as openh264 writes one: SPS, PPS, then an IDR slice.
    fn access_unit() -> Vec<u8> {
        let mut unit = vec![0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1f, 0x8c];
        unit.extend_from_slice(&[0, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80]);
        unit.extend_from_slice(&[0, 0, 1, 0x65, 0x88, 0x84, 0x00, 0x00, 0x03, 0x01, 0x2f]);
        unit
    }

    #[test]
    fn messages_travel_in_an_sei_before_the_first_slice() {
        let messages = [
            Message::Captured(1_234_567_890_123),
            Message::Key(Command::Recalibrate),
            Message::Key(Command::NextPortrait),
            Message::Key(Command::PreviousPortrait),
            Message::State("animating (FOMM 1.7 fps, camera 30 fps)".into()),
        ];
        let original = access_unit();
        let marked = with_messages(&original, &messages);
        assert_eq!(messages_in(&marked), messages);
        // The SEI sits right before the slice; the NALs around it are untouched.
        let slice = marked.len() - 11;
        assert_eq!(marked[slice..], original[original.len() - 11..]);
        assert_eq!(marked[..17], original[..17]);
        assert_eq!(marked[17..23], [0, 0, 0, 1, 0x06, 0x05]);
        assert_eq!(marked[slice - 1], 0x80);
        // No messages in a plain access unit, nor in someone else's SEI.
        assert!(messages_in(&original).is_empty());
        let mut foreign = original.clone();
        foreign.splice(
            17..17,
            [0, 0, 0, 1, 0x06, 0x05, 17]
                .into_iter()
                .chain(*b"x264 0123456789ab=")
                .chain([0x80]),
        );
        assert!(messages_in(&foreign).is_empty());
    }

    #[test]
    fn a_long_sei_keeps_its_messages() {
        // Over 255 bytes the SEI size takes several bytes.
        let messages: Vec<Message> = (0..40)
            .map(|n| Message::Captured(n * 1_000_000_007))
            .collect();
        assert_eq!(
            messages_in(&with_messages(&access_unit(), &messages)),
            messages
        );
    }

    #[test]
    fn the_client_description_replaces_tracking_and_animation_with_the_link() {
        let text = client_description(crate::pipeline::WEBCAM, false).unwrap();
        assert!(!text.contains("facetrack") && !text.contains("fommanimate"));
        assert!(text.starts_with("v4l2src"));
        assert!(text.contains("avdec_h264 thread-type=slice ! queue leaky=downstream max-size-buffers=1 ! videoconvert ! autovideosink"));
        // The readable remote.gst is what `webcam --remote` runs, but for the async=false the
        // CLI sets on every sink itself.
        assert_eq!(
            text,
            crate::pipeline::flatten(REMOTE).replace(" async=false", "")
        );
        let insecure = client_description(crate::pipeline::STREAM, true).unwrap();
        assert!(
            !insecure.contains("passphrase")
                && insecure.contains("srtsink uri=srt://:${PORT:-8888}")
        );
        assert!(
            !crate::pipeline::flatten(&server_description(crate::pipeline::Mode::Warp, true))
                .contains("passphrase")
        );
        assert_eq!(
            server_description(crate::pipeline::Mode::Warp, false)
                .matches(PASSPHRASE_SETTING)
                .count(),
            2
        );
    }

    #[test]
    fn server_names_resolve_to_an_address_serve_listens_on() {
        assert_eq!(resolve("localhost", 7000).unwrap(), "127.0.0.1");
        assert_eq!(resolve("127.0.0.1", 7000).unwrap(), "127.0.0.1");
        assert_eq!(resolve("[::1]", 7000).unwrap(), "[::1]");
        assert!(resolve("no-such-host.invalid", 7000)
            .unwrap_err()
            .contains("cannot find the server no-such-host.invalid"));
    }

    #[test]
    fn passphrases_follow_srts_rule() {
        assert!(check_passphrase("short").is_err());
        assert!(check_passphrase("ten chars!").is_ok());
        assert!(check_passphrase(&"x".repeat(80)).is_err());
        // Bytes, as libsrt counts: 40 two-byte letters are 80.
        assert!(check_passphrase(&"é".repeat(40)).is_err());
    }

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
