use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, LazyLock, Mutex};

use animecam::activity::Activity;
use animecam::animate::{
    Animator, Avatar, AvatarMaker, Driving, Engine as AnimateEngine, Outcome, PortraitSwap,
    Swapped, Undriven,
};
use animecam::background::write_avatar;
use animecam::fomm::Fomm;
use animecam::motion::MotionOptions;
use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::subclass::prelude::*;
use gst_video::prelude::*;
use gst_video::subclass::prelude::*;

use super::settings::{Settings, DEFAULT_MODEL_SET};
use super::{Background, Engine};
use crate::glue::{
    image_view_mut, is_new_stream, pixel_format, square_output_caps, video_pad_templates,
    warn_fallbacks, InUse, VIDEO_FORMATS,
};
use crate::inbetweens::{self, Inbetweens};
use crate::logging;
use crate::progress::{Step, LOADING};
use crate::{meta, stats};

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "fommanimate",
        gst::DebugColorFlags::empty(),
        Some("animecam FOMM portrait animation"),
    )
});

struct State {
    animator: Animator,
    /// Fixed at start (the property is mutable in READY only).
    engine: Engine,
    /// The seqnum of the last segment: a re-sent one is the same stream.
    last_segment: Option<gst::Seqnum>,
    out_info: Option<gst_video::VideoInfo>,
    /// Whether the source is live, asked upstream once (for `in-betweens=auto`).
    live: Option<bool>,
}

#[derive(Default)]
pub struct FommAnimate {
    settings: Mutex<Settings>,
    state: Mutex<Option<State>>,
    /// Makes portraits ready once started; kept apart from the state, which a generator run
    /// holds, so that setting a property never waits for the network.
    maker: Mutex<Option<AvatarMaker>>,
    swap: PortraitSwap,
    recalibrate: AtomicBool,
    in_use: Mutex<InUse>,
    /// Said once: facetrack gives no landmarks (detector=haar), so the warp cannot move.
    warned_no_landmarks: AtomicBool,
    /// Said once: background=transparent or color without an alpha to show it by.
    warned_no_alpha: AtomicBool,
    /// The output side once started (0 before): read by caps negotiation, which must not wait
    /// for the state lock a generator run holds.
    output_size: AtomicU32,
    /// What happened to the frames, for the `stats` property.
    activity: Arc<Activity>,
}

impl FommAnimate {
    fn post_warnings(&self, avatar: &Avatar) {
        for warning in avatar.warnings() {
            gst::element_imp_warning!(self, gst::StreamError::Failed, ("{warning}"));
        }
    }

    /// Prepares the portrait the properties now ask for on a thread of its own; the current
    /// avatar plays until it is ready. Before start, the start loads it.
    fn request_swap(&self) {
        let Some(maker) = self.maker.lock().unwrap().clone() else {
            return;
        };
        let preparing = self.swap.request(maker, &self.activity, || {
            self.settings.lock().unwrap().avatar_spec()
        });
        if let Some(path) = preparing {
            gst::info!(CAT, imp = self, "preparing portrait {}", path.display());
        }
    }

    /// The avatar prepared off the streaming thread, swapped in; a portrait that failed keeps the
    /// current avatar, with a warning.
    fn take_prepared(&self, animator: &mut Animator) {
        match self.swap.take_into(animator) {
            None => {}
            Some(Swapped::In(avatar)) => {
                self.post_warnings(avatar);
                gst::info!(
                    CAT,
                    imp = self,
                    "portrait {} swapped in",
                    avatar.spec().path.display()
                );
            }
            Some(Swapped::Failed(error)) => gst::element_imp_warning!(
                self,
                gst::ResourceError::OpenRead,
                ("{error}; keeping the current portrait")
            ),
        }
    }

    /// The driving pose on this buffer ([`Driving::from_payloads`]: FOMM keypoints from
    /// `fommkeypoints`, or the face landmarks from `facetrack` for the warp), saying why a
    /// payload drives nothing.
    fn driving(
        &self,
        animator: &Animator,
        buffer: &gst::BufferRef,
        width: usize,
        height: usize,
    ) -> Option<Driving> {
        let face = meta::read_face(buffer).and_then(|face| {
            face.inspect_err(|e| {
                gst::warning!(CAT, imp = self, "ignoring a malformed face meta: {e}")
            })
            .ok()
        });
        let keypoints = match animator.engine() {
            AnimateEngine::Fomm(_) => meta::read_keypoints(buffer).and_then(|set| {
                set.inspect_err(|e| {
                    gst::warning!(CAT, imp = self, "ignoring a malformed keypoint meta: {e}")
                })
                .ok()
            }),
            AnimateEngine::Warp => None,
        };
        match Driving::from_payloads(animator.engine(), face.as_ref(), keypoints, width, height) {
            Ok(driving) => driving,
            Err(Undriven::KeypointsWithoutJacobians) => {
                gst::warning!(
                    CAT,
                    imp = self,
                    "ignoring keypoints without a Jacobian each"
                );
                None
            }
            Err(Undriven::NoLandmarks) => {
                if !self.warned_no_landmarks.swap(true, Ordering::SeqCst) {
                    gst::element_imp_warning!(
                        self,
                        gst::StreamError::Failed,
                        ("The face has no landmarks, so the warp cannot follow it: use facetrack detector=blazeface")
                    );
                }
                None
            }
        }
    }

