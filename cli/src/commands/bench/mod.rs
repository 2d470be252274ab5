//! `animecam bench`: where each millisecond goes, per stage, on full-size random-weight models
//! (`make random-models`), with the Python reference loop on the same graphs and frames.

use std::path::Path;

use animecam_cli::descriptions::Mode;
use serde::Serialize;

use crate::args::BenchArgs;

pub(crate) mod fixtures;
mod inbetweens;
mod int8;
mod live;
mod measure;
mod python;
mod runs;
mod stages;

use int8::Int8Row;
use measure::{machine, peak_rss_mib, Stage};

#[derive(Serialize)]
struct Report {
    machine: String,
    threads: usize,
    frames: usize,
    /// Rounds of the int8 comparison (fp32 and int8 runs alternating).
    int8_rounds: usize,
    stages: Vec<Stage>,
    /// The int8 set against the fp32 one, stage by stage (each ratio's median, smallest and largest
    /// over the rounds), with the quantiser's quality report.
    int8: Vec<Int8Row>,
    peak_rss_mib: f64,
    python_reference: Option<serde_json::Value>,
}

pub fn run(args: &BenchArgs) -> Result<(), String> {
    let models = args
        .models
        .clone()
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.cache/models/random"));
    // The live warp needs no network, so no benchmark models, and a style network only its own
    // set (which the live run looks for).
    let needs_models = args.live.is_none() || matches!(args.mode, Mode::Fomm | Mode::Ugatit);
    if needs_models && !models.join("manifest.json").is_file() {
        return Err(format!(
            "no benchmark models in {}: run `make random-models` (needs the exporters: make models-venv)",
            models.display()
        ));
    }
    if let Some(seconds) = args.live {
        return live::live_latency(&models, seconds, args);
    }
    if args.inbetweens {
        return inbetweens::inbetween_quality(&models, args);
    }
    let measured = stages::measure_stages(args, &models)?;
    let int8_rows = int8::compare(args, &models, &measured)?;
    let stages = measured.stages;
    let python = if args.no_python {
        None
    } else {
        Some(python::python_reference(&models, args)?)
    };
    let report = Report {
        machine: machine(),
        threads: args.threads,
        frames: args.frames,
        int8_rounds: args.rounds,
        stages,
        int8: int8_rows,
        peak_rss_mib: peak_rss_mib(),
        python_reference: python,
    };
    eprintln!("  peak RSS {:.0} MiB", report.peak_rss_mib);
    if let Some(python) = &report.python_reference {
        let ours = report
            .stages
            .iter()
            .find(|s| s.name == "fomm frame, source encoded once")
            .map(|s| s.median_ms);
        let theirs = python.get("fomm_frame_cached_ms").and_then(|v| v.as_f64());
        if let (Some(ours), Some(theirs)) = (ours, theirs) {
            eprintln!("  Python reference (same graphs, frames, threads): {theirs:.1} ms/frame; animecam is {:.2}x its frame rate", theirs / ours);
        }
        for key in ["fomm_gmac_per_frame", "matmul_gflops", "roofline_ms"] {
            if let Some(value) = python.get(key) {
                eprintln!("  {key}: {value}");
            }
        }
    }
    let json = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
    println!("{json}");
    if let Some(path) = &args.json {
        std::fs::write(path, &json).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}
