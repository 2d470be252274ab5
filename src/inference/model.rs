//! A model: one ONNX graph loaded into a session on the chosen provider, checked against the I/O
//! contract its manifest states.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use ndarray::{ArrayD, ArrayViewD};
use ort::ep::ExecutionProviderDispatch;
use ort::session::{Session, SessionInputValue};
use ort::value::{TensorElementType, TensorRef, ValueType};

use super::{
    runtime, ElementType, Manifest, ManifestError, ModelSpec, Provider, ProviderOptions,
    RuntimeError, TensorSpec,
};

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error(
        "execution provider '{requested}' is not available in the ONNX Runtime at {library} \
         (available: {available}). Use provider=auto or cpu, or install onnxruntime-gpu==1.31.1 \
         into .venv for cuda/tensorrt (see README)"
    )]
    ProviderUnavailable {
        requested: Provider,
        available: String,
        library: String,
    },
    #[error("cannot load {path} on {provider}: {reason}")]
    Load {
        path: PathBuf,
        provider: Provider,
        reason: String,
    },
    #[error("{path} does not match its contract in the manifest:\n{}", mismatches.join("\n"))]
    Contract {
        path: PathBuf,
        mismatches: Vec<String>,
    },
    #[error("running {model}: {reason}")]
    Run { model: String, reason: String },
    #[error(
        "{path}: animecam reads {kind} '{name}' of rank {rank}, the manifest has {found}: \
         export the graph with animecam's exporter (README, Models)"
    )]
    Unexpected {
        path: PathBuf,
        kind: &'static str,
        name: String,
        rank: usize,
        found: String,
    },
}

/// Outputs of one run, in the manifest's order, copied out of ONNX Runtime.
#[derive(Debug, Clone)]
pub struct Outputs(Vec<(String, ArrayD<f32>)>);

impl Outputs {
    /// The output of that name. Panics on a name the contract does not have: the contract was
    /// checked at load, so a wrong name is a bug in the caller, not bad input.
    pub fn get(&self, name: &str) -> &ArrayD<f32> {
        self.0
            .iter()
            .find(|(output, _)| output == name)
            .map(|(_, value)| value)
            .unwrap_or_else(|| panic!("model has no output '{name}'"))
    }
}

/// A loaded model. Not `Sync`: ONNX Runtime sessions run one call at a time (see `ort`'s docs).
pub struct Model {
    id: String,
    path: PathBuf,
    spec: ModelSpec,
    session: Session,
    provider: Provider,
    fallbacks: Vec<String>,
    /// Time spent inside ONNX Runtime's run calls, for the benchmark's glue share.
    inference_time: std::time::Duration,
    /// The outputs the caller reads (see [`Model::expect`]); empty: all of them.
    read: Vec<String>,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("id", &self.id)
            .field("path", &self.path)
            .field("provider", &self.provider)
            .finish_non_exhaustive()
    }
}

impl Model {
    /// Loads model `id` of a manifest: verifies its files' checksums, builds a session on the
    /// provider `options` ask for and checks the graph's inputs and outputs against the contract.
    pub fn load(
        manifest: &Manifest,
        id: &str,
        options: &ProviderOptions,
    ) -> Result<Model, ModelError> {
        let spec = manifest.model(id)?.clone();
        manifest.verify(&spec)?;
        let path = manifest.model_path(&spec);
        let (session, provider, fallbacks) = build_session(&path, options)?;
        let mismatches = check_contract(&spec, &session);
        if !mismatches.is_empty() {
            return Err(ModelError::Contract { path, mismatches });
        }
        log::info!("loaded {} on {provider}", path.display());
        Ok(Model {
            id: id.to_owned(),
            path,
            spec,
            session,
            provider,
            fallbacks,
            inference_time: std::time::Duration::ZERO,
            read: Vec::new(),
        })
    }

