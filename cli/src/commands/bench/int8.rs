//! The int8 set the quantiser wrote beside the benchmark models against the fp32 one, stage by
//! stage (and each benchmark style network against its own int8 set), with the quantiser's
//! quality report. Each stage's speed-up is measured over several
//! rounds in which fp32 and int8 runs alternate on sessions loaded once, so that whatever else the
//! machine does in the meantime slows both alike; the rows give each ratio's spread.

use std::path::{Path, PathBuf};

use animecam::inference::{int8_set_dir, Manifest};
use animecam::model_sets;
use animecam::stylize::STYLE_MODEL;
use serde::Serialize;

use crate::args::BenchArgs;
use crate::commands::bench::runs::{time_run, FommFrameRun, KeypointsRun, StageRun, UgatitRun};
use crate::commands::bench::stages::{Measured, STYLE_STAGES};

#[derive(Serialize)]
pub struct Int8Row {
    stage: String,
    /// The median over the rounds of each run's median frame time.
    fp32_ms: f64,
    int8_ms: f64,
    /// fp32 over int8 time, each round's own ratio: the median, and the smallest and largest.
    speedup: f64,
    speedup_min: f64,
    speedup_max: f64,
    /// Each round: the fp32 and int8 runs one after the other (the first of the pair alternates).
    rounds: Vec<Round>,
    /// The graph of the stage the quantiser changed, and what it kept (fp32 where int8 did not pay).
    graph: String,
    graph_precision: String,
    /// The quantiser's recipe for the graph, and how many of its convolutions it kept float: a
    /// speed-up belongs to the recipe (U-GAT-IT's body int8 or its decoder only), which the
    /// quantiser picks by quality, so that another run of it may pick another.
    recipe: Option<String>,
    kept_float: Option<usize>,
    psnr_db: Option<f64>,
    keypoint_error_px: Option<f64>,
}

#[derive(Serialize, Debug, Clone, Copy, PartialEq)]
pub struct Round {
    fp32_ms: f64,
    int8_ms: f64,
    speedup: f64,
}

/// The smallest, median and largest of `values` (not empty).
fn spread(values: &[f64]) -> (f64, f64, f64) {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    let median = if sorted.len().is_multiple_of(2) {
        (sorted[middle - 1] + sorted[middle]) / 2.0
    } else {
        sorted[middle]
    };
    (sorted[0], median, sorted[sorted.len() - 1])
}

/// Whether round `round` runs int8 before fp32: every other round, so that neither precision
/// always runs on the caches and clocks the other left.
fn int8_first(round: usize) -> bool {
    round % 2 == 1
}

/// Times `rounds` rounds of an fp32 and an int8 run of the same stage, alternating which goes
/// first, and returns each round's times.
fn alternate(
    name: &str,
    frames: usize,
    rounds: usize,
    fp32: &mut dyn StageRun,
    int8: &mut dyn StageRun,
) -> Result<Vec<Round>, String> {
    let mut times = Vec::with_capacity(rounds);
    for round in 0..rounds {
        let (fp32_ms, int8_ms) = if int8_first(round) {
            let int8 = time_run(name, frames, int8)?.median_ms;
            (time_run(name, frames, fp32)?.median_ms, int8)
        } else {
            let fp32 = time_run(name, frames, fp32)?.median_ms;
            (fp32, time_run(name, frames, int8)?.median_ms)
        };
        times.push(Round {
            fp32_ms,
            int8_ms,
            speedup: fp32_ms / int8_ms,
        });
    }
    Ok(times)
}

/// The row of a stage from its rounds.
fn row(stage: &str, graph: &str, rounds: Vec<Round>) -> Int8Row {
    let (_, fp32_ms, _) = spread(&rounds.iter().map(|r| r.fp32_ms).collect::<Vec<_>>());
    let (_, int8_ms, _) = spread(&rounds.iter().map(|r| r.int8_ms).collect::<Vec<_>>());
    let (speedup_min, speedup, speedup_max) =
        spread(&rounds.iter().map(|r| r.speedup).collect::<Vec<_>>());
    Int8Row {
        stage: stage.to_owned(),
        fp32_ms,
        int8_ms,
        speedup,
        speedup_min,
        speedup_max,
        rounds,
        graph: graph.to_owned(),
        graph_precision: String::new(),
        recipe: None,
        kept_float: None,
        psnr_db: None,
        keypoint_error_px: None,
    }
}

