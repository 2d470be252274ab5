//! `fommkeypoints`: FOMM keypoints of the tracked face, attached to each buffer.
//!
//! Example launch line (see `pipelines/`):
//! ```text
//! gst-launch-1.0 v4l2src ! videoconvert ! facetrack ! fommkeypoints model-dir=models/vox-256 ! \
//!     fommanimate source=portrait.png model-dir=models/vox-256 ! videoconvert ! autovideosink
//! ```
//!
//! Crops each frame by the `AnimecamFaceMeta` crop box (or, without a face, a centred square
//! unless `require-face`), runs the `fomm_kp` graph and attaches an `AnimecamKeypointsMeta`. The
//! video passes through unchanged.

use gst::glib;
use gst::prelude::*;

mod imp;

glib::wrapper! {
    pub struct FommKeypoints(ObjectSubclass<imp::FommKeypoints>)
        @extends gst_video::VideoFilter, gst_base::BaseTransform, gst::Element, gst::Object;
}

pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(
        Some(plugin),
        "fommkeypoints",
        gst::Rank::NONE,
        FommKeypoints::static_type(),
    )
}
