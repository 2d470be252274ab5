//! The model manifest: one `manifest.json` per model folder describing each graph's file, checksum,
//! I/O contract, input normalisation and provenance. The exporters in `models/` write it; the Rust
//! side reads its contracts from it and never hard-codes a model's shapes.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub const MANIFEST_FILE: &str = "manifest.json";
const SUPPORTED_FORMAT: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("cannot read model manifest {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("model manifest {path} is not valid: {source}")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error(
        "model manifest {path} has format {found}; this animecam reads format {SUPPORTED_FORMAT}"
    )]
    Format { path: PathBuf, found: u32 },
    #[error("model manifest {path} has no model '{id}' (it has: {available})")]
    UnknownModel {
        path: PathBuf,
        id: String,
        available: String,
    },
    #[error("model manifest {path} names the file '{file}', which is outside its folder: a manifest may only name files inside the folder it is in (no absolute paths, no '..')")]
    OutsideFolder { path: PathBuf, file: String },
    #[error("model file {path} is missing{hint}")]
    MissingFile { path: PathBuf, hint: String },
    #[error("model file {path} has sha256 {found}, the manifest expects {expected}: the file is damaged or from another export{hint}")]
    Checksum {
        path: PathBuf,
        expected: String,
        found: String,
        hint: String,
    },
}

/// Element type of a tensor, named as in ONNX.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ElementType {
    Float32,
    Float16,
    Int64,
    Int32,
    Uint8,
}

/// Memory layout of an image tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    Nchw,
    Nhwc,
}

/// How 8-bit RGB pixels map to the values an image input expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Normalization {
    /// `v / 255`, in [0, 1].
    Unit,
    /// `v / 127.5 - 1`, in [-1, 1].
    Symmetric,
    /// The byte value as a float, in [0, 255].
    Byte,
}

impl Normalization {
    /// Scale and offset so that `value = byte * scale + offset`.
    pub fn scale_offset(self) -> (f32, f32) {
        match self {
            Normalization::Unit => (1.0 / 255.0, 0.0),
            Normalization::Symmetric => (1.0 / 127.5, -1.0),
            Normalization::Byte => (1.0, 0.0),
        }
    }

    /// Back from a model value to a byte, rounded and clamped.
    pub fn to_byte(self, value: f32) -> u8 {
        let (scale, offset) = self.scale_offset();
        ((value - offset) / scale).round().clamp(0.0, 255.0) as u8
    }
}

/// One input or output of a graph.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TensorSpec {
    pub name: String,
    pub element_type: ElementType,
    /// Dimensions; `null` marks one the graph leaves free.
    pub shape: Vec<Option<i64>>,
    /// For image tensors: layout, channel order is always RGB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layout: Option<Layout>,
    /// For image tensors: how pixels are scaled (inputs) or read back (outputs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub normalization: Option<Normalization>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
}

impl TensorSpec {
    /// The side of a square image tensor of this layout; `None` for anything else.
    pub fn square_size(&self, layout: Layout) -> Option<usize> {
        match self.image_size() {
            Some((height, width)) if height == width && self.layout == Some(layout) => Some(width),
            _ => None,
        }
    }

    /// Height and width of an image tensor with fixed spatial dimensions.
    pub fn image_size(&self) -> Option<(usize, usize)> {
        let dim = |i: usize| {
            self.shape
                .get(i)
                .copied()
                .flatten()
                .and_then(|d| usize::try_from(d).ok())
        };
        match self.layout? {
            Layout::Nchw => Some((dim(2)?, dim(3)?)),
            Layout::Nhwc => Some((dim(1)?, dim(2)?)),
        }
    }
}

/// A file the graph needs beside it (external weights written by the dynamo exporter).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataFile {
    pub file: String,
    pub sha256: String,
}

/// Where a model comes from, so that a user can tell what they run and under which licence.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// What the weights are: a registry package and path, or a checkpoint name.
    pub source: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub license: String,
    /// The tool (and its version) that wrote the ONNX file.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub exporter: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub notes: String,
}

