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
    Precision, Provenance, Quality, TensorSpec, MANIFEST_FILE,
};
pub use model::{Model, ModelError, Outputs};
pub use precision::{
    choose_model_set, inspect_int8_set, int8_set_dir, BrokenInt8Set, Int8Set, Int8SetProblem,
    ModelSet, PrecisionChoice, PrecisionError,
};
pub use provider::{Provider, ProviderOptions};
pub use runtime::{
    disable_telemetry, runtime, Runtime, RuntimeError, ORT_LIBRARY_ENV, TELEMETRY_OPT_OUT_ENV,
};
