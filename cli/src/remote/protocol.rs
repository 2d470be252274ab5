//! What travels inside the remote link's video, as SEI user data of each frame: the client's keys
//! and the frame's capture time, which the server puts back into the frame it made from it (so
//! that the client measures glass-to-glass latency on its own clock), and the avatar's state.
//! Plain bytes: H.264 access units in, access units out; no GStreamer.

use crate::key_command::Command;

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
}
