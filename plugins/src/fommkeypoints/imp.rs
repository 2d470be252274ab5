use std::sync::{LazyLock, Mutex};

use animecam::face::{square_crop, Rect};
use animecam::fomm::KeypointDetector;
use animecam::image::{crop_square, SquareCrop};
use animecam::motion::KeypointSet;
use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::subclass::prelude::*;
use gst_video::subclass::prelude::*;

use crate::glue::{
    image_view, pixel_format, video_pad_templates, warn_fallbacks, InUse, ModelSettings,
};
use crate::logging;
use crate::meta;
use crate::progress::{Step, LOADING};

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "fommkeypoints",
        gst::DebugColorFlags::empty(),
        Some("animecam FOMM keypoint detection"),
    )
});

/// The folder under the models directory that holds the converted vox-256 graphs.
pub const DEFAULT_MODEL_SET: &str = animecam::model_sets::FOMM.name;
const DEFAULT_REQUIRE_FACE: bool = false;
const DEFAULT_THREADS: u32 = 0;

#[derive(Debug, Clone)]
struct Settings {
    model: ModelSettings,
    require_face: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            model: ModelSettings::new(DEFAULT_THREADS),
            require_face: DEFAULT_REQUIRE_FACE,
        }
    }
}

struct State {
    detector: KeypointDetector,
    info: Option<gst_video::VideoInfo>,
}

#[derive(Default)]
pub struct FommKeypoints {
    settings: Mutex<Settings>,
    state: Mutex<Option<State>>,
    in_use: Mutex<InUse>,
}

/// The centred square of a frame, in fractions of it.
fn centred_square(width: usize, height: usize) -> Rect {
    let square = SquareCrop::centred(width, height);
    Rect::from_center(square.center_x, square.center_y, square.side, square.side)
        .normalized(width, height)
}

#[glib::object_subclass]
impl ObjectSubclass for FommKeypoints {
    const NAME: &'static str = "GstFommKeypoints";
    type Type = super::FommKeypoints;
    type ParentType = gst_video::VideoFilter;
}

impl ObjectImpl for FommKeypoints {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            let mut properties = ModelSettings::properties(
                "Folder with the FOMM graphs and their manifest.json, as the exporter writes it (default: $ANIMECAM_MODELS/vox-256, else models/vox-256 of the animecam checkout)",
                DEFAULT_THREADS,
            );
            properties.extend([glib::ParamSpecBoolean::builder("require-face")
                    .nick("Require a face")
                    .blurb("Without facetrack upstream: attach keypoints to no frame (on) or read each frame's centred square (off). With facetrack, frames where it saw no face never get keypoints")
                    .default_value(DEFAULT_REQUIRE_FACE)
                    .mutable_playing()
                    .build()]);
            properties
        });
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut settings = self.settings.lock().unwrap();
        if settings.model.set_property(pspec.name(), value) {
            return;
        }
        match pspec.name() {
            "require-face" => settings.require_face = value.get().expect("type checked upstream"),
            _ => unimplemented!(),
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let settings = self.settings.lock().unwrap();
        if let Some(value) = settings.model.property(pspec.name()) {
            return value;
        }
        match pspec.name() {
            name @ ("provider-in-use" | "precision-in-use") => {
                self.in_use.lock().unwrap().value(name)
            }
            "require-face" => settings.require_face.to_value(),
            _ => unimplemented!(),
        }
    }
}

impl GstObjectImpl for FommKeypoints {}

impl ElementImpl for FommKeypoints {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static ELEMENT_METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "FOMM keypoints",
                "Filter/Analyzer/Video",
                "Detects First Order Motion Model keypoints in the tracked face crop and attaches them as metadata",
                "animecam developers",
            )
        });
        Some(&*ELEMENT_METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static PAD_TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(video_pad_templates);
        PAD_TEMPLATES.as_ref()
    }
}

impl BaseTransformImpl for FommKeypoints {
    const MODE: gst_base::subclass::BaseTransformMode =
        gst_base::subclass::BaseTransformMode::AlwaysInPlace;
    const PASSTHROUGH_ON_SAME_CAPS: bool = false;
    const TRANSFORM_IP_ON_PASSTHROUGH: bool = false;

