use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex};

use animecam::face::{draw_track, FaceTrack as Track, OneEuroParams, Tracker, TrackerConfig};
use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::prelude::*;
use gst_base::subclass::prelude::*;
use gst_video::subclass::prelude::*;

use super::{Detector, Landmarks};
use crate::glue::{
    image_view, image_view_mut, is_new_stream, pixel_format, video_pad_templates, FrameViewError,
    ProviderChoice,
};
use crate::logging;
use crate::progress::{Step, LOADING};
use crate::{meta, stats};

pub(super) static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "facetrack",
        gst::DebugColorFlags::empty(),
        Some("animecam face detection and tracking"),
    )
});

const DEFAULT_DETECTOR: Detector = Detector::Auto;
const DEFAULT_SCORE_THRESHOLD: f32 = 0.6;
const DEFAULT_MIN_FACE_SIZE: u32 = 24;
const DEFAULT_DETECT_INTERVAL: u32 = 5;
const DEFAULT_HOLD_FRAMES: u32 = 15;
const DEFAULT_MARGIN: f32 = 0.4;
const DEFAULT_THREADS: u32 = 1;
const DEFAULT_DRAW: bool = false;

#[derive(Debug, Clone)]
pub(super) struct Settings {
    pub(super) detector: Detector,
    pub(super) model_path: Option<String>,
    pub(super) provider: ProviderChoice,
    pub(super) threads: u32,
    pub(super) score_threshold: f32,
    pub(super) min_face_size: u32,
    pub(super) detect_interval: u32,
    pub(super) hold_frames: u32,
    pub(super) margin: f32,
    pub(super) smoothing: OneEuroParams,
    pub(super) draw: bool,
    pub(super) landmarks: Landmarks,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            detector: DEFAULT_DETECTOR,
            model_path: None,
            provider: ProviderChoice::default(),
            threads: DEFAULT_THREADS,
            score_threshold: DEFAULT_SCORE_THRESHOLD,
            min_face_size: DEFAULT_MIN_FACE_SIZE,
            detect_interval: DEFAULT_DETECT_INTERVAL,
            hold_frames: DEFAULT_HOLD_FRAMES,
            margin: DEFAULT_MARGIN,
            smoothing: OneEuroParams::default(),
            draw: DEFAULT_DRAW,
            landmarks: Landmarks::default(),
        }
    }
}

impl Settings {
    pub(super) fn tracker_config(&self) -> TrackerConfig {
        TrackerConfig {
            detect_interval: self.detect_interval,
            hold_frames: self.hold_frames,
            margin: self.margin,
            smoothing: self.smoothing,
        }
    }
}

struct State {
    tracker: Tracker,
    info: Option<gst_video::VideoInfo>,
    frames: u64,
    /// Track id announced by the last found/lost message.
    announced: Option<u64>,
    /// The seqnum of the last segment: a re-sent one is the same stream.
    last_segment: Option<gst::Seqnum>,
}

#[derive(Default)]
pub struct FaceTrack {
    settings: Mutex<Settings>,
    state: Mutex<Option<State>>,
    pub(super) provider_in_use: Mutex<String>,
    /// Frames seen and frames with a face, for the `stats` property.
    frames_seen: AtomicU64,
    frames_with_face: AtomicU64,
}

impl FaceTrack {
    /// Posts `facetrack-face-found` / `facetrack-face-lost` when the face comes or goes.
    fn announce(&self, state: &mut State, track: &Track, running_time: Option<gst::ClockTime>) {
        let now = track.state.has_face().then_some(track.track_id);
        if now == state.announced {
            return;
        }
        if let Some(lost) = state.announced.filter(|id| Some(*id) != now) {
            let structure = gst::Structure::builder("facetrack-face-lost")
                .field("track-id", lost)
                .field("running-time", running_time)
                .build();
            let _ = self.obj().post_message(
                gst::message::Element::builder(structure)
                    .src(&*self.obj())
                    .build(),
            );
        }
        if let Some(found) = now {
            let structure = gst::Structure::builder("facetrack-face-found")
                .field("track-id", found)
                .field("running-time", running_time)
                .field("face", meta::face_to_structure(track))
                .build();
            let _ = self.obj().post_message(
                gst::message::Element::builder(structure)
                    .src(&*self.obj())
                    .build(),
            );
        }
        state.announced = now;
    }
}

