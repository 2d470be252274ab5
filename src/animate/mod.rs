//! Animation sessions: a portrait made ready for an engine (First Order Motion Model or the
//! landmark warp), the calibration, the last picture, the per-frame policy, and portraits swapped
//! in while frames flow. The fommanimate element, the benchmark and the tests run this same code;
//! the element only maps buffers and properties to it.
//!
//! - `avatar`: the portrait spec, the engine, and the avatar the maker prepares;
//! - `driving`: a frame's driving pose, from the tracker's and the keypoint detector's payloads;
//! - `animator`: the session and its per-frame policy;
//! - `idle`: what the avatar does while no face drives it (back to rest, breathing, blinking);
//! - `keyframes`: FOMM's generator on a thread of its own, in-betweens for the frames between;
//! - `swap`: new portraits prepared off the streaming thread, the newest request winning.

mod animator;
mod avatar;
mod driving;
mod idle;
mod keyframes;
mod swap;

pub use animator::{Animator, Outcome};
pub use avatar::{Avatar, AvatarMaker, AvatarSpec, Engine, FommEngine, DEFAULT_WARP_SIZE};
pub use driving::{Driving, Undriven};
pub use idle::{IdleSettings, EASE_TO_REST_S, TAKE_OVER_S};
pub use keyframes::{KeyframePace, Picture};
pub use swap::{PortraitSwap, Swapped};

/// The portrait's face search, which [`AvatarMaker::new`] takes.
pub use crate::portrait::DetectorSettings;

use crate::fomm::FommError;
use crate::image::ImageError;
use crate::motion::MotionError;
use crate::portrait::PortraitError;

#[derive(Debug, thiserror::Error)]
pub enum AnimateError {
    #[error(transparent)]
    Portrait(#[from] PortraitError),
    #[error(transparent)]
    Fomm(#[from] FommError),
    #[error(transparent)]
    Image(#[from] ImageError),
    #[error(transparent)]
    Motion(#[from] MotionError),
    #[error("cannot prepare '{path}': {reason}")]
    Prepare { path: String, reason: String },
}
