use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, LazyLock, Mutex};

use animecam::activity::Activity;
use animecam::stylize::{
    converted_model, FaceCrop, FaceOutcome, FaceStylizer, StylizeSettings, Stylizer, FULL_MODEL,
    LIGHT_MODEL, STYLE_MODEL,
};
use animecam::swap::{Preparation, Swap};
use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::subclass::prelude::*;
use gst_video::prelude::*;
use gst_video::subclass::prelude::*;

use super::{FrameOutput, Region, Variant};
use crate::glue::{
    image_view, image_view_mut, is_new_stream, square_output_caps, video_pad_templates,
    warn_fallbacks, InUse, ModelDirChange, ModelSettings,
};
use crate::inbetweens::{self, Inbetweens};
use crate::logging;
use crate::progress::{Step, LOADING};
use crate::{meta, stats};

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "ugatit",
        gst::DebugColorFlags::empty(),
        Some("animecam style networks: U-GAT-IT, AnimeGANv2, CartoonGAN, ONNX"),
    )
});

const DEFAULT_MODEL_SET: &str = animecam::model_sets::UGATIT.name;
const DEFAULT_FEATHER: f32 = 0.1;
const DEFAULT_SMOOTHING: f32 = 0.0;
const DEFAULT_HOLD_FRAMES: u32 = 0;
const DEFAULT_THREADS: u32 = 0;

#[derive(Debug, Clone)]
struct Settings {
    region: Region,
    variant: Variant,
    frame_output: FrameOutput,
    model: ModelSettings,
    feather: f32,
    smoothing: f32,
    hold_frames: u32,
    /// region=face: in-betweens while the network is busy, and how often it runs.
    inbetweens: Inbetweens,
    keyframe_every: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            region: Region::default(),
            variant: Variant::default(),
            frame_output: FrameOutput::default(),
            model: ModelSettings::new(DEFAULT_THREADS),
            feather: DEFAULT_FEATHER,
            smoothing: DEFAULT_SMOOTHING,
            hold_frames: DEFAULT_HOLD_FRAMES,
            inbetweens: Inbetweens::default(),
            keyframe_every: 0,
        }
    }
}

struct State {
    session: FaceStylizer,
    /// The seqnum of the last segment: a re-sent one is the same stream.
    last_segment: Option<gst::Seqnum>,
    /// Whether the source is live, asked upstream once (for `in-betweens=auto`).
    live: Option<bool>,
}

impl Settings {
    fn stylize(&self) -> StylizeSettings {
        StylizeSettings {
            feather: self.feather,
            smoothing: self.smoothing,
            hold_frames: self.hold_frames,
        }
    }
}

/// A style network loaded, with where it came from.
struct Loaded {
    stylizer: Stylizer,
    dir: PathBuf,
    model_id: &'static str,
    in_use: InUse,
}

impl Loaded {
    /// What runs, in words: U-GAT-IT, or the style network a style set holds.
    fn engine(&self) -> &'static str {
        if self.model_id == STYLE_MODEL {
            "style network"
        } else {
            "U-GAT-IT"
        }
    }
}

/// Loads the network the settings name (the int8 set beside the folder where the precision
/// takes it); `element` gets the warning about a broken int8 set that `auto` passed over.
fn load(settings: &Settings, element: &gst::Element) -> Result<Loaded, String> {
    let set = settings
        .model
        .model_set(DEFAULT_MODEL_SET, element)
        .map_err(|e| e.to_string())?;
    let dir = set.dir;
    let model_id = match settings.variant {
        Variant::Full => FULL_MODEL,
        Variant::Light => LIGHT_MODEL,
        Variant::Auto => converted_model(&dir),
    };
    let stylizer = Stylizer::load(&dir, model_id, &settings.model.provider_options()).map_err(|e| {
        format!(
            "Cannot load the model {model_id} from {}: {e}. Import a selfie2anime checkpoint or a \
             style network (`animecam models import FILE`, README, Models) and set model-dir to its folder",
            dir.display()
        )
    })?;
    let in_use = InUse::new(stylizer.provider(), set.precision);
    Ok(Loaded {
        stylizer,
        dir,
        model_id,
        in_use,
    })
}

#[derive(Default)]
pub struct Ugatit {
    settings: Mutex<Settings>,
    state: Mutex<Option<State>>,
    in_use: Mutex<InUse>,
    /// What runs, for the `stats` property: U-GAT-IT or an imported style network.
    engine: Mutex<&'static str>,
    /// The model's side once started (0 before): read by caps negotiation, which must not wait
    /// for the state lock a stylization holds.
    model_size: AtomicU32,
    /// What happened to the frames, for the `stats` property.
    activity: Arc<Activity>,
    /// Networks loaded off the streaming thread when `model-dir` changes while it runs.
    swap: Swap<Loaded>,
    /// Between start and stop: a new `model-dir` is loaded at once (before, start loads it).
    running: AtomicBool,
}

