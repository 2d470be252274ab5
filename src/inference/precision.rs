//! Which model set runs: the fp32 set, or the int8 set the quantiser wrote beside it
//! (`NAME-int8`). `auto` takes int8 where it pays, on the CPU, and fp32 on a GPU (where TensorRT
//! already runs layers in fp16).

use std::path::{Path, PathBuf};
use std::str::FromStr;

use super::{runtime, Manifest, Precision, Provider};

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

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PrecisionError {
    #[error(
        "precision int8 was asked for, but there is no int8 set beside {fp32} (looked for \
         {int8}/manifest.json): make it with `make int8-models` or `python -m \
         animecam_models.quantize --models {fp32}`, or use precision auto"
    )]
    NoInt8Set { fp32: PathBuf, int8: PathBuf },
    #[error(
        "{dir} is an int8 set and precision fp32 was asked for: point the model folder at the \
         fp32 set it was made from"
    )]
    Int8SetForFp32 { dir: PathBuf },
}

/// The folder of the model set that runs, and its precision.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSet {
    pub dir: PathBuf,
    pub precision: Precision,
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
pub fn choose_model_set(
    dir: &Path,
    choice: PrecisionChoice,
    provider: Provider,
) -> Result<ModelSet, PrecisionError> {
    let own = Manifest::load(dir).map(|manifest| manifest.precision).ok();
    if own == Some(Precision::Int8) {
        return match choice {
            PrecisionChoice::Fp32 => Err(PrecisionError::Int8SetForFp32 {
                dir: dir.to_path_buf(),
            }),
            _ => Ok(ModelSet {
                dir: dir.to_path_buf(),
                precision: Precision::Int8,
            }),
        };
    }
    let int8 = int8_set_dir(dir);
    let present = Manifest::load(&int8).is_ok_and(|manifest| manifest.precision == Precision::Int8);
    let use_int8 = match choice {
        PrecisionChoice::Fp32 => false,
        PrecisionChoice::Int8 if !present => {
            return Err(PrecisionError::NoInt8Set {
                fp32: dir.to_path_buf(),
                int8,
            })
        }
        PrecisionChoice::Int8 => true,
        PrecisionChoice::Auto => present && runs_on_cpu(provider),
    };
    Ok(if use_int8 {
        ModelSet {
            dir: int8,
            precision: Precision::Int8,
        }
    } else {
        ModelSet {
            dir: dir.to_path_buf(),
            precision: Precision::Fp32,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(root: &Path, name: &str, precision: &str) -> PathBuf {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("manifest.json"),
            format!(
                r#"{{"format": 1, "name": "{name}", "precision": "{precision}", "models": {{}}}}"#
            ),
        )
        .unwrap();
        dir
    }

    #[test]
    fn auto_takes_the_int8_set_on_the_cpu_and_fp32_on_a_gpu() {
        let root = std::env::temp_dir().join(format!("animecam-precision-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let fp32 = set(&root, "vox-256", "fp32");
        let int8 = int8_set_dir(&fp32);
        assert_eq!(int8, root.join("vox-256-int8"));

        // No int8 set: auto is fp32, int8 names what is missing and how to make it.
        let chosen = choose_model_set(&fp32, PrecisionChoice::Auto, Provider::Cpu).unwrap();
        assert_eq!(chosen.precision, Precision::Fp32);
        let error = choose_model_set(&fp32, PrecisionChoice::Int8, Provider::Cpu).unwrap_err();
        let message = error.to_string();
        assert!(
            message.contains("vox-256-int8/manifest.json") && message.contains("quantize"),
            "{message}"
        );

        set(&root, "vox-256-int8", "int8");
        let on_cpu = choose_model_set(&fp32, PrecisionChoice::Auto, Provider::Cpu).unwrap();
        assert_eq!(
            on_cpu,
            ModelSet {
                dir: int8.clone(),
                precision: Precision::Int8
            }
        );
        for gpu in [Provider::Cuda, Provider::TensorRt] {
            let chosen = choose_model_set(&fp32, PrecisionChoice::Auto, gpu).unwrap();
            assert_eq!(chosen.precision, Precision::Fp32, "{gpu}");
        }
        let asked = choose_model_set(&fp32, PrecisionChoice::Fp32, Provider::Cpu).unwrap();
        assert_eq!(asked.dir, fp32);

        // Pointed at the int8 set itself.
        let direct = choose_model_set(&int8, PrecisionChoice::Auto, Provider::Cuda).unwrap();
        assert_eq!(direct.precision, Precision::Int8);
        assert!(matches!(
            choose_model_set(&int8, PrecisionChoice::Fp32, Provider::Cpu),
            Err(PrecisionError::Int8SetForFp32 { .. })
        ));
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn names_round_trip() {
        for choice in PrecisionChoice::ALL {
            assert_eq!(choice.name().parse::<PrecisionChoice>(), Ok(choice));
        }
        assert!("fp16"
            .parse::<PrecisionChoice>()
            .unwrap_err()
            .contains("auto, fp32 or int8"));
    }
}
