//! The landmark warp: moves a portrait's pixels with a thin-plate spline so that its face
//! landmarks land where relative motion puts them. No generator network: milliseconds per frame
//! on a CPU, and it needs only the face detector's landmarks.
//!
//! - `spline`: the thin-plate spline solver, which knows nothing of faces;
//! - `head`: how far the head may move and what counts as motion;
//! - `features/`: what moves apart from the head, one file per feature (`lids`: blinks;
//!   `lips`: the mouth; `brows`; gaze goes beside them);
//! - `landmark`: the [`LandmarkWarp`] assembled from those control points.

mod features;
mod head;
mod landmark;
mod spline;

pub use features::FeatureMotion;
pub use head::{is_motion, HeadLimits};
pub use landmark::{warp_targets, LandmarkWarp};
pub use spline::ThinPlateSpline;
