//! `animecam bench --live`: the webcam pipeline on a live camera, and what it made of it.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use animecam::inference::int8_set_dir;
use animecam::model_sets;
use animecam_cli::descriptions::{self, edit, names, Mode};
use gst::prelude::*;
use serde::Serialize;

use crate::args::BenchArgs;
use crate::bus::networks;
use crate::commands::bench::fixtures::{looped_clip, media, TempFolder};
use crate::keys::Choices;
use crate::live::{run_live, LiveOptions};
use crate::report::LiveStats;

/// The live run: the webcam description with a live 30 fps camera (a real talking face, or a
/// faceless test pattern), the leaky queue before the networks as users run it (or none with
/// `serial`). Glass-to-glass latency is capture timestamp to sink.
pub fn live_latency(models: &Path, seconds: f64, args: &BenchArgs) -> Result<(), String> {
    let (threads, serial, mode) = (args.threads, args.serial, args.mode);
    // The model folder layout models/<set>: links to the random set in a temporary folder.
    let folder = TempFolder::new()?;
    let folder = folder.path();
    let models = std::path::absolute(models).map_err(|e| e.to_string())?;
    let int8 = int8_set_dir(&models);
    let int8_links = [
        (format!("{}-int8", model_sets::FOMM.name), int8.clone()),
        (format!("{}-int8", model_sets::UGATIT.name), int8.clone()),
    ];
    for (set, target) in [
        (model_sets::FOMM.name.to_owned(), models.clone()),
        (model_sets::UGATIT.name.to_owned(), models.clone()),
        (
            model_sets::BLAZEFACE.name.to_owned(),
            model_sets::BLAZEFACE.dir(),
        ),
    ]
    .into_iter()
    .chain(
        int8_links
            .into_iter()
            .filter(|_| int8.join("manifest.json").is_file()),
    ) {
        let link = folder.join(set);
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(target, &link).map_err(|e| e.to_string())?;
    }
    if mode == Mode::Style {
        let style = model_sets::style_dir(&models, &args.style);
        if !style.join("manifest.json").is_file() {
            return Err(format!(
                "--style {}: no benchmark style network in {}: run `make bench` (or `python -m \
                 animecam_models random-styles --out {}`)",
                args.style,
                style.display(),
                models.display()
            ));
        }
        // The int8 set the quantiser wrote beside it comes along: the folder of styles itself.
        let link = folder.join(model_sets::STYLES_DIR);
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(models.join(model_sets::STYLES_DIR), &link)
            .map_err(|e| e.to_string())?;
    }
    let camera = if args.faceless {
        descriptions::fill(descriptions::bench::FACELESS, &HashMap::new())?
    } else {
        let clip = folder.join("face.mp4");
        // The carphone clip is 4 s long.
        looped_clip(
            &media("carphone_pristine.mp4")?,
            (seconds / 4.0).ceil() as usize + 2,
            &clip,
        )?;
        let variables = HashMap::from([("CLIP", clip.to_string_lossy().to_string())]);
        descriptions::fill(descriptions::bench::TALKING_FACE, &variables)?
    };
    let mut variables = HashMap::new();
    variables.insert(
        "PORTRAIT",
        media("sylvie_green_normal.png")?
            .to_string_lossy()
            .to_string(),
    );
    variables.insert("MODELS", folder.to_string_lossy().to_string());
    variables.insert("PROVIDER", "cpu".to_string());
    variables.insert("PRECISION", args.precision.clone());
    variables.insert("KEYPOINTS_PRECISION", args.keypoints_precision.clone());
    if mode == Mode::Style {
        variables.insert("STYLE", args.style.clone());
    }
    let pipeline = descriptions::launch(descriptions::WEBCAM, &variables, mode, false)?;
    edit::replace(&pipeline, names::CAMERA, &edit::source_part(&camera)?)?;
    let window = gst::ElementFactory::make("fakesink")
        .property("sync", false)
        .build()
        .map_err(|e| e.to_string())?;
    edit::replace(&pipeline, names::WINDOW, &window)?;
    if mode != Mode::Warp {
        for element in pipeline.iterate_recurse().into_iter().flatten() {
            let network = element.factory().is_some_and(|f| {
                matches!(
                    f.name().as_str(),
                    "fommkeypoints" | "fommanimate" | "ugatit"
                )
            });
            if network {
                element.set_property_from_str("threads", &threads.to_string());
            }
        }
    }
    if serial {
        edit::bypass(&pipeline, names::LATEST)?;
    }
    if mode != Mode::Warp {
        edit::named(&pipeline, names::ANIMATE)?
            .set_property_from_str("in-betweens", &args.in_betweens);
    }
    eprintln!(
        "live: 30 fps 640x480 camera ({}), {}, {seconds} s, {}{}",
        if args.faceless {
            "no face"
        } else {
            "a real talking face"
        },
        match mode {
            Mode::Warp => "landmark warp",
            Mode::Fomm => "FOMM (full-size random weights)",
            Mode::Ugatit => "U-GAT-IT (full-size random weights)",
            Mode::Style => "a style network (full-size random weights)",
        },
        if serial {
            "stages in one thread"
        } else {
            "stages overlapped in threads"
        },
        if mode != Mode::Warp {
            format!(", in-betweens {}", args.in_betweens)
        } else {
            String::new()
        }
    );
    let options = LiveOptions {
        choices: Choices::Nothing,
        duration: Some(Duration::from_secs_f64(seconds)),
        quiet: true,
        status: String::new(),
        link: None,
    };
    // Swaps from another thread, as a user pressing n does.
    let stop_swapping = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let swapper = args
        .swap_every
        .zip(pipeline.by_name(names::ANIMATE))
        .map(|(every, animate)| {
            let stop = stop_swapping.clone();
            let portraits = [
                media("sylvie_green_normal.png").unwrap_or_default(),
                media("astronaut.png").unwrap_or_default(),
            ];
            std::thread::spawn(move || {
                let mut swaps = 0usize;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_secs_f64(every));
                    swaps += 1;
                    let next = portraits[swaps % 2].to_string_lossy().to_string();
                    animate.set_property("source", next);
                }
                swaps
            })
        });
    let started = std::time::Instant::now();
    let stats = run_live(&pipeline, &options);
    stop_swapping.store(true, std::sync::atomic::Ordering::Relaxed);
    if let Some(swapper) = swapper {
        let swaps = swapper.join().unwrap_or(0);
        eprintln!("  {swaps} portrait swaps while running");
    }
    let stats = stats?;
    let (engine, activity) = stats
        .activity
        .clone()
        .ok_or("the animation element published no stats")?;
    let camera_frames = stats.camera_frames.unwrap_or(activity.frames);
    let mut report = LiveReport::new(seconds, &stats, started, &activity, camera_frames);
    report.networks = networks(&pipeline);
    for line in &report.networks {
        eprintln!("  {line}");
    }
    let pace = match activity.time_per_picture() {
        Some(time) => format!(
            "{:.0} ms each, so at most {:.2} per second",
            time.as_secs_f64() * 1000.0,
            1.0 / time.as_secs_f64()
        ),
        None => "none made".to_owned(),
    };
    eprintln!(
        "  camera {camera_frames} frames; {engine} made {} pictures ({:.2} per second; {pace}), \
         repeated {} without a face, {} dropped by the leaky queue",
        activity.generated,
        report.generated_per_second,
        activity.repeated_without_face,
        report.dropped_by_queue
    );
    let against = if activity.generated > 0 {
        format!(
            " = {:.2}x the time per picture",
            report.max_latency_over_time_per_picture
        )
    } else {
        String::new()
    };
    eprintln!(
        "  started in {:.1} s ({} frames shown during the start, latency mean {:.0} ms, max {:.0} ms)",
        report.startup_s,
        report.startup_frames_shown,
        report.startup_mean_latency_ms,
        report.startup_max_latency_ms
    );
    eprintln!(
        "  then {} frames shown in {:.1} s; latency mean {:.0} ms, max {:.0} ms{against}; largest gap between frames shown {:.0} ms",
        report.frames_shown,
        report.steady_seconds,
        report.mean_latency_ms,
        report.max_latency_ms,
        report.max_gap_ms
    );
    println!(
        "{}",
        serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
    );
    report.check(&engine, &activity)
}