/// One stage to compare: its fp32 set and the int8 set made from it.
struct Compared<'a> {
    stage: &'a str,
    graph: &'a str,
    frames_per_run: usize,
    fp32: PathBuf,
    int8: PathBuf,
}

/// Compares the int8 set (`--int8-models`, or the one beside the benchmark models) with the fp32
/// one on the inputs in `measured`, stage by stage; and each benchmark style network with the
/// int8 set beside it, where the quantiser made one.
pub fn compare(
    args: &BenchArgs,
    models: &Path,
    measured: &Measured,
) -> Result<Vec<Int8Row>, String> {
    let int8 = args
        .int8_models
        .clone()
        .unwrap_or_else(|| int8_set_dir(models));
    let mut stages = Vec::new();
    if int8.join("manifest.json").is_file() {
        for (stage, graph, frames_per_run) in [
            ("fomm keypoints", "fomm_kp", args.frames),
            (
                "fomm frame, source encoded once",
                "fomm_generator",
                args.frames.min(10),
            ),
            ("ugatit light 256", "ugatit_light", args.frames.min(10)),
            ("ugatit full 256", "ugatit_full", args.frames.min(10)),
        ] {
            stages.push(Compared {
                stage,
                graph,
                frames_per_run,
                fp32: models.to_path_buf(),
                int8: int8.clone(),
            });
        }
    } else if args.int8_models.is_some() {
        return Err(format!(
            "--int8-models {}: expected an int8 model set (a folder with manifest.json)",
            int8.display()
        ));
    } else {
        eprintln!(
            "  (no int8 set in {}: its int8 rows are left out; make int8-models writes it)",
            int8.display()
        );
    }
    for (set, stage) in STYLE_STAGES {
        let fp32 = model_sets::style_dir(models, set);
        let int8 = int8_set_dir(&fp32);
        if int8.join("manifest.json").is_file() {
            stages.push(Compared {
                stage,
                graph: STYLE_MODEL,
                frames_per_run: args.frames.min(10),
                fp32,
                int8,
            });
        }
    }
    if stages.is_empty() {
        return Ok(Vec::new());
    }
    eprintln!(
        "  int8 against fp32: {} rounds a stage, fp32 and int8 runs alternating \
         (quality: the quantiser's report on held-out real inputs)",
        args.rounds
    );
    eprintln!(
        "  {:<34} {:>8} {:>8}  {:>8} {:>15}",
        "stage", "fp32 ms", "int8 ms", "speed-up", "min - max"
    );
    stages
        .iter()
        .map(|compared| compare_stage(compared, args.rounds, measured))
        .collect()
}

