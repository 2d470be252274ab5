//! Finding the ONNX Runtime shared library once per process and holding the one `ort` environment.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ort::ep::ExecutionProvider;

use super::Provider;

/// Environment variable naming the ONNX Runtime library to load; it wins over every other place.
pub const ORT_LIBRARY_ENV: &str = "ANIMECAM_ORT_LIBRARY";

/// The ONNX Runtime version our `ort` binding (2.0.0-rc.15) is built against.
const PREFERRED_LIBRARY: &str = "libonnxruntime.so.1.31.1";

/// Why ONNX Runtime could not be set up. Cloneable because the outcome is cached for the process.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RuntimeError {
    #[error(
        "ONNX Runtime library not found. Searched:\n{}\nFix: run `make setup` in the animecam checkout \
         (it installs onnxruntime==1.31.1 into .venv), or set {ORT_LIBRARY_ENV}=/path/to/{PREFERRED_LIBRARY}",
        searched.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n")
    )]
    NotFound { searched: Vec<String> },
    #[error("{variable}={path} does not exist; point it at {PREFERRED_LIBRARY} or unset it")]
    ExplicitPathMissing { variable: String, path: String },
    #[error("could not load ONNX Runtime from {path}: {reason}")]
    LoadFailed { path: String, reason: String },
}

/// The process-wide ONNX Runtime: where it was loaded from and the providers it was built with.
pub struct Runtime {
    library: PathBuf,
    environment: ort::environment::Environment,
    providers: Vec<Provider>,
}

impl Runtime {
    /// The shared library that was loaded.
    pub fn library(&self) -> &Path {
        &self.library
    }

    /// Execution providers this ONNX Runtime build supports, best first; `Cpu` is always there.
    /// Supported is not the same as usable: a CUDA build on a machine without a GPU lists CUDA,
    /// and the session that asks for it fails (see [`super::Model::load`]).
    pub fn providers(&self) -> &[Provider] {
        &self.providers
    }

    pub(crate) fn environment(&self) -> &ort::environment::Environment {
        &self.environment
    }
}

static RUNTIME: OnceLock<Result<Runtime, RuntimeError>> = OnceLock::new();

/// ONNX Runtime's opt-out of its telemetry (the Linux wheels upload usage events and keep a device
/// id under ~/.cache/Microsoft since 1.29). ORT reads it once, when its environment initialises;
/// `with_telemetry(false)` only mutes events after the uploader has started.
pub const TELEMETRY_OPT_OUT_ENV: &str = "ORT_DISABLE_TELEMETRY";

/// Switches ONNX Runtime's telemetry off for this process: nothing of ours leaves the machine.
/// Call it early, while the process has one thread (the CLI's `main`, the plugin's init): setting
/// the environment races with threads reading it. Loading the runtime calls it again, for a
/// library user who did not; it writes only when the variable is not already "1".
pub fn disable_telemetry() {
    if std::env::var(TELEMETRY_OPT_OUT_ENV).as_deref() != Ok("1") {
        std::env::set_var(TELEMETRY_OPT_OUT_ENV, "1");
    }
}

/// The process-wide ONNX Runtime, loaded on first use from the first place [`candidate_libraries`]
/// names that exists. Later calls return the same runtime (or the same error).
pub fn runtime() -> Result<&'static Runtime, RuntimeError> {
    RUNTIME.get_or_init(load).as_ref().map_err(Clone::clone)
}

fn load() -> Result<Runtime, RuntimeError> {
    disable_telemetry();
    let library = locate_library()?;
    let display = library.display().to_string();
    let builder = ort::init_from(&library).map_err(|e| RuntimeError::LoadFailed {
        path: display.clone(),
        reason: e.to_string(),
    })?;
    let environment = builder
        .with_name("animecam")
        .with_telemetry(false)
        .build()
        .map_err(|e| RuntimeError::LoadFailed {
            path: display.clone(),
            reason: e.to_string(),
        })?;
    let mut providers = Vec::new();
    if ort::ep::TensorRT::is_available().unwrap_or(false) {
        providers.push(Provider::TensorRt);
    }
    if ort::ep::CUDA::is_available().unwrap_or(false) {
        providers.push(Provider::Cuda);
    }
    providers.push(Provider::Cpu);
    log::info!("ONNX Runtime loaded from {display}; providers built in: {providers:?}");
    Ok(Runtime {
        library,
        environment,
        providers,
    })
}

