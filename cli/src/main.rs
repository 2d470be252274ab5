//! `animecam`: your face drives an anime portrait, live or from a clip.
//!
//! The subcommands run the gst-launch descriptions of `pipelines/` through the animecam plugin,
//! which is linked in: no GST_PLUGIN_PATH needed.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use animecam::inference::{Provider, ProviderOptions};
use animecam::model_sets::{self, KnownSet};
use clap::{Args, Parser, Subcommand, ValueEnum};
use gst::prelude::*;

mod alloc_count;
mod bench;
mod clip;
mod doctor;
mod live;
mod models;
mod pipeline;
mod remote;
mod signals;
mod window;

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
    /// fomm and ugatit: fp32, or int8 from the set the quantiser wrote beside the models
    /// (make int8-models); auto: int8 on the CPU when it is there.
    #[arg(long, value_enum, default_value_t = PrecisionArg::Auto)]
    precision: PrecisionArg,
    /// Side of the animated picture in pixels, 64 to 2048 (default 512; live fomm: the model's).
    #[arg(long, value_parser = picture_side)]
    size: Option<u32>,
    /// What the avatar is shown over where the portrait (a PNG with transparency) is clear:
    /// portrait (as drawn), transparent (clip only: a MOV with alpha, for OBS and editors), or a
    /// colour for a chroma key: green, blue or #RRGGBB.
    #[arg(long, default_value = "portrait", value_parser = background)]
    background: BackgroundArg,
    /// U-GAT-IT generator for --mode ugatit: auto takes whichever is converted, full first.
    #[arg(long, value_enum, default_value_t = VariantArg::Auto)]
    variant: VariantArg,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum BackgroundArg {
    Portrait,
    Transparent,
    /// 0xRRGGBB.
    Color(u32),
}

/// `portrait`, `transparent`, `green`, `blue` or `#RRGGBB`.
fn background(text: &str) -> Result<BackgroundArg, String> {
    match text.to_ascii_lowercase().as_str() {
        "portrait" => Ok(BackgroundArg::Portrait),
        "transparent" => Ok(BackgroundArg::Transparent),
        "green" => Ok(BackgroundArg::Color(0x00FF00)),
        "blue" => Ok(BackgroundArg::Color(0x0000FF)),
        hex if hex.len() == 7 && hex.starts_with('#') => u32::from_str_radix(&hex[1..], 16)
            .map(BackgroundArg::Color)
            .map_err(|_| format!("'{text}' is not a colour: expected #RRGGBB in hexadecimal")),
        _ => Err(format!(
            "'{text}' is not a background: expected portrait, transparent, green, blue or #RRGGBB"
        )),
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum PrecisionArg {
    Auto,
    Fp32,
    Int8,
}

impl PrecisionArg {
    /// The elements' `precision` value.
    fn nick(self) -> &'static str {
        match self {
            PrecisionArg::Auto => "auto",
            PrecisionArg::Fp32 => "fp32",
            PrecisionArg::Int8 => "int8",
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum VariantArg {
    Auto,
    Full,
    Light,
}

impl VariantArg {
    /// The ugatit element's `variant` value.
    fn nick(self) -> &'static str {
        match self {
            VariantArg::Auto => "auto",
            VariantArg::Full => "full",
            VariantArg::Light => "light",
        }
    }
}

/// The side of a square picture: what the elements and the H.264 encoder accept (even, so that
/// 4:2:0 video keeps every pixel row; at most 2048, as a clip is two of them side by side).
pub fn picture_side(text: &str) -> Result<u32, String> {
    match text.parse::<u32>() {
        Ok(side) if (64..=2048).contains(&side) && side % 2 == 0 => Ok(side),
        _ => Err(format!(
            "'{text}' is not an even number of pixels from 64 to 2048"
        )),
    }
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
            "'{text}' is not a number of seconds: more than 0, at most 10000000"
        )),
    }
}

/// The SRT link between `serve` and a `--remote` client.
#[derive(Args, Clone)]
struct LinkArgs {
    /// The passphrase both ends share: 10 to 79 bytes. Better set in ANIMECAM_PASSPHRASE,
    /// which other users of the machine cannot read from the process list.
    #[arg(long, env = "ANIMECAM_PASSPHRASE", hide_env_values = true)]
    passphrase: Option<String>,
    /// No encryption: anyone who reaches the port may send video and see the animation. Both ends
    /// must say it.
    #[arg(long)]
    insecure: bool,
    /// SRT latency in milliseconds, added to every frame each way: how long a lost packet may
    /// take to be resent before its frame is given up. A wired LAN: 20 to 40; Wi-Fi or the
    /// internet: about 4 times the round trip (ping), at least 80. The larger of the two ends'
    /// values is used.
    #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u32).range(20..=8000))]
    latency: u32,
}

