//! Everything that touches ONNX Runtime: the shared library, the process-wide environment, the
//! execution provider choice, the model manifest and models checked against their contracts.
//!
//! Elements never call `ort` themselves; they load a [`Model`] from a [`Manifest`] and run it.

mod manifest;
mod model;
mod precision;
mod provider;
mod runtime;

pub use manifest::{
    sha256_file, DataFile, ElementType, Layout, Manifest, ManifestError, ModelSpec, Normalization,
    Precision, Provenance, Quality, TensorSpec,
};
pub use model::{Model, ModelError, Outputs};
pub use precision::{choose_model_set, int8_set_dir, ModelSet, PrecisionChoice, PrecisionError};
pub use provider::{Provider, ProviderOptions};
/// Environment variable naming the folder that holds the model sets (`blazeface/`, `tiny/`, ...).
pub const MODELS_DIR_ENV: &str = "ANIMECAM_MODELS";

/// Where model sets live: `$ANIMECAM_MODELS`, else the checkout's `models/` folder (fixed at build
/// time, so an installed plugin still finds what `make setup` fetched).
/// The model sets' folder names under the models directory, as set-up and the exporters write them.
pub mod sets {
    /// The face detector, fetched by set-up.
    pub const BLAZEFACE: &str = "blazeface";
    /// First Order Motion Model, converted from the official vox-256 checkpoint.
    pub const FOMM: &str = "vox-256";
    /// U-GAT-IT selfie2anime, converted from a checkpoint.
    pub const UGATIT: &str = "ugatit";
    /// MediaPipe's face mesh, converted by `make face-mesh`.
    pub const FACE_MESH: &str = "face_mesh";
}

pub fn default_models_dir() -> std::path::PathBuf {
    std::env::var_os(MODELS_DIR_ENV)
        .filter(|dir| !dir.is_empty())
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models"))
}

pub use runtime::{
    disable_telemetry, runtime, Runtime, RuntimeError, ORT_LIBRARY_ENV, TELEMETRY_OPT_OUT_ENV,
};