/// What a live run measured.
#[derive(Serialize)]
struct LiveReport {
    seconds: f64,
    /// Each network element: where it ran and in which precision.
    networks: Vec<String>,
    camera_frames: u64,
    frames_into_animation: u64,
    dropped_by_queue: u64,
    generated: u64,
    repeated_without_face: u64,
    generated_per_second: f64,
    time_per_picture_ms: f64,
    /// The pictures the network could make in the run, at its own time per picture, with no more
    /// than the camera gave.
    expected_pictures: f64,
    /// From the start of the run to the first picture shown (loading and warming the models).
    startup_s: f64,
    /// Frames captured before the first picture was shown, and their latency.
    startup_frames_shown: u64,
    startup_mean_latency_ms: f64,
    startup_max_latency_ms: f64,
    /// The steady state, from the first picture shown: its length, frames and latency.
    steady_seconds: f64,
    frames_shown: u64,
    mean_latency_ms: f64,
    max_latency_ms: f64,
    max_latency_over_time_per_picture: f64,
    max_gap_ms: f64,
}

impl LiveReport {
    fn new(
        seconds: f64,
        stats: &LiveStats,
        started: std::time::Instant,
        activity: &animecam::activity::ActivitySnapshot,
        camera_frames: u64,
    ) -> LiveReport {
        let time_per_picture_ms = activity
            .time_per_picture()
            .map_or(0.0, |t| t.as_secs_f64() * 1000.0);
        // Frames repeated without a face (or before the rest pose) need no picture.
        let with_face = camera_frames.saturating_sub(activity.repeated_without_face) as f64;
        let expected_pictures = if time_per_picture_ms > 0.0 {
            (seconds * 1000.0 / time_per_picture_ms).min(with_face)
        } else {
            with_face
        };
        let (startup, steady) = (&stats.shown.startup, &stats.shown.steady);
        LiveReport {
            seconds,
            networks: Vec::new(),
            camera_frames,
            frames_into_animation: activity.frames,
            dropped_by_queue: camera_frames.saturating_sub(activity.frames),
            generated: activity.generated,
            repeated_without_face: activity.repeated_without_face,
            generated_per_second: activity.generated as f64 / seconds,
            time_per_picture_ms,
            expected_pictures,
            startup_s: stats.startup(started).unwrap_or_default().as_secs_f64(),
            startup_frames_shown: startup.frames,
            startup_mean_latency_ms: startup.mean_ms(),
            startup_max_latency_ms: startup.max_ms(),
            steady_seconds: stats.steady_time().as_secs_f64(),
            frames_shown: steady.frames,
            mean_latency_ms: steady.mean_ms(),
            max_latency_ms: steady.max_ms(),
            max_latency_over_time_per_picture: steady.max_ms() / time_per_picture_ms.max(1e-3),
            max_gap_ms: stats.shown.max_gap_ms(),
        }
    }

    /// The run measured the network only if the network really ran: at least 90% of the pictures
    /// it could make in the time.
    fn check(
        &self,
        engine: &str,
        activity: &animecam::activity::ActivitySnapshot,
    ) -> Result<(), String> {
        // A run where most frames had no face measured a pass-through, however few pictures
        // were expected of it.
        let faceless = activity.repeated_without_face * 2 > activity.frames;
        if !faceless && (self.generated as f64) >= 0.9 * self.expected_pictures {
            return Ok(());
        }
        let why = if faceless {
            format!(
                "no face in {} of the {} frames it was given: the camera shows no face, so this run measured a pass-through",
                activity.repeated_without_face, activity.frames
            )
        } else {
            format!(
                "it was given {} of the camera's {} frames: the others were dropped while the \
                 machine was busy with other work",
                activity.frames, self.camera_frames
            )
        };
        Err(format!(
            "{engine} made {} pictures where about {:.0} were expected: {why}",
            self.generated, self.expected_pictures
        ))
    }
}
