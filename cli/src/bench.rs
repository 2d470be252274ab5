//! `animecam bench`: where each millisecond goes, per stage, on full-size random-weight models
//! (`make random-models`), with the Python reference loop on the same graphs and frames.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use animecam::animate::{Animator, AvatarMaker, AvatarSpec, DetectorSettings, Driving, Engine};
use animecam::face::{BlazeFace, FaceDetector, FaceMesh, Tracker, TrackerConfig};
use animecam::fomm::{Fomm, KeypointDetector};
use animecam::image::{crop_square, read_image, RgbImage, SquareCrop};
use animecam::inference::{int8_set_dir, Manifest, Provider, ProviderOptions};
use animecam::model_sets;
use animecam::motion::{relative_motion, MotionOptions};
use animecam::portrait::Portrait;
use animecam::stylize::Stylizer;
use gst::prelude::*;
use serde::Serialize;

use crate::pipeline::Mode;

#[derive(clap::Args, Clone)]
pub struct BenchArgs {
    /// Folder of the full-size random-weight graphs (`make random-models`).
    #[arg(long)]
    models: Option<PathBuf>,
    /// Frames per stage (after one warm-up frame).
    #[arg(long, default_value_t = 20, value_parser = parse_frames)]
    frames: usize,
    /// ONNX Runtime threads (the Python reference uses the same).
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Also write the results as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Skip the Python reference loop.
    #[arg(long)]
    no_python: bool,
    /// Instead of the stage table: run the live webcam pipeline for this many seconds on a live
    /// 30 fps 640x480 camera showing a real talking face, and report the pictures the network
    /// made, the frames repeated and dropped, and the latency against the network's time.
    #[arg(long, value_parser = crate::positive_seconds)]
    live: Option<f64>,
    /// With --live: the animation to measure.
    #[arg(long, value_enum, default_value_t = Mode::Fomm)]
    mode: Mode,
    /// With --live: a camera without a face (the run then fails, saying why).
    #[arg(long)]
    faceless: bool,
    /// With --live: swap the portrait every this many seconds (between Sylvie and the astronaut),
    /// to see whether a swap stalls the picture (the largest gap between frames shown).
    #[arg(long, value_parser = crate::positive_seconds)]
    swap_every: Option<f64>,
    /// With --live: the networks' precision (auto: the int8 set beside --models when there).
    #[arg(long, default_value = "auto", value_parser = ["auto", "fp32", "int8"])]
    precision: String,
    /// With --live: no queue between tracking and animation, so every stage runs in the camera's
    /// thread one after the other (to compare with the default, overlapped in threads).
    #[arg(long)]
    serial: bool,
}

fn parse_frames(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(frames) if (2..=10_000).contains(&frames) => Ok(frames),
        _ => Err(format!("'{text}' is not a frame count from 2 to 10000")),
    }
}

#[derive(Serialize, Clone)]
struct Stage {
    name: String,
    median_ms: f64,
    p95_ms: f64,
    fps: f64,
    /// Share of the stage's time outside ONNX Runtime's run calls (our glue).
    glue_percent: f64,
    /// Rust heap allocations per frame in steady state (ONNX Runtime's own are not counted).
    allocations_per_frame: f64,
}

#[derive(Serialize)]
struct Report {
    machine: String,
    threads: usize,
    frames: usize,
    stages: Vec<Stage>,
    /// The int8 set against the fp32 one, stage by stage, with the quantiser's quality report.
    int8: Vec<Int8Row>,
    peak_rss_mib: f64,
    python_reference: Option<serde_json::Value>,
}

#[derive(Serialize)]
struct Int8Row {
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

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let index = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[index]
}

