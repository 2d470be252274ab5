//! `animecam`: your face drives an anime portrait, live or from a clip.
//!
//! The subcommands run the gst-launch descriptions of `pipelines/` through the animecam plugin,
//! which is linked in: no GST_PLUGIN_PATH needed.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use animecam::inference::{default_models_dir, Provider, ProviderOptions};
use clap::{Args, Parser, Subcommand, ValueEnum};
use gst::prelude::*;

mod alloc_count;
mod bench;
mod clip;
mod doctor;
mod live;
mod models;
mod pipeline;

use pipeline::Mode;

#[global_allocator]
static ALLOCATOR: alloc_count::CountingAllocator = alloc_count::CountingAllocator;

#[derive(Parser)]
#[command(
    name = "animecam",
    version,
    about = "Your face drives an anime portrait, live or from a clip"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// What every animation takes.
#[derive(Args, Clone)]
struct Animation {
    /// The anime portrait to animate (PNG or JPEG), or a folder of them (n/p cycle through it).
    #[arg(long, short)]
    portrait: Option<PathBuf>,
    /// How to animate: warp needs no converted weights; fomm and ugatit do.
    #[arg(long, value_enum, default_value_t = Mode::Warp)]
    mode: Mode,
    /// Folder of model sets (blazeface/, vox-256/, ugatit/).
    #[arg(long)]
    models: Option<PathBuf>,
    /// Where the networks run.
    #[arg(long, value_enum, default_value_t = ProviderArg::Auto)]
    provider: ProviderArg,
    /// Side of the animated picture in pixels (default: 512 for warp, the model's for fomm).
    #[arg(long)]
    size: Option<u32>,
}

/// Where the live picture comes from and goes to.
#[derive(Args, Clone)]
struct Live {
    /// The camera device.
    #[arg(long, default_value = "/dev/video0")]
    device: String,
    /// A GStreamer source to use instead of the camera, e.g. "videotestsrc is-live=true".
    #[arg(long)]
    camera: Option<String>,
    /// Do not mirror the camera picture.
    #[arg(long)]
    no_mirror: bool,
    /// Stop after this many seconds.
    #[arg(long, value_parser = positive_seconds)]
    seconds: Option<f64>,
}

/// A duration in seconds: positive and finite.
pub fn positive_seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(seconds) if seconds > 0.0 && seconds <= 1e7 => Ok(seconds),
        _ => Err(format!(
            "'{text}' is not a number of seconds between 0 and 10000000"
        )),
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum ProviderArg {
    Auto,
    Cpu,
    Cuda,
    Tensorrt,
}