/// One graph of a model set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelSpec {
    pub file: String,
    pub sha256: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data_files: Vec<DataFile>,
    pub inputs: Vec<TensorSpec>,
    pub outputs: Vec<TensorSpec>,
    pub provenance: Provenance,
    /// The graph's arithmetic; absent in sets the exporters wrote (fp32).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precision: Option<Precision>,
    /// For a quantised graph: how close it comes to the fp32 one (the quantiser's report).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality: Option<Quality>,
}

/// The arithmetic of a model set or graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// 32-bit floats: what the exporters write.
    #[default]
    Fp32,
    /// 8-bit integer convolutions (QDQ), for CPUs (`python -m animecam_models.quantize`).
    Int8,
}

impl Precision {
    pub fn name(self) -> &'static str {
        match self {
            Precision::Fp32 => "fp32",
            Precision::Int8 => "int8",
        }
    }
}

impl std::fmt::Display for Precision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A quantised graph measured against its fp32 graph on held-out real inputs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Quality {
    /// PSNR of the image output, over its value range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub psnr_db: Option<f64>,
    /// Mean keypoint error in pixels of the keypoint detector's crop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keypoint_error_px: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fp32_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub int8_ms: Option<f64>,
}

impl std::fmt::Display for Quality {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.psnr_db, self.keypoint_error_px) {
            (Some(psnr), _) => write!(f, "{psnr:.1} dB PSNR against fp32")?,
            (None, Some(error)) => write!(f, "keypoints {error:.2} px from fp32")?,
            (None, None) => f.write_str("not measured")?,
        }
        if let (Some(fp32), Some(int8)) = (self.fp32_ms, self.int8_ms) {
            write!(
                f,
                ", {:.2}x fp32's speed where it was quantised",
                fp32 / int8
            )?;
        }
        Ok(())
    }
}

impl ModelSpec {
    pub fn input(&self, name: &str) -> Option<&TensorSpec> {
        self.inputs.iter().find(|spec| spec.name == name)
    }

    pub fn output(&self, name: &str) -> Option<&TensorSpec> {
        self.outputs.iter().find(|spec| spec.name == name)
    }
}

/// What an int8 set's manifest says of its making; only what animecam checks is read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quantization {
    pub fp32_set: Option<Fp32Source>,
}

/// The fp32 set an int8 set was made from: its graphs' sha256 at the time, by model id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fp32Source {
    #[serde(default)]
    pub sha256: BTreeMap<String, String>,
}

/// A model folder's `manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    /// The model set's name (`tiny`, `vox-256`, `blazeface`, ...).
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// How to get the files when they are missing; quoted in errors.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub fetch_hint: String,
    pub models: BTreeMap<String, ModelSpec>,
    /// Graphs made for the tests (random weights), not a model set a user converted or fetched.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub test_fixture: bool,
    /// fp32, or int8 for a set the quantiser wrote beside its fp32 set.
    #[serde(default)]
    pub precision: Precision,
    /// An int8 set's record of how the quantiser made it (read: the fp32 graphs it came from).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantization: Option<Quantization>,
    /// The folder the manifest was read from; files are relative to it.
    #[serde(skip)]
    pub dir: PathBuf,
}

impl Manifest {
    /// Reads `manifest.json` from a model folder (or the manifest file itself).
    pub fn load(path: impl AsRef<Path>) -> Result<Manifest, ManifestError> {
        let path = path.as_ref();
        let names_a_file = path.extension().is_some_and(|ext| ext == "json");
        let file = if names_a_file {
            path.to_path_buf()
        } else {
            path.join(MANIFEST_FILE)
        };
        let text = std::fs::read_to_string(&file).map_err(|source| ManifestError::Read {
            path: file.clone(),
            source,
        })?;
        let mut manifest: Manifest =
            serde_json::from_str(&text).map_err(|source| ManifestError::Parse {
                path: file.clone(),
                source,
            })?;
        if manifest.format != SUPPORTED_FORMAT {
            return Err(ManifestError::Format {
                path: file,
                found: manifest.format,
            });
        }
        let outside = manifest.models.values().find_map(|spec| {
            std::iter::once(&spec.file)
                .chain(spec.data_files.iter().map(|data| &data.file))
                .find(|name| !inside_folder(name))
        });
        if let Some(name) = outside {
            return Err(ManifestError::OutsideFolder {
                path: file,
                file: name.clone(),
            });
        }
        manifest.dir = file.parent().unwrap_or(Path::new(".")).to_path_buf();
        Ok(manifest)
    }