    fn announce_calibration(&self, pts: Option<gst::ClockTime>) {
        let _ = self.obj().post_message(
            gst::message::Element::builder(
                gst::Structure::builder("fommanimate-calibrated")
                    .field("pts", pts)
                    .build(),
            )
            .src(&*self.obj())
            .build(),
        );
    }
}

#[glib::object_subclass]
impl ObjectSubclass for FommAnimate {
    const NAME: &'static str = "GstFommAnimate";
    type Type = super::FommAnimate;
    type ParentType = gst_video::VideoFilter;
}

impl ObjectImpl for FommAnimate {
    fn signals() -> &'static [glib::subclass::Signal] {
        static SIGNALS: LazyLock<Vec<glib::subclass::Signal>> = LazyLock::new(|| {
            vec![glib::subclass::Signal::builder("recalibrate")
                .action()
                .class_handler(|args| {
                    let element = args[0].get::<super::FommAnimate>().expect("signal arg");
                    gst::info!(CAT, obj = element, "recalibration requested");
                    element.imp().recalibrate.store(true, Ordering::SeqCst);
                    None
                })
                .build()]
        });
        &SIGNALS
    }

    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(Settings::properties);
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut settings = self.settings.lock().unwrap();
        if settings.model.set_property(pspec.name(), value) {
            return;
        }
        let before = settings.avatar_spec();
        if !settings.set(pspec.name(), value) {
            unimplemented!("property {}", pspec.name());
        }
        let changed = settings.avatar_spec() != before;
        drop(settings);
        if changed {
            self.request_swap();
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
            "stats" => {
                let engine = match settings.engine {
                    Engine::Fomm => "FOMM",
                    Engine::Warp => "warp",
                };
                stats::activity_to_structure(engine, &self.activity.snapshot()).to_value()
            }
            name => settings
                .get(name)
                .unwrap_or_else(|| unimplemented!("property {name}")),
        }
    }
}

impl GstObjectImpl for FommAnimate {}

impl ElementImpl for FommAnimate {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static ELEMENT_METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "FOMM animation",
                "Filter/Effect/Video",
                "Animates a source portrait from the driving face: First Order Motion Model, or a landmark warp",
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

impl BaseTransformImpl for FommAnimate {
    const MODE: gst_base::subclass::BaseTransformMode =
        gst_base::subclass::BaseTransformMode::NeverInPlace;
    const PASSTHROUGH_ON_SAME_CAPS: bool = false;
    const TRANSFORM_IP_ON_PASSTHROUGH: bool = false;

