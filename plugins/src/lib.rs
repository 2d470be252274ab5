//! The `animecam` GStreamer plugin: thin elements over the `animecam` library.
//!
//! Each element lives in its own folder (`mod.rs`: the public face and `register()`; `imp.rs`: the
//! implementation). What two elements share lives in the library or in [`meta`], never in another
//! element.
#![allow(unused_doc_comments)]

use gst::glib;

mod facetrack;
mod fommanimate;
mod fommkeypoints;
mod glue;
mod inbetweens;
mod logging;
pub mod meta;
mod progress;
pub mod stats;
mod ugatit;

pub use facetrack::Detector as FaceTrackDetector;

fn plugin_init(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    // Before any element loads ONNX Runtime, whoever loaded the plugin.
    animecam::inference::disable_telemetry();
    logging::install();
    meta::register();
    glue::mark_as_plugin_api();
    facetrack::register(plugin)?;
    fommkeypoints::register(plugin)?;
    fommanimate::register(plugin)?;
    ugatit::register(plugin)?;
    Ok(())
}

gst::plugin_define!(
    animecam,
    env!("CARGO_PKG_DESCRIPTION"),
    plugin_init,
    concat!(env!("CARGO_PKG_VERSION"), "-", env!("COMMIT_ID")),
    "MIT/X11",
    env!("CARGO_PKG_NAME"),
    env!("CARGO_PKG_NAME"),
    env!("CARGO_PKG_REPOSITORY"),
    env!("BUILD_REL_DATE")
);