impl Ugatit {
    /// Loads the network the properties now name on a thread of its own; the current one keeps
    /// stylizing until it is ready.
    fn request_model(&self) {
        let element = self.obj().clone().upcast::<gst::Element>();
        self.swap.request(&self.activity, || {
            let settings = self.settings.lock().unwrap().clone();
            let what = format!(
                "the model in {}",
                settings.model.dir(DEFAULT_MODEL_SET).display()
            );
            gst::info!(CAT, imp = self, "loading {what}");
            Some(Ok::<_, std::convert::Infallible>(Preparation {
                what,
                prepare: Box::new(move || load(&settings, &element)),
            }))
        });
    }

    /// Puts a loaded network in use (`how`: for the log): the fallbacks it made, and the engine,
    /// provider, precision and size the properties and caps report. Returns its session and
    /// whether the size changed.
    fn put_in_use(&self, loaded: Loaded, how: &str) -> (FaceStylizer, bool) {
        gst::info!(
            CAT,
            imp = self,
            "{} from {} {how}, on {}",
            loaded.model_id,
            loaded.dir.display(),
            loaded.stylizer.provider()
        );
        warn_fallbacks(self.obj().upcast_ref(), loaded.stylizer.fallbacks());
        *self.engine.lock().unwrap() = loaded.engine();
        *self.in_use.lock().unwrap() = loaded.in_use;
        let size = loaded.stylizer.image_size() as u32;
        let resized = self.model_size.swap(size, Ordering::SeqCst) != size;
        (FaceStylizer::new(loaded.stylizer), resized)
    }

    /// The network loaded off the streaming thread, swapped in; one that failed to load keeps the
    /// current network, with a warning.
    fn take_loaded(&self, state: &mut State) {
        match self.swap.take() {
            None => {}
            Some(Ok(loaded)) => {
                let (session, resized) = self.put_in_use(loaded, "swapped in");
                let old = std::mem::replace(&mut state.session, session);
                // Dropping a session waits for the face its keyframes' thread is drawing (at
                // most one network run): not on the streaming thread.
                std::thread::spawn(move || drop(old));
                if resized {
                    // Frame mode at the model's size: the next frames go out at the new size.
                    self.obj().reconfigure_src();
                }
            }
            Some(Err(error)) => gst::element_imp_warning!(
                self,
                gst::ResourceError::OpenRead,
                ("{error}; keeping the current model")
            ),
        }
    }
}

#[glib::object_subclass]
impl ObjectSubclass for Ugatit {
    const NAME: &'static str = "GstUgatit";
    type Type = super::Ugatit;
    type ParentType = gst_video::VideoFilter;
}

