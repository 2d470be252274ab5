//! Remote GPU: `animecam serve` runs the animation for one client at a time; `--remote` on the
//! live commands is that client. Video goes both ways as H.264 in MPEG-TS over SRT (encrypted,
//! with retransmission and a bounded latency). Inside the video, as SEI user data of each frame,
//! travel the client's keys and the frame's capture time, which the server puts back into the
//! frame it made from it, so that the client measures glass-to-glass latency on its own clock.
//! In the frames rather than in a stream of their own because the muxer would hold each frame
//! until the other stream's next buffer came (a frame more each way), and because a key then
//! reaches the server with the face it was pressed with.
//!
//! [`protocol`] is what rides in the frames (bytes only), [`transport`] how it travels (SRT, the
//! probes that carry the messages), [`client`] and [`server`] the two ends.

pub mod client;
pub mod protocol;
pub mod server;
pub mod transport;
