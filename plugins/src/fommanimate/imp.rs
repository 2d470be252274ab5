use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{LazyLock, Mutex};

use animecam::activity::Activity;
use animecam::fomm::{Fomm, SourceEncoding};
use animecam::motion::{relative_motion, Calibration, Keypoints, MotionOptions};
use animecam::portrait::{canonical_landmarks, Portrait};
use animecam::tensor::{crop_square, ImageViewMut, RgbImage};
use animecam::warp::{warp_targets, LandmarkWarp};
use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::subclass::prelude::*;
use gst_video::prelude::*;
use gst_video::subclass::prelude::*;

use super::Engine;
use crate::glue::{pixel_format, square_output_caps, video_pad_templates, ModelSettings};
use crate::{meta, stats};

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "fommanimate",
        gst::DebugColorFlags::empty(),
        Some("animecam FOMM portrait animation"),
    )
});

const DEFAULT_MODEL_SET: &str = "vox-256";
const DEFAULT_RELATIVE: bool = true;
const DEFAULT_ADAPT_SCALE: bool = true;
const DEFAULT_OUTPUT_SIZE: u32 = 0;
const DEFAULT_MARGIN: f32 = 0.4;
const DEFAULT_THREADS: u32 = 0;
const MAX_OUTPUT_SIZE: u32 = 4096;
/// The warp has no model size; this is a sharp window or virtual camera picture.
const DEFAULT_WARP_SIZE: usize = 512;

#[derive(Debug, Clone, PartialEq)]
struct Settings {
    engine: Engine,
    source: Option<String>,
    source_crop: Option<String>,
    model: ModelSettings,
    relative: bool,
    adapt_scale: bool,
    output_size: u32,
    margin: f32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            engine: Engine::default(),
            source: None,
            source_crop: None,
            model: ModelSettings::new(DEFAULT_THREADS),
            relative: DEFAULT_RELATIVE,
            adapt_scale: DEFAULT_ADAPT_SCALE,
            output_size: DEFAULT_OUTPUT_SIZE,
            margin: DEFAULT_MARGIN,
        }
    }
}

/// What each engine keeps of the portrait.
enum Prepared {
    /// Its FOMM encoding, computed once.
    Fomm(Box<SourceEncoding>),
    /// Its warp and the size of its face, in output pixels.
    Warp { warp: LandmarkWarp, face_size: f32 },
}

/// The portrait as loaded: what it was loaded from, and what the engine made of it.
struct Source {
    path: String,
    crop_spec: Option<String>,
    margin: f32,
    prepared: Prepared,
    /// The portrait at the output size: the output until calibration.
    still: RgbImage,
}

/// The driving pose of one frame, as the engine reads it.
struct Driving {
    keypoints: Keypoints,
    /// The face's larger side in frame pixels (warp only).
    face_size: f32,
}

struct State {
    engine: Engine,
    /// Loaded for the FOMM engine only.
    fomm: Option<Fomm>,
    source: Option<Source>,
    calibration: Calibration,
    /// The driving face's size at calibration (warp only).
    initial_face_size: f32,
    last_output: Option<RgbImage>,
    /// The portrait settings that last failed to load, not retried every frame.
    failed_source: Option<(String, Option<String>, f32)>,
    output_size: usize,
    out_info: Option<gst_video::VideoInfo>,
}

#[derive(Default)]
pub struct FommAnimate {
    settings: Mutex<Settings>,
    state: Mutex<Option<State>>,
    recalibrate: AtomicBool,
    provider_in_use: Mutex<String>,
    /// Said once: facetrack gives no landmarks (detector=haar), so the warp cannot move.
    warned_no_landmarks: AtomicBool,
    /// The output side once started (0 before): read by caps negotiation, which must not wait
    /// for the state lock a generator run holds.
    output_size: AtomicU32,
    /// What happened to the frames, for the `stats` property.
    activity: Activity,
}

