//! The window of webcam mode: a video sink that works on this desktop, chosen before the pipeline
//! is built. autovideosink's own pick cannot be trusted: with no X11 or GL sink installed it takes
//! the DirectFB sink, which crashes the process.

use gst::prelude::*;

/// Window sinks, best first: OpenGL (scales on the GPU), then XVideo, then plain X11.
pub const CANDIDATES: [&str; 3] = ["glimagesink", "xvimagesink", "ximagesink"];

/// The Debian packages that ship the candidates.
pub const PACKAGES: &str = "gstreamer1.0-gl gstreamer1.0-x";

/// The display this process would open a window on (X11 or Wayland), if any.
pub fn display() -> Option<String> {
    ["WAYLAND_DISPLAY", "DISPLAY"].into_iter().find_map(|name| {
        std::env::var(name)
            .ok()
            .filter(|value| !value.is_empty())
            .map(|value| format!("{name}={value}"))
    })
}

/// The first candidate that opens on this display; an error naming the fix when none does.
pub fn choose() -> Result<&'static str, String> {
    let Some(display) = display() else {
        return Err(
            "no display to open a window on (DISPLAY and WAYLAND_DISPLAY are unset): run \
             webcam mode in a desktop session, or use `animecam virtualcam` (a camera for calls), \
             `animecam stream` (OBS), or --sink to send the picture elsewhere"
                .into(),
        );
    };
    if std::env::var_os("WAYLAND_DISPLAY").is_none() && std::env::var_os("GST_GL_WINDOW").is_none()
    {
        // On X11 alone, GStreamer's GL would first try Wayland and print an alarming
        // "error: XDG_RUNTIME_DIR is invalid" on the way.
        std::env::set_var("GST_GL_WINDOW", "x11");
    }
    let installed: Vec<&'static str> = CANDIDATES
        .into_iter()
        .filter(|factory| gst::ElementFactory::find(factory).is_some())
        .collect();
    if installed.is_empty() {
        return Err(format!(
            "no window sink is installed: `sudo apt-get install {PACKAGES}` (or run `animecam doctor`)"
        ));
    }
    installed.into_iter().find(|factory| opens(factory)).ok_or_else(|| {
        format!(
            "cannot open a window on {display}: is the display running, and may this user open windows \
             on it (xhost, XAUTHORITY)? Or use --sink to send the picture elsewhere"
        )
    })
}

/// Whether the sink exists and connects to the display (its NULL to READY step does that).
fn opens(factory: &str) -> bool {
    let Ok(element) = gst::ElementFactory::make(factory).build() else {
        return false;
    };
    let opened = element.set_state(gst::State::Ready).is_ok();
    let _ = element.set_state(gst::State::Null);
    opened
}
