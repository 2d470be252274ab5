//! Glue every element shares: from a mapped GStreamer video frame to the library's image views,
//! and the execution-provider and precision property types. Plain conversions; no element logic.

use animecam::image::{ImageView, ImageViewMut, PixelFormat};
use animecam::inference::{choose_model_set, ModelSet, PrecisionChoice, Provider};
use gst::glib;
use gst_video::prelude::*;
use gst_video::VideoFormat;

/// The packed 8-bit formats our elements accept, best first for caps negotiation.
pub const VIDEO_FORMATS: [VideoFormat; 6] = [
    VideoFormat::Rgbx,
    VideoFormat::Bgrx,
    VideoFormat::Rgba,
    VideoFormat::Bgra,
    VideoFormat::Rgb,
    VideoFormat::Bgr,
];

pub fn pixel_format(format: VideoFormat) -> Option<PixelFormat> {
    match format {
        VideoFormat::Rgb => Some(PixelFormat::Rgb),
        VideoFormat::Bgr => Some(PixelFormat::Bgr),
        VideoFormat::Rgba => Some(PixelFormat::Rgba),
        VideoFormat::Bgra => Some(PixelFormat::Bgra),
        VideoFormat::Rgbx => Some(PixelFormat::Rgbx),
        VideoFormat::Bgrx => Some(PixelFormat::Bgrx),
        _ => None,
    }
}

/// Why a mapped frame gives no image view. Caps negotiation accepts only [`VIDEO_FORMATS`], so
/// each of these is a broken invariant rather than a user's mistake.
#[derive(Debug)]
pub enum FrameViewError {
    /// A format none of our pads offers.
    Format(VideoFormat),
    /// The frame's first plane could not be read.
    Plane(glib::BoolError),
    /// The plane is smaller than width, height and stride say.
    Layout(String),
}

impl std::fmt::Display for FrameViewError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameViewError::Format(format) => write!(f, "unsupported video format {format:?}"),
            FrameViewError::Plane(error) => write!(f, "cannot read the frame's pixels: {error}"),
            FrameViewError::Layout(error) => f.write_str(error),
        }
    }
}

impl From<FrameViewError> for gst::FlowError {
    fn from(error: FrameViewError) -> Self {
        match error {
            FrameViewError::Format(_) => gst::FlowError::NotNegotiated,
            _ => gst::FlowError::Error,
        }
    }
}

/// The library's view of a mapped frame's pixels: every format of [`VIDEO_FORMATS`] is packed,
/// one plane with its stride.
pub fn image_view<'a, T>(
    frame: &'a gst_video::VideoFrameRef<T>,
) -> Result<ImageView<'a>, FrameViewError> {
    let format = pixel_format(frame.format()).ok_or(FrameViewError::Format(frame.format()))?;
    let (width, height) = (frame.width() as usize, frame.height() as usize);
    let stride = frame.plane_stride()[0] as usize;
    let data = frame.plane_data(0).map_err(FrameViewError::Plane)?;
    ImageView::new(data, width, height, stride, format)
        .map_err(|e| FrameViewError::Layout(e.to_string()))
}

/// The library's writable view of a frame mapped for writing (see [`image_view`]).
pub fn image_view_mut<'a>(
    frame: &'a mut gst_video::VideoFrameRef<&mut gst::BufferRef>,
) -> Result<ImageViewMut<'a>, FrameViewError> {
    let format = pixel_format(frame.format()).ok_or(FrameViewError::Format(frame.format()))?;
    let (width, height) = (frame.width() as usize, frame.height() as usize);
    let stride = frame.plane_stride()[0] as usize;
    let data = frame.plane_data_mut(0).map_err(FrameViewError::Plane)?;
    ImageViewMut::new(data, width, height, stride, format)
        .map_err(|e| FrameViewError::Layout(e.to_string()))
}

