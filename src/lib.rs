//! animecam: the plain-Rust core of the animecam GStreamer plugin.
//!
//! Nothing in this crate knows about GStreamer. The plugin (`plugins/`) is thin glue over:
//! - [`inference`]: finding ONNX Runtime, choosing an execution provider, loading models against the
//!   I/O contracts written in a model manifest;
//! - [`image`]: frames as plain image views, file I/O, square and rotated crops with padding,
//!   resizing;
//! - [`tensor`]: conversion of pictures to and from NCHW/NHWC tensors.

pub mod activity;
pub mod animate;
pub mod background;
pub mod face;
pub mod fomm;
pub mod image;
pub mod inference;
pub mod model_sets;
pub mod motion;
pub mod portrait;
pub mod stylize;
pub mod tensor;
pub mod warp;
