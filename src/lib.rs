//! animecam: the plain-Rust core of the animecam GStreamer plugin.
//!
//! Nothing in this crate knows about GStreamer. The plugin (`plugins/`) is thin glue over:
//! - [`inference`]: finding ONNX Runtime, choosing an execution provider, loading models against the
//!   I/O contracts written in a model manifest;
//! - [`tensor`]: frames as plain image views, square crops with padding, conversion to and from
//!   NCHW/NHWC tensors.

pub mod activity;
pub mod animate;
pub mod background;
pub mod face;
pub mod fomm;
pub mod inference;
pub mod motion;
pub mod portrait;
pub mod stylize;
pub mod tensor;
pub mod warp;