/// Says on the bus why `provider=auto` did not run a network where it first tried (TensorRT or
/// CUDA missing, say): a user who expects the GPU learns it from the element, not from a log.
pub fn warn_fallbacks(element: &gst::Element, fallbacks: &[String]) {
    use gst::prelude::*;
    for fallback in fallbacks {
        let _ = element.post_message(
            gst::message::Warning::builder(gst::CoreError::Failed, fallback)
                .src(element)
                .build(),
        );
    }
}

/// Whether a sink event starts a new stream, whose per-stream state (calibration, track, held
/// faces) must not carry over: a flush (a flushing seek), or a segment of another seqnum (a
/// non-flushing seek, the next file of a playlist). A segment sent again with the same seqnum is
/// the same stream. `last_segment` keeps the seqnum seen last.
pub fn is_new_stream(event: &gst::Event, last_segment: &mut Option<gst::Seqnum>) -> bool {
    match event.view() {
        gst::EventView::FlushStop(..) => true,
        gst::EventView::Segment(..) => {
            let seqnum = event.seqnum();
            last_segment
                .replace(seqnum)
                .is_some_and(|last| last != seqnum)
        }
        _ => false,
    }
}

/// The `provider` property of our inference elements.
#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, glib::Enum, Default)]
#[repr(u32)]
#[enum_type(name = "GstAnimecamProvider")]
pub enum ProviderChoice {
    #[default]
    #[enum_value(name = "Best available: TensorRT, then CUDA, then CPU", nick = "auto")]
    Auto = 0,
    #[enum_value(name = "CPU", nick = "cpu")]
    Cpu = 1,
    #[enum_value(name = "CUDA (fails if unavailable)", nick = "cuda")]
    Cuda = 2,
    #[enum_value(name = "TensorRT (fails if unavailable)", nick = "tensorrt")]
    TensorRt = 3,
}

/// Registers the property types every network element shares as plugin API, so that
/// gst-inspect and the documentation describe their values.
pub fn mark_as_plugin_api() {
    use gst::prelude::*;
    ProviderChoice::static_type().mark_as_plugin_api(gst::PluginAPIFlags::empty());
    PrecisionSetting::static_type().mark_as_plugin_api(gst::PluginAPIFlags::empty());
    crate::inbetweens::Inbetweens::static_type().mark_as_plugin_api(gst::PluginAPIFlags::empty());
}

impl From<ProviderChoice> for Provider {
    fn from(choice: ProviderChoice) -> Self {
        match choice {
            ProviderChoice::Auto => Provider::Auto,
            ProviderChoice::Cpu => Provider::Cpu,
            ProviderChoice::Cuda => Provider::Cuda,
            ProviderChoice::TensorRt => Provider::TensorRt,
        }
    }
}

/// The `precision` property of the network elements.
#[derive(Debug, Eq, PartialEq, Hash, Clone, Copy, glib::Enum, Default)]
#[repr(u32)]
#[enum_type(name = "GstAnimecamPrecision")]
pub enum PrecisionSetting {
    #[default]
    #[enum_value(
        name = "int8 on the CPU when the int8 set (NAME-int8 beside the model folder) is there, else fp32",
        nick = "auto"
    )]
    Auto = 0,
    #[enum_value(name = "fp32", nick = "fp32")]
    Fp32 = 1,
    #[enum_value(name = "int8 (fails if the int8 set is missing)", nick = "int8")]
    Int8 = 2,
}

impl From<PrecisionSetting> for PrecisionChoice {
    fn from(setting: PrecisionSetting) -> Self {
        match setting {
            PrecisionSetting::Auto => PrecisionChoice::Auto,
            PrecisionSetting::Fp32 => PrecisionChoice::Fp32,
            PrecisionSetting::Int8 => PrecisionChoice::Int8,
        }
    }
}

/// Sink and src templates for packed RGB video, the same for every animecam element.
pub fn video_pad_templates() -> Vec<gst::PadTemplate> {
    let caps = gst_video::VideoCapsBuilder::new()
        .format_list(VIDEO_FORMATS)
        .build();
    [gst::PadDirection::Sink, gst::PadDirection::Src]
        .into_iter()
        .map(|direction| {
            let name = if direction == gst::PadDirection::Sink {
                "sink"
            } else {
                "src"
            };
            gst::PadTemplate::new(name, direction, gst::PadPresence::Always, &caps)
                .expect("static templates are valid")
        })
        .collect()
}

