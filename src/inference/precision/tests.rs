use super::*;

fn temp_root(tag: &str) -> PathBuf {
    let root =
        std::env::temp_dir().join(format!("animecam-precision-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    root
}

fn set(root: &Path, name: &str, precision: &str) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("manifest.json"),
        format!(r#"{{"format": 1, "name": "{name}", "precision": "{precision}", "models": {{}}}}"#),
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
    assert_eq!((&on_cpu.dir, on_cpu.precision), (&int8, Precision::Int8));
    assert!(on_cpu.unused_int8.is_none());
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

/// What `int8` and `auto` (on the CPU) say of a broken int8 set beside `fp32`: int8's error, and
/// auto's reason for running fp32. Both must name the int8 folder; neither may call it absent.
fn int8_error_and_auto_reason(fp32: &Path) -> (String, String) {
    let int8 = int8_set_dir(fp32);
    let error = choose_model_set(fp32, PrecisionChoice::Int8, Provider::Cpu).unwrap_err();
    assert!(
        matches!(error, PrecisionError::BrokenInt8Set(_)),
        "{error:?}"
    );
    let error = error.to_string();
    let auto = choose_model_set(fp32, PrecisionChoice::Auto, Provider::Cpu).unwrap();
    assert_eq!(
        (&auto.dir, auto.precision),
        (&fp32.to_path_buf(), Precision::Fp32)
    );
    let reason = auto
        .unused_int8
        .expect("auto must say why it did not take the int8 set")
        .to_string();
    for text in [&error, &reason] {
        assert!(
            text.contains(&format!("the int8 set {} cannot be used", int8.display()))
                && !text.contains("there is no int8 set"),
            "{text}"
        );
    }
    // On a GPU auto runs fp32 anyway: nothing to warn about.
    let on_gpu = choose_model_set(fp32, PrecisionChoice::Auto, Provider::Cuda).unwrap();
    assert!(on_gpu.unused_int8.is_none() && on_gpu.precision == Precision::Fp32);
    (error, reason)
}

#[test]
fn an_int8_manifest_that_is_not_json_is_named_with_its_parse_error() {
    let root = temp_root("invalid");
    let fp32 = set(&root, "vox-256", "fp32");
    let int8 = int8_set_dir(&fp32);
    std::fs::create_dir_all(&int8).unwrap();
    std::fs::write(int8.join("manifest.json"), "{\"format\": 1,\n  \"name\": ").unwrap();
    let (error, reason) = int8_error_and_auto_reason(&fp32);
    for text in [error, reason] {
        assert!(
            text.contains(&format!(
                "model manifest {}/manifest.json is not valid: EOF while parsing a value at line 2",
                int8.display()
            )),
            "{text}"
        );
    }
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn an_empty_int8_folder_is_said_to_have_no_manifest() {
    let root = temp_root("empty");
    let fp32 = set(&root, "vox-256", "fp32");
    std::fs::create_dir_all(int8_set_dir(&fp32)).unwrap();
    let (error, reason) = int8_error_and_auto_reason(&fp32);
    for text in [error, reason] {
        assert!(text.contains("it has no manifest.json"), "{text}");
    }
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn an_int8_graph_missing_or_damaged_is_named() {
    let root = temp_root("graph");
    let fp32 = set(&root, "vox-256", "fp32");
    let int8 = int8_set_dir(&fp32);
    std::fs::create_dir_all(&int8).unwrap();
    // sha256("foo")
    std::fs::write(
        int8.join("manifest.json"),
        r#"{"format": 1, "name": "vox-256-int8", "precision": "int8", "models": {"fomm_kp": {
            "file": "kp.onnx",
            "sha256": "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
            "inputs": [], "outputs": [], "provenance": {"source": "test"}}}}"#,
    )
    .unwrap();
    let (error, reason) = int8_error_and_auto_reason(&fp32);
    for text in [error, reason] {
        assert!(
            text.contains(&format!(
                "its graph 'fomm_kp' cannot be used: model file {}/kp.onnx is missing",
                int8.display()
            )),
            "{text}"
        );
    }
    std::fs::write(int8.join("kp.onnx"), b"bar").unwrap();
    let (error, reason) = int8_error_and_auto_reason(&fp32);
    for text in [error, reason] {
        assert!(
            text.contains("its graph 'fomm_kp' cannot be used")
                && text.contains("the manifest expects 2c26b46b"),
            "{text}"
        );
    }
    // Mended, the same set is taken.
    std::fs::write(int8.join("kp.onnx"), b"foo").unwrap();
    let auto = choose_model_set(&fp32, PrecisionChoice::Auto, Provider::Cpu).unwrap();
    assert_eq!((&auto.dir, auto.precision), (&int8, Precision::Int8));
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn a_folder_of_another_precision_is_not_taken_for_the_int8_set() {
    let root = temp_root("fp32-beside");
    let fp32 = set(&root, "vox-256", "fp32");
    set(&root, "vox-256-int8", "fp32");
    let (error, _) = int8_error_and_auto_reason(&fp32);
    assert!(
        error.contains("its manifest says precision fp32, not int8"),
        "{error}"
    );
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn auto_takes_the_committed_int8_fixture_by_the_naming_rule() {
    // The naming rule: NAME-int8 beside NAME, as the quantiser writes it and auto looks for it.
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    let chosen =
        choose_model_set(&models.join("tiny"), PrecisionChoice::Auto, Provider::Cpu).unwrap();
    assert!(chosen.unused_int8.is_none(), "{:?}", chosen.unused_int8);
    assert_eq!(
        (chosen.dir, chosen.precision),
        (models.join("tiny-int8"), Precision::Int8)
    );
}

#[test]
fn an_int8_set_made_from_weights_since_replaced_is_not_taken() {
    // An int8 set whose one graph is intact (sha256("foo")), made from an fp32 graph whose
    // checksum the fp32 manifest no longer has: a checkpoint was imported over the fp32 set.
    let root = temp_root("stale");
    let fp32 = root.join("vox-256");
    std::fs::create_dir_all(&fp32).unwrap();
    let fp32_manifest = |sha: &str| {
        format!(
            r#"{{"format": 1, "name": "vox-256", "models": {{"fomm_kp": {{"file": "kp.onnx",
            "sha256": "{sha}", "inputs": [], "outputs": [], "provenance": {{"source": "test"}}}}}}}}"#
        )
    };
    let old = "a".repeat(64);
    std::fs::write(fp32.join("manifest.json"), fp32_manifest(&"b".repeat(64))).unwrap();
    let int8 = int8_set_dir(&fp32);
    std::fs::create_dir_all(&int8).unwrap();
    std::fs::write(int8.join("kp.onnx"), b"foo").unwrap();
    std::fs::write(
        int8.join("manifest.json"),
        format!(
            r#"{{"format": 1, "name": "vox-256-int8", "precision": "int8", "models": {{"fomm_kp": {{
            "file": "kp.onnx",
            "sha256": "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
            "inputs": [], "outputs": [], "provenance": {{"source": "test"}}}}}},
            "quantization": {{"tool": "test", "fp32_set": {{"folder": "../vox-256",
            "sha256": {{"fomm_kp": "{old}"}}}}}}}}"#
        ),
    )
    .unwrap();
    let (error, reason) = int8_error_and_auto_reason(&fp32);
    for text in [error, reason] {
        assert!(
            text.contains("it was made from other weights: its graph 'fomm_kp'")
                && text.contains("aaaaaaaa")
                && text.contains("bbbbbbbb"),
            "{text}"
        );
    }
    // The fp32 set it was made from, back in place: taken.
    std::fs::write(fp32.join("manifest.json"), fp32_manifest(&old)).unwrap();
    let auto = choose_model_set(&fp32, PrecisionChoice::Auto, Provider::Cpu).unwrap();
    assert_eq!((&auto.dir, auto.precision), (&int8, Precision::Int8));
    std::fs::remove_dir_all(&root).unwrap();
}
