//! The pipeline descriptions of `pipelines/` (embedded, so an installed binary has them), their
//! variables, and the animation chain of each mode. A description's text is only ever filled in
//! (`${NAME}` variables, values escaped into literal tokens); what the CLI changes after that it
//! changes on the parsed pipeline, through the elements the files name ([`edit`]).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use animecam::model_sets::{self, KnownSet};

pub mod edit;

pub const WEBCAM: &str = include_str!("../../../pipelines/webcam.gst");
pub const WEBCAM_PREVIEW: &str = include_str!("../../../pipelines/webcam-preview.gst");
pub const VIRTUALCAM: &str = include_str!("../../../pipelines/virtualcam.gst");
pub const CLIP: &str = include_str!("../../../pipelines/clip.gst");
pub const CLIP_SILENT: &str = include_str!("../../../pipelines/clip-silent.gst");
pub const CLIP_ALPHA: &str = include_str!("../../../pipelines/clip-alpha.gst");
pub const CLIP_ALPHA_SILENT: &str = include_str!("../../../pipelines/clip-alpha-silent.gst");
pub const STREAM: &str = include_str!("../../../pipelines/stream.gst");
pub const STUDIO: &str = include_str!("../../../pipelines/studio.gst");
pub const SERVE: &str = include_str!("../../../pipelines/serve.gst");
pub const REMOTE: &str = include_str!("../../../pipelines/remote.gst");

/// The chains that stand for the animation (the element named animate) in the other modes.
const FOMM_CHAIN: &str = include_str!("../../../pipelines/chains/fomm.gst");
const UGATIT_CHAIN: &str = include_str!("../../../pipelines/chains/ugatit.gst");
/// Scales U-GAT-IT's picture (the input's shape) into a square of the clip's size, as the other
/// chains output.
pub const SQUARE: &str = include_str!("../../../pipelines/chains/square.gst");
/// The studio's recording to MP4, in place of the fakesink after its queue named to-record.
pub const RECORD: &str = include_str!("../../../pipelines/chains/record.gst");

/// What a description is filled with where it names a portrait that its animation, replaced
/// before it runs, never reads.
pub const UNUSED_PORTRAIT: &str = "unused-portrait";

/// `animecam bench --live`'s cameras (parts), and the clip it loops to play for long enough.
pub mod bench {
    pub const TALKING_FACE: &str = include_str!("../../../pipelines/bench/talking-face.gst");
    pub const FACELESS: &str = include_str!("../../../pipelines/bench/faceless.gst");
    pub const LOOP_CLIP: &str = include_str!("../../../pipelines/bench/loop-clip.gst");
    pub const CLIP_COPY: &str = include_str!("../../../pipelines/bench/clip-copy.gst");
}

/// Every whole description (not the chains, which are parts), for tests that run them all.
pub const ALL: [(&str, &str); 11] = [
    ("webcam.gst", WEBCAM),
    ("webcam-preview.gst", WEBCAM_PREVIEW),
    ("virtualcam.gst", VIRTUALCAM),
    ("clip.gst", CLIP),
    ("clip-silent.gst", CLIP_SILENT),
    ("clip-alpha.gst", CLIP_ALPHA),
    ("clip-alpha-silent.gst", CLIP_ALPHA_SILENT),
    ("stream.gst", STREAM),
    ("studio.gst", STUDIO),
    ("serve.gst", SERVE),
    ("remote.gst", REMOTE),
];