    /// Checks that the contract has the inputs and outputs the caller feeds and reads, by name
    /// and rank: the contract is the graph's, so a graph exported with other names is an error
    /// at load, naming what was expected and found, not a panic on the first frame.
    /// From then on, only those outputs are copied out of ONNX Runtime.
    pub fn expect(
        &mut self,
        inputs: &[(&str, usize)],
        outputs: &[(&str, usize)],
    ) -> Result<(), ModelError> {
        for (kind, wanted, specs) in [
            ("input", inputs, &self.spec.inputs),
            ("output", outputs, &self.spec.outputs),
        ] {
            for &(name, rank) in wanted {
                let found = specs.iter().find(|spec| spec.name == name);
                if found.is_none_or(|spec| spec.shape.len() != rank) {
                    let found: Vec<String> = specs
                        .iter()
                        .map(|spec| format!("'{}' of rank {}", spec.name, spec.shape.len()))
                        .collect();
                    return Err(ModelError::Unexpected {
                        path: self.path.clone(),
                        kind,
                        name: name.to_owned(),
                        rank,
                        found: found.join(", "),
                    });
                }
            }
        }
        self.read = outputs.iter().map(|(name, _)| (*name).to_owned()).collect();
        Ok(())
    }

    /// Total time spent inside ONNX Runtime's run calls since loading.
    pub fn inference_time(&self) -> std::time::Duration {
        self.inference_time
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    /// The provider the session actually runs on (never `Auto`).
    pub fn provider(&self) -> Provider {
        self.provider
    }

    /// Providers that `auto` tried before this one, each with why it failed.
    pub fn fallbacks(&self) -> &[String] {
        &self.fallbacks
    }

    /// Runs the graph on named f32 inputs, without copying them, and returns every output.
    pub fn run(&mut self, inputs: &[(&str, ArrayViewD<'_, f32>)]) -> Result<Outputs, ModelError> {
        let run_error = |reason: String| ModelError::Run {
            model: self.path.display().to_string(),
            reason,
        };
        let mut values: Vec<(Cow<'_, str>, SessionInputValue<'_>)> =
            Vec::with_capacity(inputs.len());
        for (name, array) in inputs {
            let tensor = TensorRef::from_array_view(array.view())
                .map_err(|e| run_error(format!("input '{name}': {e}")))?;
            values.push((Cow::Borrowed(*name), tensor.into()));
        }
        let started = std::time::Instant::now();
        let outputs = self
            .session
            .run(values)
            .map_err(|e| run_error(e.to_string()))?;
        let elapsed = started.elapsed();
        let mut copied = Vec::with_capacity(self.spec.outputs.len());
        let wanted = |name: &str| self.read.is_empty() || self.read.iter().any(|r| r == name);
        for spec in self.spec.outputs.iter().filter(|spec| wanted(&spec.name)) {
            let value = outputs[spec.name.as_str()]
                .try_extract_array::<f32>()
                .map_err(|e| run_error(format!("output '{}': {e}", spec.name)))?;
            copied.push((spec.name.clone(), value.to_owned()));
        }
        drop(outputs);
        self.inference_time += elapsed;
        Ok(Outputs(copied))
    }
}

/// The providers to try, best first: `auto` lists what this ONNX Runtime supports; a provider asked
/// for by name must be supported.
fn providers_to_try(options: &ProviderOptions) -> Result<Vec<Provider>, ModelError> {
    let runtime = runtime()?;
    let available = runtime.providers();
    match options.provider {
        Provider::Auto => Ok(available.to_vec()),
        requested if available.contains(&requested) => Ok(vec![requested]),
        requested => Err(ModelError::ProviderUnavailable {
            requested,
            available: available
                .iter()
                .map(|p| p.name())
                .collect::<Vec<_>>()
                .join(", "),
            library: runtime.library().display().to_string(),
        }),
    }
}

fn dispatch(provider: Provider, options: &ProviderOptions) -> Option<ExecutionProviderDispatch> {
    match provider {
        Provider::Auto | Provider::Cpu => None,
        Provider::Cuda => Some(ort::ep::CUDA::default().build().error_on_failure()),
        Provider::TensorRt => Some(
            ort::ep::TensorRT::default()
                .with_fp16(options.tensorrt_fp16)
                .with_engine_cache(true)
                .with_engine_cache_path(options.tensorrt_cache_dir.display())
                .with_timing_cache(true)
                .with_timing_cache_path(options.tensorrt_cache_dir.display())
                .build()
                .error_on_failure(),
        ),
    }
}

fn build_session(
    path: &Path,
    options: &ProviderOptions,
) -> Result<(Session, Provider, Vec<String>), ModelError> {
    let runtime = runtime()?;
    let mut fallbacks = Vec::new();
    let candidates = providers_to_try(options)?;
    for (index, provider) in candidates.iter().copied().enumerate() {
        match try_session(runtime, path, provider, options) {
            Ok(session) => {
                for fallback in &fallbacks {
                    log::warn!("{fallback}");
                }
                return Ok((session, provider, fallbacks));
            }
            // A broken model fails the same way on every provider: no point trying the next one.
            Err(reason) if index + 1 == candidates.len() || provider == Provider::Cpu => {
                return Err(ModelError::Load {
                    path: path.to_path_buf(),
                    provider,
                    reason,
                })
            }
            Err(reason) => fallbacks.push(format!(
                "{provider} could not run {}: {reason}; trying the next provider",
                path.display()
            )),
        }
    }
    unreachable!("the provider list always ends with cpu or holds the one provider asked for")
}

fn try_session(
    runtime: &runtime::Runtime,
    path: &Path,
    provider: Provider,
    options: &ProviderOptions,
) -> Result<Session, String> {
    if provider == Provider::TensorRt {
        std::fs::create_dir_all(&options.tensorrt_cache_dir).map_err(|e| {
            format!(
                "cannot create the TensorRT engine cache {}: {e}",
                options.tensorrt_cache_dir.display()
            )
        })?;
    }
    // ORT's warnings (unused initializers and the like) are noise on a user's terminal; real
    // failures come back as errors and are reported with the model's path.
    let mut builder = Session::builder(runtime.environment())
        .map_err(|e| e.to_string())?
        .with_log_level(ort::logging::LogLevel::Error)
        .map_err(|e| e.to_string())?;
    if options.intra_threads > 0 {
        builder = builder
            .with_intra_threads(options.intra_threads)
            .map_err(|e| e.to_string())?;
    }
    // A pipeline holds several sessions (detector, keypoints, generator), each with its own
    // thread pool. Spinning idle threads of one session would take the cores from the session
    // that is working: measured, it halved a live FOMM pipeline's frame rate on 2 cores.
    builder = builder
        .with_config_entry("session.intra_op.allow_spinning", "0")
        .map_err(|e| e.to_string())?;
    if let Some(dispatch) = dispatch(provider, options) {
        builder = builder
            .with_execution_providers([dispatch])
            .map_err(|e| e.to_string())?;
    }
    builder.commit_from_file(path).map_err(|e| e.to_string())
}

fn element_type(ty: TensorElementType) -> Option<ElementType> {
    match ty {
        TensorElementType::Float32 => Some(ElementType::Float32),
        TensorElementType::Float16 => Some(ElementType::Float16),
        TensorElementType::Int64 => Some(ElementType::Int64),
        TensorElementType::Int32 => Some(ElementType::Int32),
        TensorElementType::Uint8 => Some(ElementType::Uint8),
        _ => None,
    }
}

/// What ONNX Runtime reports for one input or output: name, element type and dims (-1 = free).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FoundTensor {
    pub name: String,
    pub element_type: Option<ElementType>,
    pub shape: Vec<i64>,
}

fn found_tensors(outlets: &[ort::value::Outlet]) -> Vec<FoundTensor> {
    outlets
        .iter()
        .map(|outlet| match outlet.dtype() {
            ValueType::Tensor { ty, shape, .. } => FoundTensor {
                name: outlet.name().to_owned(),
                element_type: element_type(*ty),
                shape: shape.iter().copied().collect(),
            },
            _ => FoundTensor {
                name: outlet.name().to_owned(),
                element_type: None,
                shape: Vec::new(),
            },
        })
        .collect()
}

fn check_contract(spec: &ModelSpec, session: &Session) -> Vec<String> {
    let mut mismatches = compare("input", &spec.inputs, &found_tensors(session.inputs()));
    mismatches.extend(compare(
        "output",
        &spec.outputs,
        &found_tensors(session.outputs()),
    ));
    mismatches
}

fn describe_expected(spec: &TensorSpec) -> String {
    let dims: Vec<String> = spec
        .shape
        .iter()
        .map(|d| d.map_or("?".to_owned(), |d| d.to_string()))
        .collect();
    format!("{:?} [{}]", spec.element_type, dims.join(", ")).to_lowercase()
}

fn describe_found(found: &FoundTensor) -> String {
    let dims: Vec<String> = found
        .shape
        .iter()
        .map(|&d| if d < 0 { "?".to_owned() } else { d.to_string() })
        .collect();
    let ty = found
        .element_type
        .map_or("unsupported type".to_owned(), |t| {
            format!("{t:?}").to_lowercase()
        });
    format!("{ty} [{}]", dims.join(", "))
}

/// Lists every difference between the contract and the graph. A dimension the graph leaves free
/// satisfies any fixed dimension in the contract; a fixed one must be equal.
pub(crate) fn compare(kind: &str, expected: &[TensorSpec], found: &[FoundTensor]) -> Vec<String> {
    let mut mismatches = Vec::new();
    for spec in expected {
        let Some(actual) = found.iter().find(|f| f.name == spec.name) else {
            let names: Vec<&str> = found.iter().map(|f| f.name.as_str()).collect();
            mismatches.push(format!(
                "  {kind} '{}': expected {}, the graph has no such {kind} (it has: {})",
                spec.name,
                describe_expected(spec),
                names.join(", ")
            ));
            continue;
        };
        let type_ok = actual.element_type == Some(spec.element_type);
        let rank_ok = actual.shape.len() == spec.shape.len();
        let dims_ok = rank_ok
            && spec
                .shape
                .iter()
                .zip(&actual.shape)
                .all(|(want, &have)| have < 0 || want.is_none_or(|want| want == have));
        if !(type_ok && dims_ok) {
            mismatches.push(format!(
                "  {kind} '{}': expected {}, found {}",
                spec.name,
                describe_expected(spec),
                describe_found(actual)
            ));
        }
    }
    for actual in found {
        if !expected.iter().any(|spec| spec.name == actual.name) {
            mismatches.push(format!(
                "  {kind} '{}': not in the contract (found {})",
                actual.name,
                describe_found(actual)
            ));
        }
    }
    mismatches
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, shape: Vec<Option<i64>>) -> TensorSpec {
        TensorSpec {
            name: name.to_owned(),
            element_type: ElementType::Float32,
            shape,
            layout: None,
            normalization: None,
            description: String::new(),
        }
    }

    fn found(name: &str, ty: ElementType, shape: Vec<i64>) -> FoundTensor {
        FoundTensor {
            name: name.to_owned(),
            element_type: Some(ty),
            shape,
        }
    }

    #[test]
    fn free_dimensions_satisfy_fixed_ones_and_fixed_ones_must_match() {
        let expected = [spec("image", vec![Some(1), Some(3), Some(256), Some(256)])];
        let dynamic = [found("image", ElementType::Float32, vec![-1, 3, -1, -1])];
        assert!(compare("input", &expected, &dynamic).is_empty());

        let wrong = [found("image", ElementType::Float32, vec![1, 3, 128, 128])];
        assert_eq!(
            compare("input", &expected, &wrong),
            vec!["  input 'image': expected float32 [1, 3, 256, 256], found float32 [1, 3, 128, 128]"]
        );
    }

    #[test]
    fn lists_wrong_types_ranks_missing_and_extra_names() {
        let expected = [
            spec("kp", vec![None, Some(10), Some(2)]),
            spec("jacobian", vec![]),
        ];
        let actual = [
            found("kp", ElementType::Int64, vec![1, 10, 2]),
            found("heatmap", ElementType::Float32, vec![1, 10, 58, 58]),
        ];
        let mismatches = compare("output", &expected, &actual);
        assert_eq!(mismatches.len(), 3, "{mismatches:#?}");
        assert!(mismatches[0].contains("expected float32 [?, 10, 2], found int64 [1, 10, 2]"));
        assert!(mismatches[1].contains(
            "'jacobian': expected float32 [], the graph has no such output (it has: kp, heatmap)"
        ));
        assert!(mismatches[2].contains("'heatmap': not in the contract"));
    }
}
