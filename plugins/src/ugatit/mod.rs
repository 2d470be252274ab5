//! `ugatit`: U-GAT-IT selfie2anime stylization of the tracked face (or of the whole frame).
//!
//! Example launch line (see `pipelines/`):
//! ```text
//! gst-launch-1.0 v4l2src ! videoconvert ! facetrack ! ugatit model-dir=models/ugatit ! videoconvert ! autovideosink
//! ```
//!
//! `region=face` (default) crops the `AnimecamFaceMeta` crop box, stylizes it and pastes it back
//! with a feathered edge; everything outside the box is left as it was, and a frame without a face
//! passes unchanged. `region=frame` stylizes the whole frame, letterboxed to a square, at the
//! model's size (`frame-output=model`) or back at the input's size (`frame-output=input`).

use gst::glib;
use gst::prelude::*;

mod imp;

#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, glib::Enum, Default)]
#[repr(u32)]
#[enum_type(name = "GstUgatitRegion")]
pub enum Region {
    #[default]
    #[enum_value(name = "The tracked face, pasted back into the frame", nick = "face")]
    Face = 0,
    #[enum_value(name = "The whole frame, letterboxed to a square", nick = "frame")]
    Frame = 1,
}

#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, glib::Enum, Default)]
#[repr(u32)]
#[enum_type(name = "GstUgatitVariant")]
pub enum Variant {
    #[enum_value(name = "Full U-GAT-IT generator", nick = "full")]
    Full = 0,
    #[enum_value(name = "Light U-GAT-IT generator (smaller MLP)", nick = "light")]
    Light = 1,
    #[default]
    #[enum_value(name = "Whichever the model folder holds, full first", nick = "auto")]
    Auto = 2,
}

#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, glib::Enum, Default)]
#[repr(u32)]
#[enum_type(name = "GstUgatitFrameOutput")]
pub enum FrameOutput {
    #[default]
    #[enum_value(name = "The model's square size", nick = "model")]
    Model = 0,
    #[enum_value(name = "The input's size (the letterbox is cut away)", nick = "input")]
    Input = 1,
}

glib::wrapper! {
    pub struct Ugatit(ObjectSubclass<imp::Ugatit>)
        @extends gst_video::VideoFilter, gst_base::BaseTransform, gst::Element, gst::Object;
}

pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    // Its enum property types, for gst-inspect and the documentation.
    Region::static_type().mark_as_plugin_api(gst::PluginAPIFlags::empty());
    Variant::static_type().mark_as_plugin_api(gst::PluginAPIFlags::empty());
    FrameOutput::static_type().mark_as_plugin_api(gst::PluginAPIFlags::empty());
    gst::Element::register(
        Some(plugin),
        "ugatit",
        gst::Rank::NONE,
        Ugatit::static_type(),
    )
}