    fn start(&self) -> Result<(), gst::ErrorMessage> {
        let _library_log = logging::calling(*CAT, &*self.obj());
        let settings = self.settings.lock().unwrap().clone();
        let set = settings
            .model
            .model_set(DEFAULT_MODEL_SET, self.obj().upcast_ref())
            .map_err(|e| gst::error_msg!(gst::ResourceError::Settings, ("{e}")))?;
        let dir = set.dir;
        let loading = Step::start(&*self.obj(), LOADING, "Loading the FOMM keypoint detector");
        let detector = KeypointDetector::load(&dir, &settings.model.provider_options());
        loading.end(
            &detector,
            "FOMM keypoint detector loaded",
            "The FOMM keypoint detector did not load",
        );
        let detector = detector.map_err(|e| {
            gst::error_msg!(
                gst::ResourceError::OpenRead,
                (
                    "Cannot load the FOMM keypoint detector from {}: {e}. Import the official checkpoint \
                     (`animecam models import FILE`, README, Models) and set model-dir to its folder",
                    dir.display()
                )
            )
        })?;
        gst::info!(
            CAT,
            imp = self,
            "fomm_kp from {} on {}, {}",
            dir.display(),
            detector.provider(),
            set.precision
        );
        *self.in_use.lock().unwrap() = InUse::new(detector.provider(), set.precision);
        warn_fallbacks(self.obj().upcast_ref(), detector.fallbacks());
        *self.state.lock().unwrap() = Some(State {
            detector,
            info: None,
        });
        Ok(())
    }

    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        *self.state.lock().unwrap() = None;
        Ok(())
    }

    fn transform_ip(
        &self,
        buffer: &mut gst::BufferRef,
    ) -> Result<gst::FlowSuccess, gst::FlowError> {
        let _library_log = logging::calling(*CAT, &*self.obj());
        let require_face = self.settings.lock().unwrap().require_face;
        let mut state_guard = self.state.lock().unwrap();
        let state = state_guard.as_mut().ok_or(gst::FlowError::Flushing)?;
        let info = state.info.clone().ok_or(gst::FlowError::NotNegotiated)?;
        let (width, height) = (info.width() as usize, info.height() as usize);

        let crop = match meta::read_face(buffer) {
            Some(Ok(track)) if track.state.has_face() => track.crop,
            // facetrack saw no face: the animation does not move on such a frame, so the
            // network does not run for it.
            Some(Ok(_)) => return Ok(gst::FlowSuccess::Ok),
            Some(Err(e)) => {
                gst::warning!(CAT, imp = self, "ignoring a malformed face meta: {e}");
                return Ok(gst::FlowSuccess::Ok);
            }
            // Without facetrack upstream: the centred square, unless a face is required.
            None if require_face => return Ok(gst::FlowSuccess::Ok),
            None => centred_square(width, height),
        };
        let keypoints = {
            // Mapped here for reading only: VideoFilter's transform_frame_ip would map it for
            // writing, which copies a frame whose memory another branch (a tee) shares.
            let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(buffer, &info).map_err(
                |_| {
                    gst::element_imp_error!(
                        self,
                        gst::CoreError::Failed,
                        ["Cannot map the video frame"]
                    );
                    gst::FlowError::Error
                },
            )?;
            let view = image_view(&frame).map_err(|e| {
                gst::element_imp_error!(self, gst::StreamError::Format, ["{e}"]);
                gst::FlowError::from(e)
            })?;
            let size = state.detector.image_size();
            let pixels = square_crop(&crop.to_pixels(width, height));
            let image = crop_square(&view, pixels, size).map_err(|e| {
                gst::element_imp_error!(
                    self,
                    gst::LibraryError::Failed,
                    ["Cannot crop the face: {e}"]
                );
                gst::FlowError::Error
            })?;
            state.detector.keypoints(&image).map_err(|e| {
                gst::element_imp_error!(
                    self,
                    gst::LibraryError::Failed,
                    ["FOMM keypoint detection failed: {e}"]
                );
                gst::FlowError::Error
            })?
        };
        meta::attach_keypoints(buffer, &KeypointSet { keypoints, crop });
        Ok(gst::FlowSuccess::Ok)
    }
}

impl VideoFilterImpl for FommKeypoints {
    fn set_info(
        &self,
        incaps: &gst::Caps,
        in_info: &gst_video::VideoInfo,
        _outcaps: &gst::Caps,
        _out_info: &gst_video::VideoInfo,
    ) -> Result<(), gst::LoggableError> {
        if pixel_format(in_info.format()).is_none() {
            return Err(gst::loggable_error!(CAT, "Unsupported caps {incaps}"));
        }
        let mut state = self.state.lock().unwrap();
        let state = state
            .as_mut()
            .ok_or_else(|| gst::loggable_error!(CAT, "Caps set before start"))?;
        state.info = Some(in_info.clone());
        Ok(())
    }
}
