//! The Python reference loop on the same graphs and frames (models/reference/avatarify_loop.py).

use std::path::Path;

use crate::args::BenchArgs;

/// Runs models/reference/avatarify_loop.py with the project's .venv: its JSON, or why it could
/// not run (the ratio to the Python reference is part of the report, so that is an error).
pub fn python_reference(models: &Path, args: &BenchArgs) -> Result<serde_json::Value, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let python = root.join(".venv/bin/python");
    let missing = |why: String| {
        format!(
            "the Python reference loop could not run: {why}\n  fix: `make bench` (installs models/requirements-bench.txt into .venv), or pass --no-python"
        )
    };
    let output = std::process::Command::new(&python)
        .arg(root.join("models/reference/avatarify_loop.py"))
        .args([
            "--models",
            &models.to_string_lossy(),
            "--threads",
            &args.threads.to_string(),
            "--frames",
            &args.frames.min(10).to_string(),
        ])
        .args([
            "--portrait",
            &root
                .join(".cache/media/sylvie_green_normal.png")
                .to_string_lossy(),
        ])
        .args([
            "--photo",
            &root.join(".cache/media/astronaut.png").to_string_lossy(),
        ])
        .output()
        .map_err(|e| missing(format!("{}: {e}", python.display())))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(missing(
            stderr.lines().last().unwrap_or("no output").to_owned(),
        ));
    }
    serde_json::from_slice(&output.stdout).map_err(|e| missing(format!("its output: {e}")))
}
