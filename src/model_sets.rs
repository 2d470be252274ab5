//! The model sets animecam knows, in one registry: each set's folder name, what kind of models it
//! holds, which animation mode cannot run without it, whether it has an int8 form, and how a user
//! gets it. Every other place (the elements' defaults, the CLI's checks, doctor, the bench) asks
//! here instead of spelling a set's name.
//!
//! Adding a set of an existing kind: one entry here (and [`ALL`]), its exporter, and, when it has
//! an int8 form, the Makefile's `int8-models` list.

use std::path::{Path, PathBuf};

use crate::face::{ATTENTION_MESH_MODEL, BLAZEFACE_MODEL_ID, FACE_MESH_MODEL, FULL_RANGE_MODEL_ID};
use crate::fomm::GENERATOR_MODEL;
use crate::inference::{Manifest, MANIFEST_FILE};
use crate::stylize::{FULL_MODEL, LIGHT_MODEL};

/// Environment variable naming the folder that holds the model sets (`blazeface/`, `tiny/`, ...).
pub const MODELS_DIR_ENV: &str = "ANIMECAM_MODELS";

/// What a set's models do, which decides the code that runs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetKind {
    /// A face detector (BlazeFace): boxes and six landmarks.
    Detector,
    /// A face mesh: hundreds of points, the expression and the head pose.
    Mesh,
    /// The First Order Motion Model: keypoint detector, source encoder, generator.
    Fomm,
    /// A U-GAT-IT selfie-to-anime generator.
    Ugatit,
}

impl SetKind {
    /// The kind of the models a manifest lists, by the graphs it holds.
    pub fn of(manifest: &Manifest) -> Option<SetKind> {
        let holds = |id: &str| manifest.models.contains_key(id);
        if holds(GENERATOR_MODEL) {
            Some(SetKind::Fomm)
        } else if holds(FULL_MODEL) || holds(LIGHT_MODEL) {
            Some(SetKind::Ugatit)
        } else if holds(BLAZEFACE_MODEL_ID) || holds(FULL_RANGE_MODEL_ID) {
            Some(SetKind::Detector)
        } else if holds(FACE_MESH_MODEL) || holds(ATTENTION_MESH_MODEL) {
            Some(SetKind::Mesh)
        } else {
            None
        }
    }
}

/// Who cannot do without a set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Every mode: the face tracker runs in all of them.
    Always,
    /// The animation mode of this name (the CLI's `--mode`).
    Mode(&'static str),
    /// Nobody: used where it is there (the face mesh refines the warp).
    Optional,
}

/// One model set animecam knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownSet {
    /// Its folder under the models directory, as set-up and the exporters write it.
    pub name: &'static str,
    pub kind: SetKind,
    pub need: Need,
    /// Whether an int8 form (`<name>-int8` beside it) can be made and is chosen on CPUs.
    pub has_int8: bool,
    /// How a user gets it, for messages that say what is missing.
    pub how_to_get: &'static str,
}

/// The face detector, fetched by set-up.
pub const BLAZEFACE: KnownSet = KnownSet {
    name: "blazeface",
    kind: SetKind::Detector,
    need: Need::Always,
    has_int8: false,
    how_to_get: "make setup (fetches the face detector)",
};

/// The full-range face detector (small and far faces), converted by set-up from the mediapipe
/// wheel; `facetrack detector=auto` runs it where the short-range one finds no face.
pub const FULL_RANGE_DETECTOR: KnownSet = KnownSet {
    name: "face_detection_full_range",
    kind: SetKind::Detector,
    need: Need::Optional,
    has_int8: false,
    how_to_get: "make setup (converts MediaPipe's full-range face detector)",
};

/// First Order Motion Model, converted from the official vox-256 checkpoint.
pub const FOMM: KnownSet = KnownSet {
    name: "vox-256",
    kind: SetKind::Fomm,
    need: Need::Mode("fomm"),
    has_int8: true,
    how_to_get: "animecam models import vox-adv-cpk.pth.tar (README, Models) for --mode fomm",
};

/// U-GAT-IT selfie2anime, converted from a checkpoint.
pub const UGATIT: KnownSet = KnownSet {
    name: "ugatit",
    kind: SetKind::Ugatit,
    need: Need::Mode("ugatit"),
    has_int8: true,
    how_to_get:
        "animecam models import a selfie2anime checkpoint (README, Models) for --mode ugatit",
};

/// MediaPipe's face mesh, converted by set-up (`make face-mesh`).
pub const FACE_MESH: KnownSet = KnownSet {
    name: "face_mesh",
    kind: SetKind::Mesh,
    need: Need::Optional,
    has_int8: false,
    how_to_get: "make face-mesh (converts MediaPipe's face mesh)",
};