/// Caps of an element whose output is a square of `size` pixels (once known) and whose input may
/// be any size: downstream of it the square, upstream of it any width and height.
pub fn square_output_caps(
    direction: gst::PadDirection,
    caps: &gst::Caps,
    filter: Option<&gst::Caps>,
    size: Option<i32>,
) -> gst::Caps {
    let mut result = caps.clone();
    for structure in result.make_mut().iter_mut() {
        match (direction, size) {
            (gst::PadDirection::Sink, Some(size)) => {
                structure.set("width", size);
                structure.set("height", size);
                structure.set("pixel-aspect-ratio", gst::Fraction::new(1, 1));
            }
            _ => {
                structure.set("width", gst::IntRange::new(1, i32::MAX));
                structure.set("height", gst::IntRange::new(1, i32::MAX));
                structure.remove_field("pixel-aspect-ratio");
            }
        }
    }
    match filter {
        Some(filter) => filter.intersect_with_mode(&result, gst::CapsIntersectMode::First),
        None => result,
    }
}

/// What a network element runs on: its read-only `provider-in-use` and `precision-in-use`.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct InUse {
    pub provider: String,
    pub precision: String,
}

impl InUse {
    pub fn new(provider: impl ToString, precision: impl ToString) -> Self {
        InUse {
            provider: provider.to_string(),
            precision: precision.to_string(),
        }
    }

    /// `provider-in-use` or `precision-in-use`.
    pub fn value(&self, property: &str) -> glib::Value {
        use gst::prelude::*;
        match property {
            "precision-in-use" => self.precision.to_value(),
            _ => self.provider.to_value(),
        }
    }
}

/// When an element's `model-dir` may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelDirChange {
    /// In the NULL and READY states: the model loads when the element starts.
    WhenStopped,
    /// While playing too: the element loads the new model off the streaming thread and swaps it in.
    WhilePlaying,
}

/// The model folder and execution settings every inference element has, with their properties.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSettings {
    pub model_dir: Option<String>,
    pub provider: ProviderChoice,
    pub precision: PrecisionSetting,
    pub threads: u32,
}

impl ModelSettings {
    pub fn new(threads: u32) -> Self {
        ModelSettings {
            model_dir: None,
            provider: ProviderChoice::default(),
            precision: PrecisionSetting::default(),
            threads,
        }
    }

    /// `model-dir`, `provider`, `precision`, `threads` and the read-only `provider-in-use` and
    /// `precision-in-use`.
    pub fn properties(model_dir_blurb: &str, default_threads: u32) -> Vec<glib::ParamSpec> {
        Self::properties_with(
            model_dir_blurb,
            default_threads,
            ModelDirChange::WhenStopped,
        )
    }

    /// As [`ModelSettings::properties`], with `model-dir` changeable as `change` says.
    pub fn properties_with(
        model_dir_blurb: &str,
        default_threads: u32,
        change: ModelDirChange,
    ) -> Vec<glib::ParamSpec> {
        use gst::prelude::*;
        let model_dir = glib::ParamSpecString::builder("model-dir")
            .nick("Model folder")
            .blurb(model_dir_blurb);
        let model_dir = match change {
            ModelDirChange::WhenStopped => model_dir.mutable_ready(),
            ModelDirChange::WhilePlaying => model_dir.mutable_playing(),
        };
        vec![
            model_dir.build(),
            glib::ParamSpecEnum::builder_with_default("provider", ProviderChoice::default())
                .nick("Execution provider")
                .blurb("Where the network runs: auto (TensorRT, then CUDA, then CPU), or one by name, which must work")
                .mutable_ready()
                .build(),
            glib::ParamSpecEnum::builder_with_default("precision", PrecisionSetting::default())
                .nick("Precision")
                .blurb("fp32, or int8 from the set the quantiser wrote beside the model folder (NAME-int8); auto: int8 on the CPU when it is there")
                .mutable_ready()
                .build(),
            glib::ParamSpecUInt::builder("threads")
                .nick("Threads")
                .blurb("ONNX Runtime threads (0: one per core)")
                .maximum(64)
                .default_value(default_threads)
                .mutable_ready()
                .build(),
            glib::ParamSpecString::builder("provider-in-use")
                .nick("Provider in use")
                .blurb("The execution provider the network actually runs on (empty before start)")
                .read_only()
                .build(),
            glib::ParamSpecString::builder("precision-in-use")
                .nick("Precision in use")
                .blurb("The precision of the model set the network runs (empty before start)")
                .read_only()
                .build(),
        ]
    }

