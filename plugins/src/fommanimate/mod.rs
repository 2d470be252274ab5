//! `fommanimate`: animates a source portrait with the keypoints `fommkeypoints` attaches.
//!
//! Example launch line (see `pipelines/`):
//! ```text
//! gst-launch-1.0 v4l2src ! videoconvert ! facetrack ! fommkeypoints model-dir=models/vox-256 ! \
//!     fommanimate source=portrait.png model-dir=models/vox-256 ! videoconvert ! autovideosink
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

glib::wrapper! {
    pub struct FommAnimate(ObjectSubclass<imp::FommAnimate>)
        @extends gst_video::VideoFilter, gst_base::BaseTransform, gst::Element, gst::Object;
}

pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(
        Some(plugin),
        "fommanimate",
        gst::Rank::NONE,
        FommAnimate::static_type(),
    )
}
