//! What the live commands (webcam, virtualcam, stream) share: the camera options checked, the
//! pipeline built here or, with `--remote`, as the client of a server, and the run.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use animecam_cli::descriptions::{self, edit, names, Mode};
use gst::prelude::*;

use crate::args::{Animation, BackgroundArg, Live, RemoteArgs};
use crate::commands::options::{self, link_variables, path_value};
use crate::failure::Failure;
use crate::live::{run_live, LiveOptions};
use crate::remote::client::run_client;
use crate::remote::transport::{resolve, unencrypted};

/// Where webcam's picture goes: in place of the description's window.
pub enum Window {
    /// `--sink`: the user's own GStreamer sink description.
    Sink(String),
    /// The window sink that opens on this desktop.
    Chosen(&'static str),
}

impl Window {
    fn element(&self) -> Result<gst::Element, String> {
        match self {
            Window::Sink(text) => edit::part(text),
            Window::Chosen(factory) => gst::ElementFactory::make(factory)
                .property("sync", false)
                .build()
                .map_err(|e| format!("cannot make {factory}: {e}")),
        }
    }
}

/// A live command's pipeline as it is built (again for each attempt of a remote client).
pub struct LivePipeline<'a> {
    /// The command's description: webcam.gst, webcam-preview.gst, virtualcam.gst or stream.gst.
    pub description: &'static str,
    pub variables: HashMap<&'static str, String>,
    pub animation: &'a Animation,
    pub live: &'a Live,
    pub remote: &'a RemoteArgs,
    /// webcam's window; the other commands' output is in their description.
    pub window: Option<Window>,
    /// `webcam --preview`: every mode's picture a square of `${SIZE}`, beside the camera (only
    /// U-GAT-IT's needs the square chain after it).
    pub square: bool,
}

impl LivePipeline<'_> {
    /// The pipeline: the command's description animated here, or with `--remote`
    /// pipelines/remote.gst (the link to the server) followed by the command's own output (what
    /// follows the animation in its description); then the camera options.
    pub fn build(&self) -> Result<gst::Pipeline, Failure> {
        let pipeline = match &self.remote.remote {
            None => options::launch(
                self.description,
                &self.variables,
                self.animation,
                self.animation.mode,
                self.square,
            )?,
            Some(_) => {
                let pipeline =
                    descriptions::launch(descriptions::REMOTE, &self.variables, Mode::Warp, false)?;
                // Only the output of the command's own description is used (the server
                // animates): its portrait is never read.
                let mut variables = self.variables.clone();
                variables.insert("PORTRAIT", descriptions::UNUSED_PORTRAIT.to_owned());
                let local = descriptions::launch(self.description, &variables, Mode::Warp, false)?;
                edit::remove_after(&pipeline, names::DOWNLINK_QUEUE)?;
                edit::move_after(&local, names::ANIMATE, &pipeline, names::DOWNLINK_QUEUE)?;
                if self.remote.link.insecure {
                    unencrypted(&pipeline)?;
                }
                options::finish(&pipeline, self.animation)?;
                pipeline
            }
        };
        camera_options(&pipeline, self.live)?;
        if let Some(window) = &self.window {
            edit::replace(&pipeline, names::WINDOW, &window.element()?)?;
        }
        Ok(pipeline)
    }

    /// Runs the pipeline here, or with `--remote` as the client of a server; says what the
    /// viewer was shown.
    pub fn run(&self, status: String) -> Result<(), Failure> {
        let options = LiveOptions {
            choices: options::choices(self.animation),
            duration: self.live.seconds.map(Duration::from_secs_f64),
            quiet: false,
            status,
            link: None,
        };
        let started = Instant::now();
        let stats = match &self.remote.remote {
            None => Some(run_live(&self.build()?, &options)?),
            Some((host, port)) => run_client(
                || self.build().map_err(|e| e.message),
                &format!("{host}:{port}"),
                options,
            )?,
        };
        if let Some(stats) = stats.filter(|stats| stats.frames() > 0) {
            eprintln!("{}", stats.summary(started));
        }
        Ok(())
    }
}