    /// Sets one of the properties; false for a name that is not one of them.
    pub fn set_property(&mut self, name: &str, value: &glib::Value) -> bool {
        match name {
            "model-dir" => {
                self.model_dir = value
                    .get::<Option<String>>()
                    .expect("type checked upstream")
                    .filter(|dir| !dir.is_empty())
            }
            "provider" => self.provider = value.get().expect("type checked upstream"),
            "precision" => self.precision = value.get().expect("type checked upstream"),
            "threads" => self.threads = value.get().expect("type checked upstream"),
            _ => return false,
        }
        true
    }

    /// One of the properties (but `provider-in-use`, which the element keeps).
    pub fn property(&self, name: &str) -> Option<glib::Value> {
        use gst::prelude::*;
        match name {
            "model-dir" => Some(self.model_dir.to_value()),
            "provider" => Some(self.provider.to_value()),
            "precision" => Some(self.precision.to_value()),
            "threads" => Some(self.threads.to_value()),
            _ => None,
        }
    }

    /// The model folder: the property, else `default_set` under the models directory.
    pub fn dir(&self, default_set: &str) -> std::path::PathBuf {
        self.model_dir
            .as_ref()
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| animecam::model_sets::models_dir().join(default_set))
    }

    /// The model set that runs: the folder [`ModelSettings::dir`] names, or the int8 set beside it
    /// (see [`animecam::inference::choose_model_set`]). Where `auto` could not take a broken int8
    /// set, `element` posts a warning saying which folder and why, and fp32 runs.
    pub fn model_set(
        &self,
        default_set: &str,
        element: &gst::Element,
    ) -> Result<ModelSet, animecam::inference::PrecisionError> {
        use gst::prelude::*;
        let set = choose_model_set(
            &self.dir(default_set),
            self.precision.into(),
            self.provider.into(),
        )?;
        if let Some(broken) = &set.unused_int8 {
            let _ = element.post_message(
                gst::message::Warning::builder(
                    gst::ResourceError::Settings,
                    &format!(
                        "precision auto runs the fp32 set {}: {broken}",
                        set.dir.display()
                    ),
                )
                .src(element)
                .build(),
            );
        }
        Ok(set)
    }

    pub fn provider_options(&self) -> animecam::inference::ProviderOptions {
        animecam::inference::ProviderOptions {
            provider: self.provider.into(),
            intra_threads: self.threads as usize,
            ..animecam::inference::ProviderOptions::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_streams_are_flushes_and_segments_of_another_seqnum() {
        gst::init().unwrap();
        let segment = gst::FormattedSegment::<gst::ClockTime>::new();
        let first = gst::event::Segment::new(&segment);
        let again = gst::event::Segment::builder(&segment)
            .seqnum(first.seqnum())
            .build();
        let seek = gst::event::Segment::new(&segment);
        let mut last = None;
        assert!(!is_new_stream(&first, &mut last), "the first segment");
        assert!(
            !is_new_stream(&again, &mut last),
            "the same segment sent again"
        );
        assert!(is_new_stream(&seek, &mut last), "a non-flushing seek");
        assert!(is_new_stream(&gst::event::FlushStop::new(true), &mut last));
        assert!(!is_new_stream(&gst::event::Eos::new(), &mut last));
    }
}
