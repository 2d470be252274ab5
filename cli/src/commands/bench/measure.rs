//! Measuring: a stage timed over frames (median, 95th percentile, ONNX Runtime's share, heap
//! allocations), the process's peak memory, and the machine's name.

use std::time::{Duration, Instant};

use serde::Serialize;

#[derive(Serialize, Clone)]
pub struct Stage {
    pub name: String,
    pub median_ms: f64,
    p95_ms: f64,
    fps: f64,
    /// Share of the stage's time outside ONNX Runtime's run calls (our glue).
    glue_percent: f64,
    /// Rust heap allocations per frame in steady state (ONNX Runtime's own are not counted).
    allocations_per_frame: f64,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let index = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[index]
}

/// Times `frames` calls (after one warm-up) and prints the stage's row; `inference` reports ONNX
/// Runtime's total time.
pub fn measure(
    name: &str,
    frames: usize,
    step: impl FnMut(usize) -> Result<(), String>,
    inference: &dyn Fn() -> Duration,
) -> Result<Stage, String> {
    let stage = time_frames(name, frames, step, inference)?;
    eprintln!(
        "  {:<34} {:>9.2} {:>9.2} {:>8.1} {:>7.1}% {:>8.1}",
        stage.name,
        stage.median_ms,
        stage.p95_ms,
        stage.fps,
        stage.glue_percent,
        stage.allocations_per_frame
    );
    Ok(stage)
}

/// As [`measure`], without printing the row.
pub fn time_frames(
    name: &str,
    frames: usize,
    mut step: impl FnMut(usize) -> Result<(), String>,
    inference: &dyn Fn() -> Duration,
) -> Result<Stage, String> {
    step(0)?;
    let before = inference();
    let mut times = Vec::with_capacity(frames);
    let allocations_before = crate::alloc_count::allocations();
    for index in 1..=frames {
        let started = Instant::now();
        step(index)?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    // The timing vector was reserved up front: what is counted here is the stage's own.
    let allocations = crate::alloc_count::allocations() - allocations_before;
    let inside = (inference() - before).as_secs_f64() * 1000.0;
    let total: f64 = times.iter().sum();
    times.sort_by(f64::total_cmp);
    let median = percentile(&times, 0.5);
    let stage = Stage {
        name: name.to_owned(),
        median_ms: median,
        p95_ms: percentile(&times, 0.95),
        fps: 1000.0 / median,
        allocations_per_frame: allocations as f64 / frames as f64,
        glue_percent: if inside > 0.0 {
            100.0 * (total - inside).max(0.0) / total
        } else {
            100.0
        },
    };
    Ok(stage)
}

pub fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("VmHWM:"))
                .and_then(|line| line.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cpu}, {cores} cores")
}