impl LinkArgs {
    /// The variables of the link, checked: a passphrase SRT accepts, or --insecure.
    fn variables(&self, variables: &mut HashMap<&'static str, String>) -> Result<(), Failure> {
        match (&self.passphrase, self.insecure) {
            (Some(_), true) => return Err(Failure::from(
                "--insecure and a passphrase: pick one (unset ANIMECAM_PASSPHRASE for --insecure)",
            )),
            (Some(passphrase), false) => {
                remote::check_passphrase(passphrase)?;
                variables.insert("PASSPHRASE", passphrase.clone());
            }
            (None, true) => {}
            (None, false) => return Err(Failure::from(
                "no passphrase: set ANIMECAM_PASSPHRASE (or --passphrase) to the same 10 to 79 \
                     characters on the server and its clients, or pass --insecure on both to send \
                     the video unencrypted",
            )),
        }
        variables.insert("LATENCY", self.latency.to_string());
        Ok(())
    }
}

/// Where a remote animation runs.
#[derive(Args, Clone)]
struct RemoteArgs {
    /// Run the animation on another machine that runs `animecam serve`: its HOST:PORT (the port
    /// it receives the camera on; the animation comes back from the next one).
    #[arg(long, value_name = "HOST:PORT", value_parser = server_address)]
    remote: Option<(String, u16)>,
    #[command(flatten)]
    link: LinkArgs,
}