impl From<ProviderArg> for Provider {
    fn from(value: ProviderArg) -> Self {
        match value {
            ProviderArg::Auto => Provider::Auto,
            ProviderArg::Cpu => Provider::Cpu,
            ProviderArg::Cuda => Provider::Cuda,
            ProviderArg::Tensorrt => Provider::TensorRt,
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Webcam to an anime window. Keys: r recalibrate, n/p next/previous portrait, q quit.
    Webcam {
        #[command(flatten)]
        animation: Animation,
        #[command(flatten)]
        live: Live,
        /// Show the camera beside the animation.
        #[arg(long)]
        preview: bool,
        /// A GStreamer sink to use instead of a window (e.g. fakesink).
        #[arg(long, default_value = "autovideosink sync=false")]
        sink: String,
    },
    /// Virtual camera for video calls, on a v4l2loopback device.
    Virtualcam {
        #[command(flatten)]
        animation: Animation,
        #[command(flatten)]
        live: Live,
        /// The v4l2loopback device to write to.
        #[arg(long, default_value = "/dev/video10")]
        output: String,
    },
    /// A recorded clip drives the portrait: writes an MP4, clip and animation side by side.
    Clip {
        /// The driving clip.
        input: PathBuf,
        /// The MP4 to write (an existing file is not overwritten unless --force).
        output: PathBuf,
        #[command(flatten)]
        animation: Animation,
        /// Overwrite OUTPUT if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Stream to OBS over SRT (MPEG-TS, H.264, low latency).
    Stream {
        #[command(flatten)]
        animation: Animation,
        #[command(flatten)]
        live: Live,
        /// The SRT port to listen on.
        #[arg(long, default_value_t = 8888)]
        port: u16,
    },
    /// List the model sets, check their files, show where each graph would run.
    Models {
        #[arg(long)]
        models: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = ProviderArg::Auto)]
        provider: ProviderArg,
    },
    /// Check GStreamer, ONNX Runtime, models and devices; print the fix for each problem.
    Doctor,
    /// Per-stage cost on full-size random-weight models (make random-models), as a table and JSON.
    Bench(bench::BenchArgs),
}

/// A user-facing failure: the message, and the exit code.
struct Failure(String);

impl<T: std::fmt::Display> From<T> for Failure {
    fn from(value: T) -> Self {
        Failure(value.to_string())
    }
}

fn init() -> Result<(), Failure> {
    gst::init()?;
    gstanimecam::plugin_register_static()
        .map_err(|e| format!("cannot register the animecam plugin: {e}"))?;
    Ok(())
}

/// The variables of a description, checked: the portrait exists, the models do for the mode.
fn variables(animation: &Animation) -> Result<HashMap<&'static str, String>, Failure> {
    let mut variables = HashMap::new();
    let models = animation.models.clone().unwrap_or_else(default_models_dir);
    if animation.mode.needs_portrait() {
        let portrait = animation.portrait.as_ref().ok_or(
            "no portrait: pass --portrait with an anime portrait (PNG or JPEG) or a folder of them",
        )?;
        let first = live::first_portrait(portrait)
            .filter(|p| p.is_file())
            .ok_or_else(|| format!("portrait {} not found: pass an existing PNG or JPEG file, or a folder holding some", portrait.display()))?;
        variables.insert("PORTRAIT", first.to_string_lossy().to_string());
    }
    let needed = match animation.mode {
        Mode::Fomm => Some("vox-256"),
        Mode::Ugatit => Some("ugatit"),
        Mode::Warp => None,
    };
    if let Some(set) = needed {
        if !models.join(set).join("manifest.json").is_file() {
            return Err(Failure(format!(
                "--mode {} needs the converted {set} models in {}: convert the official checkpoint (README, Models), or use --mode warp",
                format!("{:?}", animation.mode).to_lowercase(),
                models.join(set).display()
            )));
        }
    }
    variables.insert("MODELS", models.to_string_lossy().to_string());
    let provider: Provider = animation.provider.into();
    variables.insert("PROVIDER", provider.to_string());
    if let Some(size) = animation.size {
        variables.insert("SIZE", size.to_string());
    }
    Ok(variables)
}

fn launch(description: &str) -> Result<gst::Pipeline, Failure> {
    gst::parse::launch(description)
        .map_err(|e| format!("cannot build the pipeline: {e}\n  {description}"))?
        .downcast::<gst::Pipeline>()
        .map_err(|_| Failure("not a pipeline".into()))
}

fn live_source(
    live: &Live,
    variables: &mut HashMap<&'static str, String>,
) -> Result<Option<String>, Failure> {
    if live.camera.is_none() && !std::path::Path::new(&live.device).exists() {
        return Err(Failure(format!(
            "camera {} not found: plug a webcam in, pick another with --device (see `animecam doctor`), or use --camera \"videotestsrc is-live=true\" to try without one",
            live.device
        )));
    }
    variables.insert("DEVICE", live.device.clone());
    Ok(live.camera.clone())
}

fn live_description(
    base: &str,
    animation: &Animation,
    live: &Live,
    variables: &mut HashMap<&'static str, String>,
) -> Result<String, Failure> {
    let camera = live_source(live, variables)?;
    let mut text = pipeline::customise(base, animation.mode, camera.as_deref());
    if live.no_mirror {
        text = text.replace(" ! videoflip method=horizontal-flip", "");
    }
    Ok(pipeline::expand(&text, variables).map_err(|e| format!("pipeline variable {e}"))?)
}