/// Times `frames` calls (after one warm-up); `inference` reports ONNX Runtime's total time.
fn measure(
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

fn peak_rss_mib() -> f64 {
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

fn machine() -> String {
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

/// Frame `t` of the driving clip: the astronaut photo drifting and zooming, 640x480.
fn driving_frame(photo: &RgbImage, t: usize) -> RgbImage {
    let crop = SquareCrop {
        center_x: 250.0 + 3.0 * (t as f32 * 0.3).sin() * 10.0,
        center_y: 200.0,
        side: 480.0 - 20.0 * (t as f32 * 0.2).sin(),
    };
    crop_square(&photo.view(), crop, 480)
        .expect("crop")
        .resized(640, 480)
        .expect("resize")
}

fn media(name: &str) -> Result<PathBuf, String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../.cache/media")
        .join(name);
    path.is_file()
        .then_some(path.clone())
        .ok_or_else(|| format!("{} missing: run `make setup`", path.display()))
}

/// A folder of this process's, removed with everything in it when dropped (on errors too).
struct TempFolder(PathBuf);

impl TempFolder {
    fn new() -> Result<TempFolder, String> {
        let path = std::env::temp_dir().join(format!("animecam-bench-{}", std::process::id()));
        std::fs::create_dir_all(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(TempFolder(path))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempFolder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The talking-face clip played `copies` times in a row (no re-encoding): a face for a live run.
fn looped_clip(clip: &Path, copies: usize, output: &Path) -> Result<(), String> {
    let part = format!(
        "filesrc location={} ! qtdemux ! h264parse ! c. ",
        crate::pipeline::escape(&clip.to_string_lossy())
    );
    let pipeline = gst::parse::launch(&format!(
        "concat name=c ! h264parse ! mp4mux ! filesink location={} {}",
        crate::pipeline::escape(&output.to_string_lossy()),
        part.repeat(copies)
    ))
    .map_err(|e| e.to_string())?;
    pipeline
        .set_state(gst::State::Playing)
        .map_err(|e| e.to_string())?;
    let message = pipeline
        .bus()
        .expect("pipelines have a bus")
        .timed_pop_filtered(
            gst::ClockTime::from_seconds(60),
            &[gst::MessageType::Eos, gst::MessageType::Error],
        );
    pipeline.set_state(gst::State::Null).ok();
    match message.as_ref().map(|m| m.view()) {
        Some(gst::MessageView::Eos(..)) => Ok(()),
        _ => Err(format!(
            "could not loop {} into {}",
            clip.display(),
            output.display()
        )),
    }
}

/// The live run: the webcam description with a live 30 fps camera (a real talking face, or a
/// faceless test pattern), the leaky queue before the networks as users run it (or none with
/// `serial`). Glass-to-glass latency is capture timestamp to sink.
fn live_latency(models: &Path, seconds: f64, args: &BenchArgs) -> Result<(), String> {
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
    let camera = if args.faceless {
        "videotestsrc is-live=true pattern=ball ! video/x-raw,width=640,height=480,framerate=30/1"
            .to_owned()
    } else {
        let clip = folder.join("face.mp4");
        // The carphone clip is 4 s long.
        looped_clip(
            &media("carphone_pristine.mp4")?,
            (seconds / 4.0).ceil() as usize + 2,
            &clip,
        )?;
        format!(
            "filesrc location={} ! decodebin ! videoconvert ! videoscale ! videorate ! \
             video/x-raw,width=640,height=480,pixel-aspect-ratio=1/1,framerate=30/1 ! clocksync",
            crate::pipeline::escape(&clip.to_string_lossy())
        )
    };
    let mut variables = std::collections::HashMap::new();
    variables.insert(
        "PORTRAIT",
        media("sylvie_green_normal.png")?
            .to_string_lossy()
            .to_string(),
    );
    variables.insert("MODELS", folder.to_string_lossy().to_string());
    variables.insert("PROVIDER", "cpu".to_string());
    variables.insert("PRECISION", args.precision.clone());
    let text = crate::pipeline::customise(crate::pipeline::WEBCAM, mode, Some(&camera), false)
        .replace(crate::pipeline::WINDOW, "fakesink sync=false")
        .replace(
            "fommkeypoints model-dir",
            &format!("fommkeypoints threads={threads} model-dir"),
        )
        .replace(
            "fommanimate name=animate model-dir",
            &format!("fommanimate name=animate threads={threads} model-dir"),
        )
        .replace(
            "ugatit name=animate",
            &format!("ugatit name=animate threads={threads}"),
        );
    let text = if serial {
        text.replace("queue leaky=downstream max-size-buffers=1 !", "")
    } else {
        text
    };
    let description = crate::pipeline::expand(&text, &variables).map_err(|e| e.to_string())?;
    let pipeline = gst::parse::launch(&description)
        .map_err(|e| e.to_string())?
        .downcast::<gst::Pipeline>()
        .map_err(|_| "not a pipeline".to_string())?;
    eprintln!(
        "live: 30 fps 640x480 camera ({}), {}, {seconds} s, {}",
        if args.faceless {
            "no face"
        } else {
            "a real talking face"
        },
        match mode {
            Mode::Warp => "landmark warp",
            Mode::Fomm => "FOMM (full-size random weights)",
            Mode::Ugatit => "U-GAT-IT (full-size random weights)",
        },
        if serial {
            "stages in one thread"
        } else {
            "stages overlapped in threads"
        }
    );
    let options = crate::live::LiveOptions {
        portrait: None,
        duration: Some(Duration::from_secs_f64(seconds)),
        quiet: true,
        status: String::new(),
        remote: None,
    };
    // Swaps from another thread, as a user pressing n does.
    let stop_swapping = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let swapper = args
        .swap_every
        .zip(pipeline.by_name("animate"))
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
    let stats = crate::live::run_live(&pipeline, &options);
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
    let mut report = LiveReport::new(seconds, &stats, &activity, camera_frames);
    report.networks = crate::live::networks(&pipeline);
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
        "  {} frames shown; latency mean {:.0} ms, max {:.0} ms{against}; largest gap between frames shown {:.0} ms",
        stats.frames, stats.mean_latency_ms, stats.max_latency_ms, stats.max_gap_ms
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
    frames_shown: u64,
    mean_latency_ms: f64,
    max_latency_ms: f64,
    max_latency_over_time_per_picture: f64,
    max_gap_ms: f64,
}

impl LiveReport {
    fn new(
        seconds: f64,
        stats: &crate::live::LiveStats,
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
            frames_shown: stats.frames,
            mean_latency_ms: stats.mean_latency_ms,
            max_latency_ms: stats.max_latency_ms,
            max_latency_over_time_per_picture: stats.max_latency_ms / time_per_picture_ms.max(1e-3),
            max_gap_ms: stats.max_gap_ms,
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

/// One FOMM frame as fommkeypoints and fommanimate make it: keypoints, relative motion, generator.
fn fomm_frame(
    fomm: &mut Fomm,
    source: &animecam::fomm::SourceEncoding,
    crop: &RgbImage,
    initial: &animecam::motion::Keypoints,
) -> Result<(), String> {
    let driving = fomm.keypoints(crop).map_err(|e| e.to_string())?;
    let moved = relative_motion(
        &source.keypoints,
        &driving,
        initial,
        MotionOptions::default(),
    )
    .map_err(|e| e.to_string())?;
    fomm.animate(source, &moved)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

pub fn run(args: &BenchArgs) -> Result<(), String> {
    let models = args
        .models
        .clone()
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.cache/models/random"));
    // The live warp needs no network, so no benchmark models.
    let needs_models = args.live.is_none() || args.mode != Mode::Warp;
    if needs_models && !models.join("manifest.json").is_file() {
        return Err(format!(
            "no benchmark models in {}: run `make random-models` (needs the exporters: make models-venv)",
            models.display()
        ));
    }
    if let Some(seconds) = args.live {
        return live_latency(&models, seconds, args);
    }
    let options = ProviderOptions {
        provider: Provider::Cpu,
        intra_threads: args.threads,
        ..ProviderOptions::default()
    };
    let photo = read_image(&media("astronaut.png")?).map_err(|e| e.to_string())?;
    let frames: Vec<RgbImage> = (0..=args.frames)
        .map(|t| driving_frame(&photo, t))
        .collect();
    let portrait_path = media("sylvie_green_normal.png")?;
    let portrait = Portrait::load(&portrait_path, None, 0.4).map_err(|e| e.to_string())?;
    eprintln!(
        "animecam bench: {} ({} ONNX Runtime threads, {} frames a stage)",
        machine(),
        args.threads,
        args.frames
    );
    eprintln!(
        "  {:<34} {:>9} {:>9} {:>8} {:>8} {:>8}",
        "stage", "median ms", "p95 ms", "fps", "glue", "allocs"
    );
    let mut stages = Vec::new();

    // Face tracking at 640x480, as facetrack runs it (BlazeFace on one thread).
    let detector_options = ProviderOptions {
        intra_threads: 1,
        ..options.clone()
    };
    let blazeface = BlazeFace::load(&model_sets::BLAZEFACE.dir(), &detector_options)
        .map_err(|e| e.to_string())?;
    let mut tracker = Tracker::new(Box::new(blazeface), TrackerConfig::default());
    let tracker_cell = std::cell::RefCell::new(&mut tracker);
    stages.push(measure(
        "facetrack 640x480 (detect every 5)",
        args.frames,
        |t| {
            tracker_cell
                .borrow_mut()
                .update(&frames[t].view(), t as f64 / 30.0)
                .map(|_| ())
                .map_err(|e| e.to_string())
        },
        &|| tracker_cell.borrow().detector().inference_time(),
    )?);

    // FOMM at vox-256 size.
    let fomm = std::cell::RefCell::new(Fomm::load(&models, &options).map_err(|e| e.to_string())?);
    let size = fomm.borrow().image_size();
    let source_crop =
        crop_square(&portrait.image.view(), portrait.crop, size).map_err(|e| e.to_string())?;
    let source = fomm
        .borrow_mut()
        .encode_source(&source_crop)
        .map_err(|e| e.to_string())?;
    let crops: Vec<RgbImage> = frames
        .iter()
        .map(|f| {
            crop_square(
                &f.view(),
                SquareCrop {
                    center_x: 320.0,
                    center_y: 240.0,
                    side: 400.0,
                },
                size,
            )
            .expect("crop")
        })
        .collect();
    let initial = fomm
        .borrow_mut()
        .keypoints(&crops[0])
        .map_err(|e| e.to_string())?;
    let inference = || fomm.borrow().inference_time();
    // The detector alone, as fommkeypoints runs it (and as the int8 row below measures it).
    stages.push(measure_keypoints(
        "fomm keypoints",
        &models,
        &options,
        &crops,
        args.frames,
    )?);
    stages.push(measure(
        "fomm encoder (once per portrait)",
        args.frames.min(5),
        |_| {
            fomm.borrow_mut()
                .encode_source(&source_crop)
                .map(|_| ())
                .map_err(|e| e.to_string())
        },
        &inference,
    )?);
    let driving = fomm
        .borrow_mut()
        .keypoints(&crops[1])
        .map_err(|e| e.to_string())?;
    let moved = relative_motion(
        &source.keypoints,
        &driving,
        &initial,
        MotionOptions::default(),
    )
    .map_err(|e| e.to_string())?;
    stages.push(measure(
        "fomm generator",
        args.frames.min(10),
        |_| {
            fomm.borrow_mut()
                .animate(&source, &moved)
                .map(|_| ())
                .map_err(|e| e.to_string())
        },
        &inference,
    )?);
    stages.push(measure(
        "fomm frame, source encoded each frame",
        args.frames.min(10),
        |t| {
            let mut fomm = fomm.borrow_mut();
            let encoded = fomm
                .encode_source(&source_crop)
                .map_err(|e| e.to_string())?;
            fomm_frame(&mut fomm, &encoded, &crops[t], &initial)
        },
        &inference,
    )?);
    drop(fomm);

    stages.push(fomm_cached_frame(
        "fomm frame, source encoded once",
        &models,
        &options,
        &portrait_path,
        &crops,
        args.frames.min(10),
    )?);
    let spec = AvatarSpec {
        path: portrait_path.clone(),
        crop: None,
        margin: 0.4,
    };

    // The landmark warp at 512x512 (no network: all of it is ours).
    let mut detector = BlazeFace::load(&model_sets::BLAZEFACE.dir(), &detector_options)
        .map_err(|e| e.to_string())?;
    let landmarks: Vec<_> = frames
        .iter()
        .map(|f| {
            detector
                .detect(&f.view())
                .ok()
                .and_then(|d| d.into_iter().next())
        })
        .collect();
    // The element's Animator with the warp engine.
    let warp_maker = AvatarMaker::new(Engine::Warp, 512, DetectorSettings::default());
    let mut warp = Animator::new(
        &warp_maker,
        warp_maker.make(&spec).map_err(|e| e.to_string())?,
    );
    let rest = landmarks[0]
        .clone()
        .ok_or("no face in the first driving frame")?;
    let landmark_pose = |face: &animecam::face::Detection| {
        let face_size = face.face.width.max(face.face.height);
        Driving::from_landmarks(face.landmarks.clone(), face_size, Some(1))
    };
    warp.frame(Some(&landmark_pose(&rest)))
        .map_err(|e| e.to_string())?;
    let warp = std::cell::RefCell::new(warp);
    stages.push(measure(
        "warp 512x512",
        args.frames * 5,
        |t| {
            let driving = landmarks[t % landmarks.len()].as_ref().unwrap_or(&rest);
            warp.borrow_mut()
                .frame(Some(&landmark_pose(driving)))
                .map(|_| ())
                .map_err(|e| e.to_string())
        },
        &|| Duration::ZERO,
    )?);

    // What a webcam session with the face mesh costs a frame: tracking at 640x480 with the mesh,
    // then the expression warp at 512x512.
    let mesh_dir = model_sets::FACE_MESH.dir();
    if mesh_dir.join("manifest.json").is_file() {
        let detector = BlazeFace::load(&model_sets::BLAZEFACE.dir(), &detector_options)
            .map_err(|e| e.to_string())?;
        let mut tracker = Tracker::new(Box::new(detector), TrackerConfig::default());
        tracker.set_mesh(Some(
            FaceMesh::load(&mesh_dir, &detector_options).map_err(|e| e.to_string())?,
        ));
        let mut animator = Animator::new(
            &warp_maker,
            warp_maker.make(&spec).map_err(|e| e.to_string())?,
        );
        animator.recalibrate();
        let session = std::cell::RefCell::new((tracker, animator));
        stages.push(measure(
            "warp 512x512 + facetrack with mesh",
            args.frames * 5,
            |t| {
                let (tracker, animator) = &mut *session.borrow_mut();
                let frame = &frames[t % frames.len()];
                let track = tracker
                    .update(&frame.view(), t as f64 / 30.0)
                    .map_err(|e| e.to_string())?;
                let driving = track
                    .state
                    .has_face()
                    .then(|| Driving::from_track(&track, 640, 480));
                animator
                    .frame(driving.as_ref())
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            },
            &|| session.borrow().0.inference_time(),
        )?);
    } else {
        eprintln!(
            "  (no face mesh in {}: the mesh row is left out; make setup converts it)",
            mesh_dir.display()
        );
    }

    for (id, label) in [
        ("ugatit_light", "ugatit light 256"),
        ("ugatit_full", "ugatit full 256"),
    ] {
        stages.push(ugatit_stage(
            label,
            &models,
            id,
            &options,
            &frames[0],
            args.frames.min(10),
        )?);
    }

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
                measure_keypoints("fomm keypoints int8", &int8, &options, &crops, args.frames)?,
            ),
            (
                "fomm frame, source encoded once",
                "fomm_generator",
                fomm_cached_frame(
                    "fomm frame, source encoded once int8",
                    &int8,
                    &options,
                    &portrait_path,
                    &crops,
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
                &options,
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

    let python = if args.no_python {
        None
    } else {
        Some(python_reference(&models, args)?)
    };
    let report = Report {
        machine: machine(),
        threads: args.threads,
        frames: args.frames,
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

/// A FOMM frame as the fommkeypoints and fommanimate elements make it: keypoints of the driving
/// crop, then the same Animator the element runs (relative motion, the generator with the source
/// encoded once).
fn fomm_cached_frame(
    name: &str,
    models: &Path,
    options: &ProviderOptions,
    portrait: &Path,
    crops: &[RgbImage],
    frames: usize,
) -> Result<Stage, String> {
    let mut keypoints = KeypointDetector::load(models, options).map_err(|e| e.to_string())?;
    let engine = Engine::fomm(Fomm::load(models, options).map_err(|e| e.to_string())?);
    let maker = AvatarMaker::new(engine.clone(), 0, DetectorSettings::default());
    let spec = AvatarSpec {
        path: portrait.to_path_buf(),
        crop: None,
        margin: 0.4,
    };
    let mut animator = Animator::new(&maker, maker.make(&spec).map_err(|e| e.to_string())?);
    let pose = |keypoints| Driving::from_keypoints(keypoints, 1.0, Some(1));
    let rest = keypoints.keypoints(&crops[0]).map_err(|e| e.to_string())?;
    animator
        .frame(Some(&pose(rest)))
        .map_err(|e| e.to_string())?;
    let session = std::cell::RefCell::new((keypoints, animator));
    measure(
        name,
        frames,
        |t| {
            let (keypoints, animator) = &mut *session.borrow_mut();
            let driving = keypoints.keypoints(&crops[t]).map_err(|e| e.to_string())?;
            animator
                .frame(Some(&pose(driving)))
                .map(|_| ())
                .map_err(|e| e.to_string())
        },
        &|| session.borrow().0.inference_time() + engine.inference_time(),
    )
}

/// The keypoint detector alone, as fommkeypoints runs it.
fn measure_keypoints(
    name: &str,
    models: &Path,
    options: &ProviderOptions,
    crops: &[RgbImage],
    frames: usize,
) -> Result<Stage, String> {
    let detector = std::cell::RefCell::new(
        KeypointDetector::load(models, options).map_err(|e| e.to_string())?,
    );
    measure(
        name,
        frames,
        |t| {
            detector
                .borrow_mut()
                .keypoints(&crops[t])
                .map(|_| ())
                .map_err(|e| e.to_string())
        },
        &|| detector.borrow().inference_time(),
    )
}

/// One U-GAT-IT stylisation of a 256 face crop.
fn ugatit_stage(
    name: &str,
    models: &Path,
    id: &str,
    options: &ProviderOptions,
    frame: &RgbImage,
    frames: usize,
) -> Result<Stage, String> {
    let stylizer =
        std::cell::RefCell::new(Stylizer::load(models, id, options).map_err(|e| e.to_string())?);
    let face = crop_square(
        &frame.view(),
        SquareCrop {
            center_x: 320.0,
            center_y: 240.0,
            side: 300.0,
        },
        256,
    )
    .map_err(|e| e.to_string())?;
    measure(
        name,
        frames,
        |_| {
            stylizer
                .borrow_mut()
                .stylize(&face)
                .map(|_| ())
                .map_err(|e| e.to_string())
        },
        &|| stylizer.borrow().inference_time(),
    )
}

/// Runs models/reference/avatarify_loop.py with the project's .venv: its JSON, or why it could
/// not run (the ratio to the Python reference is part of the report, so that is an error).
fn python_reference(models: &Path, args: &BenchArgs) -> Result<serde_json::Value, String> {
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