/// `HOST:PORT`, `HOST` (port 7000) or `[IPv6]:PORT`.
fn server_address(text: &str) -> Result<(String, u16), String> {
    let (host, port) = match text.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && (!host.contains(':') || host.ends_with(']')) => {
            (host, port)
        }
        _ if text.starts_with('[') || !text.contains(':') => (text, "7000"),
        _ => {
            return Err(format!(
                "'{text}' is not HOST:PORT (an IPv6 address goes in brackets: [::1]:7000)"
            ))
        }
    };
    match port.parse::<u16>() {
        Ok(port) if (1..u16::MAX).contains(&port) => Ok((host.to_owned(), port)),
        _ => Err(format!(
            "'{port}' is not a port: 1 to 65534 (the animation comes back on the next one)"
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
        /// A GStreamer sink to use instead of the window animecam picks (e.g. "fakesink").
        #[arg(long)]
        sink: Option<String>,
        #[command(flatten)]
        remote: RemoteArgs,
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
        #[command(flatten)]
        remote: RemoteArgs,
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
        /// The SRT port to listen on (1 to 65535).
        #[arg(long, default_value_t = 8888, value_parser = clap::value_parser!(u16).range(1..))]
        port: u16,
        #[command(flatten)]
        remote: RemoteArgs,
    },
    /// Run the animation for a client on another machine (`animecam webcam --remote
    /// THIS-HOST:PORT` there): the GPU machine's side. One client at a time.
    Serve {
        #[command(flatten)]
        animation: Animation,
        /// The UDP port to receive the camera on; the animation goes back from the next one.
        #[arg(long, default_value_t = 7000, value_parser = clap::value_parser!(u16).range(1..65535))]
        port: u16,
        #[command(flatten)]
        link: LinkArgs,
        /// Stop after this many seconds.
        #[arg(long, value_parser = positive_seconds)]
        seconds: Option<f64>,
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

/// Side of the avatar beside the camera with --preview when --size is not given.
const PREVIEW_SIDE: u32 = 512;

/// A user-facing failure: the message (empty when it was printed already) and the exit code.
struct Failure {
    message: String,
    code: u8,
}

impl Failure {
    /// Ctrl-C: the shell's convention for a run ended by SIGINT.
    const INTERRUPTED: u8 = 130;

    fn with_code(message: impl Into<String>, code: u8) -> Self {
        Failure {
            message: message.into(),
            code,
        }
    }
}

impl<T: std::fmt::Display> From<T> for Failure {
    fn from(value: T) -> Self {
        Failure::with_code(value.to_string(), 1)
    }
}

fn init() -> Result<(), Failure> {
    gst::init()?;
    gstanimecam::plugin_register_static()
        .map_err(|e| format!("cannot register the animecam plugin: {e}"))?;
    Ok(())
}

/// A path as a description's value: absolute, so that no file name can be one of the parser's
/// special values (a bare `NULL`, or a quoted string whose quotes it strips), and without control
/// characters, which no element's property reads back as they were.
fn path_value(path: &std::path::Path) -> Result<String, Failure> {
    let text = std::path::absolute(path)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .to_string_lossy()
        .to_string();
    if text.chars().any(char::is_control) {
        return Err(Failure::from(format!(
            "{:?} holds a control character (a line break or a tab): rename it",
            path.display().to_string()
        )));
    }
    Ok(text)
}

/// The variables of a description, checked: the portrait exists, the models do for the mode.
fn variables(animation: &Animation) -> Result<HashMap<&'static str, String>, Failure> {
    if animation.background != BackgroundArg::Portrait && animation.mode == Mode::Ugatit {
        return Err(Failure::from(
            "--background needs --mode warp or fomm, which move the portrait's alpha with the \
             avatar: U-GAT-IT redraws your own picture, which has none",
        ));
    }
    let mut variables = HashMap::new();
    let models = animation
        .models
        .clone()
        .unwrap_or_else(model_sets::models_dir);
    if animation.mode.needs_portrait() {
        let portrait = animation.portrait.as_ref().ok_or(
            "no portrait: pass --portrait with an anime portrait (PNG or JPEG) or a folder of them",
        )?;
        let first = live::first_portrait(portrait)
            .filter(|p| p.is_file())
            .ok_or_else(|| format!("portrait {} not found: pass an existing PNG or JPEG file, or a folder holding some", portrait.display()))?;
        variables.insert("PORTRAIT", path_value(&first)?);
    }
    let mode = format!("{:?}", animation.mode).to_lowercase();
    if let Some(set) = KnownSet::needed_by_mode(&mode) {
        if !set.dir_in(&models).join("manifest.json").is_file() {
            return Err(Failure::from(format!(
                "--mode {mode} needs the converted {} models in {}: convert the official checkpoint (README, Models), or use --mode warp",
                set.name,
                set.dir_in(&models).display()
            )));
        }
    }
    variables.insert("MODELS", path_value(&models)?);
    let provider: Provider = animation.provider.into();
    variables.insert("PROVIDER", provider.to_string());
    variables.insert("VARIANT", animation.variant.nick().to_owned());
    variables.insert("PRECISION", animation.precision.nick().to_owned());
    if let Some(size) = animation.size {
        variables.insert("SIZE", size.to_string());
    }
    Ok(variables)
}

/// Parses a description whose user values were escaped by [`pipeline::expand`], and sets what no
/// description names: the face detector's folder when `--models` points elsewhere.
fn launch(description: &str, animation: &Animation) -> Result<gst::Pipeline, Failure> {
    let pipeline = gst::parse::launch(description)
        .map_err(|e| {
            format!(
                "cannot build the pipeline: {e}\n  {}",
                remote::redact_passphrase(description)
            )
        })?
        .downcast::<gst::Pipeline>()
        .map_err(|_| Failure::from("not a pipeline"))?;
    // Every muxer of ours feeds SRT (OBS's stream, the remote link's two directions).
    for element in pipeline.iterate_recurse().into_iter().flatten() {
        if element.factory().is_some_and(|f| f.name() == "mpegtsmux") {
            remote::pack_for_srt(&element);
        }
    }
    if let Some(models) = &animation.models {
        let detector = model_sets::BLAZEFACE
            .dir_in(models)
            .to_string_lossy()
            .to_string();
        for element in pipeline.iterate_recurse().into_iter().flatten() {
            if element.factory().is_some_and(|f| f.name() == "facetrack") {
                element.set_property("model-path", &detector);
            }
        }
    }
    if animation.background != BackgroundArg::Portrait {
        let animate = pipeline
            .by_name("animate")
            .ok_or("the description has no element named animate")?;
        match animation.background {
            BackgroundArg::Transparent => {
                animate.set_property_from_str("background", "transparent")
            }
            BackgroundArg::Color(color) => {
                animate.set_property_from_str("background", "color");
                animate.set_property("background-color", color);
            }
            BackgroundArg::Portrait => {}
        }
    }
    Ok(pipeline)
}

fn live_source(
    live: &Live,
    variables: &mut HashMap<&'static str, String>,
) -> Result<Option<String>, Failure> {
    if live.camera.is_none() && !std::path::Path::new(&live.device).exists() {
        return Err(Failure::from(format!(
            "camera {} not found: plug a webcam in, pick another with --device (see `animecam doctor`), or use --camera \"videotestsrc is-live=true\" to try without one",
            live.device
        )));
    }
    variables.insert("DEVICE", path_value(std::path::Path::new(&live.device))?);
    Ok(live.camera.clone())
}

/// A live description; `square` makes the animation a square of `--size` (beside the camera).
/// With `--remote`, the tracking and the animation are replaced by the link to the server.
fn live_description(
    base: &str,
    animation: &Animation,
    live: &Live,
    variables: &mut HashMap<&'static str, String>,
    square: bool,
    remote: &RemoteArgs,
) -> Result<String, Failure> {
    if animation.background == BackgroundArg::Transparent {
        return Err(Failure::from(
            "--background transparent: a window, a virtual camera and an H.264 stream cannot carry \
             transparency; key a colour instead (--background green, blue or #RRGGBB, and a \
             chroma key filter in OBS or the call app), or write a transparent clip with \
             `animecam clip --background transparent OUT.mov`",
        ));
    }
    let camera = live_source(live, variables)?;
    let mode = if remote.remote.is_some() {
        Mode::Warp
    } else {
        animation.mode
    };
    let mut text = pipeline::customise(base, mode, camera.as_deref(), square);
    if live.no_mirror {
        text = text.replace(" ! videoflip method=horizontal-flip", "");
    }
    if let Some((host, port)) = &remote.remote {
        text = remote::client_description(&text, remote.link.insecure)?;
        variables.insert("SERVER", remote::resolve(host, *port)?);
        variables.insert("SERVER_PORT", port.to_string());
        variables.insert("RETURN_PORT", (port + 1).to_string());
        // Pairs this client's two connections on the server (and tells them from another
        // client's).
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        variables.insert(
            "SESSION",
            format!("animecam-{}-{nanos:09}", std::process::id()),
        );
        remote.link.variables(variables)?;
    }
    Ok(pipeline::expand(&text, variables).map_err(|e| format!("pipeline variable {e}"))?)
}

/// The variables of a live command: the animation's, or with `--remote`, none of them (the
/// server animates), after checking that no animation option was given here in vain.
fn live_variables(
    animation: &Animation,
    remote: &RemoteArgs,
) -> Result<HashMap<&'static str, String>, Failure> {
    if remote.remote.is_none() {
        return variables(animation);
    }
    if animation.portrait.is_some()
        || animation.mode != Mode::Warp
        || animation.models.is_some()
        || animation.background != BackgroundArg::Portrait
    {
        return Err(Failure::from(
            "with --remote the server animates: give --portrait, --mode, --models and \
             --background to `animecam serve` there",
        ));
    }
    Ok(HashMap::new())
}

/// SRT listens on UDP: a port another program holds would fail deep inside libsrt.
fn udp_port_free(port: u16, why: &str) -> Result<(), Failure> {
    match std::net::UdpSocket::bind(("0.0.0.0", port)) {
        Ok(_) => Ok(()),
        Err(e) => Err(Failure::from(format!(
            "port {port} is in use ({e}){why}: stop the program using it, or pick another with --port"
        ))),
    }
}

/// Runs a live command whose output is named by one variable (a device, a port).
fn run_live_command(
    base: &str,
    animation: &Animation,
    live: &Live,
    remote: &RemoteArgs,
    (name, value): (&'static str, String),
    status: String,
) -> Result<(), Failure> {
    let mut variables = live_variables(animation, remote)?;
    variables.insert(name, value);
    let description = live_description(base, animation, live, &mut variables, false, remote)?;
    let options = live_options(animation, live, status);
    run_live_description(&description, animation, options, remote)
}

/// Runs a live description here, or with `--remote` as the client of a server.
fn run_live_description(
    description: &str,
    animation: &Animation,
    options: live::LiveOptions,
    remote: &RemoteArgs,
) -> Result<(), Failure> {
    let started = std::time::Instant::now();
    let stats = match &remote.remote {
        None => {
            let pipeline = launch(description, animation)?;
            Some(live::run_live(&pipeline, &options)?)
        }
        Some((host, port)) => remote::run_client(
            || launch(description, animation).map_err(|e| e.message),
            &format!("{host}:{port}"),
            options,
        )?,
    };
    if let Some(stats) = stats.filter(|stats| stats.frames > 0) {
        eprintln!(
            "shown {} frames in {:.1} s; latency mean {:.0} ms, max {:.0} ms",
            stats.frames,
            started.elapsed().as_secs_f64(),
            stats.mean_latency_ms,
            stats.max_latency_ms
        );
    }
    Ok(())
}

fn live_options(animation: &Animation, live: &Live, status: String) -> live::LiveOptions {
    live::LiveOptions {
        portrait: animation.portrait.clone(),
        duration: live.seconds.map(Duration::from_secs_f64),
        quiet: false,
        status,
        remote: None,
    }
}

fn run(cli: Cli) -> Result<(), Failure> {
    init()?;
    match cli.command {
        Command::Webcam {
            mut animation,
            live,
            preview,
            sink,
            remote,
        } => {
            if preview && remote.remote.is_some() {
                return Err(Failure::from(
                    "--preview shows the camera beside the animation on this machine: it cannot \
                     go with --remote yet",
                ));
            }
            // The preview needs the avatar's side to lay the camera beside it.
            let side = animation.size.unwrap_or(PREVIEW_SIDE);
            if preview {
                animation.size = Some(side);
            }
            let mut variables = live_variables(&animation, &remote)?;
            let mut description = live_description(
                pipeline::WEBCAM,
                &animation,
                &live,
                &mut variables,
                preview,
                &remote,
            )?;
            // Checked before the pipeline is built: without a display a window sink can only
            // crash.
            let (sink, status) = match sink {
                Some(sink) => (sink.clone(), format!("output: {sink}")),
                None => {
                    let window = window::choose()?;
                    (format!("{window} sync=false"), format!("window: {window}"))
                }
            };
            description = description.replace(pipeline::WINDOW, &sink);
            if preview {
                // The camera (4:3 box, letterboxed) beside the animation: tee before the
                // animation, compose after it. Every size is fixed so that the window opens at
                // its final size.
                let camera_width = (side * 4 / 3) & !1;
                description = description
                    .replacen(" ! facetrack ! ", " ! facetrack ! tee name=camera ! ", 1)
                    .replacen(&format!(" ! videoconvert ! {sink}"), " ! compose.sink_1 ", 1)
                    + &format!(
                        " camera. ! queue leaky=downstream max-size-buffers=1 ! videoscale add-borders=true ! \
                         video/x-raw,width={camera_width},height={side},pixel-aspect-ratio=1/1 ! compose.sink_0 \
                         compositor name=compose background=black sink_1::xpos={camera_width} ! \
                         video/x-raw,width={},height={side} ! videoconvert ! {sink}",
                        camera_width + side
                    );
            }
            let options = live_options(&animation, &live, status);
            run_live_description(&description, &animation, options, &remote)?;
        }
        Command::Virtualcam {
            animation,
            live,
            output,
            remote,
        } => {
            if !std::path::Path::new(&output).exists() {
                return Err(Failure::from(format!(
                    "{output} not found: load v4l2loopback first: sudo modprobe v4l2loopback devices=1 video_nr=10 card_label=\"animecam\" exclusive_caps=1"
                )));
            }
            let status = format!(
                "virtual camera on {output}: pick \"animecam\" as the camera in your call app"
            );
            let output = ("OUTPUT", path_value(std::path::Path::new(&output))?);
            run_live_command(
                pipeline::VIRTUALCAM,
                &animation,
                &live,
                &remote,
                output,
                status,
            )?;
        }
        Command::Stream {
            animation,
            live,
            port,
            remote,
        } => {
            udp_port_free(port, "")?;
            let status = format!("streaming on srt://0.0.0.0:{port}: in OBS add a Media Source with input srt://127.0.0.1:{port}?mode=caller, format mpegts");
            let output = ("PORT", port.to_string());
            run_live_command(pipeline::STREAM, &animation, &live, &remote, output, status)?;
        }
        Command::Serve {
            animation,
            port,
            link,
            seconds,
        } => {
            if animation.background == BackgroundArg::Transparent {
                return Err(Failure::from(
                    "--background transparent: the H.264 link carries no transparency; key a \
                     colour instead (--background green, blue or #RRGGBB)",
                ));
            }
            for port in [port, port + 1] {
                udp_port_free(port, " (serve needs --port and the next one)")?;
            }
            let mut variables = variables(&animation)?;
            variables.insert("PORT", port.to_string());
            variables.insert("RETURN_PORT", (port + 1).to_string());
            link.variables(&mut variables)?;
            let text = remote::server_description(animation.mode, link.insecure);
            let description = pipeline::expand(&text, &variables)
                .map_err(|e| format!("pipeline variable {e}"))?;
            let options = remote::ServeOptions {
                portrait: animation.portrait.clone(),
                port,
                duration: seconds.map(Duration::from_secs_f64),
            };
            remote::serve(
                || launch(&description, &animation).map_err(|e| e.message),
                &options,
            )?;
        }
        Command::Clip {
            input,
            output,
            mut animation,
            force,
        } => {
            let transparent = animation.background == BackgroundArg::Transparent;
            let container = if transparent {
                clip::Container::Mov
            } else {
                clip::Container::Mp4
            };
            let partial = clip::check_paths(&input, &output, force, container)?;
            let (has_audio, duration) = clip::probe(&input)?;
            // Both halves of the clip are --size: the animation chains fill theirs.
            animation.size.get_or_insert(clip::DEFAULT_SIZE);
            let mut variables = variables(&animation)?;
            variables.insert("INPUT", path_value(&input)?);
            // Written beside the target and renamed at the end: an interrupted run leaves no
            // half-written file under the user's name.
            variables.insert("OUTPUT", path_value(&partial)?);
            let base = match (transparent, has_audio) {
                (false, true) => pipeline::CLIP,
                (false, false) => pipeline::CLIP_SILENT,
                (true, true) => pipeline::CLIP_ALPHA,
                (true, false) => pipeline::CLIP_ALPHA_SILENT,
            };
            let text = pipeline::customise(base, animation.mode, None, true);
            let description = pipeline::expand(&text, &variables)
                .map_err(|e| format!("pipeline variable {e}"))?;
            let pipeline = launch(&description, &animation)?;
            let outcome = clip::run(&pipeline, duration, false);
            let finished = match outcome {
                Ok(clip::Finished::Abandoned(why)) => {
                    let _ = std::fs::remove_file(&partial);
                    return Err(Failure::with_code(
                        format!("{why}: nothing was written"),
                        Failure::INTERRUPTED,
                    ));
                }
                Ok(finished) => finished,
                Err(e) => {
                    let _ = std::fs::remove_file(&partial);
                    return Err(Failure::from(e));
                }
            };
            std::fs::rename(&partial, &output).map_err(|e| {
                let _ = std::fs::remove_file(&partial);
                format!("cannot write {}: {e}", output.display())
            })?;
            let audio = if has_audio {
                " (with the clip's audio)"
            } else {
                ""
            };
            match finished {
                clip::Finished::Complete => eprintln!("wrote {}{audio}", output.display()),
                clip::Finished::Abandoned(_) => unreachable!("handled above"),
                clip::Finished::Interrupted(at) => {
                    return Err(Failure::with_code(
                        format!(
                            "interrupted: wrote the first {:.1} s to {}{audio}",
                            at.mseconds() as f64 / 1000.0,
                            output.display()
                        ),
                        Failure::INTERRUPTED,
                    ))
                }
            }
        }
        Command::Models { models, provider } => {
            let dir = models.unwrap_or_else(model_sets::models_dir);
            let options = ProviderOptions {
                provider: provider.into(),
                ..ProviderOptions::default()
            };
            let code = models::run(&dir, &options);
            if code != 0 {
                return Err(Failure::from(""));
            }
        }
        Command::Doctor => {
            if doctor::run() != 0 {
                return Err(Failure::from(""));
            }
        }
        Command::Bench(args) => bench::run(&args)?,
    }
    Ok(())
}

fn main() -> ExitCode {
    // ONNX Runtime latches its telemetry opt-out when it initialises: set it while the process
    // has one thread, before anything can load it.
    animecam::inference::disable_telemetry();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure { message, code }) => {
            if !message.is_empty() {
                eprintln!("error: {message}");
            }
            ExitCode::from(code)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_addresses_read_as_users_write_them() {
        assert_eq!(server_address("gpu-box:7100"), Ok(("gpu-box".into(), 7100)));
        assert_eq!(server_address("gpu-box"), Ok(("gpu-box".into(), 7000)));
        assert_eq!(server_address("[::1]:7100"), Ok(("[::1]".into(), 7100)));
        assert_eq!(server_address("[::1]"), Ok(("[::1]".into(), 7000)));
        // The animation comes back on the next port: 65535 has none.
        assert!(server_address("gpu-box:65535")
            .unwrap_err()
            .contains("1 to 65534"));
        assert!(server_address("gpu-box:http").is_err());
        assert!(server_address("::1:7000").unwrap_err().contains("brackets"));
    }
}