impl FommAnimate {
    /// Decodes and crops the portrait and prepares it for the engine (FOMM: encodes it once;
    /// warp: finds its landmarks). Errors name the file; a portrait without a detectable face is
    /// taken by its centred square, with a warning on the bus.
    fn load_source(
        &self,
        state: &mut State,
        settings: &Settings,
        path: &str,
    ) -> Result<Source, String> {
        let portrait = Portrait::load(
            Path::new(path),
            settings.source_crop.as_deref(),
            settings.margin,
        )
        .map_err(|e| e.to_string())?;
        if let Some(warning) = portrait.warning(path) {
            gst::element_imp_warning!(self, gst::StreamError::Failed, ("{warning}"));
        }
        let failed = |e: &dyn std::fmt::Display| format!("Cannot prepare '{path}': {e}");
        let (prepared, crop) = match state.fomm.as_mut() {
            Some(fomm) => {
                let crop = crop_square(&portrait.image.view(), portrait.crop, fomm.image_size())
                    .map_err(|e| failed(&e))?;
                (
                    Prepared::Fomm(Box::new(fomm.encode_source(&crop).map_err(|e| failed(&e))?)),
                    crop,
                )
            }
            None => {
                let size = state.output_size;
                let crop = crop_square(&portrait.image.view(), portrait.crop, size)
                    .map_err(|e| failed(&e))?;
                let (landmarks, face_size) = match (
                    portrait.landmarks_in_crop(size),
                    portrait.face_size_in_crop(size),
                ) {
                    (Some(landmarks), Some(face_size)) if !landmarks.is_empty() => {
                        (landmarks, face_size)
                    }
                    _ => {
                        gst::element_imp_warning!(
                            self,
                            gst::StreamError::Failed,
                            ("No landmarks in the source portrait '{path}': warping it as a frontal face centred in its crop")
                        );
                        canonical_landmarks(size, settings.margin)
                    }
                };
                let warp =
                    LandmarkWarp::new(&crop, landmarks, face_size).map_err(|e| failed(&e))?;
                (Prepared::Warp { warp, face_size }, crop)
            }
        };
        let still = crop
            .resized(state.output_size, state.output_size)
            .map_err(|e| failed(&e))?;
        gst::info!(
            CAT,
            imp = self,
            "source portrait {path}, crop {:?}",
            portrait.crop
        );
        Ok(Source {
            path: path.to_owned(),
            crop_spec: settings.source_crop.clone(),
            margin: settings.margin,
            prepared,
            still,
        })
    }

    /// The driving pose on this buffer: FOMM keypoints from `fommkeypoints`, or the face
    /// landmarks from `facetrack` for the warp.
    fn driving(
        &self,
        engine: Engine,
        buffer: &gst::BufferRef,
        width: usize,
        height: usize,
    ) -> Option<Driving> {
        match engine {
            Engine::Fomm => match meta::read_keypoints(buffer)? {
                // Keypoints of a frame where facetrack saw no face (fommkeypoints then reads the
                // centred square) must neither calibrate nor drive: they follow the background.
                // Without facetrack upstream there is no face meta, and the keypoints are used.
                Ok(_)
                    if meta::read_face(buffer)
                        .is_some_and(|t| t.is_ok_and(|t| !t.state.has_face())) =>
                {
                    None
                }
                Ok(set) if set.keypoints.jacobians.len() != set.keypoints.values.len() => {
                    gst::warning!(
                        CAT,
                        imp = self,
                        "ignoring keypoints without a Jacobian each"
                    );
                    None
                }
                Ok(set) => Some(Driving {
                    keypoints: set.keypoints,
                    face_size: 1.0,
                }),
                Err(e) => {
                    gst::warning!(CAT, imp = self, "ignoring a malformed keypoint meta: {e}");
                    None
                }
            },
            Engine::Warp => match meta::read_face(buffer)? {
                Ok(track) if track.state.has_face() && !track.landmarks.is_empty() => {
                    let face = track.face.to_pixels(width, height);
                    Some(Driving {
                        keypoints: Keypoints {
                            values: track
                                .landmarks
                                .iter()
                                .map(|[u, v]| [u * width as f32, v * height as f32])
                                .collect(),
                            jacobians: Vec::new(),
                        },
                        face_size: face.width.max(face.height),
                    })
                }
                Ok(track) => {
                    if track.state.has_face()
                        && !self.warned_no_landmarks.swap(true, Ordering::SeqCst)
                    {
                        gst::element_imp_warning!(
                            self,
                            gst::StreamError::Failed,
                            ("The face has no landmarks, so the warp cannot follow it: use facetrack detector=blazeface")
                        );
                    }
                    None
                }
                Err(e) => {
                    gst::warning!(CAT, imp = self, "ignoring a malformed face meta: {e}");
                    None
                }
            },
        }
    }

