//! The studio's pipeline: pipelines/studio.gst built as the live commands build theirs (the
//! same animation options, chains and camera edits), with the outputs switched on taken from
//! the commands that do those jobs, and the two pictures the window shows handed over from
//! their appsinks.

use std::path::{Path, PathBuf};

use animecam_cli::descriptions::{self, edit, names, Mode};
use gst::prelude::*;

use super::settings::{Background, Settings};
use crate::args::{
    Animation, BackgroundArg, ExpressionArg, Live, PrecisionArg, ProviderArg, RemoteArgs,
    VariantArg,
};
use crate::commands::live_common::{camera_options, live_variables};
use crate::commands::options;

/// The side of the avatar the studio shows.
pub const AVATAR_SIDE: u32 = 512;

/// The outputs switched on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outputs {
    pub virtual_camera: bool,
    pub stream: bool,
    /// The file being recorded: MP4, or with a transparent background MOV.
    pub record: Option<PathBuf>,
}

/// Why transparency and the live outputs do not go together.
pub const TRANSPARENT_LIVE: &str =
    "a transparent background cannot go through a virtual camera or \
     an H.264 stream: key a colour instead (and a chroma key filter in OBS or the call app); \
     recordings keep the transparency (MOV)";

/// One picture for the window: packed RGBA, as the appsink's caps say.
pub struct Picture {
    pub width: u32,
    pub height: u32,
    pub stride: usize,
    pub pixels: gst::MappedBuffer<gst::buffer::Readable>,
}

impl AsRef<[u8]> for Picture {
    fn as_ref(&self) -> &[u8] {
        self.pixels.as_slice()
    }
}

/// Which of the window's pictures a frame is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Avatar,
    Camera,
}

/// The animation options the settings stand for, as the CLI's `--mode`, `--background` and
/// `--expression` give them.
pub fn animation(settings: &Settings, portrait: &Path, models: &Path) -> Animation {
    let mode = mode_of(settings);
    let expression = (mode == Mode::Warp).then(|| {
        ExpressionArg(
            animecam::warp::ChannelGains::CHANNELS
                .iter()
                .map(|(channel, _)| (channel.to_string(), settings.gain(channel)))
                .collect(),
        )
    });
    Animation {
        portrait: Some(portrait.to_path_buf()),
        mode,
        models: Some(models.to_path_buf()),
        provider: ProviderArg::Auto,
        precision: PrecisionArg::Auto,
        keypoints_precision: None,
        size: Some(AVATAR_SIDE),
        background: match settings.background {
            // The networks that redraw the picture have no portrait background to replace.
            Background::Key(color) if !mode.redraws_the_picture() => BackgroundArg::Color(color),
            // Transparency is set on the built pipeline (the live commands refuse it: their
            // outputs cannot carry it; the studio's recording can).
            Background::Key(_) | Background::Portrait | Background::Transparent => {
                BackgroundArg::Portrait
            }
        },
        style: None,
        variant: VariantArg::Auto,
        expression,
    }
}

/// The settings' mode, the warp when it names none the CLI knows.
pub fn mode_of(settings: &Settings) -> Mode {
    <Mode as clap::ValueEnum>::from_str(&settings.mode, true).unwrap_or(Mode::Warp)
}

/// Why a mode cannot run here (its weights are missing), with the command that converts them;
/// None when it can.
pub fn missing_weights(mode: Mode, models: &Path) -> Option<String> {
    let (set, dir) = crate::commands::options::missing_model_set(mode, models)?;
    Some(format!(
        "needs the {} weights in {}: animecam models import FILE (the official checkpoint; README, Models)",
        set.name,
        dir.display()
    ))
}

/// The studio's pipeline for these settings; not yet playing.
pub fn build(
    settings: &Settings,
    portrait: &Path,
    models: &Path,
    live: &Live,
    outputs: &Outputs,
) -> Result<gst::Pipeline, String> {
    let animation = animation(settings, portrait, models);
    let transparent =
        settings.background == Background::Transparent && !animation.mode.redraws_the_picture();
    if transparent && (outputs.stream || outputs.virtual_camera) {
        return Err(TRANSPARENT_LIVE.to_owned());
    }
    let mut live = live.clone();
    if let Some(device) = &settings.device {
        live.device = device.clone();
    }
    let output = outputs
        .stream
        .then(|| ("PORT", settings.stream_port.to_string()));
    let variables =
        live_variables(&animation, &live, &RemoteArgs::here(), output).map_err(|e| e.message)?;
    let pipeline = descriptions::launch(descriptions::STUDIO, &variables, animation.mode, false)?;
    if outputs.stream {
        place_output(
            &pipeline,
            descriptions::STREAM,
            &variables,
            names::TO_STREAM,
        )?;
    }
    if outputs.virtual_camera {
        place_output(
            &pipeline,
            descriptions::VIRTUALCAM,
            &variables,
            names::TO_VIRTUALCAM,
        )?;
    }
    if let Some(file) = &outputs.record {
        let mut variables = variables.clone();
        variables.insert("OUTPUT", options::path_value(file).map_err(|e| e.message)?);
        if transparent {
            variables.insert("INPUT", descriptions::UNUSED_PORTRAIT.to_owned());
            place_output(
                &pipeline,
                descriptions::CLIP_ALPHA_SILENT,
                &variables,
                names::TO_RECORD,
            )?;
        } else {
            let record = edit::part(&descriptions::fill(descriptions::RECORD, &variables)?)?;
            edit::replace(&pipeline, names::RECORD_OFF, &record)?;
        }
    }
    options::finish(&pipeline, &animation).map_err(|e| e.message)?;
    if transparent {
        edit::named(&pipeline, names::ANIMATE)?.set_property_from_str("background", "transparent");
    }
    if animation.mode == Mode::Warp {
        let animate = edit::named(&pipeline, names::ANIMATE)?;
        if let Some(degrees) = settings.max_yaw {
            animate.set_property("max-yaw", degrees);
        }
        if let Some(degrees) = settings.max_pitch {
            animate.set_property("max-pitch", degrees);
        }
    }
    // The resolution asked of a camera device (a --camera source says its own).
    let asked = settings.resolution.as_deref().and_then(resolution);
    if let Some((width, height)) = asked.filter(|_| live.camera.is_none()) {
        let caps = gst::Caps::builder("video/x-raw")
            .field("width", width)
            .field("height", height)
            .build();
        let filter = gst::ElementFactory::make("capsfilter")
            .property("caps", caps)
            .build()
            .map_err(|e| e.to_string())?;
        edit::insert_after(&edit::named(&pipeline, names::CAMERA)?, &filter)?;
    }
    camera_options(&pipeline, &live)?;
    Ok(pipeline)
}

