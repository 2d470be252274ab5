//! The int8 set the quantiser wrote beside the benchmark models against the fp32 one, stage by
//! stage, with the quantiser's quality report.

use std::path::Path;

use animecam::inference::{int8_set_dir, Manifest};
use serde::Serialize;

use crate::args::BenchArgs;
use crate::commands::bench::stages::{
    fomm_cached_frame, measure_keypoints, ugatit_stage, Measured,
};

#[derive(Serialize)]
pub struct Int8Row {
    stage: String,
    fp32_ms: f64,
    int8_ms: f64,
    speedup: f64,
    /// The graph of the stage the quantiser changed, and what it kept (fp32 where int8 did not pay).
    graph: String,
    graph_precision: String,
    psnr_db: Option<f64>,
    keypoint_error_px: Option<f64>,
}

/// Measures the int8 stages beside the fp32 ones in `measured` (its stages gain the int8 rows).
pub fn compare(
    args: &BenchArgs,
    models: &Path,
    measured: &mut Measured,
) -> Result<Vec<Int8Row>, String> {
    let Measured {
        stages,
        options,
        frames,
        crops,
        portrait_path,
    } = measured;
    let (options, frames, crops, portrait_path) = (&*options, &*frames, &*crops, &*portrait_path);
    let models = models.to_path_buf();
    // The int8 set the quantiser wrote beside the benchmark models, in the same run.
    let int8 = int8_set_dir(&models);
    let mut int8_rows = Vec::new();
    if Manifest::load(&int8).is_ok() {
        let quantised = Manifest::load(&int8).map_err(|e| e.to_string())?;
        let quality = |id: &str| {
            quantised
                .models
                .get(id)
                .and_then(|spec| spec.quality.clone())
                .unwrap_or_default()
        };
        let frames_fomm = args.frames.min(10);
        let mut rows = vec![
            (
                "fomm keypoints",
                "fomm_kp",
                measure_keypoints("fomm keypoints int8", &int8, options, crops, args.frames)?,
            ),
            (
                "fomm frame, source encoded once",
                "fomm_generator",
                fomm_cached_frame(
                    "fomm frame, source encoded once int8",
                    &int8,
                    options,
                    portrait_path,
                    crops,
                    frames_fomm,
                )?,
            ),
        ];
        for (id, label) in [
            ("ugatit_light", "ugatit light 256"),
            ("ugatit_full", "ugatit full 256"),
        ] {
            let stage = ugatit_stage(
                &format!("{label} int8"),
                &int8,
                id,
                options,
                &frames[0],
                args.frames.min(10),
            )?;
            rows.push((label, id, stage));
        }
        for (fp32_name, id, stage) in rows {
            let Some(fp32) = stages.iter().find(|s| s.name == fp32_name) else {
                continue;
            };
            let quality = quality(id);
            int8_rows.push(Int8Row {
                stage: fp32_name.to_owned(),
                fp32_ms: fp32.median_ms,
                int8_ms: stage.median_ms,
                speedup: fp32.median_ms / stage.median_ms,
                graph: id.to_owned(),
                graph_precision: quantised
                    .models
                    .get(id)
                    .and_then(|s| s.precision)
                    .unwrap_or_default()
                    .to_string(),
                psnr_db: quality.psnr_db,
                keypoint_error_px: quality.keypoint_error_px,
            });
            stages.push(stage);
        }
        eprintln!("  int8 against fp32 (quality: the quantiser's report on held-out real inputs)");
        for row in &int8_rows {
            let quality = match (row.psnr_db, row.keypoint_error_px) {
                (Some(psnr), _) => format!("PSNR {psnr:.1} dB"),
                (None, Some(error)) => format!("keypoints {error:.2} px off (256 crop)"),
                (None, None) => "quality not measured".to_owned(),
            };
            eprintln!(
                "  {:<34} {:>7.1} -> {:>7.1} ms  {:>5.2}x  {} ({} {})",
                row.stage,
                row.fp32_ms,
                row.int8_ms,
                row.speedup,
                quality,
                row.graph,
                row.graph_precision
            );
        }
    } else {
        eprintln!(
            "  (no int8 set in {}: the int8 rows are left out; make int8-models writes it)",
            int8.display()
        );
    }

    Ok(int8_rows)
}