/// MediaPipe's attention face mesh (the 468 points and both irises), converted by set-up from
/// the mediapipe wheel; facetrack prefers it to the 468-point mesh where it is there.
pub const ATTENTION_MESH: KnownSet = KnownSet {
    name: "face_mesh_attention",
    kind: SetKind::Mesh,
    need: Need::Optional,
    has_int8: false,
    how_to_get: "make setup (converts MediaPipe's attention face mesh)",
};

/// Every known set, the detector first.
pub const ALL: [KnownSet; 6] = [
    BLAZEFACE,
    FOMM,
    UGATIT,
    FACE_MESH,
    FULL_RANGE_DETECTOR,
    ATTENTION_MESH,
];

impl KnownSet {
    /// Its folder under the models directory ([`models_dir`]).
    pub fn dir(&self) -> PathBuf {
        self.dir_in(&models_dir())
    }

    /// Its folder under `models`, a models directory the user chose.
    pub fn dir_in(&self, models: &Path) -> PathBuf {
        models.join(self.name)
    }

    /// The set of this kind that animecam uses by default.
    pub fn of_kind(kind: SetKind) -> KnownSet {
        ALL.into_iter()
            .find(|set| set.kind == kind)
            .expect("every kind has a set")
    }

    /// The set the animation mode of this name cannot run without, if any.
    pub fn needed_by_mode(mode: &str) -> Option<KnownSet> {
        ALL.into_iter()
            .find(|set| matches!(set.need, Need::Mode(name) if name == mode))
    }

    /// The known set of the same kind as the models a manifest lists.
    pub fn like(manifest: &Manifest) -> Option<KnownSet> {
        SetKind::of(manifest).map(KnownSet::of_kind)
    }
}

/// The sets that have an int8 form, for `make int8-models`.
pub fn with_int8() -> impl Iterator<Item = KnownSet> {
    ALL.into_iter().filter(|set| set.has_int8)
}

/// Where `animecam models import` puts style networks under a models folder: one set per style,
/// `styles/NAME`.
pub const STYLES_DIR: &str = "styles";

/// The folder of the imported style `name` under the models folder `models`.
pub fn style_dir(models: &Path, name: &str) -> PathBuf {
    models.join(STYLES_DIR).join(name)
}

/// The styles imported under `models` (folders of `styles/` with a manifest), by name, sorted;
/// not the int8 sets the quantiser wrote beside them (`NAME-int8`), which run as their fp32
/// set's precision choice.
pub fn imported_styles(models: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(models.join(STYLES_DIR))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|entry| entry.path().join(MANIFEST_FILE).is_file())
        // A manifest that does not load stays listed: running it says what is wrong with it.
        .filter(|entry| {
            !Manifest::load(entry.path())
                .is_ok_and(|manifest| manifest.precision == crate::inference::Precision::Int8)
        })
        .map(|entry| entry.file_name().to_string_lossy().to_string())
        .collect();
    names.sort();
    names
}

/// Where model sets live: `$ANIMECAM_MODELS`, else [`checkout_models_dir`].
pub fn models_dir() -> PathBuf {
    std::env::var_os(MODELS_DIR_ENV)
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(checkout_models_dir)
}

/// The `models/` folder of the checkout this was built from, fixed at build time: an installed
/// plugin (or CLI) still finds what `make setup` fetched there without `$ANIMECAM_MODELS`.
pub fn checkout_models_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("models")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imported_styles_are_listed_without_their_int8_sets() {
        let models = std::env::temp_dir().join(format!("animecam-styles-{}", std::process::id()));
        let invert = checkout_models_dir().join("tiny-styles/styles/invert");
        let manifest = std::fs::read_to_string(invert.join(MANIFEST_FILE)).unwrap();
        for (name, manifest) in [
            ("paprika", manifest.clone()),
            (
                "paprika-int8",
                manifest.replacen('{', "{\"precision\": \"int8\",", 1),
            ),
            ("broken", "not json".to_owned()),
        ] {
            std::fs::create_dir_all(style_dir(&models, name)).unwrap();
            std::fs::write(style_dir(&models, name).join(MANIFEST_FILE), manifest).unwrap();
        }
        let listed = imported_styles(&models);
        std::fs::remove_dir_all(&models).unwrap();
        assert_eq!(listed, ["broken", "paprika"]);
    }

    #[test]
    fn each_kind_has_one_default_set_and_names_are_unique() {
        for kind in [
            SetKind::Detector,
            SetKind::Mesh,
            SetKind::Fomm,
            SetKind::Ugatit,
        ] {
            assert_eq!(KnownSet::of_kind(kind).kind, kind);
        }
        let mut names: Vec<_> = ALL.iter().map(|set| set.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), ALL.len());
        assert_eq!(KnownSet::needed_by_mode("fomm"), Some(FOMM));
        assert_eq!(KnownSet::needed_by_mode("ugatit"), Some(UGATIT));
        assert_eq!(KnownSet::needed_by_mode("warp"), None);
        let int8: Vec<_> = with_int8().map(|set| set.name).collect();
        assert_eq!(int8, ["vox-256", "ugatit"]);
    }
}