fn run(cli: Cli) -> Result<(), Failure> {
    init()?;
    match cli.command {
        Command::Webcam {
            animation,
            live,
            preview,
            sink,
        } => {
            let mut variables = variables(&animation)?;
            let mut description =
                live_description(pipeline::WEBCAM, &animation, &live, &mut variables)?;
            description = description.replace("autovideosink sync=false", &sink);
            if preview {
                // The camera beside the animation: tee before the animation, compose after it.
                description = description
                    .replacen(" ! facetrack ! ", " ! facetrack ! tee name=camera ! ", 1)
                    .replacen(&format!(" ! videoconvert ! {sink}"), " ! compose.sink_1 ", 1)
                    + &format!(
                        " camera. ! queue leaky=downstream max-size-buffers=1 ! videoscale ! video/x-raw,height=512 ! compose.sink_0 \
                         compositor name=compose sink_1::xpos=683 ! videoconvert ! {sink}"
                    );
            }
            let pipeline = launch(&description)?;
            let options = live::LiveOptions {
                portrait: animation.portrait.clone(),
                duration: live.seconds.map(Duration::from_secs_f64),
                quiet: false,
            };
            live::run_live(&pipeline, &options)?;
        }
        Command::Virtualcam {
            animation,
            live,
            output,
        } => {
            if !std::path::Path::new(&output).exists() {
                return Err(Failure(format!(
                    "{output} not found: load v4l2loopback first: sudo modprobe v4l2loopback devices=1 video_nr=10 card_label=\"animecam\" exclusive_caps=1"
                )));
            }
            let mut variables = variables(&animation)?;
            variables.insert("OUTPUT", output.clone());
            let description =
                live_description(pipeline::VIRTUALCAM, &animation, &live, &mut variables)?;
            let pipeline = launch(&description)?;
            eprintln!(
                "virtual camera on {output}: pick \"animecam\" as the camera in your call app"
            );
            let options = live::LiveOptions {
                portrait: animation.portrait.clone(),
                duration: live.seconds.map(Duration::from_secs_f64),
                quiet: false,
            };
            live::run_live(&pipeline, &options)?;
        }
        Command::Stream {
            animation,
            live,
            port,
        } => {
            let mut variables = variables(&animation)?;
            variables.insert("PORT", port.to_string());
            let description =
                live_description(pipeline::STREAM, &animation, &live, &mut variables)?;
            let pipeline = launch(&description)?;
            eprintln!("streaming on srt://0.0.0.0:{port}: in OBS add a Media Source with input srt://127.0.0.1:{port}?mode=caller, format mpegts");
            let options = live::LiveOptions {
                portrait: animation.portrait.clone(),
                duration: live.seconds.map(Duration::from_secs_f64),
                quiet: false,
            };
            live::run_live(&pipeline, &options)?;
        }
        Command::Clip {
            input,
            output,
            animation,
            force,
        } => {
            if !input.is_file() {
                return Err(Failure(format!(
                    "clip {} not found: pass an existing video file",
                    input.display()
                )));
            }
            if output.exists() && !force {
                return Err(Failure(format!(
                    "{} exists: animecam does not overwrite it; pass --force or another path",
                    output.display()
                )));
            }
            let (has_audio, duration) = clip::probe(&input)?;
            let mut variables = variables(&animation)?;
            variables.insert("INPUT", input.to_string_lossy().to_string());
            // Written beside the target and renamed at the end: an interrupted run leaves no
            // half-written file under the user's name.
            let partial = output.with_extension("part.mp4");
            variables.insert("OUTPUT", partial.to_string_lossy().to_string());
            let base = if has_audio {
                pipeline::CLIP
            } else {
                pipeline::CLIP_SILENT
            };
            let text = pipeline::customise(base, animation.mode, None);
            let description = pipeline::expand(&text, &variables)
                .map_err(|e| format!("pipeline variable {e}"))?;
            let pipeline = launch(&description)?;
            let result = clip::run(&pipeline, duration, false);
            if let Err(e) = result {
                let _ = std::fs::remove_file(&partial);
                return Err(Failure(e));
            }
            std::fs::rename(&partial, &output)?;
            eprintln!(
                "wrote {}{}",
                output.display(),
                if has_audio {
                    " (with the clip's audio)"
                } else {
                    ""
                }
            );
        }
        Command::Models { models, provider } => {
            let dir = models.unwrap_or_else(default_models_dir);
            let options = ProviderOptions {
                provider: provider.into(),
                ..ProviderOptions::default()
            };
            let code = models::run(&dir, &options);
            if code != 0 {
                return Err(Failure(String::new()));
            }
        }
        Command::Doctor => {
            if doctor::run() != 0 {
                return Err(Failure(String::new()));
            }
        }
        Command::Bench(args) => bench::run(&args)?,
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure(message)) => {
            if !message.is_empty() {
                eprintln!("error: {message}");
            }
            ExitCode::FAILURE
        }
    }
}