impl ObjectImpl for Ugatit {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            let mut properties = ModelSettings::properties_with(
                "Folder of the model set: U-GAT-IT, or an imported style network (models/styles/NAME), with its manifest.json (default: $ANIMECAM_MODELS/ugatit, else models/ugatit of the animecam checkout). Changed while playing, the new network loads off the streaming thread and replaces the current one when ready",
                DEFAULT_THREADS,
                ModelDirChange::WhilePlaying,
            );
            properties.extend([
                stats::property(stats::ACTIVITY_BLURB),
                glib::ParamSpecEnum::builder_with_default("region", Region::default())
                    .nick("Region")
                    .blurb("face: stylize the tracked face (needs facetrack upstream) and paste it back; frame: stylize the whole frame")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecEnum::builder_with_default("variant", Variant::default())
                    .nick("Variant")
                    .blurb("Which exported generator to run: full or light (ugatit_full / ugatit_light in the manifest), or auto: full when the folder has it, else light")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecEnum::builder_with_default("frame-output", FrameOutput::default())
                    .nick("Frame output")
                    .blurb("With region=frame: output at the model's square size, or at the input's size")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecFloat::builder("feather")
                    .nick("Feather")
                    .blurb("Width of the blended edge of the pasted face, as a fraction of the crop's side")
                    .minimum(0.0)
                    .maximum(0.5)
                    .default_value(DEFAULT_FEATHER)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecFloat::builder("temporal-smoothing")
                    .nick("Temporal smoothing")
                    .blurb("Against flicker: how much of the previous stylized face (in face-aligned coordinates) to mix into each new one; 0 is off, which keeps all detail")
                    .minimum(0.0)
                    .maximum(0.95)
                    .default_value(DEFAULT_SMOOTHING)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("hold-frames")
                    .nick("Hold frames")
                    .blurb("With region=face: keep pasting the last stylized face for this many frames without a face (0: the frame passes unchanged at once)")
                    .maximum(1000)
                    .default_value(DEFAULT_HOLD_FRAMES)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecEnum::builder_with_default("in-betweens", Inbetweens::default())
                    .nick("In-betweens")
                    .blurb("region=face: auto (on for a live source), on (the network runs on its own thread whenever it is free; every frame meanwhile shows its newest face moved by the face mesh's motion since and pasted where the face is now, so the output keeps the camera's rate) or off (the network on every frame)")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("keyframe-every")
                    .nick("Keyframe every")
                    .blurb("region=face with in-betweens: 0 runs the network whenever it is free; N runs it on every Nth frame on the streaming thread and shows in-betweens on the others (files, tests, a CPU spared)")
                    .maximum(1000)
                    .default_value(0)
                    .mutable_ready()
                    .build(),
            ]);
            properties
        });
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut settings = self.settings.lock().unwrap();
        if settings.model.set_property(pspec.name(), value) {
            drop(settings);
            if pspec.name() == "model-dir" && self.running.load(Ordering::SeqCst) {
                self.request_model();
            }
            return;
        }
        match pspec.name() {
            "region" => settings.region = value.get().expect("type checked upstream"),
            "variant" => settings.variant = value.get().expect("type checked upstream"),
            "frame-output" => settings.frame_output = value.get().expect("type checked upstream"),
            "feather" => settings.feather = value.get().expect("type checked upstream"),
            "temporal-smoothing" => {
                settings.smoothing = value.get().expect("type checked upstream")
            }
            "hold-frames" => settings.hold_frames = value.get().expect("type checked upstream"),
            "in-betweens" => settings.inbetweens = value.get().expect("type checked upstream"),
            "keyframe-every" => {
                settings.keyframe_every = value.get().expect("type checked upstream")
            }
            _ => unimplemented!(),
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let settings = self.settings.lock().unwrap();
        if let Some(value) = settings.model.property(pspec.name()) {
            return value;
        }
        match pspec.name() {
            "region" => settings.region.to_value(),
            "variant" => settings.variant.to_value(),
            "frame-output" => settings.frame_output.to_value(),
            name @ ("provider-in-use" | "precision-in-use") => {
                self.in_use.lock().unwrap().value(name)
            }
            "stats" => {
                let engine = *self.engine.lock().unwrap();
                stats::activity_to_structure(engine, &self.activity.snapshot()).to_value()
            }
            "feather" => settings.feather.to_value(),
            "temporal-smoothing" => settings.smoothing.to_value(),
            "hold-frames" => settings.hold_frames.to_value(),
            "in-betweens" => settings.inbetweens.to_value(),
            "keyframe-every" => settings.keyframe_every.to_value(),
            _ => unimplemented!(),
        }
    }
}

impl GstObjectImpl for Ugatit {}

impl ElementImpl for Ugatit {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static ELEMENT_METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "Style network stylization",
                "Filter/Effect/Video",
                "Redraws the tracked face (or the whole frame) with an image-to-image style network: U-GAT-IT selfie2anime, or an imported AnimeGANv2, CartoonGAN or ONNX style",
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

impl BaseTransformImpl for Ugatit {
    const MODE: gst_base::subclass::BaseTransformMode =
        gst_base::subclass::BaseTransformMode::NeverInPlace;
    const PASSTHROUGH_ON_SAME_CAPS: bool = false;
    const TRANSFORM_IP_ON_PASSTHROUGH: bool = false;

    fn start(&self) -> Result<(), gst::ErrorMessage> {
        let _library_log = logging::calling(*CAT, &*self.obj());
        let settings = self.settings.lock().unwrap().clone();
        let loading = Step::start(&*self.obj(), LOADING, "Loading the style network");
        let loaded = load(&settings, self.obj().upcast_ref());
        loading.end(
            &loaded,
            "Style network loaded",
            "The style network did not load",
        );
        let loaded = loaded.map_err(|e| gst::error_msg!(gst::ResourceError::OpenRead, ("{e}")))?;
        let (session, _) = self.put_in_use(loaded, "loaded");
        // Loads still running from before this start were made for another session.
        self.swap.invalidate();
        self.activity.set_loading(false);
        *self.state.lock().unwrap() = Some(State {
            session,
            last_segment: None,
            live: None,
        });
        self.running.store(true, Ordering::SeqCst);
        // A folder set while the first network loaded is loaded now.
        if self.settings.lock().unwrap().model.model_dir != settings.model.model_dir {
            self.request_model();
        }
        Ok(())
    }

    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        self.running.store(false, Ordering::SeqCst);
        self.swap.invalidate();
        self.activity.set_loading(false);
        *self.state.lock().unwrap() = None;
        self.model_size.store(0, Ordering::SeqCst);
        Ok(())
    }

    /// A flush (a seek) or a new segment is a new stream: no face of the old one is held or
    /// mixed into the new one's.
    fn sink_event(&self, event: gst::Event) -> bool {
        if let Some(state) = self.state.lock().unwrap().as_mut() {
            if is_new_stream(&event, &mut state.last_segment) {
                state.session.reset();
            }
        }
        self.parent_sink_event(event)
    }