fn locate_library() -> Result<PathBuf, RuntimeError> {
    for variable in [ORT_LIBRARY_ENV, "ORT_DYLIB_PATH"] {
        if let Some(path) = std::env::var_os(variable).filter(|v| !v.is_empty()) {
            let path = PathBuf::from(path);
            return if path.is_file() {
                Ok(path)
            } else {
                Err(RuntimeError::ExplicitPathMissing {
                    variable: variable.to_owned(),
                    path: path.display().to_string(),
                })
            };
        }
    }
    let candidates = candidate_libraries();
    candidates
        .iter()
        .find_map(|place| place.find())
        .ok_or_else(|| RuntimeError::NotFound {
            searched: candidates.iter().map(ToString::to_string).collect(),
        })
}

/// A place where ONNX Runtime may live.
enum Place {
    /// A Python virtual environment with the `onnxruntime` (or `onnxruntime-gpu`) wheel.
    Venv(PathBuf),
    /// A plain library file.
    File(PathBuf),
}

impl Place {
    fn find(&self) -> Option<PathBuf> {
        match self {
            Place::File(path) => path.is_file().then(|| path.clone()),
            Place::Venv(venv) => {
                let lib = venv.join("lib");
                let mut found: Vec<PathBuf> = std::fs::read_dir(&lib)
                    .ok()?
                    .flatten()
                    .filter(|entry| entry.file_name().to_string_lossy().starts_with("python3"))
                    .map(|entry| entry.path().join("site-packages/onnxruntime/capi"))
                    .flat_map(|capi| std::fs::read_dir(capi).into_iter().flatten().flatten())
                    .map(|entry| entry.path())
                    .filter(|path| {
                        let name = path.file_name().unwrap_or_default().to_string_lossy();
                        name.starts_with("libonnxruntime.so.1")
                    })
                    .collect();
                // The version our binding was written for first, then the newest other 1.x.
                found.sort_by_key(|path| {
                    (
                        !path.ends_with(PREFERRED_LIBRARY),
                        std::cmp::Reverse(path.clone()),
                    )
                });
                found.into_iter().next()
            }
        }
    }
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Place::Venv(venv) => write!(
                f,
                "{}/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.1*",
                venv.display()
            ),
            Place::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// Where we look, in order: the active virtualenv, the checkout's `.venv` (known at build time, so
/// an installed plugin still finds it), `./.venv`, then the system library folders.
fn candidate_libraries() -> Vec<Place> {
    let mut places = Vec::new();
    if let Some(venv) = std::env::var_os("VIRTUAL_ENV") {
        places.push(Place::Venv(PathBuf::from(venv)));
    }
    places.push(Place::Venv(
        Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv"),
    ));
    if let Ok(cwd) = std::env::current_dir() {
        places.push(Place::Venv(cwd.join(".venv")));
    }
    for dir in [
        "/usr/local/lib",
        "/usr/lib/x86_64-linux-gnu",
        "/usr/lib/aarch64-linux-gnu",
        "/usr/lib",
    ] {
        for name in ["libonnxruntime.so.1", "libonnxruntime.so"] {
            places.push(Place::File(Path::new(dir).join(name)));
        }
    }
    places
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn venv_place_prefers_the_pinned_version() {
        let venv = std::env::temp_dir().join(format!("animecam-venv-{}", std::process::id()));
        let capi = venv.join("lib/python3.11/site-packages/onnxruntime/capi");
        std::fs::create_dir_all(&capi).unwrap();
        std::fs::write(capi.join("libonnxruntime.so.1.40.0"), b"").unwrap();
        std::fs::write(capi.join(PREFERRED_LIBRARY), b"").unwrap();
        std::fs::write(capi.join("libonnxruntime_providers_shared.so"), b"").unwrap();
        let found = Place::Venv(venv.clone()).find().unwrap();
        assert!(found.ends_with(PREFERRED_LIBRARY), "{found:?}");
        std::fs::remove_file(capi.join(PREFERRED_LIBRARY)).unwrap();
        let found = Place::Venv(venv.clone()).find().unwrap();
        assert!(found.ends_with("libonnxruntime.so.1.40.0"), "{found:?}");
        std::fs::remove_dir_all(venv).unwrap();
    }

    #[test]
    fn not_found_error_names_every_place_and_the_fix() {
        let error = RuntimeError::NotFound {
            searched: candidate_libraries()
                .iter()
                .map(ToString::to_string)
                .collect(),
        };
        let text = error.to_string();
        assert!(text.contains(".venv/lib/python3*"), "{text}");
        assert!(
            text.contains("/usr/lib/x86_64-linux-gnu/libonnxruntime.so.1"),
            "{text}"
        );
        assert!(text.contains("make setup"), "{text}");
        assert!(text.contains(ORT_LIBRARY_ENV), "{text}");
    }
}
