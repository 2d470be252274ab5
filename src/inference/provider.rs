//! Execution provider choice: `auto` tries TensorRT, then CUDA, then CPU; a provider asked for by
//! name must work or loading fails.

use std::path::PathBuf;
use std::str::FromStr;

/// Which ONNX Runtime execution provider runs a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Provider {
    /// The best that works here: TensorRT, then CUDA, then CPU.
    #[default]
    Auto,
    Cpu,
    Cuda,
    TensorRt,
}

impl Provider {
    pub const ALL: [Provider; 4] = [
        Provider::Auto,
        Provider::Cpu,
        Provider::Cuda,
        Provider::TensorRt,
    ];

    /// The name users type (`auto`, `cpu`, `cuda`, `tensorrt`).
    pub fn name(self) -> &'static str {
        match self {
            Provider::Auto => "auto",
            Provider::Cpu => "cpu",
            Provider::Cuda => "cuda",
            Provider::TensorRt => "tensorrt",
        }
    }
}

impl std::fmt::Display for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Provider {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Provider::ALL
            .into_iter()
            .find(|provider| provider.name().eq_ignore_ascii_case(text.trim()))
            .ok_or_else(|| {
                format!("unknown execution provider '{text}': expected one of auto, cpu, cuda, tensorrt")
            })
    }
}

/// How sessions are built: provider, threads and TensorRT's engine options.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderOptions {
    pub provider: Provider,
    /// Threads ONNX Runtime uses inside one operator; 0 lets it choose (one per core).
    pub intra_threads: usize,
    /// Where TensorRT keeps built engines, so the minutes-long build happens once per model and GPU.
    pub tensorrt_cache_dir: PathBuf,
    /// Let TensorRT run layers in half precision (about twice as fast on recent GPUs).
    pub tensorrt_fp16: bool,
}

impl Default for ProviderOptions {
    fn default() -> Self {
        ProviderOptions {
            provider: Provider::Auto,
            intra_threads: 0,
            tensorrt_cache_dir: default_tensorrt_cache_dir(),
            tensorrt_fp16: true,
        }
    }
}

/// `$XDG_CACHE_HOME/animecam/tensorrt` (or `~/.cache/...`), else a folder under the temp dir.
pub fn default_tensorrt_cache_dir() -> PathBuf {
    dirs::cache_dir()
        .unwrap_or_else(std::env::temp_dir)
        .join("animecam")
        .join("tensorrt")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_list_the_choices() {
        for provider in Provider::ALL {
            assert_eq!(provider.name().parse::<Provider>(), Ok(provider));
        }
        assert_eq!("TensorRT".parse::<Provider>(), Ok(Provider::TensorRt));
        let error = "rocm".parse::<Provider>().unwrap_err();
        assert!(error.contains("'rocm'") && error.contains("auto, cpu, cuda, tensorrt"));
    }

    #[test]
    fn tensorrt_cache_defaults_under_the_user_cache() {
        let options = ProviderOptions::default();
        assert!(options.tensorrt_fp16);
        assert_eq!(options.provider, Provider::Auto);
        assert!(options
            .tensorrt_cache_dir
            .ends_with(PathBuf::from("animecam").join("tensorrt")));
    }
}