/// One stage's fp32 and int8 runs, alternating, with the quantiser's report on its graph.
fn compare_stage(
    compared: &Compared,
    rounds: usize,
    measured: &Measured,
) -> Result<Int8Row, String> {
    let Measured {
        options,
        frames,
        crops,
        portrait_path,
        ..
    } = measured;
    let Compared {
        stage,
        graph,
        frames_per_run,
        ..
    } = *compared;
    let quantised = Manifest::load(&compared.int8)
        .map_err(|e| format!("the int8 set {}: {e}", compared.int8.display()))?;
    // One stage's two sets of sessions at a time: U-GAT-IT full alone holds a 1 GB MLP.
    let load = |set: &Path| -> Result<Box<dyn StageRun + '_>, String> {
        Ok(match graph {
            "fomm_kp" => Box::new(KeypointsRun::load(set, options, crops)?),
            "fomm_generator" => Box::new(FommFrameRun::load(set, options, portrait_path, crops)?),
            _ => Box::new(UgatitRun::load(set, graph, options, &frames[0])?),
        })
    };
    let (mut fp32, mut int8_run) = (load(&compared.fp32)?, load(&compared.int8)?);
    let times = alternate(stage, frames_per_run, rounds, &mut *fp32, &mut *int8_run)?;
    let mut row = row(stage, graph, times);
    let spec = quantised.models.get(graph);
    let quality = spec.and_then(|s| s.quality.clone()).unwrap_or_default();
    row.graph_precision = spec
        .and_then(|s| s.precision)
        .unwrap_or_default()
        .to_string();
    (row.psnr_db, row.keypoint_error_px) = (quality.psnr_db, quality.keypoint_error_px);
    if let Some((recipe, kept_float)) = recipes(&compared.int8).get(graph) {
        (row.recipe, row.kept_float) = (recipe.clone(), *kept_float);
    }
    let recipe = match (&row.recipe, row.kept_float) {
        (Some(recipe), Some(kept)) => format!(", recipe {recipe}, {kept} convolutions float"),
        (Some(recipe), None) => format!(", recipe {recipe}"),
        _ => String::new(),
    };
    let quality = match (row.psnr_db, row.keypoint_error_px) {
        (Some(psnr), _) => format!("PSNR {psnr:.1} dB"),
        (None, Some(error)) => format!("keypoints {error:.2} px off (256 crop)"),
        (None, None) => "quality not measured".to_owned(),
    };
    eprintln!(
        "  {:<34} {:>8.1} {:>8.1}  {:>7.2}x {:>6.2}x - {:.2}x  {} ({} {}{recipe})",
        row.stage,
        row.fp32_ms,
        row.int8_ms,
        row.speedup,
        row.speedup_min,
        row.speedup_max,
        quality,
        row.graph,
        row.graph_precision
    );
    Ok(row)
}

/// Each graph's recipe and the number of convolutions the quantiser kept float, from the int8
/// set's manifest (the library's manifest type reads what running a set needs, not these).
fn recipes(int8: &Path) -> std::collections::HashMap<String, (Option<String>, Option<usize>)> {
    let manifest: Option<serde_json::Value> = std::fs::read_to_string(int8.join("manifest.json"))
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok());
    let Some(models) = manifest
        .as_ref()
        .and_then(|m| m.get("models"))
        .and_then(|m| m.as_object())
    else {
        return Default::default();
    };
    models
        .iter()
        .map(|(graph, spec)| {
            let quality = spec.get("quality");
            let recipe = quality
                .and_then(|q| q.get("recipe"))
                .and_then(|r| r.as_str())
                .map(str::to_owned);
            let kept = quality
                .and_then(|q| q.get("kept_float"))
                .and_then(|k| k.as_array())
                .map(Vec::len);
            (graph.clone(), (recipe, kept))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spread_is_over_each_rounds_own_ratio() {
        // Round 2 ran while other work took the cores: both precisions slowed alike, so its
        // ratio is the others' own, though a ratio of separate medians would not be.
        let round = |fp32_ms: f64, int8_ms: f64| Round {
            fp32_ms,
            int8_ms,
            speedup: fp32_ms / int8_ms,
        };
        let row = row(
            "fomm keypoints",
            "fomm_kp",
            vec![round(20.0, 10.0), round(60.0, 30.0), round(22.0, 10.0)],
        );
        assert_eq!(
            (row.speedup_min, row.speedup, row.speedup_max),
            (2.0, 2.0, 2.2)
        );
        assert_eq!((row.fp32_ms, row.int8_ms), (22.0, 10.0));
        assert_eq!(spread(&[3.0, 1.0, 4.0, 2.0]), (1.0, 2.5, 4.0));
    }

    #[test]
    fn fp32_and_int8_take_turns_going_first() {
        let firsts: Vec<bool> = (0..4).map(int8_first).collect();
        assert_eq!(firsts, [false, true, false, true]);
    }
}