    fn start(&self) -> Result<(), gst::ErrorMessage> {
        let _library_log = logging::calling(*CAT, &*self.obj());
        let settings = self.settings.lock().unwrap().clone();
        let spec = settings.avatar_spec().ok_or_else(|| {
            gst::error_msg!(
                gst::ResourceError::Settings,
                ("No source portrait: set the source property to a PNG or JPEG file")
            )
        })?;
        let engine = match settings.engine {
            Engine::Warp => {
                *self.in_use.lock().unwrap() = InUse::new("cpu (warp, no network)", "none");
                AnimateEngine::Warp
            }
            Engine::Fomm => {
                let set = settings
                    .model
                    .model_set(DEFAULT_MODEL_SET, self.obj().upcast_ref())
                    .map_err(|e| gst::error_msg!(gst::ResourceError::Settings, ("{e}")))?;
                let dir = set.dir;
                let loading = Step::start(&*self.obj(), LOADING, "Loading the FOMM models");
                let fomm = Fomm::load(&dir, &settings.model.provider_options());
                loading.end(&fomm, "FOMM models loaded", "The FOMM models did not load");
                let fomm = fomm.map_err(|e| {
                    gst::error_msg!(
                        gst::ResourceError::OpenRead,
                        (
                            "Cannot load the FOMM models from {}: {e}. Convert the official checkpoint with the \
                             exporter (README, Models) and set model-dir to its folder, or use engine=warp",
                            dir.display()
                        )
                    )
                })?;
                gst::info!(
                    CAT,
                    imp = self,
                    "FOMM from {} on {:?}, {}",
                    dir.display(),
                    fomm.providers(),
                    set.precision
                );
                // The generator runs for every frame; the other two graphs once per portrait.
                let [_keypoint_detector, _encoder, generator] = fomm.providers();
                *self.in_use.lock().unwrap() = InUse::new(generator, set.precision);
                warn_fallbacks(self.obj().upcast_ref(), &fomm.fallbacks());
                AnimateEngine::fomm(fomm)
            }
        };
        let maker = AvatarMaker::new(
            engine,
            settings.output_size as usize,
            settings.portrait_detector(),
        );
        // The first portrait is prepared now, so that a bad file fails the start rather than
        // the first frame.
        self.activity.set_loading(true);
        let avatar = match &spec {
            Ok(spec) => maker.make(spec).map_err(|e| e.to_string()),
            Err(bad_crop) => Err(bad_crop.to_string()),
        };
        self.activity.set_loading(false);
        let avatar = avatar.map_err(|e| gst::error_msg!(gst::ResourceError::OpenRead, ("{e}")))?;
        self.post_warnings(&avatar);
        let mut animator = Animator::new(&maker, avatar);
        animator.motion = MotionOptions {
            relative: settings.relative,
            adapt_scale: settings.adapt_scale,
        };
        self.output_size
            .store(maker.output_size() as u32, Ordering::SeqCst);
        // Preparations still running from before this start were made for another session
        // (another engine, perhaps).
        self.swap.invalidate();
        *self.state.lock().unwrap() = Some(State {
            animator,
            engine: settings.engine,
            last_segment: None,
            out_info: None,
            live: None,
        });
        *self.maker.lock().unwrap() = Some(maker);
        // A source set while the first portrait loaded (before the maker was there to prepare it)
        // is prepared now.
        if self.settings.lock().unwrap().avatar_spec() != Some(spec) {
            self.request_swap();
        }
        Ok(())
    }

    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        *self.maker.lock().unwrap() = None;
        *self.state.lock().unwrap() = None;
        self.activity.set_loading(false);
        self.output_size.store(0, Ordering::SeqCst);
        Ok(())
    }

    /// A flush (a seek) or a new segment is a new stream: the next face calibrates again, and
    /// nothing of the old stream's pictures is shown.
    fn sink_event(&self, event: gst::Event) -> bool {
        if let Some(state) = self.state.lock().unwrap().as_mut() {
            if is_new_stream(&event, &mut state.last_segment) {
                gst::debug!(CAT, imp = self, "new stream: resetting the calibration");
                state.animator.reset();
            }
        }
        self.parent_sink_event(event)
    }

    /// The output is a new picture (the portrait): no meta of the camera frame describes it, and
    /// face boxes in fractions of the frame would point at the wrong places.
    fn transform_meta<'a>(
        &self,
        _outbuf: &mut gst::BufferRef,
        _meta: gst::MetaRef<'a, gst::Meta>,
        _inbuf: &'a gst::BufferRef,
    ) -> bool {
        false
    }

    fn transform_caps(
        &self,
        direction: gst::PadDirection,
        caps: &gst::Caps,
        filter: Option<&gst::Caps>,
    ) -> Option<gst::Caps> {
        let output_size = match self.output_size.load(Ordering::SeqCst) {
            0 => None,
            size => Some(size as i32),
        };
        let transparent = self.settings.lock().unwrap().background == Background::Transparent;
        let mut caps = square_output_caps(direction, caps, None, output_size);
        if transparent {
            // Any packed input; the output needs an alpha byte.
            let formats: Vec<&str> = match direction {
                gst::PadDirection::Sink => vec!["RGBA", "BGRA"],
                _ => VIDEO_FORMATS
                    .iter()
                    .map(|format| format.to_str().as_str())
                    .collect(),
            };
            for structure in caps.make_mut().iter_mut() {
                structure.set("format", gst::List::new(formats.iter().copied()));
            }
        }
        Some(match filter {
            Some(filter) => filter.intersect_with_mode(&caps, gst::CapsIntersectMode::First),
            None => caps,
        })
    }
}

impl VideoFilterImpl for FommAnimate {
    fn set_info(
        &self,
        incaps: &gst::Caps,
        in_info: &gst_video::VideoInfo,
        outcaps: &gst::Caps,
        out_info: &gst_video::VideoInfo,
    ) -> Result<(), gst::LoggableError> {
        if pixel_format(in_info.format()).is_none() || pixel_format(out_info.format()).is_none() {
            return Err(gst::loggable_error!(
                CAT,
                "Unsupported caps {incaps} -> {outcaps}"
            ));
        }
        let mut state = self.state.lock().unwrap();
        let state = state
            .as_mut()
            .ok_or_else(|| gst::loggable_error!(CAT, "Caps set before start"))?;
        state.out_info = Some(out_info.clone());
        Ok(())
    }