    /// The output picture of this buffer, borrowed from the state (the last output is kept for
    /// frames without a face, so it is not copied on the way out).
    fn frame<'s>(
        &self,
        state: &'s mut State,
        settings: &Settings,
        buffer: &gst::BufferRef,
        (width, height): (usize, usize),
    ) -> Result<&'s RgbImage, gst::ErrorMessage> {
        let Some(path) = settings.source.clone() else {
            return Err(gst::error_msg!(
                gst::ResourceError::Settings,
                ("No source portrait: set the source property to a PNG or JPEG file")
            ));
        };
        let stale = state.source.as_ref().is_none_or(|source| {
            source.path != path
                || source.crop_spec != settings.source_crop
                || source.margin != settings.margin
        });
        let wanted = (path.clone(), settings.source_crop.clone(), settings.margin);
        if stale && state.failed_source.as_ref() != Some(&wanted) {
            self.activity.set_loading(true);
            let loaded = self.load_source(state, settings, &path);
            self.activity.set_loading(false);
            match loaded {
                Ok(source) => {
                    // A new avatar keeps the calibration (the driving face did not change) but
                    // drops the old avatar's last frame.
                    state.last_output = None;
                    state.source = Some(source);
                    state.failed_source = None;
                }
                // While playing, a bad file (say, the next one of a folder) must not end the
                // session: keep the current avatar and say why.
                Err(error) if state.source.is_some() => {
                    gst::element_imp_warning!(
                        self,
                        gst::ResourceError::OpenRead,
                        ("{error}; keeping the current portrait")
                    );
                    state.failed_source = Some(wanted);
                }
                Err(error) => {
                    return Err(gst::error_msg!(gst::ResourceError::OpenRead, ("{error}")))
                }
            }
        }
        if self.recalibrate.swap(false, Ordering::SeqCst) {
            gst::info!(
                CAT,
                imp = self,
                "recalibrating on the next frame with a face"
            );
            state.calibration.reset();
        }
        let source = state.source.as_ref().expect("loaded above");
        let Some(driving) = self.driving(state.engine, buffer, width, height) else {
            self.activity.repeated_without_face();
            return Ok(state.last_output.as_ref().unwrap_or(&source.still));
        };
        let started = std::time::Instant::now();
        let (initial, calibrated_now) = state.calibration.observe(&driving.keypoints);
        if calibrated_now {
            self.activity.calibrated();
            state.initial_face_size = driving.face_size;
            let _ = self.obj().post_message(
                gst::message::Element::builder(
                    gst::Structure::builder("fommanimate-calibrated")
                        .field("pts", buffer.pts())
                        .build(),
                )
                .src(&*self.obj())
                .build(),
            );
        }
        let failed = |e: &dyn std::fmt::Display| {
            gst::error_msg!(gst::LibraryError::Failed, ("Animation failed: {e}"))
        };
        let image = match &source.prepared {
            Prepared::Fomm(encoding) => {
                let options = MotionOptions {
                    relative: settings.relative,
                    adapt_scale: settings.adapt_scale,
                };
                let moved =
                    relative_motion(&encoding.keypoints, &driving.keypoints, initial, options)
                        .map_err(|e| failed(&e))?;
                let fomm = state.fomm.as_mut().expect("the FOMM engine loads FOMM");
                fomm.animate(encoding, &moved)
                    .map_err(|e| failed(&e))?
                    .resized(state.output_size, state.output_size)
                    .map_err(|e| failed(&e))?
            }
            Prepared::Warp { warp, face_size } => {
                let targets = warp_targets(
                    warp.landmarks(),
                    *face_size,
                    &driving.keypoints.values,
                    &initial.values,
                    state.initial_face_size,
                )
                .map_err(|e| failed(&e))?;
                warp.warp(&targets).map_err(|e| failed(&e))?
            }
        };
        self.activity.generated(started.elapsed());
        Ok(state.last_output.insert(image))
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
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            let mut properties = ModelSettings::properties(
                "engine=fomm: folder with the FOMM graphs and their manifest.json, as the exporter writes it (default: $ANIMECAM_MODELS/vox-256, else models/vox-256 of the animecam checkout)",
                DEFAULT_THREADS,
            );
            properties.extend([
                stats::property(stats::ACTIVITY_BLURB),
                glib::ParamSpecEnum::builder_with_default("engine", Engine::default())
                    .nick("Engine")
                    .blurb("fomm: the First Order Motion Model (needs fommkeypoints upstream and converted weights); warp: move the portrait by the face landmarks of facetrack, no generator network")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("source")
                    .nick("Source portrait")
                    .blurb("The portrait to animate: a PNG or JPEG of any size. Setting it while playing swaps the avatar without a restart")
                    .mutable_playing()
                    .build(),
                glib::ParamSpecString::builder("source-crop")
                    .nick("Source crop")
                    .blurb("The square of the portrait to animate, \"x,y,side\" in its pixels; empty to find the face with BlazeFace (falling back to the centred square, with a warning)")
                    .mutable_playing()
                    .build(),
                glib::ParamSpecFloat::builder("margin")
                    .nick("Source margin")
                    .blurb("Margin around the detected portrait face, as a fraction of its size on each side")
                    .minimum(0.0)
                    .maximum(5.0)
                    .default_value(DEFAULT_MARGIN)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoolean::builder("relative")
                    .nick("Relative motion")
                    .blurb("Move the portrait by the driving face's motion since calibration (on), or copy the driving face's pose (off)")
                    .default_value(DEFAULT_RELATIVE)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoolean::builder("adapt-scale")
                    .nick("Adapt scale")
                    .blurb("Scale the motion by the ratio of the faces' sizes")
                    .default_value(DEFAULT_ADAPT_SCALE)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("output-size")
                    .nick("Output size")
                    .blurb("Side of the square output in pixels (0: the model's, 256 for vox-256, or 512 for the warp; FOMM output larger than the model is upscaled)")
                    .maximum(MAX_OUTPUT_SIZE)
                    .default_value(DEFAULT_OUTPUT_SIZE)
                    .mutable_ready()
                    .build(),
            ]);
            properties
        });
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut settings = self.settings.lock().unwrap();
        let text = || {
            value
                .get::<Option<String>>()
                .expect("type checked upstream")
                .filter(|text| !text.is_empty())
        };
        if settings.model.set_property(pspec.name(), value) {
            return;
        }
        match pspec.name() {
            "engine" => settings.engine = value.get().expect("type checked upstream"),
            "source" => settings.source = text(),
            "source-crop" => settings.source_crop = text(),
            "margin" => settings.margin = value.get().expect("type checked upstream"),
            "relative" => settings.relative = value.get().expect("type checked upstream"),
            "adapt-scale" => settings.adapt_scale = value.get().expect("type checked upstream"),
            "output-size" => settings.output_size = value.get().expect("type checked upstream"),
            _ => unimplemented!(),
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let settings = self.settings.lock().unwrap();
        if let Some(value) = settings.model.property(pspec.name()) {
            return value;
        }
        match pspec.name() {
            "engine" => settings.engine.to_value(),
            "source" => settings.source.to_value(),
            "source-crop" => settings.source_crop.to_value(),
            "margin" => settings.margin.to_value(),
            "provider-in-use" => self.provider_in_use.lock().unwrap().to_value(),
            "stats" => {
                let engine = match settings.engine {
                    Engine::Fomm => "FOMM",
                    Engine::Warp => "warp",
                };
                stats::activity_to_structure(engine, &self.activity.snapshot()).to_value()
            }
            "relative" => settings.relative.to_value(),
            "adapt-scale" => settings.adapt_scale.to_value(),
            "output-size" => settings.output_size.to_value(),
            _ => unimplemented!(),
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
        let settings = self.settings.lock().unwrap().clone();
        let fomm = match settings.engine {
            Engine::Warp => None,
            Engine::Fomm => {
                let dir = settings.model.dir(DEFAULT_MODEL_SET);
                let fomm = Fomm::load(&dir, &settings.model.provider_options()).map_err(|e| {
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
                    "FOMM from {} on {:?}",
                    dir.display(),
                    fomm.providers()
                );
                *self.provider_in_use.lock().unwrap() = fomm.providers()[2].to_string();
                Some(fomm)
            }
        };
        let output_size = match (settings.output_size, &fomm) {
            (0, Some(fomm)) => fomm.image_size(),
            (0, None) => DEFAULT_WARP_SIZE,
            (size, _) => size as usize,
        };
        if fomm.is_none() {
            *self.provider_in_use.lock().unwrap() = "cpu (warp, no network)".to_owned();
        }
        self.output_size.store(output_size as u32, Ordering::SeqCst);
        let mut state = State {
            engine: settings.engine,
            fomm,
            source: None,
            calibration: Calibration::default(),
            initial_face_size: 1.0,
            last_output: None,
            failed_source: None,
            output_size,
            out_info: None,
        };
        // Load the portrait now, so that a bad file fails the start rather than the first frame.
        if let Some(path) = settings.source.clone() {
            self.activity.set_loading(true);
            let loaded = self.load_source(&mut state, &settings, &path);
            self.activity.set_loading(false);
            state.source =
                Some(loaded.map_err(|e| gst::error_msg!(gst::ResourceError::OpenRead, ("{e}")))?);
        }
        *self.state.lock().unwrap() = Some(state);
        Ok(())
    }

    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        *self.state.lock().unwrap() = None;
        self.output_size.store(0, Ordering::SeqCst);
        Ok(())
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
        Some(square_output_caps(direction, caps, filter, output_size))
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
        self.activity.frame();
        let settings = self.settings.lock().unwrap().clone();
        let mut state_guard = self.state.lock().unwrap();
        let state = state_guard.as_mut().ok_or(gst::FlowError::Flushing)?;
        let size = (inframe.width() as usize, inframe.height() as usize);
        let image = self
            .frame(state, &settings, inframe.buffer(), size)
            .map_err(|message| {
                self.post_error_message(message);
                gst::FlowError::Error
            })?;
        let format = pixel_format(outframe.format()).ok_or(gst::FlowError::NotNegotiated)?;
        let (width, height) = (outframe.width() as usize, outframe.height() as usize);
        let stride = outframe.plane_stride()[0] as usize;
        let data = outframe
            .plane_data_mut(0)
            .map_err(|_| gst::FlowError::Error)?;
        let mut out = ImageViewMut::new(data, width, height, stride, format)
            .map_err(|_| gst::FlowError::Error)?;
        out.write_rgb(image).map_err(|e| {
            gst::element_imp_error!(self, gst::CoreError::Negotiation, ["Output frame: {e}"]);
            gst::FlowError::Error
        })?;
        Ok(gst::FlowSuccess::Ok)
    }
}
