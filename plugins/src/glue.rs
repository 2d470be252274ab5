//! Glue every element shares: mapping GStreamer video formats to the library's frame views, and
//! the execution-provider property type. Plain conversions; no element logic.

use animecam::inference::Provider;
use animecam::tensor::PixelFormat;
use gst::glib;
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