/// The names the descriptions give the elements the CLI changes after parsing.
pub mod names {
    /// The animation: fommanimate with the warp in every description; another mode's chain goes
    /// in its place.
    pub const ANIMATE: &str = "animate";
    /// The live camera (v4l2src); `--camera` puts the user's source in its place.
    pub const CAMERA: &str = "camera";
    /// The videoflip that mirrors the camera; `--no-mirror` sets its direction to identity.
    pub const MIRROR: &str = "mirror";
    /// webcam's window; `animecam webcam` puts the sink that works on this desktop (or `--sink`)
    /// in its place.
    pub const WINDOW: &str = "window";
    /// The leaky queue before the animation, which keeps only the latest frame.
    pub const LATEST: &str = "latest";
    /// The remote link's leaky queue after the decoder: the command's output follows it.
    pub const DOWNLINK_QUEUE: &str = "downlink-queue";
    /// The preview's clock-paced sink that tells the compositor when it is late (QoS); it shows
    /// nothing, so the live loop never counts frames there.
    pub const PACE: &str = "pace";
    /// The remote link's SRT element that carries the camera to the server (client and
    /// server); `--insecure` clears its passphrase.
    pub const UPLINK: &str = "uplink";
    /// The remote link's SRT element that carries the animation back (client and server).
    pub const DOWNLINK: &str = "downlink";
    /// The client's H.264 encoder of the camera: the keys and capture times go into its frames.
    pub const UPLINK_ENCODER: &str = "uplink-encoder";
    /// The server's parser of the camera's frames: the client's messages are read from them.
    pub const UPLINK_PARSE: &str = "uplink-parse";
    /// The client's parser of the animation's frames: the server's messages are read from them.
    pub const DOWNLINK_PARSE: &str = "downlink-parse";
    /// The H.264 encoder of what the viewer gets (serve, stream): the frames counted as shown,
    /// and on the server the messages back go into its frames.
    pub const ENCODER: &str = "encoder";
    /// The compositor that lays two pictures side by side (clips, webcam's preview).
    pub const COMPOSE: &str = "compose";
    /// The transparent clip's last element before its encoder: where its video is ended early.
    pub const FINISH: &str = "finish";
    /// A clip's muxer: its audio input is ended early with the video.
    pub const MUX: &str = "mux";
    /// The studio's appsinks of the avatar and of the camera, which the window paints.
    pub const AVATAR_VIEW: &str = "avatar-view";
    pub const CAMERA_VIEW: &str = "camera-view";
    /// The studio's queues where an output switched on goes (in place of the fakesink after
    /// each): what follows the animation in virtualcam.gst, in stream.gst.
    pub const TO_VIRTUALCAM: &str = "to-virtualcam";
    pub const TO_STREAM: &str = "to-stream";
    pub const TO_RECORD: &str = "to-record";
    /// The fakesink after to-record while the studio is not recording.
    pub const RECORD_OFF: &str = "record-off";
    /// The concat of bench's looped clip: each copy of the clip is fed to it.
    pub const CONCAT: &str = "concat";
}

/// How the portrait (or the face) is animated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// Landmark warp: no network, runs everywhere in milliseconds.
    Warp,
    /// First Order Motion Model: needs the converted vox-256 weights (see README, Models).
    Fomm,
    /// U-GAT-IT selfie2anime: redraws your own face; needs imported weights.
    Ugatit,
    /// An imported style network (AnimeGANv2, CartoonGAN, a ready ONNX file; --style NAME):
    /// redraws your own face in that style.
    Style,
}

impl Mode {
    /// The chain that stands for the animation in a description, when it is not the warp every
    /// description holds.
    pub fn chain(self) -> Option<&'static str> {
        match self {
            Mode::Warp => None,
            Mode::Fomm => Some(FOMM_CHAIN),
            // The ugatit element runs any image-to-image graph its set's manifest describes.
            Mode::Ugatit | Mode::Style => Some(UGATIT_CHAIN),
        }
    }

    /// The mode's name on the command line (`--mode`).
    pub fn name(self) -> &'static str {
        match self {
            Mode::Warp => "warp",
            Mode::Fomm => "fomm",
            Mode::Ugatit => "ugatit",
            Mode::Style => "style",
        }
    }

    /// The model set the mode's networks load, when it has networks (the library's registry
    /// says which).
    pub fn model_set(self) -> Option<KnownSet> {
        KnownSet::needed_by_mode(self.name())
    }

    /// Whether it animates a portrait (warp, fomm) rather than redrawing the picture itself.
    pub fn needs_portrait(self) -> bool {
        !self.redraws_the_picture()
    }

    /// Whether it redraws the camera's picture (ugatit, style).
    pub fn redraws_the_picture(self) -> bool {
        matches!(self, Mode::Ugatit | Mode::Style)
    }

    /// The folder of the set the mode's networks load, in the folder of model sets `models`:
    /// the registry's set, or for style `styles/${STYLE}`.
    pub fn model_dir(
        self,
        models: &Path,
        variables: &HashMap<&str, String>,
    ) -> Result<Option<PathBuf>, String> {
        match self {
            Mode::Style => {
                let style = variables
                    .get("STYLE")
                    .ok_or("pipeline variable STYLE: set STYLE to the name of an imported style")?;
                Ok(Some(model_sets::style_dir(models, style)))
            }
            _ => Ok(self.model_set().map(|set| set.dir_in(models))),
        }
    }
}

#[derive(Debug, PartialEq)]
pub struct MissingVariable {
    pub name: String,
    pub message: String,
}

impl std::fmt::Display for MissingVariable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.name, self.message)
    }
}

