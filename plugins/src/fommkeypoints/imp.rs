use std::path::PathBuf;
use std::sync::{LazyLock, Mutex};

use animecam::face::{square_crop, Rect};
use animecam::fomm::KeypointDetector;
use animecam::inference::{default_models_dir, ProviderOptions};
use animecam::motion::KeypointSet;
use animecam::tensor::{crop_square, ImageView};
use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::subclass::prelude::*;
use gst_video::prelude::*;
use gst_video::subclass::prelude::*;

use crate::glue::{pixel_format, ProviderChoice, VIDEO_FORMATS};
use crate::meta;

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "fommkeypoints",
        gst::DebugColorFlags::empty(),
        Some("animecam FOMM keypoint detection"),
    )
});

/// The folder under the models directory that holds the converted vox-256 graphs.
pub const DEFAULT_MODEL_SET: &str = "vox-256";
const DEFAULT_REQUIRE_FACE: bool = false;
const DEFAULT_THREADS: u32 = 0;

#[derive(Debug, Clone)]
struct Settings {
    model_dir: Option<String>,
    provider: ProviderChoice,
    threads: u32,
    require_face: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            model_dir: None,
            provider: ProviderChoice::default(),
            threads: DEFAULT_THREADS,
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
    provider_in_use: Mutex<String>,
}

/// The centred square of a frame, in fractions of it.
fn centred_square(width: usize, height: usize) -> Rect {
    let side = width.min(height) as f32;
    Rect::from_center(width as f32 / 2.0, height as f32 / 2.0, side, side).normalized(width, height)
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
            vec![
                glib::ParamSpecString::builder("model-dir")
                    .nick("Model folder")
                    .blurb("Folder with the FOMM graphs and their manifest.json, as the exporter writes it (default: $ANIMECAM_MODELS/vox-256, else models/vox-256 of the animecam checkout)")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecEnum::builder_with_default("provider", ProviderChoice::default())
                    .nick("Execution provider")
                    .blurb("Where the keypoint detector runs: auto (TensorRT, then CUDA, then CPU), or one by name, which must work")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("threads")
                    .nick("Threads")
                    .blurb("ONNX Runtime threads (0: one per core)")
                    .maximum(64)
                    .default_value(DEFAULT_THREADS)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("provider-in-use")
                    .nick("Provider in use")
                    .blurb("The execution provider the detector actually runs on (empty before start)")
                    .read_only()
                    .build(),
                glib::ParamSpecBoolean::builder("require-face")
                    .nick("Require a face")
                    .blurb("Attach keypoints only to frames where facetrack found a face; otherwise frames without a face are read from their centred square")
                    .default_value(DEFAULT_REQUIRE_FACE)
                    .mutable_playing()
                    .build(),
            ]
        });
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut settings = self.settings.lock().unwrap();
        match pspec.name() {
            "model-dir" => {
                settings.model_dir = value
                    .get::<Option<String>>()
                    .expect("type checked upstream")
                    .filter(|dir| !dir.is_empty())
            }
            "provider" => settings.provider = value.get().expect("type checked upstream"),
            "threads" => settings.threads = value.get().expect("type checked upstream"),
            "require-face" => settings.require_face = value.get().expect("type checked upstream"),
            _ => unimplemented!(),
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let settings = self.settings.lock().unwrap();
        match pspec.name() {
            "model-dir" => settings.model_dir.to_value(),
            "provider" => settings.provider.to_value(),
            "threads" => settings.threads.to_value(),
            "provider-in-use" => self.provider_in_use.lock().unwrap().to_value(),
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
        static PAD_TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(|| {
            let caps = gst_video::VideoCapsBuilder::new()
                .format_list(VIDEO_FORMATS)
                .build();
            vec![
                gst::PadTemplate::new(
                    "sink",
                    gst::PadDirection::Sink,
                    gst::PadPresence::Always,
                    &caps,
                )
                .unwrap(),
                gst::PadTemplate::new(
                    "src",
                    gst::PadDirection::Src,
                    gst::PadPresence::Always,
                    &caps,
                )
                .unwrap(),
            ]
        });
        PAD_TEMPLATES.as_ref()
    }
}

impl BaseTransformImpl for FommKeypoints {
    const MODE: gst_base::subclass::BaseTransformMode =
        gst_base::subclass::BaseTransformMode::AlwaysInPlace;
    const PASSTHROUGH_ON_SAME_CAPS: bool = false;
    const TRANSFORM_IP_ON_PASSTHROUGH: bool = false;

    fn start(&self) -> Result<(), gst::ErrorMessage> {
        let settings = self.settings.lock().unwrap().clone();
        let dir = settings
            .model_dir
            .as_ref()
            .map(PathBuf::from)
            .unwrap_or_else(|| default_models_dir().join(DEFAULT_MODEL_SET));
        let options = ProviderOptions {
            provider: settings.provider.into(),
            intra_threads: settings.threads as usize,
            ..ProviderOptions::default()
        };
        let detector = KeypointDetector::load(&dir, &options).map_err(|e| {
            gst::error_msg!(
                gst::ResourceError::OpenRead,
                (
                    "Cannot load the FOMM keypoint detector from {}: {e}. Convert the official checkpoint \
                     with the exporter (README, Models) and set model-dir to its folder",
                    dir.display()
                )
            )
        })?;
        gst::info!(
            CAT,
            imp = self,
            "fomm_kp from {} on {}",
            dir.display(),
            detector.provider()
        );
        *self.provider_in_use.lock().unwrap() = detector.provider().to_string();
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
        let require_face = self.settings.lock().unwrap().require_face;
        let mut state_guard = self.state.lock().unwrap();
        let state = state_guard.as_mut().ok_or(gst::FlowError::Flushing)?;
        let info = state.info.clone().ok_or(gst::FlowError::NotNegotiated)?;
        let format = pixel_format(info.format()).ok_or(gst::FlowError::NotNegotiated)?;
        let (width, height) = (info.width() as usize, info.height() as usize);

        let face = match meta::read_face(buffer) {
            Some(Ok(track)) if track.state.has_face() => Some(track.crop),
            Some(Err(e)) => {
                gst::warning!(CAT, imp = self, "ignoring a malformed face meta: {e}");
                None
            }
            _ => None,
        };
        let crop = match face {
            Some(crop) => crop,
            None if require_face => return Ok(gst::FlowSuccess::Ok),
            None => centred_square(width, height),
        };
        let keypoints = {
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
            let stride = frame.plane_stride()[0] as usize;
            let data = frame.plane_data(0).map_err(|_| gst::FlowError::Error)?;
            let view = ImageView::new(data, width, height, stride, format).map_err(|e| {
                gst::element_imp_error!(self, gst::StreamError::Format, ["{e}"]);
                gst::FlowError::Error
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
