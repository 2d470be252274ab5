//! The landmark warp: moves a portrait's pixels with a thin-plate spline so that its face's parts
//! land where relative motion puts them. No generator network: milliseconds per frame on a CPU,
//! and it needs only the face tracker's landmarks and mesh.
//!
//! - `spline`: the thin-plate spline solver, which knows nothing of faces;
//! - `layout`: where the portrait's face parts are, and the sidecar a user may correct;
//!   `find/`: its irises (`irises`), brows, mouth, chin and outline (`lines`) found in its pixels;
//! - `head`: how far the head may move and what counts as motion;
//! - `features/`: what moves apart from the head, one file per feature (`lids`: blinks; `lips`:
//!   the mouth; `brows`; `gaze`: the irises; `turn`: the head turned in depth);
//! - `pose`: one picture's pose, and the gains a user sets per channel;
//! - `landmark`: the [`LandmarkWarp`] assembled from those control points.

mod drawing;
mod features;
mod find;
mod head;
mod landmark;
mod layout;
mod pose;
mod spline;

pub use features::{index as feature_index, FeatureMotion, Turn};
pub use head::{is_motion, HeadLimits};
pub use landmark::{warp_targets, LandmarkWarp};
pub use layout::{
    read_sidecar, sidecar_path, write_sidecar, Circle, Eye, FaceAxes, FaceLayout, SidecarError,
};
pub use pose::{ChannelGains, WarpPose, MAX_GAIN};
pub use spline::ThinPlateSpline;
