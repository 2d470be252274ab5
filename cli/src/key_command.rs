//! What a key press asks for: read from the terminal (keys), applied by the live loop and the
//! server, and carried over the remote link (remote::protocol). No GStreamer and no terminal
//! here, so that the protocol needs neither.

/// What a key press asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Recalibrate,
    NextPortrait,
    PreviousPortrait,
    Quit,
}
