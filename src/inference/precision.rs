//! Which model set runs: the fp32 set, or the int8 set the quantiser wrote beside it
//! (`NAME-int8`). `auto` takes int8 where it pays, on the CPU, and fp32 on a GPU (where TensorRT
//! already runs layers in fp16).

use std::path::{Path, PathBuf};
use std::str::FromStr;

use super::manifest::MANIFEST_FILE;
use super::{runtime, Manifest, ManifestError, Precision, Provider};

/// The `precision` setting of the elements and the CLI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PrecisionChoice {
    /// int8 on the CPU when an int8 set is present, else fp32.
    #[default]
    Auto,
    Fp32,
    /// The int8 set, which must be present.
    Int8,
}

impl PrecisionChoice {
    pub const ALL: [PrecisionChoice; 3] = [
        PrecisionChoice::Auto,
        PrecisionChoice::Fp32,
        PrecisionChoice::Int8,
    ];

    pub fn name(self) -> &'static str {
        match self {
            PrecisionChoice::Auto => "auto",
            PrecisionChoice::Fp32 => "fp32",
            PrecisionChoice::Int8 => "int8",
        }
    }
}

impl FromStr for PrecisionChoice {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        PrecisionChoice::ALL
            .into_iter()
            .find(|choice| choice.name().eq_ignore_ascii_case(text.trim()))
            .ok_or_else(|| format!("unknown precision '{text}': expected auto, fp32 or int8"))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PrecisionError {
    #[error(
        "precision int8 was asked for, but there is no int8 set beside {fp32} (looked for \
         {int8}/manifest.json): make it with `make int8-models` or `python -m \
         animecam_models.quantize --models {fp32}`, or use precision auto"
    )]
    NoInt8Set { fp32: PathBuf, int8: PathBuf },
    #[error("precision int8 was asked for, but {0}")]
    BrokenInt8Set(Box<BrokenInt8Set>),
    #[error(
        "{dir} is an int8 set and precision fp32 was asked for: point the model folder at the \
         fp32 set it was made from"
    )]
    Int8SetForFp32 { dir: PathBuf },
}

/// What is wrong with an int8 folder that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum Int8SetProblem {
    #[error("it is not a folder")]
    NotAFolder,
    /// Empty, or left unfinished: the quantiser writes the manifest last.
    #[error("it has no manifest.json (an empty or unfinished folder)")]
    NoManifest,
    #[error("{0}")]
    Manifest(ManifestError),
    #[error("its manifest says precision {0}, not int8")]
    NotInt8(Precision),
    #[error("its graph '{id}' cannot be used: {source}")]
    Graph { id: String, source: ManifestError },
    /// The fp32 set was replaced (a new checkpoint imported) after the int8 set was made.
    #[error(
        "it was made from other weights: its graph '{id}' came from an fp32 graph with sha256 \
         {made_from:.8}, the set beside it now has {now:.8}"
    )]
    MadeFromOtherWeights {
        id: String,
        made_from: String,
        now: String,
    },
}

/// An int8 folder beside a model set that cannot be used, and why.
#[derive(Debug)]
pub struct BrokenInt8Set {
    pub dir: PathBuf,
    pub fp32: PathBuf,
    pub problem: Int8SetProblem,
}

impl BrokenInt8Set {
    /// Which folder, and what is wrong with it.
    pub fn cause(&self) -> String {
        format!(
            "the int8 set {} cannot be used: {}",
            self.dir.display(),
            self.problem
        )
    }

    /// How to get a working int8 set (the quantiser does not replace a folder it cannot read).
    pub fn remedy(&self) -> String {
        format!(
            "remove {} and make it again with `make int8-models` or `python -m \
             animecam_models.quantize --models {}`",
            self.dir.display(),
            self.fp32.display()
        )
    }
}

impl std::fmt::Display for BrokenInt8Set {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}; {}", self.cause(), self.remedy())
    }
}

impl std::error::Error for BrokenInt8Set {}

/// What is beside a model set where the quantiser writes its int8 form.
#[derive(Debug)]
pub enum Int8Set {
    /// Nothing by that name.
    Absent,
    /// A manifest of precision int8 whose graphs are all there with their checksums.
    Ready(Manifest),
    Broken(BrokenInt8Set),
}

