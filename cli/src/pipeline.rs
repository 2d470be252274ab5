//! The pipeline descriptions of `pipelines/` (embedded, so an installed binary has them), their
//! variables, and the animation chain of each mode.

use std::collections::HashMap;

pub const WEBCAM: &str = include_str!("../../pipelines/webcam.gst");
pub const VIRTUALCAM: &str = include_str!("../../pipelines/virtualcam.gst");
pub const CLIP: &str = include_str!("../../pipelines/clip.gst");
pub const CLIP_SILENT: &str = include_str!("../../pipelines/clip-silent.gst");
pub const CLIP_ALPHA: &str = include_str!("../../pipelines/clip-alpha.gst");
pub const CLIP_ALPHA_SILENT: &str = include_str!("../../pipelines/clip-alpha-silent.gst");
pub const STREAM: &str = include_str!("../../pipelines/stream.gst");

/// The animation chain every description holds: the landmark warp. Other modes replace it.
pub const WARP_CHAIN: &str =
    "fommanimate name=animate engine=warp source=${PORTRAIT:?set PORTRAIT to an anime portrait} output-size=${SIZE:-512}";

/// The camera every live description starts with; `--camera` replaces it.
pub const CAMERA: &str = "v4l2src device=${DEVICE:-/dev/video0}";

/// The window of webcam.gst; `animecam webcam` puts the sink that works on this desktop there.
pub const WINDOW: &str = "autovideosink sync=false";

/// Scales U-GAT-IT's picture (the input's shape) into a square of the clip's size, as the other
/// chains output.
const SQUARE: &str =
    " ! videoscale add-borders=true ! video/x-raw,width=${SIZE:-512},height=${SIZE:-512},pixel-aspect-ratio=1/1";

/// How the portrait (or the face) is animated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// Landmark warp: no network, runs everywhere in milliseconds.
    Warp,
    /// First Order Motion Model: needs the converted vox-256 weights (see README, Models).
    Fomm,
    /// U-GAT-IT selfie2anime: redraws your own face; needs converted weights.
    Ugatit,
}

impl Mode {
    /// The element chain standing for the animation in a description.
    pub fn chain(self) -> &'static str {
        match self {
            Mode::Warp => WARP_CHAIN,
            Mode::Fomm => {
                // No queue between the two: keypoints are computed only for the frames the
                // generator will animate (the leaky queue before them drops the rest).
                "fommkeypoints model-dir=${MODELS}/vox-256 provider=${PROVIDER:-auto} precision=${PRECISION:-auto} ! \
                 fommanimate name=animate model-dir=${MODELS}/vox-256 provider=${PROVIDER:-auto} precision=${PRECISION:-auto} \
                 source=${PORTRAIT:?set PORTRAIT to an anime portrait} output-size=${SIZE:-0}"
            }
            Mode::Ugatit => {
                "ugatit name=animate model-dir=${MODELS}/ugatit provider=${PROVIDER:-auto} precision=${PRECISION:-auto} variant=${VARIANT:-auto}"
            }
        }
    }

    pub fn needs_portrait(self) -> bool {
        self != Mode::Ugatit
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

/// A description with its animation chain and camera replaced as asked; `square` makes every
/// mode's picture a square of `${SIZE}` (a clip's right half).
pub fn customise(description: &str, mode: Mode, camera: Option<&str>, square: bool) -> String {
    let chain = match (mode, square) {
        (Mode::Ugatit, true) => format!("{}{SQUARE}", mode.chain()),
        _ => mode.chain().to_owned(),
    };
    let mut text = description.replace(WARP_CHAIN, &chain);
    if let Some(camera) = camera {
        text = text.replace(CAMERA, camera);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_description_holds_the_animation_chain_it_is_customised_by() {
        for description in [
            WEBCAM,
            VIRTUALCAM,
            CLIP,
            CLIP_SILENT,
            CLIP_ALPHA,
            CLIP_ALPHA_SILENT,
            STREAM,
        ] {
            assert!(description.contains(WARP_CHAIN), "{description}");
        }
        for description in [WEBCAM, VIRTUALCAM, STREAM] {
            assert!(description.contains(CAMERA));
        }
        assert!(WEBCAM.contains(WINDOW));
        let fomm = customise(WEBCAM, Mode::Fomm, Some("videotestsrc is-live=true"), false);
        assert!(
            fomm.contains("fommkeypoints")
                && fomm.contains("videotestsrc")
                && !fomm.contains("v4l2src")
        );
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
