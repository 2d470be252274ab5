//! `fommanimate`: animates a source portrait from a driving face, with the First Order Motion
//! Model (`engine=fomm`, the keypoints `fommkeypoints` attaches) or the landmark warp
//! (`engine=warp`, the landmarks `facetrack` attaches; no network, milliseconds per frame).
//!
//! Example launch line (see `pipelines/`):
//! ```text
//! gst-launch-1.0 v4l2src ! videoconvert ! facetrack ! fommkeypoints model-dir=models/vox-256 ! \
//!     fommanimate source=portrait.png model-dir=models/vox-256 ! videoconvert ! autovideosink
//! gst-launch-1.0 v4l2src ! videoconvert ! facetrack ! \
//!     fommanimate engine=warp source=portrait.png ! videoconvert ! autovideosink
//! ```
//!
//! The portrait is decoded, its face found (or `source-crop` taken), and encoded once; each
//! driving frame then costs one generator run. The first frame with keypoints calibrates (the
//! driving face's rest pose); the `recalibrate` action signal makes the next one calibrate again.
//! Until calibrated the portrait itself is shown; a frame without keypoints repeats the last
//! output. Output frames have the input's timestamps, at `output-size` (default: the model's).

use gst::glib;
use gst::prelude::*;

mod imp;
mod settings;

/// What the avatar is shown over.
#[derive(Debug, Eq, PartialEq, Hash, Clone, Copy, glib::Enum, Default)]
#[repr(u32)]
#[enum_type(name = "GstFommAnimateBackground")]
pub enum Background {
    #[default]
    #[enum_value(
        name = "The portrait as drawn (over white where it is transparent)",
        nick = "portrait"
    )]
    Portrait = 0,
    #[enum_value(
        name = "Transparent: the portrait's alpha moves with the avatar (RGBA or BGRA output)",
        nick = "transparent"
    )]
    Transparent = 1,
    #[enum_value(
        name = "background-color where the portrait is transparent (a chroma key)",
        nick = "color"
    )]
    Color = 2,
}

/// How the portrait is animated.
#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, glib::Enum, Default)]
#[repr(u32)]
#[enum_type(name = "GstFommAnimateEngine")]
pub enum Engine {
    #[default]
    #[enum_value(
        name = "First Order Motion Model (fommkeypoints upstream, converted weights)",
        nick = "fomm"
    )]
    Fomm = 0,
    #[enum_value(
        name = "Landmark warp: facetrack's landmarks move the portrait, no network",
        nick = "warp"
    )]
    Warp = 1,
}

glib::wrapper! {
    pub struct FommAnimate(ObjectSubclass<imp::FommAnimate>)
        @extends gst_video::VideoFilter, gst_base::BaseTransform, gst::Element, gst::Object;
}

pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    // Its enum property types, for gst-inspect and the documentation.
    Background::static_type().mark_as_plugin_api(gst::PluginAPIFlags::empty());
    Engine::static_type().mark_as_plugin_api(gst::PluginAPIFlags::empty());
    gst::Element::register(
        Some(plugin),
        "fommanimate",
        gst::Rank::NONE,
        FommAnimate::static_type(),
    )
}