#[glib::object_subclass]
impl ObjectSubclass for FaceTrack {
    const NAME: &'static str = "GstFaceTrack";
    type Type = super::FaceTrack;
    type ParentType = gst_video::VideoFilter;
}

impl ObjectImpl for FaceTrack {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            let defaults = OneEuroParams::default();
            vec![
                glib::ParamSpecEnum::builder_with_default("detector", DEFAULT_DETECTOR)
                    .nick("Detector")
                    .blurb("Face detector: auto (BlazeFace short range, and its full-range model on frames where it finds no face: small and far faces), blazeface (short range only), full-range, or haar (OpenCV, no ONNX Runtime needed)")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("model-path")
                    .nick("Model path")
                    .blurb("blazeface and auto: the short-range model's folder holding manifest.json (default: models/blazeface of the animecam checkout, or $ANIMECAM_MODELS/blazeface; auto finds the full-range model beside it, in face_detection_full_range). full-range: its folder. haar: the cascade XML file (default: Debian's opencv-data frontal face cascade)")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecEnum::builder_with_default("provider", ProviderChoice::default())
                    .nick("Execution provider")
                    .blurb("Where BlazeFace runs: auto (TensorRT, then CUDA, then CPU), or one by name, which must work")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("threads")
                    .nick("Threads")
                    .blurb("ONNX Runtime threads for the detector (0: one per core). The detector is small: one thread leaves the cores to the animation models")
                    .maximum(64)
                    .default_value(DEFAULT_THREADS)
                    .mutable_ready()
                    .build(),
                stats::property(stats::FACES_BLURB),
                glib::ParamSpecString::builder("provider-in-use")
                    .nick("Provider in use")
                    .blurb("The execution provider the detector actually runs on (empty before start, 'opencv' for haar)")
                    .read_only()
                    .build(),
                glib::ParamSpecFloat::builder("score-threshold")
                    .nick("Score threshold")
                    .blurb("Minimum BlazeFace confidence for a face")
                    .minimum(0.0)
                    .maximum(1.0)
                    .default_value(DEFAULT_SCORE_THRESHOLD)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("min-face-size")
                    .nick("Minimum face size")
                    .blurb("Faces smaller than this many pixels (larger side) are ignored")
                    .maximum(4096)
                    .default_value(DEFAULT_MIN_FACE_SIZE)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("detect-interval")
                    .nick("Detect interval")
                    .blurb("Run the detector every N frames and follow the face with optical flow in between (1: detect every frame). The detector also runs whenever tracking gets unsure")
                    .minimum(1)
                    .maximum(1000)
                    .default_value(DEFAULT_DETECT_INTERVAL)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("hold-frames")
                    .nick("Hold frames")
                    .blurb("Frames to keep the last face box after the face disappears, before reporting it lost")
                    .maximum(10000)
                    .default_value(DEFAULT_HOLD_FRAMES)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecFloat::builder("margin")
                    .nick("Crop margin")
                    .blurb("Margin of the square model crop on each side of the face, as a fraction of the face size (0.4 frames head and shoulders like FOMM's training data)")
                    .minimum(0.0)
                    .maximum(5.0)
                    .default_value(DEFAULT_MARGIN)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecFloat::builder("smoothing-min-cutoff")
                    .nick("Smoothing minimum cutoff")
                    .blurb("One Euro filter cutoff in Hz for a still face: lower is steadier but lags more")
                    .minimum(0.01)
                    .maximum(100.0)
                    .default_value(defaults.min_cutoff)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecFloat::builder("smoothing-beta")
                    .nick("Smoothing speed coefficient")
                    .blurb("How much faster the box follows a moving face (One Euro beta, per pixel per second): higher lags less")
                    .minimum(0.0)
                    .maximum(10.0)
                    .default_value(defaults.beta)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoolean::builder("draw")
                    .nick("Draw")
                    .blurb("Draw the face box (green), the model crop (blue) and the landmarks (red) onto the video")
                    .default_value(DEFAULT_DRAW)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecEnum::builder_with_default("landmarks", Landmarks::default())
                    .nick("Landmarks")
                    .blurb("auto: MediaPipe's 468-point face mesh (with each eye's openness, the mouth's opening, width and corners, the brows and the head pose in the face meta) where it is converted (make setup, models/face_mesh), else BlazeFace's six points; blazeface; mesh: the mesh, which must load; attention: the attention mesh (models/face_mesh_attention), which adds both irises and the gaze, and must load")
                    .mutable_ready()
                    .build(),
            ]
        });
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut settings = self.settings.lock().unwrap();
        match pspec.name() {
            "detector" => settings.detector = value.get().expect("type checked upstream"),
            "model-path" => {
                settings.model_path = value
                    .get::<Option<String>>()
                    .expect("type checked upstream")
                    .filter(|path| !path.is_empty())
            }
            "provider" => settings.provider = value.get().expect("type checked upstream"),
            "threads" => settings.threads = value.get().expect("type checked upstream"),
            "score-threshold" => {
                settings.score_threshold = value.get().expect("type checked upstream")
            }
            "min-face-size" => settings.min_face_size = value.get().expect("type checked upstream"),
            "detect-interval" => {
                settings.detect_interval = value.get().expect("type checked upstream")
            }
            "hold-frames" => settings.hold_frames = value.get().expect("type checked upstream"),
            "margin" => settings.margin = value.get().expect("type checked upstream"),
            "smoothing-min-cutoff" => {
                settings.smoothing.min_cutoff = value.get().expect("type checked upstream")
            }
            "smoothing-beta" => {
                settings.smoothing.beta = value.get().expect("type checked upstream")
            }
            "draw" => settings.draw = value.get().expect("type checked upstream"),
            "landmarks" => settings.landmarks = value.get().expect("type checked upstream"),
            _ => unimplemented!(),
        }
        gst::debug!(CAT, imp = self, "{} set to {:?}", pspec.name(), value);
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let settings = self.settings.lock().unwrap();
        match pspec.name() {
            "detector" => settings.detector.to_value(),
            "model-path" => settings.model_path.to_value(),
            "provider" => settings.provider.to_value(),
            "threads" => settings.threads.to_value(),
            "provider-in-use" => self.provider_in_use.lock().unwrap().to_value(),
            "stats" => stats::faces_to_structure(
                self.frames_seen.load(Ordering::Relaxed),
                self.frames_with_face.load(Ordering::Relaxed),
            )
            .to_value(),
            "score-threshold" => settings.score_threshold.to_value(),
            "min-face-size" => settings.min_face_size.to_value(),
            "detect-interval" => settings.detect_interval.to_value(),
            "hold-frames" => settings.hold_frames.to_value(),
            "margin" => settings.margin.to_value(),
            "smoothing-min-cutoff" => settings.smoothing.min_cutoff.to_value(),
            "smoothing-beta" => settings.smoothing.beta.to_value(),
            "draw" => settings.draw.to_value(),
            "landmarks" => settings.landmarks.to_value(),
            _ => unimplemented!(),
        }
    }
}

