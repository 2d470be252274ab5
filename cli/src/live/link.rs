//! What the live loop needs from a link to an animation that runs elsewhere (the remote client
//! implements it): keys sent there, the capture time of each frame shown, the avatar's state as
//! the other side says it, and which of the pipeline's complaints are about the link.

use crate::key_command::Command;

/// What the loop makes of a warning the pipeline posted.
#[derive(Debug, PartialEq)]
pub enum Verdict {
    /// Not about the link: show it as it is.
    Show,
    /// Handled (said once in the user's terms, or not worth repeating).
    Quiet,
    /// Give up with this error.
    Stop(String),
}

/// The loop's view of where the animation runs.
pub trait Link: Send + Sync {
    /// Sends a key with the next frame.
    fn send(&self, command: Command);

    /// When the frame shown at this running time was captured, in this pipeline's running time
    /// (the frame was made elsewhere, so its own timestamp says when it came back).
    fn captured(&self, running: gst::ClockTime) -> Option<gst::ClockTime>;

    /// What the other side said the avatar did in its last second, once.
    fn avatar_state(&self) -> Option<String>;

    /// Judges a warning posted by the pipeline (with its element's path).
    fn judge(&self, message: &str) -> Verdict;
}