/// A value as one literal token of gst-launch syntax: every character the parser could read as
/// syntax (spaces, `!`, `=`, quotes, `$`, commas, ...) is escaped with a backslash, which the
/// parser removes again. File names the user typed therefore always reach the element as the
/// property's value, never as pipeline elements. scripts/pipeline.sh applies the same rule.
pub fn escape(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for character in value.chars() {
        if !(character.is_ascii_alphanumeric() || matches!(character, '/' | '.' | '-' | '_'))
            && character.is_ascii()
        {
            escaped.push('\\');
        }
        escaped.push(character);
    }
    escaped
}

/// A description as gst-launch reads it: comment lines dropped, the rest joined by spaces.
pub fn flatten(description: &str) -> String {
    let lines: Vec<&str> = description
        .lines()
        .map(str::trim)
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .collect();
    lines.join(" ")
}

/// Drops comment lines, joins the rest and expands `${NAME}`, `${NAME:-default}` and
/// `${NAME:?message}` (the shell's rules, so that scripts/pipeline.sh reads the same files).
/// Values are [`escape`]d; defaults, written by us in the description, are taken as they are.
pub fn expand(
    description: &str,
    variables: &HashMap<&str, String>,
) -> Result<String, MissingVariable> {
    let mut text = flatten(description);
    // Innermost first: defaults may themselves hold variables.
    while let Some(start) = text.rfind("${") {
        let end = start
            + text[start..]
                .find('}')
                .expect("descriptions close every ${");
        let inner = &text[start + 2..end];
        let (name, rule) = match inner.find(':') {
            Some(colon) => (&inner[..colon], Some(&inner[colon + 1..])),
            None => (inner, None),
        };
        let value = match (variables.get(name).filter(|v| !v.is_empty()), rule) {
            (Some(value), _) => escape(value),
            (None, Some(rule)) if rule.starts_with('-') => rule[1..].to_owned(),
            (None, rule) => {
                return Err(MissingVariable {
                    name: name.to_owned(),
                    message: rule
                        .and_then(|r| r.strip_prefix('?'))
                        .unwrap_or("not set")
                        .to_owned(),
                })
            }
        };
        text.replace_range(start..=end, &value);
    }
    Ok(text)
}

/// [`expand`] with the error as the user reads it.
pub fn fill(description: &str, variables: &HashMap<&str, String>) -> Result<String, String> {
    expand(description, variables).map_err(|e| format!("pipeline variable {e}"))
}

/// Parses `description`, filled in with `variables`, into a pipeline with the animation of
/// `mode`: the mode's chain in place of the warp, its networks' model-dir set to the mode's set
/// in the folder `${MODELS}`. `square` makes every mode's picture a square of `${SIZE}` (a
/// clip's right half).
pub fn launch(
    description: &str,
    variables: &HashMap<&str, String>,
    mode: Mode,
    square: bool,
) -> Result<gst::Pipeline, String> {
    let pipeline = match mode.chain() {
        None => edit::parse(&fill(description, variables)?)?,
        Some(_) => {
            // The description's warp gives way to the mode's chain: its portrait is never read,
            // and a mode that animates no portrait (ugatit) has none to give.
            let mut own = variables.clone();
            own.entry("PORTRAIT")
                .or_insert_with(|| UNUSED_PORTRAIT.to_owned());
            edit::parse(&fill(description, &own)?)?
        }
    };
    if let Some(chain) = mode.chain() {
        let chain = edit::part(&fill(chain, variables)?)?;
        let models = variables
            .get("MODELS")
            .ok_or("pipeline variable MODELS: set MODELS to the folder of model sets")?;
        if let Some(model_dir) = mode.model_dir(Path::new(models), variables)? {
            edit::set_on_all(&chain, "model-dir", &model_dir.to_string_lossy());
        }
        edit::replace(&pipeline, names::ANIMATE, &chain)?;
        if square && mode.redraws_the_picture() {
            edit::insert_after(&chain, &edit::part(&fill(SQUARE, variables)?)?)?;
        }
    }
    Ok(pipeline)
}

#[cfg(test)]
mod tests {
    use gst::prelude::*;

    use super::*;

    /// GStreamer and the plugin, once for all tests (registering from two threads at once
    /// crashes).
    fn init() {
        static INIT: std::sync::Once = std::sync::Once::new();
        INIT.call_once(|| {
            gst::init().unwrap();
            gstanimecam::plugin_register_static().unwrap();
        });
    }

    fn factory(element: &gst::Element) -> String {
        element
            .factory()
            .map(|f| f.name().to_string())
            .unwrap_or_default()
    }

    fn factories(pipeline: &gst::Pipeline) -> Vec<String> {
        pipeline
            .iterate_recurse()
            .into_iter()
            .flatten()
            .map(|e| factory(&e))
            .collect()
    }