    fn transform_frame(
        &self,
        inframe: &gst_video::VideoFrameRef<&gst::BufferRef>,
        outframe: &mut gst_video::VideoFrameRef<&mut gst::BufferRef>,
    ) -> Result<gst::FlowSuccess, gst::FlowError> {
        let _library_log = logging::calling(*CAT, &*self.obj());
        self.activity.frame();
        let (motion, limits, gains, idle, background, inbetweens, keyframe_every) = {
            let settings = self.settings.lock().unwrap();
            let motion = MotionOptions {
                relative: settings.relative,
                adapt_scale: settings.adapt_scale,
            };
            (
                motion,
                settings.limits,
                settings.gains,
                settings.idle,
                settings.background(),
                settings.inbetweens,
                settings.keyframe_every,
            )
        };
        let mut state_guard = self.state.lock().unwrap();
        let state = state_guard.as_mut().ok_or(gst::FlowError::Flushing)?;
        let engine = state.engine;
        // How FOMM's generator runs (`None`: on every frame); `auto` follows the source.
        let setting = match engine {
            Engine::Warp => Inbetweens::Off,
            Engine::Fomm => inbetweens,
        };
        let pace = inbetweens::pace(setting, keyframe_every, || {
            *state
                .live
                .get_or_insert_with(|| inbetweens::source_is_live(self.obj().upcast_ref()))
        });
        let animator = &mut state.animator;
        self.take_prepared(animator);
        if self.recalibrate.swap(false, Ordering::SeqCst) {
            gst::info!(
                CAT,
                imp = self,
                "recalibrating on the next frame with a face"
            );
            animator.recalibrate();
        }
        animator.motion = motion;
        animator.limits = limits;
        animator.gains = gains;
        animator.inbetweens = pace;
        animator.idle = idle;
        animator.carry_alpha = background != animecam::background::Background::Portrait;
        let size = (inframe.width() as usize, inframe.height() as usize);
        let driving = self.driving(animator, inframe.buffer(), size.0, size.1);
        let started = std::time::Instant::now();
        // The stream's time paces the return to rest; a frame without one counts at 30 fps.
        let time = inframe.buffer().pts().map_or_else(
            || self.activity.snapshot().frames as f64 / 30.0,
            |pts| pts.nseconds() as f64 / 1e9,
        );
        let (_, outcome) = animator.frame(driving.as_ref(), time).map_err(|e| {
            gst::element_imp_error!(self, gst::LibraryError::Failed, ("Animation failed: {e}"));
            gst::FlowError::Error
        })?;
        match outcome {
            // A face turned away or mid-word is not yet a rest pose: both count as frames the
            // face did not drive.
            Outcome::NoFace | Outcome::AwaitingRestPose => self.activity.repeated_without_face(),
            Outcome::Inbetween { new_keyframe } => {
                // A keyframe made on the generator's thread counts as a picture made, in the
                // generator's own time.
                if let Some(took) = new_keyframe {
                    self.activity.generated(took);
                }
                self.activity.inbetween();
            }
            Outcome::Generated { calibrated } => {
                self.activity.generated(started.elapsed());
                if calibrated {
                    self.activity.calibrated();
                    self.announce_calibration(inframe.buffer().pts());
                }
            }
        }
        let mut out = image_view_mut(outframe).map_err(|e| {
            gst::element_imp_error!(self, gst::StreamError::Format, ["Output frame: {e}"]);
            gst::FlowError::from(e)
        })?;
        let (picture, alpha) = animator.shown();
        let shown = write_avatar(&mut out, picture, alpha, background).map_err(|e| {
            gst::element_imp_error!(self, gst::CoreError::Negotiation, ["Output frame: {e}"]);
            gst::FlowError::Error
        })?;
        if !shown && !self.warned_no_alpha.swap(true, Ordering::SeqCst) {
            // The portrait's own lack of alpha comes first: a generator's deformation would
            // have nothing to move.
            let why = if animator.avatar().still_alpha().is_none() {
                "the portrait has no alpha channel (use a PNG with transparency)"
            } else if engine == Engine::Fomm {
                "this fomm_generator has no deformation output to move the alpha by (export it again with the current exporter)"
            } else {
                "the animation gave no alpha"
            };
            gst::element_imp_warning!(
                self,
                gst::StreamError::Format,
                ("background: {why}; showing the portrait's own background")
            );
        }
        Ok(gst::FlowSuccess::Ok)
    }
}