/// The camera options on a built pipeline: `--camera`'s source in place of the camera, and
/// `--no-mirror`.
pub fn camera_options(pipeline: &gst::Pipeline, live: &Live) -> Result<(), String> {
    if let Some(camera) = &live.camera {
        edit::replace(pipeline, names::CAMERA, &edit::source_part(camera)?)?;
    }
    if live.no_mirror {
        edit::named(pipeline, names::MIRROR)?.set_property_from_str("video-direction", "identity");
    }
    Ok(())
}

/// The variables of a live command, checked: the animation's (or with `--remote`, the link's),
/// the camera's, and `output` (a device, a port).
pub fn live_variables(
    animation: &Animation,
    live: &Live,
    remote: &RemoteArgs,
    output: Option<(&'static str, String)>,
) -> Result<HashMap<&'static str, String>, Failure> {
    let mut variables = animation_variables(animation, remote)?;
    variables.extend(output);
    options::live_network_variables(animation, &mut variables);
    if animation.background == BackgroundArg::Transparent {
        return Err(Failure::from(
            "--background transparent: a window, a virtual camera and an H.264 stream cannot carry \
             transparency; key a colour instead (--background green, blue or #RRGGBB, and a \
             chroma key filter in OBS or the call app), or write a transparent clip with \
             `animecam clip --background transparent OUT.mov`",
        ));
    }
    if live.camera.is_none() && !std::path::Path::new(&live.device).exists() {
        return Err(Failure::from(format!(
            "camera {} not found: plug a webcam in, pick another with --device (see `animecam doctor`), or use --camera \"videotestsrc is-live=true\" to try without one",
            live.device
        )));
    }
    variables.insert("DEVICE", path_value(std::path::Path::new(&live.device))?);
    if let Some((host, port)) = &remote.remote {
        variables.insert("SERVER", resolve(host, *port)?);
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
        link_variables(&remote.link, &mut variables)?;
    }
    Ok(variables)
}