/// Looks at the int8 set beside the set at `fp32` ([`int8_set_dir`]): absent, ready (every graph
/// present and matching its checksum), or broken with the reason. Hashes every graph of the set.
pub fn inspect_int8_set(fp32: &Path) -> Int8Set {
    let dir = int8_set_dir(fp32);
    let broken = |problem| {
        Int8Set::Broken(BrokenInt8Set {
            dir: dir.clone(),
            fp32: fp32.to_path_buf(),
            problem,
        })
    };
    if !dir.exists() {
        return Int8Set::Absent;
    }
    if !dir.is_dir() {
        return broken(Int8SetProblem::NotAFolder);
    }
    if !dir.join(MANIFEST_FILE).exists() {
        return broken(Int8SetProblem::NoManifest);
    }
    let manifest = match Manifest::load(&dir) {
        Ok(manifest) => manifest,
        Err(e) => return broken(Int8SetProblem::Manifest(e)),
    };
    if manifest.precision != Precision::Int8 {
        return broken(Int8SetProblem::NotInt8(manifest.precision));
    }
    if let Some(problem) = made_from_other_weights(&manifest, fp32) {
        return broken(problem);
    }
    let damaged = manifest
        .models
        .iter()
        .find_map(|(id, spec)| manifest.verify(spec).err().map(|e| (id.clone(), e)));
    match damaged {
        Some((id, source)) => broken(Int8SetProblem::Graph { id, source }),
        None => Int8Set::Ready(manifest),
    }
}

/// A graph the int8 set says it was made from that the fp32 set no longer holds (its sha256 in
/// the fp32 manifest differs): the int8 set would animate with the old weights. Sets whose
/// manifests do not say (older quantisers) pass.
fn made_from_other_weights(int8: &Manifest, fp32: &Path) -> Option<Int8SetProblem> {
    let made_from = &int8.quantization.as_ref()?.fp32_set.as_ref()?.sha256;
    let now = Manifest::load(fp32).ok()?;
    made_from.iter().find_map(|(id, made_from)| {
        let current = &now.models.get(id)?.sha256;
        (current != made_from).then(|| Int8SetProblem::MadeFromOtherWeights {
            id: id.clone(),
            made_from: made_from.clone(),
            now: current.clone(),
        })
    })
}

/// The folder of the model set that runs, and its precision.
#[derive(Debug)]
pub struct ModelSet {
    pub dir: PathBuf,
    pub precision: Precision,
    /// The int8 set `auto` would have taken but could not: the caller warns the user with it.
    pub unused_int8: Option<BrokenInt8Set>,
}

/// Where the quantiser writes the int8 form of the set at `dir`: `NAME-int8` beside it.
pub fn int8_set_dir(dir: &Path) -> PathBuf {
    let name = dir.file_name().map_or_else(
        || "models".into(),
        |name| name.to_string_lossy().to_string(),
    );
    dir.with_file_name(format!("{name}-int8"))
}

/// Whether sessions on `provider` will run on the CPU: asked for by name, or `auto` in an ONNX
/// Runtime without GPU providers.
fn runs_on_cpu(provider: Provider) -> bool {
    match provider {
        Provider::Cpu => true,
        Provider::Auto => runtime().is_ok_and(|runtime| runtime.providers() == [Provider::Cpu]),
        Provider::Cuda | Provider::TensorRt => false,
    }
}

/// The model set to load for the set at `dir` (as the user named it), the precision asked for and
/// the provider. A `dir` that is itself an int8 set is taken as it is, unless fp32 was asked for.
/// A broken int8 set beside `dir` is an error for `int8`; `auto` runs fp32 and says why in
/// [`ModelSet::unused_int8`].
pub fn choose_model_set(
    dir: &Path,
    choice: PrecisionChoice,
    provider: Provider,
) -> Result<ModelSet, PrecisionError> {
    let fp32 = ModelSet {
        dir: dir.to_path_buf(),
        precision: Precision::Fp32,
        unused_int8: None,
    };
    let own = Manifest::load(dir).map(|manifest| manifest.precision).ok();
    if own == Some(Precision::Int8) {
        return match choice {
            PrecisionChoice::Fp32 => Err(PrecisionError::Int8SetForFp32 {
                dir: dir.to_path_buf(),
            }),
            _ => Ok(ModelSet {
                precision: Precision::Int8,
                ..fp32
            }),
        };
    }
    // On a GPU auto runs fp32 whatever is beside it: no need to hash the int8 graphs.
    let wants_int8 = match choice {
        PrecisionChoice::Fp32 => false,
        PrecisionChoice::Int8 => true,
        PrecisionChoice::Auto => runs_on_cpu(provider),
    };
    if !wants_int8 {
        return Ok(fp32);
    }
    match (inspect_int8_set(dir), choice) {
        (Int8Set::Ready(manifest), _) => Ok(ModelSet {
            dir: manifest.dir,
            precision: Precision::Int8,
            unused_int8: None,
        }),
        (Int8Set::Absent, PrecisionChoice::Int8) => Err(PrecisionError::NoInt8Set {
            fp32: dir.to_path_buf(),
            int8: int8_set_dir(dir),
        }),
        (Int8Set::Broken(broken), PrecisionChoice::Int8) => {
            Err(PrecisionError::BrokenInt8Set(Box::new(broken)))
        }
        (Int8Set::Absent, _) => Ok(fp32),
        (Int8Set::Broken(broken), _) => Ok(ModelSet {
            unused_int8: Some(broken),
            ..fp32
        }),
    }
}

#[cfg(test)]
mod tests;