    /// The first RGB frame `mirror` makes of a 64x48 SMPTE test pattern (white bar on the left,
    /// blue on the right), as the description configured it.
    fn mirrored_frame(mirror: gst::Element) -> Vec<u8> {
        let pipeline = gst::parse::launch(
            "videotestsrc num-buffers=1 pattern=smpte ! video/x-raw,format=RGB,width=64,height=48 ! \
             identity name=before",
        )
        .unwrap()
        .downcast::<gst::Pipeline>()
        .unwrap();
        let sink = gst::ElementFactory::make("appsink").build().unwrap();
        pipeline.add_many([&mirror, &sink]).unwrap();
        gst::Element::link_many([&pipeline.by_name("before").unwrap(), &mirror, &sink]).unwrap();
        pipeline.set_state(gst::State::Playing).unwrap();
        let sample = sink
            .emit_by_name::<Option<gst::Sample>>("pull-sample", &[])
            .expect("a frame through the mirror");
        pipeline.set_state(gst::State::Null).unwrap();
        let buffer = sample.buffer().unwrap().map_readable().unwrap();
        buffer.as_slice().to_vec()
    }

    #[test]
    fn the_live_descriptions_mirror_the_camera() {
        init();
        let variables: HashMap<&str, String> = [
            ("PORTRAIT", "/p.png".to_owned()),
            ("SERVER", "127.0.0.1".to_owned()),
            ("PASSPHRASE", "correct-horse".to_owned()),
        ]
        .into_iter()
        .collect();
        // Unmirrored, the pattern's top-left pixel is white and its top-right one blue.
        for description in [WEBCAM, WEBCAM_PREVIEW, VIRTUALCAM, STREAM, REMOTE] {
            let pipeline = launch(description, &variables, Mode::Warp, false).unwrap();
            let mirror = pipeline.by_name(names::MIRROR).unwrap();
            pipeline.remove(&mirror).unwrap();
            let frame = mirrored_frame(mirror);
            let (left, right) = (&frame[0..3], &frame[63 * 3..64 * 3]);
            assert!(
                left[2] > 150 && left[0] < 100 && right.iter().all(|&v| v > 150),
                "not mirrored: left {left:?}, right {right:?} (GStreamer 1.22.0's videoflip ignores \
                 method=horizontal-flip: use video-direction=horiz)"
            );
        }
    }