/// The variables of the animation: the animation's, or with `--remote`, none of them (the
/// server animates), after checking that no animation option was given here in vain.
fn animation_variables(
    animation: &Animation,
    remote: &RemoteArgs,
) -> Result<HashMap<&'static str, String>, Failure> {
    if remote.remote.is_none() {
        return options::variables(animation);
    }
    if animation.portrait.is_some()
        || animation.mode != Mode::Warp
        || animation.models.is_some()
        || animation.background != BackgroundArg::Portrait
        || animation.expression.is_some()
    {
        return Err(Failure::from(
            "with --remote the server animates: give --portrait, --mode, --models, \
             --background and --expression to `animecam serve` there",
        ));
    }
    Ok(HashMap::new())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::args::{Cli, Command};
    use crate::commands::options::variables;
    use crate::commands::webcam::webcam_pipeline;

    fn init() {
        crate::init_for_tests();
    }

    fn factory(element: &gst::Element) -> String {
        element
            .factory()
            .map(|f| f.name().to_string())
            .unwrap_or_default()
    }

    /// What the element named `name` feeds, one element after the other.
    fn after(pipeline: &gst::Pipeline, name: &str) -> Vec<gst::Element> {
        let mut chain = Vec::new();
        let mut out = pipeline.by_name(name).unwrap().static_pad("src");
        while let Some(next) = out.and_then(|pad| pad.peer()) {
            let element = next.parent_element().unwrap();
            out = element.static_pad("src");
            chain.push(element);
        }
        chain
    }

    /// The key length of the link's SRT elements (0 without encryption).
    fn key_lengths(pipeline: &gst::Pipeline) -> Vec<i32> {
        [names::UPLINK, names::DOWNLINK]
            .into_iter()
            .map(|name| {
                let value = pipeline.by_name(name).unwrap().property_value("pbkeylen");
                gst::glib::EnumValue::from_value(&value).unwrap().1.value()
            })
            .collect()
    }

    /// The pipeline a live command line builds (a device that exists stands for the camera).
    fn built(arguments: &[&str]) -> gst::Pipeline {
        init();
        let mut line = vec!["animecam"];
        line.extend(arguments);
        line.extend(["--device", "/dev/null"]);
        let pipeline = match Cli::try_parse_from(line).unwrap().command {
            Command::Webcam {
                animation,
                live,
                preview,
                remote,
                ..
            } => {
                let mut pipeline = webcam_pipeline(&animation, &live, &remote, preview)
                    .map_err(|e| e.message)
                    .unwrap();
                pipeline.window = Some(Window::Sink("fakesink".into()));
                pipeline.build()
            }
            Command::Stream {
                animation,
                live,
                port,
                remote,
            } => {
                let output = Some(("PORT", port.to_string()));
                let variables = live_variables(&animation, &live, &remote, output)
                    .map_err(|e| e.message)
                    .unwrap();
                LivePipeline {
                    description: descriptions::STREAM,
                    variables,
                    animation: &animation,
                    live: &live,
                    remote: &remote,
                    window: None,
                    square: false,
                }
                .build()
            }
            _ => unreachable!("a live command"),
        };
        pipeline.map_err(|e| e.message).unwrap()
    }

    /// A portrait from the media `make setup` fetches.
    fn portrait() -> String {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../.cache/media/sylvie_green_normal.png");
        assert!(
            path.is_file(),
            "{} missing: run `make setup`",
            path.display()
        );
        path.to_string_lossy().to_string()
    }

    #[test]
    fn the_preview_squares_what_ugatit_draws() {
        // A models folder in which --mode ugatit finds its set (nothing is loaded: the
        // pipeline is only built).
        let models = std::env::temp_dir().join(format!("animecam-preview-{}", std::process::id()));
        let set = animecam::model_sets::UGATIT.dir_in(&models);
        std::fs::create_dir_all(&set).unwrap();
        std::fs::write(set.join("manifest.json"), "{}").unwrap();
        let webcam = built(&[
            "webcam",
            "--preview",
            "--mode",
            "ugatit",
            "--size",
            "256",
            "--models",
            models.to_str().unwrap(),
        ]);
        std::fs::remove_dir_all(&models).unwrap();
        let animate = webcam.by_name(names::ANIMATE).unwrap();
        assert_eq!(factory(&animate), "ugatit");
        // Live, its network gets every core but one, which the in-betweens keep.
        let cores = std::thread::available_parallelism().unwrap().get() as u32;
        assert_eq!(
            animate.property::<u32>("threads"),
            cores.saturating_sub(1).max(1)
        );
        // ugatit, then the square's videoscale and caps, then the compositor.
        let next = animate.static_pad("src").unwrap().peer().unwrap();
        let square = next
            .parent_element()
            .unwrap()
            .downcast::<gst::Bin>()
            .unwrap();
        let inside: Vec<String> = square
            .iterate_elements()
            .into_iter()
            .flatten()
            .map(|e| factory(&e))
            .collect();
        assert!(inside.contains(&"videoscale".to_owned()), "{inside:?}");
        let compose = square.static_pad("src").unwrap().peer().unwrap();
        assert_eq!(compose.parent_element().unwrap().name(), names::COMPOSE);
    }

    #[test]
    fn live_fomm_runs_its_keypoints_as_auto_and_leaves_a_core_to_the_in_betweens() {
        // A models folder in which --mode fomm finds its set (nothing is loaded: the pipeline is
        // only built).
        let models =
            std::env::temp_dir().join(format!("animecam-keypoints-{}", std::process::id()));
        let set = animecam::model_sets::FOMM.dir_in(&models);
        std::fs::create_dir_all(&set).unwrap();
        std::fs::write(set.join("manifest.json"), "{}").unwrap();
        let portrait = portrait();
        let fomm = |extra: &[&str]| {
            let mut line = vec![
                "webcam",
                "--mode",
                "fomm",
                "--precision",
                "fp32",
                "--portrait",
            ];
            line.extend([portrait.as_str(), "--models", models.to_str().unwrap()]);
            line.extend(extra);
            let webcam = built(&line);
            let precision = |factory_name: &str| {
                let element = webcam
                    .iterate_recurse()
                    .into_iter()
                    .flatten()
                    .find(|e| factory(e) == factory_name)
                    .unwrap();
                let value = element.property_value("precision");
                gst::glib::EnumValue::from_value(&value)
                    .unwrap()
                    .1
                    .nick()
                    .to_owned()
            };
            let threads: u32 = webcam.by_name(names::ANIMATE).unwrap().property("threads");
            (
                precision("fommkeypoints"),
                precision("fommanimate"),
                threads,
            )
        };
        let cores = std::thread::available_parallelism().unwrap().get() as u32;
        let expected_threads = cores.saturating_sub(1).max(1);
        assert_eq!(fomm(&[]), ("auto".into(), "fp32".into(), expected_threads));
        let asked = fomm(&["--keypoints-precision", "fp32"]);
        assert_eq!(asked, ("fp32".into(), "fp32".into(), expected_threads));
        // A clip's keypoints follow --precision: its frames wait for the generator.
        let line = [
            "animecam",
            "clip",
            "--mode",
            "fomm",
            "--precision",
            "fp32",
            "--portrait",
        ];
        let mut line = line.to_vec();
        line.extend([portrait.as_str(), "--models", models.to_str().unwrap()]);
        line.extend(["in.mp4", "out.mp4"]);
        let Command::Clip { animation, .. } = Cli::try_parse_from(line).unwrap().command else {
            unreachable!("clip")
        };
        let clip = variables(&animation).map_err(|e| e.message).unwrap();
        std::fs::remove_dir_all(&models).unwrap();
        assert_eq!(clip["KEYPOINTS_PRECISION"], "fp32");
    }

    #[test]
    fn the_client_runs_the_link_in_place_of_tracking_and_animation() {
        let webcam = built(&[
            "webcam",
            "--remote",
            "127.0.0.1:7000",
            "--passphrase",
            "correct horse battery",
        ]);
        let elements: Vec<String> = webcam
            .iterate_recurse()
            .into_iter()
            .flatten()
            .map(|e| factory(&e))
            .collect();
        assert!(
            !elements.contains(&"facetrack".to_owned())
                && !elements.contains(&"fommanimate".to_owned()),
            "{elements:?}"
        );
        assert_eq!(factory(&webcam.by_name(names::CAMERA).unwrap()), "v4l2src");
        // The picture back: decoded, the leaky queue, then webcam's own output.
        let output: Vec<String> = after(&webcam, names::DOWNLINK_QUEUE)
            .iter()
            .map(factory)
            .collect();
        assert_eq!(output, ["videoconvert", "fakesink"]);
        assert_eq!(key_lengths(&webcam), [32, 32]);
        let insecure = built(&[
            "stream",
            "--remote",
            "127.0.0.1:7000",
            "--insecure",
            "--port",
            "38999",
        ]);
        assert_eq!(key_lengths(&insecure), [0, 0]);
        let stream = after(&insecure, names::DOWNLINK_QUEUE);
        let sink = stream.last().unwrap();
        assert_eq!(factory(sink), "srtsink");
        assert_eq!(
            sink.property::<Option<String>>("uri").unwrap(),
            "srt://:38999"
        );
    }

    #[test]
    fn the_server_is_encrypted_unless_insecure() {
        init();
        let portrait = portrait();
        let line = ["animecam", "serve", "--insecure", "--portrait", &portrait];
        let Command::Serve {
            animation, link, ..
        } = Cli::try_parse_from(line).unwrap().command
        else {
            unreachable!("serve")
        };
        let variables = variables(&animation).map_err(|e| e.message).unwrap();
        for insecure in [true, false] {
            let mut variables = variables.clone();
            let link = crate::args::LinkArgs {
                passphrase: (!insecure).then(|| "correct horse battery".to_owned()),
                insecure,
                latency: link.latency,
            };
            link_variables(&link, &mut variables)
                .map_err(|e| e.message)
                .unwrap();
            let server = options::launch(
                descriptions::SERVE,
                &variables,
                &animation,
                Mode::Warp,
                false,
            )
            .map_err(|e| e.message)
            .unwrap();
            if insecure {
                unencrypted(&server).unwrap();
            }
            let expected = if insecure { [0, 0] } else { [32, 32] };
            assert_eq!(key_lengths(&server), expected);
        }
    }
}
