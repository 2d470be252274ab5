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
pub mod meta;
pub mod stats;
mod ugatit;

pub use facetrack::Detector as FaceTrackDetector;

/// The library's log records (model loading, provider choice, tracking), in GStreamer's debug
/// log: `GST_DEBUG=animecam:5`.
static LIBRARY: std::sync::LazyLock<gst::DebugCategory> = std::sync::LazyLock::new(|| {
    gst::DebugCategory::new(
        "animecam",
        gst::DebugColorFlags::empty(),
        Some("animecam library: models, execution providers, face tracking"),
    )
});

fn plugin_init(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    // Before any element loads ONNX Runtime, whoever loaded the plugin.
    animecam::inference::disable_telemetry();
    // An application that installed a logger of its own keeps it.
    // The logger lives as long as the process, as `log` requires.
    let logger = Box::leak(Box::new(gst::log::DebugCategoryLogger::new(*LIBRARY)));
    if log::set_logger(logger).is_ok() {
        log::set_max_level(log::LevelFilter::Debug);
    }
    meta::register();
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
