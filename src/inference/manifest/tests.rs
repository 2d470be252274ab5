use super::*;

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("animecam-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const MANIFEST: &str = r#"{
  "format": 1,
  "name": "unit",
  "fetch_hint": "run `make models`",
  "models": {
    "kp": {
      "file": "kp.onnx",
      "sha256": "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
      "inputs": [{"name": "image", "element_type": "float32", "shape": [1, 3, 64, 48],
                  "layout": "nchw", "normalization": "unit"}],
      "outputs": [{"name": "value", "element_type": "float32", "shape": [null, 10, 2]}],
      "provenance": {"source": "test"}
    }
  }
}"#;

#[test]
fn reads_contracts_and_checks_checksums() {
    let dir = temp_dir("manifest");
    std::fs::write(dir.join(MANIFEST_FILE), MANIFEST).unwrap();
    let manifest = Manifest::load(&dir).unwrap();
    let spec = manifest.model("kp").unwrap();
    let image = spec.input("image").unwrap();
    assert_eq!(image.image_size(), Some((64, 48)));
    assert_eq!(image.normalization, Some(Normalization::Unit));
    assert_eq!(
        spec.output("value").unwrap().shape,
        vec![None, Some(10), Some(2)]
    );

    let missing = manifest.verify(spec).unwrap_err().to_string();
    assert!(
        missing.contains("kp.onnx is missing; run `make models`"),
        "{missing}"
    );
    std::fs::write(dir.join("kp.onnx"), b"foo").unwrap();
    manifest.verify(spec).unwrap(); // sha256("foo")
    std::fs::write(dir.join("kp.onnx"), b"bar").unwrap();
    let damaged = manifest.verify(spec).unwrap_err().to_string();
    assert!(damaged.contains("expects 2c26b46b"), "{damaged}");

    let unknown = manifest.model("generator").unwrap_err().to_string();
    assert!(
        unknown.contains("no model 'generator' (it has: kp)"),
        "{unknown}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_graph_changed_after_it_was_verified_is_hashed_again() {
    let dir = temp_dir("manifest-rehash");
    std::fs::write(dir.join(MANIFEST_FILE), MANIFEST).unwrap();
    let manifest = Manifest::load(&dir).unwrap();
    let spec = manifest.model("kp").unwrap();
    let write_aged = |bytes: &[u8], age_s: u64| {
        std::fs::write(dir.join("kp.onnx"), bytes).unwrap();
        let file = std::fs::File::options()
            .write(true)
            .open(dir.join("kp.onnx"))
            .unwrap();
        let when = std::time::SystemTime::now() - std::time::Duration::from_secs(age_s);
        file.set_modified(when).unwrap();
    };
    write_aged(b"foo", 3600);
    manifest.verify(spec).unwrap(); // sha256("foo"), kept: the file is an hour old
    manifest.verify(spec).unwrap();
    write_aged(b"bar", 1800);
    let damaged = manifest.verify(spec).unwrap_err().to_string();
    assert!(damaged.contains("expects 2c26b46b"), "{damaged}");
    // Just written at the same length: not taken from what was kept either.
    write_aged(b"foo", 3600);
    manifest.verify(spec).unwrap();
    std::fs::write(dir.join("kp.onnx"), b"baz").unwrap();
    assert!(manifest.verify(spec).is_err());
    // Rewritten at the same length with its old modification time put back (cp -p, rsync -a,
    // touch -r do that): its change time, which no tool sets back, tells.
    let then = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
    let put_back = |bytes: &[u8]| {
        std::fs::write(dir.join("kp.onnx"), bytes).unwrap();
        let file = std::fs::File::options()
            .write(true)
            .open(dir.join("kp.onnx"))
            .unwrap();
        file.set_modified(then).unwrap();
    };
    put_back(b"foo");
    manifest.verify(spec).unwrap();
    // Past the file system's clock tick, so that the change time can differ.
    std::thread::sleep(std::time::Duration::from_millis(50));
    put_back(b"baz");
    assert!(manifest.verify(spec).is_err());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn rejects_other_formats_and_names_the_file() {
    let dir = temp_dir("manifest-format");
    std::fs::write(
        dir.join(MANIFEST_FILE),
        MANIFEST.replace("\"format\": 1", "\"format\": 7"),
    )
    .unwrap();
    let error = Manifest::load(&dir).unwrap_err().to_string();
    assert!(error.contains("manifest.json has format 7"), "{error}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn refuses_files_outside_the_manifests_folder() {
    let dir = temp_dir("manifest-outside");
    std::fs::write(dir.join("kp.onnx"), b"foo").unwrap();
    for name in [
        "../../../../etc/passwd",
        "/etc/passwd",
        "sub/../../x.onnx",
        "",
    ] {
        std::fs::write(
            dir.join(MANIFEST_FILE),
            MANIFEST.replace("\"kp.onnx\"", &format!("{name:?}")),
        )
        .unwrap();
        let error = Manifest::load(&dir).unwrap_err().to_string();
        assert!(
            error.contains(&format!("'{name}'")) && error.contains("outside its folder"),
            "{name}: {error}"
        );
    }
    // Sub-folders of the manifest's folder are fine.
    std::fs::write(
        dir.join(MANIFEST_FILE),
        MANIFEST.replace("\"kp.onnx\"", "\"graphs/kp.onnx\""),
    )
    .unwrap();
    assert!(Manifest::load(&dir).is_ok());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn normalisations_round_trip_every_byte() {
    for normalization in [
        Normalization::Unit,
        Normalization::Symmetric,
        Normalization::Byte,
    ] {
        let (scale, offset) = normalization.scale_offset();
        for byte in 0..=255u8 {
            assert_eq!(normalization.to_byte(byte as f32 * scale + offset), byte);
        }
    }
    assert_eq!(Normalization::Symmetric.scale_offset().1, -1.0);
}