    #[test]
    fn every_description_names_the_elements_the_cli_changes() {
        init();
        let variables: HashMap<&str, String> = [
            ("PORTRAIT", "/p.png"),
            ("INPUT", "/in.mp4"),
            ("OUTPUT", "/out.mp4"),
            ("SERVER", "127.0.0.1"),
            ("PASSPHRASE", "correct-horse"),
            ("MODELS", "/models"),
            ("CLIP", "/clip.mp4"),
        ]
        .into_iter()
        .map(|(name, value)| (name, value.to_owned()))
        .collect();
        let launched = |description| launch(description, &variables, Mode::Warp, false).unwrap();
        for (file, description) in ALL {
            if file != "remote.gst" {
                assert!(
                    launched(description).by_name(names::ANIMATE).is_some(),
                    "{file}"
                );
            }
        }
        for description in [WEBCAM, WEBCAM_PREVIEW, VIRTUALCAM, STREAM, REMOTE] {
            let pipeline = launched(description);
            assert!(pipeline.by_name(names::CAMERA).is_some());
            assert!(pipeline.by_name(names::MIRROR).is_some());
        }
        for description in [WEBCAM, WEBCAM_PREVIEW, REMOTE] {
            assert!(launched(description).by_name(names::WINDOW).is_some());
        }
        assert!(launched(WEBCAM_PREVIEW).by_name(names::PACE).is_some());
        let studio = launched(STUDIO);
        for name in [
            names::CAMERA,
            names::MIRROR,
            names::LATEST,
            names::AVATAR_VIEW,
            names::CAMERA_VIEW,
            names::TO_VIRTUALCAM,
            names::TO_STREAM,
            names::TO_RECORD,
            names::RECORD_OFF,
        ] {
            assert!(studio.by_name(name).is_some(), "studio.gst: {name}");
        }
        // Each other name the CLI looks up, in every description that has it.
        let elsewhere: [(&str, &[(&str, &str)]); 12] = [
            (
                names::LATEST,
                &[
                    ("webcam", WEBCAM),
                    ("webcam-preview", WEBCAM_PREVIEW),
                    ("virtualcam", VIRTUALCAM),
                    ("stream", STREAM),
                ],
            ),
            (names::UPLINK, &[("serve", SERVE), ("remote", REMOTE)]),
            (names::DOWNLINK, &[("serve", SERVE), ("remote", REMOTE)]),
            (names::UPLINK_ENCODER, &[("remote", REMOTE)]),
            (names::DOWNLINK_PARSE, &[("remote", REMOTE)]),
            (names::DOWNLINK_QUEUE, &[("remote", REMOTE)]),
            (names::UPLINK_PARSE, &[("serve", SERVE)]),
            (names::ENCODER, &[("serve", SERVE), ("stream", STREAM)]),
            (
                names::COMPOSE,
                &[
                    ("clip", CLIP),
                    ("clip-silent", CLIP_SILENT),
                    ("webcam-preview", WEBCAM_PREVIEW),
                ],
            ),
            (
                names::FINISH,
                &[
                    ("clip-alpha", CLIP_ALPHA),
                    ("clip-alpha-silent", CLIP_ALPHA_SILENT),
                ],
            ),
            (
                names::MUX,
                &[
                    ("clip", CLIP),
                    ("clip-silent", CLIP_SILENT),
                    ("clip-alpha", CLIP_ALPHA),
                    ("clip-alpha-silent", CLIP_ALPHA_SILENT),
                ],
            ),
            (names::CONCAT, &[("bench/loop-clip", bench::LOOP_CLIP)]),
        ];
        for (name, descriptions) in elsewhere {
            for (file, description) in descriptions {
                assert!(
                    launched(description).by_name(name).is_some(),
                    "{file}.gst names no {name}"
                );
            }
        }
        let fomm = launch(WEBCAM, &variables, Mode::Fomm, false).unwrap();
        edit::replace(
            &fomm,
            names::CAMERA,
            &edit::source_part("videotestsrc is-live=true").unwrap(),
        )
        .unwrap();
        let elements = factories(&fomm);
        assert!(
            elements.contains(&"fommkeypoints".to_owned())
                && elements.contains(&"videotestsrc".to_owned())
                && !elements.contains(&"v4l2src".to_owned()),
            "{elements:?}"
        );
        // The networks load the mode's set from the folder of sets.
        let animate = fomm.by_name(names::ANIMATE).unwrap();
        assert_eq!(factory(&animate), "fommanimate");
        assert_eq!(
            animate.property::<Option<String>>("model-dir").unwrap(),
            format!("/models/{}", animecam::model_sets::FOMM.name)
        );
    }

    #[test]
    fn a_clip_squares_what_ugatit_draws() {
        init();
        let variables: HashMap<&str, String> = [
            ("INPUT", "/in.mp4"),
            ("OUTPUT", "/out.mp4"),
            ("MODELS", "/models"),
            ("SIZE", "256"),
        ]
        .into_iter()
        .map(|(name, value)| (name, value.to_owned()))
        .collect();
        let clip = launch(CLIP_SILENT, &variables, Mode::Ugatit, true).unwrap();
        let animate = clip.by_name(names::ANIMATE).unwrap();
        assert_eq!(factory(&animate), "ugatit");
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
    fn variables_expand_with_the_shells_rules() {
        let mut variables = HashMap::new();
        variables.insert("PORTRAIT", "/p.png".to_owned());
        let text = expand(
            "# comment\na ${SIZE:-512} ${PORTRAIT:?needed}\n  b",
            &variables,
        )
        .unwrap();
        assert_eq!(text, "a 512 /p.png b");
        variables.insert("SIZE", "256".to_owned());
        assert_eq!(expand("${SIZE:-${OTHER:-1}}", &variables).unwrap(), "256");
        let missing = expand("x ${INPUT:?set INPUT to a video file}", &HashMap::new()).unwrap_err();
        assert_eq!(missing.to_string(), "INPUT: set INPUT to a video file");
    }

    #[test]
    fn values_are_escaped_into_one_literal_token() {
        let name = "a b!c=d\"e$f'g,h;(i)\\j.png";
        let mut variables = HashMap::new();
        variables.insert("PORTRAIT", name.to_owned());
        variables.insert("HOME", "${PORTRAIT}".to_owned());
        assert_eq!(escape("dir/file-1_2.png"), "dir/file-1_2.png");
        assert_eq!(escape("Müller é.png"), "Müller\\ é.png");
        let text = expand("x location=${PORTRAIT} y=${HOME}", &variables).unwrap();
        assert_eq!(
            text,
            "x location=a\\ b\\!c\\=d\\\"e\\$f\\'g\\,h\\;\\(i\\)\\\\j.png y=\\$\\{PORTRAIT\\}"
        );
    }
}
