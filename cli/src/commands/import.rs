//! `animecam models import FILE`: the model toolchain's importer (Python with numpy, onnx and
//! ONNX Runtime from the project's .venv; never PyTorch) run on a user's checkpoint, its progress
//! shown as a bar.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use crate::args::{ImportArgs, UgatitVariant, ValueRange};
use crate::failure::Failure;

/// The importer's progress lines: `@progress FRACTION MESSAGE`.
const PROGRESS_PREFIX: &str = "@progress ";

pub fn run(args: ImportArgs) -> Result<(), Failure> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let python = root.join(".venv/bin/python");
    if !python.is_file() {
        return Err(Failure::from(format!(
            "the importer runs with the project's Python, {}, which is not there: run `make setup`",
            python.display()
        )));
    }
    let models = args.models.unwrap_or_else(animecam::model_sets::models_dir);
    let mut command = Command::new(&python);
    command
        .args(["-m", "animecam_models", "import", "--progress-lines"])
        .arg(&args.file)
        .arg("--models-dir")
        .arg(&models)
        .env("PYTHONPATH", root.join("models"))
        .env("ORT_DISABLE_TELEMETRY", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if let Some(name) = &args.name {
        command.args(["--name", name]);
    }
    if let Some(variant) = args.variant {
        command.args([
            "--variant",
            match variant {
                UgatitVariant::Full => "full",
                UgatitVariant::Light => "light",
            },
        ]);
    }
    if let Some(size) = args.size {
        command.args(["--size", &size.to_string()]);
    }
    if let Some(range) = args.range {
        command.args([
            "--range",
            match range {
                ValueRange::Symmetric => "symmetric",
                ValueRange::Unit => "unit",
                ValueRange::Byte => "byte",
            },
        ]);
    }
    if args.int8 {
        command.arg("--int8");
    }
    let mut child = command
        .spawn()
        .map_err(|e| Failure::from(format!("could not run {}: {e}", python.display())))?;
    let bar = indicatif::ProgressBar::new(1000);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {percent:>3}% {msg} ({elapsed})")
            .expect("a valid template"),
    );
    let stdout = child.stdout.take().expect("stdout is piped");
    for line in BufReader::new(stdout).lines().map_while(Result::ok) {
        match line.strip_prefix(PROGRESS_PREFIX) {
            Some(progress) => {
                let (fraction, message) = progress.split_once(' ').unwrap_or((progress, ""));
                if let Ok(fraction) = fraction.parse::<f64>() {
                    bar.set_position((fraction.clamp(0.0, 1.0) * 1000.0) as u64);
                }
                bar.set_message(message.to_string());
            }
            // A hidden bar (no terminal) drops what it is asked to print: print it ourselves.
            None if bar.is_hidden() => println!("{line}"),
            None => bar.println(line),
        }
    }
    bar.finish_and_clear();
    let status = child
        .wait()
        .map_err(|e| Failure::from(format!("the importer did not finish: {e}")))?;
    match status.code() {
        Some(0) => Ok(()),
        // The importer printed what is wrong.
        Some(code) => Err(Failure::with_code("", u8::try_from(code).unwrap_or(1))),
        None => Err(Failure::from("the importer was killed before it finished")),
    }
}
