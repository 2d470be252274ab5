//! The command line as clap reads it: the subcommands, their options, and the parsers that check
//! each value where it is typed.

use std::path::PathBuf;

use animecam::inference::Provider;
use animecam_cli::descriptions::Mode;
use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(
    name = "animecam",
    version,
    about = "Your face drives an anime portrait, live or from a clip"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// What every animation takes.
#[derive(Args, Clone)]
pub struct Animation {
    /// The anime portrait to animate (PNG or JPEG, at most 8192 x 8192 pixels), or a folder of
    /// them (n/p cycle through it).
    #[arg(long, short)]
    pub portrait: Option<PathBuf>,
    /// How to animate: warp needs no converted weights; fomm and ugatit do.
    #[arg(long, value_enum, default_value_t = Mode::Warp)]
    pub mode: Mode,
    /// Folder of model sets (blazeface/, vox-256/, ugatit/).
    #[arg(long)]
    pub models: Option<PathBuf>,
    /// Where the networks run.
    #[arg(long, value_enum, default_value_t = ProviderArg::Auto)]
    pub provider: ProviderArg,
    /// fomm and ugatit: fp32, or int8 from the set the quantiser wrote beside the models
    /// (make int8-models); auto: int8 on the CPU when it is there.
    #[arg(long, value_enum, default_value_t = PrecisionArg::Auto)]
    pub precision: PrecisionArg,
    /// fomm: the keypoint detector's precision. Default: as --precision for a clip; auto for a
    /// camera, whose every frame gets keypoints (int8 on the CPU when the set is there: fp32
    /// keypoints take a whole frame's time on one core: README, Measurements).
    #[arg(long, value_enum)]
    pub keypoints_precision: Option<PrecisionArg>,
    /// Side of the animated picture in pixels, 64 to 2048 (default 512; live fomm: the model's).
    #[arg(long, value_parser = picture_side)]
    pub size: Option<u32>,
    /// What the avatar is shown over where the portrait (a PNG with transparency) is clear:
    /// portrait (as drawn), transparent (clip only: a MOV with alpha, for OBS and editors), or a
    /// colour for a chroma key: green, blue or #RRGGBB.
    #[arg(long, default_value = "portrait", value_parser = background)]
    pub background: BackgroundArg,
    /// The imported style network for --mode style: its folder's name under the models' styles/
    /// (`animecam models import FILE` says it).
    #[arg(long)]
    pub style: Option<String>,
    /// U-GAT-IT generator for --mode ugatit: auto takes whichever is converted, full first.
    #[arg(long, value_enum, default_value_t = VariantArg::Auto)]
    pub variant: VariantArg,
    /// --mode warp: calm or exaggerate what moves, CHANNEL=GAIN,... (0 off, 1 as measured, up to
    /// 3). Channels: head (roll, zoom, position), turn (left/right and nod in depth), gaze, brow,
    /// blink, mouth, smile, breathing. Example: --expression turn=0.5,gaze=1.5,breathing=0
    #[arg(long, value_parser = expression)]
    pub expression: Option<ExpressionArg>,
}

/// The gains `--expression` sets: each channel's name and gain.
#[derive(Clone, Debug, PartialEq)]
pub struct ExpressionArg(pub Vec<(String, f32)>);

/// `CHANNEL=GAIN,...`: each channel one the warp has, each gain a number from 0 to the most.
pub fn expression(text: &str) -> Result<ExpressionArg, String> {
    use animecam::warp::{ChannelGains, MAX_GAIN};
    let names: Vec<&str> = ChannelGains::CHANNELS
        .iter()
        .map(|(name, _)| *name)
        .collect();
    text.split(',')
        .map(|pair| {
            let (name, gain) = pair
                .split_once('=')
                .ok_or_else(|| format!("'{pair}' is not CHANNEL=GAIN (for example turn=0.5)"))?;
            let name = name.trim();
            if !names.contains(&name) {
                return Err(format!(
                    "'{name}' is not a channel: expected one of {}",
                    names.join(", ")
                ));
            }
            match gain.trim().parse::<f32>() {
                Ok(gain) if (0.0..=MAX_GAIN).contains(&gain) => Ok((name.to_owned(), gain)),
                _ => Err(format!(
                    "'{}' is not a gain for {name}: expected a number from 0 (off) to {MAX_GAIN}",
                    gain.trim()
                )),
            }
        })
        .collect::<Result<Vec<_>, _>>()
        .map(ExpressionArg)
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum BackgroundArg {
    Portrait,
    Transparent,
    /// 0xRRGGBB.
    Color(u32),
}

/// `portrait`, `transparent`, `green`, `blue` or `#RRGGBB`.
pub fn background(text: &str) -> Result<BackgroundArg, String> {
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
pub enum PrecisionArg {
    Auto,
    Fp32,
    Int8,
}

impl PrecisionArg {
    /// The elements' `precision` value.
    pub fn nick(self) -> &'static str {
        match self {
            PrecisionArg::Auto => "auto",
            PrecisionArg::Fp32 => "fp32",
            PrecisionArg::Int8 => "int8",
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
pub enum VariantArg {
    Auto,
    Full,
    Light,
}

impl VariantArg {
    /// The ugatit element's `variant` value.
    pub fn nick(self) -> &'static str {
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
pub struct Live {
    /// The camera device.
    #[arg(long, default_value = "/dev/video0")]
    pub device: String,
    /// A GStreamer source to use instead of the camera, e.g. "videotestsrc is-live=true".
    #[arg(long)]
    pub camera: Option<String>,
    /// Do not mirror the camera picture.
    #[arg(long)]
    pub no_mirror: bool,
    /// Stop after this many seconds.
    #[arg(long, value_parser = positive_seconds)]
    pub seconds: Option<f64>,
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
pub struct LinkArgs {
    /// The passphrase both ends share: 10 to 79 bytes. Better set in ANIMECAM_PASSPHRASE,
    /// which other users of the machine cannot read from the process list.
    #[arg(long, env = "ANIMECAM_PASSPHRASE", hide_env_values = true)]
    pub passphrase: Option<String>,
    /// No encryption: anyone who reaches the port may send video and see the animation. Both ends
    /// must say it.
    #[arg(long)]
    pub insecure: bool,
    /// SRT latency in milliseconds, added to every frame each way: how long a lost packet may
    /// take to be resent before its frame is given up. A wired LAN: 20 to 40; Wi-Fi or the
    /// internet: about 4 times the round trip (ping), at least 80. The larger of the two ends'
    /// values is used.
    #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u32).range(20..=8000))]
    pub latency: u32,
}

/// Where a remote animation runs.
#[derive(Args, Clone)]
pub struct RemoteArgs {
    /// Run the animation on another machine that runs `animecam serve`: its HOST:PORT (the port
    /// it receives the camera on; the animation comes back from the next one).
    #[arg(long, value_name = "HOST:PORT", value_parser = server_address)]
    pub remote: Option<(String, u16)>,
    #[command(flatten)]
    pub link: LinkArgs,
}

impl RemoteArgs {
    /// No remote machine: the animation runs here (the link's settings are never read).
    pub fn here() -> RemoteArgs {
        RemoteArgs {
            remote: None,
            link: LinkArgs {
                passphrase: None,
                insecure: false,
                latency: 120,
            },
        }
    }
}

/// `stream --port`: 1 to 65535 (clap's own range message read "is not in 1..=65535").
pub fn stream_port(text: &str) -> Result<u16, String> {
    match text.parse::<u16>() {
        Ok(port) if port >= 1 => Ok(port),
        _ => Err(format!("'{text}' is not a port: 1 to 65535")),
    }
}

/// `serve --port`: 1 to 65534, since the animation goes back from the next port.
pub fn serve_port(text: &str) -> Result<u16, String> {
    match text.parse::<u16>() {
        Ok(port) if (1..u16::MAX).contains(&port) => Ok(port),
        _ => Err(format!(
            "'{text}' is not a port for serve: 1 to 65534 (the animation goes back from the next one)"
        )),
    }
}

/// `HOST:PORT`, `HOST` (port 7000) or `[IPv6]:PORT`.
pub fn server_address(text: &str) -> Result<(String, u16), String> {
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
pub enum ProviderArg {
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
pub enum Command {
    /// Webcam to an anime window. Keys: r recalibrate, n/p next/previous portrait (or style), q quit.
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
    /// A desktop window: pick a portrait, see yourself animated, tune the expression, and send the
    /// avatar to a call (virtual camera) or to OBS. Keys: r recalibrate.
    Studio {
        #[command(flatten)]
        live: Live,
        /// The folder of portraits the window offers (default: ~/Pictures/animecam, made on first
        /// run with the portraits set-up fetched).
        #[arg(long)]
        portraits: Option<PathBuf>,
    },
    /// Stream to OBS over SRT (MPEG-TS, H.264, low latency).
    Stream {
        #[command(flatten)]
        animation: Animation,
        #[command(flatten)]
        live: Live,
        /// The SRT port to listen on (1 to 65535).
        #[arg(long, default_value_t = 8888, value_parser = stream_port)]
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
        #[arg(long, default_value_t = 7000, value_parser = serve_port)]
        port: u16,
        #[command(flatten)]
        link: LinkArgs,
        /// Stop after this many seconds.
        #[arg(long, value_parser = positive_seconds)]
        seconds: Option<f64>,
    },
    /// List the model sets, check their files, show where each graph would run; `models import
    /// FILE` turns a downloaded checkpoint into a set.
    Models(ModelsArgs),
    /// Find a portrait's face parts (eyes and irises, brows, nose, mouth, chin, outline) as the
    /// warp does: writes them drawn over it (FILE.features.png) and, the first time, into
    /// FILE.animecam.json, which you may correct and the warp then uses.
    Portrait(PortraitArgs),
    /// Check GStreamer, ONNX Runtime, models and devices; print the fix for each problem.
    Doctor,
    /// Per-stage cost on full-size random-weight models (make random-models), as a table and JSON.
    Bench(BenchArgs),
}

#[derive(Args)]
pub struct PortraitArgs {
    /// The anime portrait (PNG or JPEG).
    pub file: PathBuf,
    /// Where to write the drawing (default: FILE.features.png beside FILE, replaced on each run).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Replace OUT when it is there (the default drawing is always replaced).
    #[arg(long)]
    pub force: bool,
    /// Folder of model sets, for the face detector (default: the checkout's models/, or
    /// $ANIMECAM_MODELS).
    #[arg(long)]
    pub models: Option<PathBuf>,
}

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ModelsArgs {
    #[command(subcommand)]
    pub action: Option<ModelsAction>,
    /// Folder of model sets (default: the checkout's models/, or $ANIMECAM_MODELS).
    #[arg(long)]
    pub models: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = ProviderArg::Auto)]
    pub provider: ProviderArg,
}

#[derive(Subcommand)]
pub enum ModelsAction {
    /// Turn a downloaded FOMM, U-GAT-IT, AnimeGANv2 or CartoonGAN checkpoint (or a ready .onnx
    /// style file) into a model set, in seconds, without PyTorch; the file is read as data,
    /// nothing in it runs.
    Import(ImportArgs),
}

#[derive(Args)]
pub struct ImportArgs {
    /// vox-adv-cpk.pth.tar or vox-cpk.pth.tar (FOMM), a UGATIT-pytorch *_params_*.pt, the
    /// official TensorFlow checkpoint's prefix (UGATIT.model-1000000) or folder, an AnimeGANv2
    /// or CartoonGAN generator's .pt/.pth, or a ready .onnx style file.
    pub file: PathBuf,
    /// The set's folder name (default: vox-256 for FOMM, ugatit for U-GAT-IT, where animecam
    /// looks for them; a style's file name, under styles/).
    #[arg(long)]
    pub name: Option<String>,
    /// U-GAT-IT: the generator the checkpoint must hold (default: whichever it holds).
    #[arg(long, value_enum)]
    pub variant: Option<UgatitVariant>,
    /// Style networks (AnimeGANv2, CartoonGAN, a ready .onnx file): the square side the graph
    /// takes, a multiple of 8 (default 512).
    #[arg(long)]
    pub size: Option<u32>,
    /// A ready .onnx style file: the value range of its image tensors (the file cannot say).
    #[arg(long, value_enum)]
    pub range: Option<ValueRange>,
    /// Also make the int8 set beside it, for CPUs (minutes; needs the media `make setup` fetched).
    #[arg(long)]
    pub int8: bool,
    /// Folder of model sets to write into (default: the checkout's models/, or $ANIMECAM_MODELS).
    #[arg(long)]
    pub models: Option<PathBuf>,
}

/// How a style graph's image values map to pixels.
#[derive(Clone, Copy, ValueEnum)]
pub enum ValueRange {
    /// [-1, 1]
    Symmetric,
    /// [0, 1]
    Unit,
    /// [0, 255]
    Byte,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum UgatitVariant {
    Full,
    Light,
}

#[derive(Args, Clone)]
pub struct BenchArgs {
    /// Folder of the full-size random-weight graphs (`make random-models`).
    #[arg(long)]
    pub models: Option<PathBuf>,
    /// Frames per stage (after one warm-up frame).
    #[arg(long, default_value_t = 20, value_parser = parse_frames)]
    pub frames: usize,
    /// ONNX Runtime threads (the Python reference uses the same).
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// The int8 set to compare with --models (default: the NAME-int8 folder beside it).
    #[arg(long)]
    pub int8_models: Option<PathBuf>,
    /// Rounds of the int8 comparison: each stage's fp32 and int8 runs alternate this many times,
    /// and each speed-up is given as the median, smallest and largest ratio of the rounds.
    #[arg(long, default_value_t = 3, value_parser = parse_rounds)]
    pub rounds: usize,
    /// Also write the results as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Skip the Python reference loop.
    #[arg(long)]
    pub no_python: bool,
    /// Instead of the stage table: how well in-betweens predict FOMM's pictures, offline on the
    /// talking clip (the generator on every frame as the truth; keyframes every 4th and 7th
    /// frame; PSNR of each method and of holding the keyframe).
    #[arg(long)]
    pub inbetweens: bool,
    /// Instead of the stage table: run the live webcam pipeline for this many seconds on a live
    /// 30 fps 640x480 camera showing a real talking face, and report the pictures the network
    /// made, the frames repeated and dropped, and the latency against the network's time.
    #[arg(long, value_parser = positive_seconds)]
    pub live: Option<f64>,
    /// With --live: the animation to measure.
    #[arg(long, value_enum, default_value_t = Mode::Fomm)]
    pub mode: Mode,
    /// With --live --mode style: the benchmark style network, a set under the models' styles/
    /// (`python -m animecam_models random-styles`, which make bench runs: animegan2-256,
    /// animegan2-512, cartoongan-256).
    #[arg(long, default_value = "animegan2-256")]
    pub style: String,
    /// With --live: a camera without a face (the run then fails, saying why).
    #[arg(long)]
    pub faceless: bool,
    /// With --live: swap the portrait every this many seconds (between Sylvie and the astronaut),
    /// to see whether a swap stalls the picture (the largest gap between frames shown).
    #[arg(long, value_parser = positive_seconds)]
    pub swap_every: Option<f64>,
    /// With --live: the networks' precision (auto: the int8 set beside --models when there).
    #[arg(long, default_value = "auto", value_parser = ["auto", "fp32", "int8"])]
    pub precision: String,
    /// With --live --mode fomm: the keypoint detector's precision (auto, as the live commands
    /// run it: int8 on the CPU when the int8 set is there).
    #[arg(long, default_value = "auto", value_parser = ["auto", "fp32", "int8"])]
    pub keypoints_precision: String,
    /// With --live: no queue between tracking and animation, so every stage runs in the camera's
    /// thread one after the other (to compare with the default, overlapped in threads).
    #[arg(long)]
    pub serial: bool,
    /// With --live and a network: fommanimate's or ugatit's in-betweens (auto: on, the camera
    /// being live; off: each generated picture held until the next, to compare).
    #[arg(long = "in-betweens", default_value = "auto", value_parser = ["auto", "on", "off"])]
    pub in_betweens: String,
}

fn parse_rounds(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(rounds) if (3..=100).contains(&rounds) => Ok(rounds),
        _ => Err(format!(
            "'{text}' is not a round count from 3 to 100 (a spread needs at least 3)"
        )),
    }
}

fn parse_frames(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(frames) if (2..=10_000).contains(&frames) => Ok(frames),
        _ => Err(format!("'{text}' is not a frame count from 2 to 10000")),
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