    pub fn model(&self, id: &str) -> Result<&ModelSpec, ManifestError> {
        self.models
            .get(id)
            .ok_or_else(|| ManifestError::UnknownModel {
                path: self.dir.join(MANIFEST_FILE),
                id: id.to_owned(),
                available: self.models.keys().cloned().collect::<Vec<_>>().join(", "),
            })
    }

    /// Path of a model's graph file.
    pub fn model_path(&self, spec: &ModelSpec) -> PathBuf {
        self.dir.join(&spec.file)
    }

    /// Checks that the graph and every data file exist and match their sha256.
    pub fn verify(&self, spec: &ModelSpec) -> Result<(), ManifestError> {
        let files = std::iter::once((spec.file.as_str(), spec.sha256.as_str())).chain(
            spec.data_files
                .iter()
                .map(|data| (data.file.as_str(), data.sha256.as_str())),
        );
        for (file, expected) in files {
            let path = self.dir.join(file);
            if !path.is_file() {
                return Err(ManifestError::MissingFile {
                    path,
                    hint: self.hint(),
                });
            }
            let found = sha256_file_once(&path).map_err(|source| ManifestError::Read {
                path: path.clone(),
                source,
            })?;
            if !found.eq_ignore_ascii_case(expected) {
                return Err(ManifestError::Checksum {
                    path,
                    expected: expected.to_owned(),
                    found,
                    hint: self.hint(),
                });
            }
        }
        Ok(())
    }

    fn hint(&self) -> String {
        if self.fetch_hint.is_empty() {
            String::new()
        } else {
            format!("; {}", self.fetch_hint)
        }
    }
}

/// Whether a file name of a manifest stays inside the manifest's folder: relative, and made of
/// plain names only (a manifest copied from elsewhere must not make us open or hash other files).
fn inside_folder(name: &str) -> bool {
    !name.is_empty()
        && Path::new(name)
            .components()
            .all(|part| matches!(part, std::path::Component::Normal(_)))
}

/// [`sha256_file`], hashed once per process for a file of unchanged length and modification
/// time: several elements verify the same graphs when they start (and `precision=auto` verifies
/// an int8 set before it is loaded), and an int8 U-GAT-IT full graph takes most of a second.
fn sha256_file_once(path: &Path) -> std::io::Result<String> {
    // Length, modification time, and the inode and its change time, which no copy tool can set
    // back (`cp -p`, `rsync -a` and `touch -r` do set the modification time).
    type Stamp = (u64, std::time::SystemTime, u64, u64, i64, i64);
    static HASHED: std::sync::LazyLock<std::sync::Mutex<BTreeMap<PathBuf, (Stamp, String)>>> =
        std::sync::LazyLock::new(Default::default);
    let stamp = |path: &Path| -> std::io::Result<Stamp> {
        use std::os::unix::fs::MetadataExt;
        let metadata = std::fs::metadata(path)?;
        Ok((
            metadata.len(),
            metadata.modified()?,
            metadata.dev(),
            metadata.ino(),
            metadata.ctime(),
            metadata.ctime_nsec(),
        ))
    };
    let before = stamp(path)?;
    let known = HASHED
        .lock()
        .unwrap()
        .get(path)
        .filter(|(stamp, _)| *stamp == before)
        .map(|(_, sha256)| sha256.clone());
    if let Some(sha256) = known {
        return Ok(sha256);
    }
    let sha256 = sha256_file(path)?;
    // Kept only for a file that did not change while it was read and whose modification time is
    // seconds old: a file rewritten at the same length within the clock's granularity (a few
    // milliseconds) would otherwise keep the old hash (git's "racily clean" files).
    let settled = before
        .1
        .elapsed()
        .is_ok_and(|age| age > std::time::Duration::from_secs(2));
    if settled && stamp(path)? == before {
        HASHED
            .lock()
            .unwrap()
            .insert(path.to_path_buf(), (before, sha256.clone()));
    }
    Ok(sha256)
}

/// Lower-case hex sha256 of a file, streamed so large generators do not sit in memory twice.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect())
}

#[cfg(test)]
mod tests;
