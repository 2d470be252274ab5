//! ONNX Runtime through the venv's real library: numbers, contracts and provider errors.

use std::path::PathBuf;

use animecam::inference::{Manifest, Model, ModelError, Provider, ProviderOptions};
use ndarray::Array4;

fn test_models() -> Manifest {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/test");
    Manifest::load(dir).expect("models/test/manifest.json")
}

fn cpu() -> ProviderOptions {
    ProviderOptions {
        provider: Provider::Cpu,
        intra_threads: 1,
        ..ProviderOptions::default()
    }
}

#[test]
fn runs_a_small_graph_and_returns_exact_numbers() {
    let manifest = test_models();
    let mut model = Model::load(&manifest, "scale_bias", &cpu()).unwrap();
    assert_eq!(model.provider(), Provider::Cpu);
    let image = Array4::from_shape_fn([1, 3, 4, 4], |(_, c, y, x)| {
        (c * 16 + y * 4 + x) as f32 / 64.0
    });
    let outputs = model.run(&[("image", image.view().into_dyn())]).unwrap();

    let scaled = outputs.get("scaled");
    assert_eq!(scaled.shape(), &[1, 3, 4, 4]);
    for ((index, value), input) in scaled.indexed_iter().zip(image.iter()) {
        assert_eq!(*value, 2.0 * input + 1.0, "at {index:?}");
    }
    let mean = outputs.get("channel_mean");
    assert_eq!(mean.shape(), &[1, 3]);
    for channel in 0..3 {
        // Mean of (16c + 0..16) / 64 = (16c + 7.5) / 64.
        let expected = (16.0 * channel as f32 + 7.5) / 64.0;
        assert!((mean[[0, channel]] - expected).abs() < 1e-6, "{mean:?}");
    }
}

#[test]
fn auto_picks_the_best_provider_this_runtime_has() {
    let manifest = test_models();
    let options = ProviderOptions {
        provider: Provider::Auto,
        ..cpu()
    };
    let model = Model::load(&manifest, "scale_bias", &options).unwrap();
    let runtime = animecam::inference::runtime().unwrap();
    assert_ne!(model.provider(), Provider::Auto);
    // Either the first provider worked, or every one before the one in use said why it failed.
    let position = runtime
        .providers()
        .iter()
        .position(|p| *p == model.provider())
        .unwrap();
    assert_eq!(model.fallbacks().len(), position, "{:?}", model.fallbacks());
}

#[test]
fn a_graph_with_the_wrong_input_shape_breaks_its_contract() {
    let manifest = test_models();
    let error = Model::load(&manifest, "scale_bias_wrong_shape", &cpu()).unwrap_err();
    assert!(matches!(error, ModelError::Contract { .. }), "{error:?}");
    let text = error.to_string();
    assert!(
        text.contains("scale_bias_8x8.onnx does not match its contract"),
        "{text}"
    );
    assert!(
        text.contains("input 'image': expected float32 [1, 3, 4, 4], found float32 [1, 3, 8, 8]"),
        "{text}"
    );
    assert!(
        text.contains("output 'scaled': expected float32 [1, 3, 4, 4], found float32 [1, 3, 8, 8]"),
        "{text}"
    );
}

/// A GPU build of ONNX Runtime has both TensorRT and CUDA, so nothing to refuse: the test needs
/// the CPU build `make setup` installs, and `make test` runs it wherever .venv holds that one.
#[test]
#[ignore = "needs a CPU-only ONNX Runtime (make setup's onnxruntime wheel); make test runs it"]
fn a_provider_this_runtime_lacks_is_an_error_not_a_fallback() {
    let manifest = test_models();
    let runtime = animecam::inference::runtime().unwrap();
    let missing = [Provider::TensorRt, Provider::Cuda]
        .into_iter()
        .find(|p| !runtime.providers().contains(p))
        .expect(
            "this ONNX Runtime has TensorRT and CUDA, so no provider to refuse: run this test \
             with the CPU build (.venv/bin/pip install onnxruntime==1.31.1, as make setup does)",
        );
    let options = ProviderOptions {
        provider: missing,
        ..cpu()
    };
    let error = Model::load(&manifest, "scale_bias", &options).unwrap_err();
    let text = error.to_string();
    assert!(
        matches!(error, ModelError::ProviderUnavailable { .. }),
        "{text}"
    );
    assert!(
        text.contains(&format!("'{missing}' is not available")),
        "{text}"
    );
    assert!(text.contains("available: cpu"), "{text}");
    assert!(text.contains("onnxruntime-gpu==1.31.1"), "{text}");
}

#[test]
fn a_file_that_is_not_onnx_fails_to_load_naming_it() {
    let dir = std::env::temp_dir().join(format!("animecam-notonnx-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("broken.onnx"), b"this is not a protobuf").unwrap();
    let sha = animecam::inference::sha256_file(&dir.join("broken.onnx")).unwrap();
    let manifest = format!(
        r#"{{"format": 1, "name": "broken", "models": {{"broken": {{"file": "broken.onnx",
        "sha256": "{sha}", "inputs": [], "outputs": [], "provenance": {{"source": "test"}}}}}}}}"#
    );
    std::fs::write(dir.join("manifest.json"), manifest).unwrap();
    let manifest = Manifest::load(&dir).unwrap();
    let error = Model::load(&manifest, "broken", &cpu())
        .unwrap_err()
        .to_string();
    assert!(error.contains("broken.onnx on cpu"), "{error}");
    std::fs::remove_dir_all(dir).unwrap();
}
