//! `facetrack`: finds and follows the primary face, smooths its box and attaches it as metadata.
//!
//! Example launch line (see `pipelines/`):
//! ```text
//! gst-launch-1.0 v4l2src ! videoconvert ! facetrack draw=true ! videoconvert ! autovideosink
//! ```
//!
//! Every buffer leaves with an `AnimecamFaceMeta` (see [`crate::meta`]) and, when there is a face,
//! a `VideoRegionOfInterestMeta` of type "face". Element messages named `facetrack-face-found`
//! and `facetrack-face-lost` mark a face appearing and going.

use gst::glib;
use gst::prelude::*;

mod imp;
mod models;

/// Which detector finds faces.
#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, glib::Enum, Default)]
#[repr(u32)]
#[enum_type(name = "GstFaceTrackDetector")]
pub enum Detector {
    #[enum_value(
        name = "BlazeFace short range through ONNX Runtime (faces within 2 m; real and anime faces, landmarks)",
        nick = "blazeface"
    )]
    BlazeFace = 0,
    #[enum_value(
        name = "OpenCV Haar cascade (no ONNX needed, real faces only)",
        nick = "haar"
    )]
    Haar = 1,
    #[enum_value(
        name = "BlazeFace full range (faces up to 5 m: small and far ones; landmarks)",
        nick = "full-range"
    )]
    FullRange = 2,
    #[default]
    #[enum_value(
        name = "BlazeFace short range while it finds the face, full range on frames where it finds none",
        nick = "auto"
    )]
    Auto = 3,
}

/// Which landmarks the face meta carries beside BlazeFace's six.
#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, glib::Enum, Default)]
#[repr(u32)]
#[enum_type(name = "GstFaceTrackLandmarks")]
pub enum Landmarks {
    #[default]
    #[enum_value(
        name = "The face mesh where its model is converted (make face-mesh), else BlazeFace's",
        nick = "auto"
    )]
    Auto = 0,
    #[enum_value(name = "BlazeFace's six points only", nick = "blazeface")]
    BlazeFace = 1,
    #[enum_value(
        name = "MediaPipe's 468-point face mesh with expression and head pose (fails without its model)",
        nick = "mesh"
    )]
    Mesh = 2,
    #[enum_value(
        name = "MediaPipe's attention face mesh: the 468 points, both irises and the gaze (fails without its model)",
        nick = "attention"
    )]
    Attention = 3,
}

glib::wrapper! {
    pub struct FaceTrack(ObjectSubclass<imp::FaceTrack>)
        @extends gst_video::VideoFilter, gst_base::BaseTransform, gst::Element, gst::Object;
}

pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    // Its enum property types, for gst-inspect and the documentation.
    Detector::static_type().mark_as_plugin_api(gst::PluginAPIFlags::empty());
    Landmarks::static_type().mark_as_plugin_api(gst::PluginAPIFlags::empty());
    gst::Element::register(
        Some(plugin),
        "facetrack",
        gst::Rank::NONE,
        FaceTrack::static_type(),
    )
}