    /// In frame mode the output is the letterboxed square: the face metas of the input frame no
    /// longer describe it. In face mode the frame keeps its geometry, and its metas.
    fn transform_meta<'a>(
        &self,
        outbuf: &mut gst::BufferRef,
        meta: gst::MetaRef<'a, gst::Meta>,
        inbuf: &'a gst::BufferRef,
    ) -> bool {
        let region = self.settings.lock().unwrap().region;
        region == Region::Face && self.parent_transform_meta(outbuf, meta, inbuf)
    }

    fn transform_caps(
        &self,
        direction: gst::PadDirection,
        caps: &gst::Caps,
        filter: Option<&gst::Caps>,
    ) -> Option<gst::Caps> {
        let settings = self.settings.lock().unwrap().clone();
        let model_size = match self.model_size.load(Ordering::SeqCst) {
            0 => None,
            size => Some(size as i32),
        };
        let resizes =
            settings.region == Region::Frame && settings.frame_output == FrameOutput::Model;
        Some(if resizes {
            square_output_caps(direction, caps, filter, model_size)
        } else {
            match filter {
                Some(filter) => filter.intersect_with_mode(caps, gst::CapsIntersectMode::First),
                None => caps.clone(),
            }
        })
    }
}

impl VideoFilterImpl for Ugatit {
    fn transform_frame(
        &self,
        inframe: &gst_video::VideoFrameRef<&gst::BufferRef>,
        outframe: &mut gst_video::VideoFrameRef<&mut gst::BufferRef>,
    ) -> Result<gst::FlowSuccess, gst::FlowError> {
        let _library_log = logging::calling(*CAT, &*self.obj());
        self.activity.frame();
        let settings = self.settings.lock().unwrap().clone();
        let mut state_guard = self.state.lock().unwrap();
        let state = state_guard.as_mut().ok_or(gst::FlowError::Flushing)?;
        self.take_loaded(state);
        let input = image_view(inframe).map_err(|e| {
            gst::element_imp_error!(
                self,
                gst::StreamError::Format,
                ["Cannot read the input frame: {e}"]
            );
            gst::FlowError::from(e)
        })?;
        let mut output = image_view_mut(outframe).map_err(|e| {
            gst::element_imp_error!(
                self,
                gst::StreamError::Format,
                ["Cannot write the output frame: {e}"]
            );
            gst::FlowError::from(e)
        })?;
        let failed = |e: animecam::stylize::StylizeError| {
            gst::element_imp_error!(self, gst::LibraryError::Failed, ["Stylization failed: {e}"]);
            gst::FlowError::Error
        };
        let started = std::time::Instant::now();
        match settings.region {
            Region::Face => {
                let live = &mut state.live;
                let pace = inbetweens::pace(settings.inbetweens, settings.keyframe_every, || {
                    *live.get_or_insert_with(|| inbetweens::source_is_live(self.obj().upcast_ref()))
                });
                state.session.set_inbetweens(pace);
                let face = match meta::read_face(inframe.buffer()) {
                    Some(Ok(track)) if track.state.has_face() => Some(FaceCrop {
                        track: track.track_id,
                        crop: track.crop,
                        mesh: track.mesh.iter().map(|&[x, y, _]| [x, y]).collect(),
                    }),
                    _ => None,
                };
                let outcome = state
                    .session
                    .face(&input, &mut output, face, &settings.stylize())
                    .map_err(failed)?;
                match outcome {
                    FaceOutcome::Stylized => self.activity.generated(started.elapsed()),
                    FaceOutcome::Inbetween { new_keyframe } => {
                        if let Some(took) = new_keyframe {
                            self.activity.generated(took);
                        }
                        self.activity.inbetween();
                    }
                    FaceOutcome::Held | FaceOutcome::Unchanged => {
                        self.activity.repeated_without_face()
                    }
                }
            }
            Region::Frame => {
                let at_input_size = settings.frame_output == FrameOutput::Input;
                let mut image = state
                    .session
                    .frame(&input, &settings.stylize(), at_input_size)
                    .map_err(failed)?;
                if (image.width(), image.height()) != (output.width(), output.height()) {
                    // A network of another size swapped in: this frame's caps are the old
                    // size's until the renegotiation it asked for.
                    image = image
                        .resized(output.width(), output.height())
                        .map_err(|e| failed(animecam::stylize::StylizeError::Image(e)))?;
                }
                output
                    .write_rgb(&image)
                    .map_err(|e| failed(animecam::stylize::StylizeError::Image(e)))?;
                self.activity.generated(started.elapsed());
            }
        }
        Ok(gst::FlowSuccess::Ok)
    }
}