impl GstObjectImpl for FaceTrack {}

impl ElementImpl for FaceTrack {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static ELEMENT_METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "Face tracker",
                "Filter/Analyzer/Video",
                "Detects and tracks the primary face, smooths its box and attaches it as metadata for the animecam elements",
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

impl BaseTransformImpl for FaceTrack {
    const MODE: gst_base::subclass::BaseTransformMode =
        gst_base::subclass::BaseTransformMode::AlwaysInPlace;
    // Metas are written onto every buffer, so buffers must be writable: never passthrough.
    const PASSTHROUGH_ON_SAME_CAPS: bool = false;
    const TRANSFORM_IP_ON_PASSTHROUGH: bool = false;

    fn start(&self) -> Result<(), gst::ErrorMessage> {
        let _library_log = logging::calling(*CAT, &*self.obj());
        let settings = self.settings.lock().unwrap().clone();
        let loading = Step::start(&*self.obj(), LOADING, "Loading the face models");
        let tracker = self.load_tracker(&settings);
        loading.end(
            &tracker,
            "Face models loaded",
            "The face models did not load",
        );
        let tracker = tracker?;
        *self.state.lock().unwrap() = Some(State {
            tracker,
            info: None,
            frames: 0,
            announced: None,
            last_segment: None,
        });
        Ok(())
    }

    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        *self.state.lock().unwrap() = None;
        Ok(())
    }

