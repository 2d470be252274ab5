//! How the remote link travels: SRT (the server's address, the passphrase rule, each frame's
//! MPEG-TS packets packed into SRT messages, the unencrypted link of `--insecure`), and the
//! protocol's messages carried in the encoded frames by pad probes.

use std::collections::VecDeque;
use std::sync::Mutex;

use animecam_cli::descriptions::{edit, names};
use gst::prelude::*;

use crate::bus::running_time;
use crate::remote::protocol::{messages_in, with_messages, Message};

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

/// What `--insecure` fills the descriptions' required passphrase with: the link's SRT elements
/// get no passphrase at all once parsed ([`unencrypted`]), so this value never reaches libsrt.
pub const NO_PASSPHRASE: &str = "unencrypted-link";

/// Clears the passphrase (and the key length) of the link's SRT elements: `--insecure`.
pub fn unencrypted(pipeline: &gst::Pipeline) -> Result<(), String> {
    for name in [names::UPLINK, names::DOWNLINK] {
        let srt = edit::named(pipeline, name)?;
        srt.set_property("passphrase", "");
        srt.set_property_from_str("pbkeylen", "no-key");
    }
    Ok(())
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
pub fn send_in_frames(
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
pub fn receive_in_frames(
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