/// `WIDTHxHEIGHT`.
pub fn resolution(text: &str) -> Option<(i32, i32)> {
    let (width, height) = text.split_once('x')?;
    Some((width.parse().ok()?, height.parse().ok()?))
}

/// Puts what follows the animation in `description` (a command's output) after the studio's
/// queue named `onto`, in place of its fakesink.
fn place_output(
    pipeline: &gst::Pipeline,
    description: &str,
    variables: &std::collections::HashMap<&'static str, String>,
    onto: &str,
) -> Result<(), String> {
    let mut variables = variables.clone();
    variables.insert("PORTRAIT", descriptions::UNUSED_PORTRAIT.to_owned());
    let command = descriptions::launch(description, &variables, Mode::Warp, false)?;
    edit::remove_after(pipeline, onto)?;
    edit::move_after(&command, names::ANIMATE, pipeline, onto)
}

/// Sends each frame of the view's appsink to `frames` (the window's main loop awaits them); a
/// frame the window has not taken yet is replaced by the newer one.
pub fn hand_over(
    pipeline: &gst::Pipeline,
    view: View,
    frames: async_channel::Sender<Picture>,
) -> Result<(), String> {
    let name = match view {
        View::Avatar => names::AVATAR_VIEW,
        View::Camera => names::CAMERA_VIEW,
    };
    let sink = edit::named(pipeline, name)?
        .downcast::<gst_app::AppSink>()
        .map_err(|_| format!("{name} is not an appsink"))?;
    sink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |sink| {
                let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                let size = sample
                    .caps()
                    .and_then(|caps| caps.structure(0))
                    .and_then(|s| Some((s.get::<i32>("width").ok()?, s.get::<i32>("height").ok()?)))
                    .filter(|&(width, height)| width > 0 && height > 0)
                    .ok_or(gst::FlowError::NotNegotiated)?;
                let buffer = sample.buffer_owned().ok_or(gst::FlowError::Error)?;
                let pixels = buffer
                    .into_mapped_buffer_readable()
                    .map_err(|_| gst::FlowError::Error)?;
                // Packed RGBA rows (the caps before the appsink ask for it): 4 bytes a pixel,
                // and GStreamer's rows of 4-byte pixels need no padding.
                let (width, height) = (size.0 as u32, size.1 as u32);
                let stride = pixels.len() / height as usize;
                if stride < width as usize * 4 {
                    return Err(gst::FlowError::NotNegotiated);
                }
                let picture = Picture {
                    width,
                    height,
                    stride,
                    pixels,
                };
                // A closed window has stopped listening: the pipeline is being stopped too. A
                // frame the window has not drawn yet gives way to this newer one.
                let _ = frames.force_send(picture);
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );
    Ok(())
}

/// A new file to record to in `folder`: `animecam YYYY-MM-DD HH-MM-SS.EXT`, MOV when the
/// background is transparent (its PNG frames keep the alpha), else MP4; never an existing file.
pub fn recording_file(folder: &Path, transparent: bool, now: &str) -> PathBuf {
    let extension = if transparent { "mov" } else { "mp4" };
    let mut file = folder.join(format!("animecam {now}.{extension}"));
    let mut copy = 1;
    while file.exists() {
        copy += 1;
        file = folder.join(format!("animecam {now} ({copy}).{extension}"));
    }
    file
}

/// The portrait the settings name in the folder, else the folder's first.
pub fn chosen_portrait(settings: &Settings, portraits: &[PathBuf]) -> Option<PathBuf> {
    settings
        .portrait
        .as_ref()
        .and_then(|name| {
            portraits
                .iter()
                .find(|p| p.file_name().is_some_and(|n| n == name.as_str()))
        })
        .or(portraits.first())
        .cloned()
}