    /// A flush (a seek) or a new segment is a new stream: the face is searched afresh, and the
    /// optical flow does not follow it from a frame of the old stream.
    fn sink_event(&self, event: gst::Event) -> bool {
        if let Some(state) = self.state.lock().unwrap().as_mut() {
            if is_new_stream(&event, &mut state.last_segment) {
                gst::debug!(CAT, imp = self, "new stream: the track ends");
                state.tracker.reset();
            }
        }
        self.parent_sink_event(event)
    }

    fn transform_ip(
        &self,
        buffer: &mut gst::BufferRef,
    ) -> Result<gst::FlowSuccess, gst::FlowError> {
        let _library_log = logging::calling(*CAT, &*self.obj());
        let settings = self.settings.lock().unwrap().clone();
        let mut state_guard = self.state.lock().unwrap();
        let state = state_guard.as_mut().ok_or(gst::FlowError::Flushing)?;
        let info = state.info.clone().ok_or(gst::FlowError::NotNegotiated)?;

        if state.tracker.config() != &settings.tracker_config() {
            state.tracker.set_config(settings.tracker_config());
        }
        state
            .tracker
            .detector_mut()
            .set_limits(settings.score_threshold, settings.min_face_size as f32);
        // Seconds for the smoothing: the buffer's timestamp, else the frame count at the caps'
        // frame rate (30 fps when unknown).
        let fps = info.fps();
        let time = buffer
            .pts()
            .map(|pts| pts.nseconds() as f64 / 1e9)
            .unwrap_or_else(|| {
                let rate = if fps.numer() > 0 {
                    fps.numer() as f64 / fps.denom() as f64
                } else {
                    30.0
                };
                state.frames as f64 / rate
            });
        state.frames += 1;

        // Mapped here rather than by VideoFilter (transform_frame_ip): the face meta is written
        // onto the buffer once the frame is unmapped.
        let track = {
            let mut frame = gst_video::VideoFrameRef::from_buffer_ref_writable(buffer, &info)
                .map_err(|_| {
                    gst::element_imp_error!(
                        self,
                        gst::CoreError::Failed,
                        ["Cannot map the video frame"]
                    );
                    gst::FlowError::Error
                })?;
            let unreadable = |e: FrameViewError| {
                gst::element_imp_error!(self, gst::StreamError::Format, ["{e}"]);
                gst::FlowError::from(e)
            };
            let view = image_view(&frame).map_err(unreadable)?;
            let track = state.tracker.update(&view, time).map_err(|e| {
                gst::element_imp_error!(
                    self,
                    gst::LibraryError::Failed,
                    ["Face detection failed: {e}"]
                );
                gst::FlowError::Error
            })?;
            if settings.draw {
                draw_track(&mut image_view_mut(&mut frame).map_err(unreadable)?, &track);
            }
            track
        };
        meta::attach_face(buffer, &track, info.width(), info.height());
        self.frames_seen.fetch_add(1, Ordering::Relaxed);
        if track.state.has_face() {
            self.frames_with_face.fetch_add(1, Ordering::Relaxed);
        }
        let running_time = self
            .obj()
            .segment()
            .downcast_ref::<gst::ClockTime>()
            .and_then(|segment| segment.to_running_time(buffer.pts()));
        self.announce(state, &track, running_time);
        Ok(gst::FlowSuccess::Ok)
    }
}

impl VideoFilterImpl for FaceTrack {
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
        let resized = state
            .info
            .as_ref()
            .is_some_and(|old| (old.width(), old.height()) != (in_info.width(), in_info.height()));
        if resized {
            // Boxes and optical flow of the old size mean nothing at the new one.
            state.tracker.reset();
            state.announced = None;
        }
        state.info = Some(in_info.clone());
        Ok(())
    }
}
