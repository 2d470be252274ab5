//! What the element tests share: GStreamer with the plugin registered, and the media and models
//! `make setup` and the exporter provide.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Once;

pub fn init() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        gst::init().unwrap();
        gstanimecam::plugin_register_static().expect("animecam plugin registers");
    });
}

/// The checkout's root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A file set-up fetched into .cache/media.
pub fn media(name: &str) -> PathBuf {
    let path = root().join(".cache/media").join(name);
    assert!(
        path.is_file(),
        "{} missing: run `make setup`",
        path.display()
    );
    path
}

/// The committed tiny random-weight models.
pub fn tiny() -> PathBuf {
    root().join("models/tiny")
}
