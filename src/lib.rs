//! animecam: the plain-Rust core of the animecam GStreamer plugin.
//!
//! Nothing in this crate knows about GStreamer. The plugin (`plugins/`) is thin glue over these
//! floors, each using only those listed before it:
//! - [`inference`]: finding ONNX Runtime, choosing an execution provider, loading models against the
//!   I/O contracts written in a model manifest;
//! - [`image`]: frames as plain image views, file I/O, square and rotated crops with padding,
//!   resizing; [`tensor`]: pictures to and from NCHW/NHWC tensors; [`worker`]: a job on a thread
//!   of its own, offered the newest input whenever it is free (keyframes);
//! - [`face`] (detectors, tracker, mesh), [`motion`] (calibration, relative motion), [`fomm`],
//!   [`stylize`] (U-GAT-IT) and [`warp`] (the spline and the features it moves);
//! - [`model_sets`]: the registry of model sets (names, kinds, where they are looked for);
//! - [`portrait`], [`background`], [`activity`], [`swap`] (models and portraits prepared off the
//!   streaming thread), and [`animate`]: the animation session, its per-frame policy and the
//!   portrait swap, which the element, the bench and the tests share.

pub mod activity;
pub mod animate;
pub mod background;
pub mod face;
pub mod fomm;
pub mod image;
pub mod inbetween;
pub mod inference;
pub mod model_sets;
pub mod motion;
pub mod portrait;
pub mod stylize;
pub mod swap;
pub mod tensor;
pub mod warp;
pub mod worker;
