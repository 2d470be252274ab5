//! `animecam bench --inbetweens`: how well in-betweens predict FOMM's pictures, offline on the
//! real talking clip. The generator runs on every frame (the truth); keyframes every 4th and
//! every 7th frame stand for what int8 and fp32 generators manage against a 30 fps camera; each
//! frame between is predicted from its keyframe by each in-between method and by holding the
//! keyframe, and compared with the truth (PSNR). With random weights the texture is no face, but
//! it moves with the keypoints, and that motion is what an in-between predicts.

use std::path::Path;

use animecam::face::{BlazeFace, Tracker, TrackerConfig};
use animecam::fomm::Fomm;
use animecam::image::{crop_square, RgbImage, SquareCrop};
use animecam::inbetween::{inbetween, psnr, Method};
use animecam::inference::{Provider, ProviderOptions};
use animecam::model_sets;
use animecam::motion::{relative_motion, Keypoints, MotionOptions};
use animecam::portrait::Portrait;
use gst::prelude::*;
use serde::Serialize;

use crate::args::BenchArgs;
use crate::commands::bench::fixtures::media;

/// Keyframe spacings: int8 FOMM at about 4 pictures a second and fp32 at about 2 against a
/// 30 fps camera leave 7 and 15 frames between; 4 and 7 are what the issue asks to compare.
const SPACINGS: [usize; 2] = [4, 7];

#[derive(Serialize)]
struct Series {
    spacing: usize,
    method: &'static str,
    /// Per predicted frame: its index, PSNR of the prediction and of the held keyframe, dB.
    frames: Vec<(usize, f64, f64)>,
    mean_psnr: f64,
    mean_hold_psnr: f64,
    mean_gain_db: f64,
    /// Share of the predicted frames at least 3 dB above holding.
    share_3db: f64,
}

/// The clip's frames, packed RGB.
fn decode(path: &Path) -> Result<Vec<RgbImage>, String> {
    let pipeline = gst::parse::launch(
        "filesrc name=file ! decodebin ! videoconvert ! video/x-raw,format=RGB ! \
         appsink name=sink sync=false",
    )
    .map_err(|e| e.to_string())?
    .downcast::<gst::Pipeline>()
    .map_err(|_| "not a pipeline".to_string())?;
    pipeline
        .by_name("file")
        .ok_or("no file element")?
        .set_property("location", path.to_string_lossy().to_string());
    let sink = pipeline
        .by_name("sink")
        .and_then(|sink| sink.downcast::<gst_app::AppSink>().ok())
        .ok_or("no appsink")?;
    pipeline
        .set_state(gst::State::Playing)
        .map_err(|e| e.to_string())?;
    let mut frames = Vec::new();
    while let Some(sample) = sink.try_pull_sample(gst::ClockTime::from_seconds(10)) {
        let caps = sample
            .caps()
            .ok_or("no caps")?
            .structure(0)
            .ok_or("no caps")?;
        let width = caps.get::<i32>("width").map_err(|e| e.to_string())? as usize;
        let height = caps.get::<i32>("height").map_err(|e| e.to_string())? as usize;
        let map = sample
            .buffer()
            .ok_or("no buffer")?
            .map_readable()
            .map_err(|e| e.to_string())?;
        let stride = map.len() / height;
        let data = map
            .chunks(stride)
            .flat_map(|row| row[..width * 3].to_vec())
            .collect();
        frames.push(RgbImage::new(width, height, data).map_err(|e| e.to_string())?);
        if sink.is_eos() {
            break;
        }
    }
    let _ = pipeline.set_state(gst::State::Null);
    Ok(frames)
}

pub fn inbetween_quality(models: &Path, args: &BenchArgs) -> Result<(), String> {
    let options = ProviderOptions {
        provider: Provider::Cpu,
        intra_threads: args.threads,
        ..ProviderOptions::default()
    };
    let frames = decode(&media("carphone_pristine.mp4")?)?;
    let mut fomm = Fomm::load(models, &options).map_err(|e| e.to_string())?;
    let size = fomm.image_size();
    let portrait =
        Portrait::load(&media("sylvie_green_normal.png")?, None, 0.4).map_err(|e| e.to_string())?;
    let source_crop =
        crop_square(&portrait.image.view(), portrait.crop, size).map_err(|e| e.to_string())?;
    let source = fomm
        .encode_source(&source_crop)
        .map_err(|e| e.to_string())?;
    // The face's crop as facetrack gives it, each frame; the keypoints in it.
    let detector =
        BlazeFace::load(&model_sets::BLAZEFACE.dir(), &options).map_err(|e| e.to_string())?;
    let mut tracker = Tracker::new(Box::new(detector), TrackerConfig::default());
    let mut moved: Vec<Keypoints> = Vec::new();
    let mut truth: Vec<RgbImage> = Vec::new();
    let mut initial: Option<Keypoints> = None;
    eprintln!(
        "animecam bench --inbetweens: the generator on each of the talking clip's {} frames (the truth)",
        frames.len()
    );
    for (index, frame) in frames.iter().enumerate() {
        let track = tracker
            .update(&frame.view(), index as f64 / 30.0)
            .map_err(|e| e.to_string())?;
        let (width, height) = (frame.width() as f32, frame.height() as f32);
        let crop = SquareCrop {
            center_x: (track.crop.x + track.crop.width / 2.0) * width,
            center_y: (track.crop.y + track.crop.height / 2.0) * height,
            side: (track.crop.width * width).max(1.0),
        };
        let crop = if track.state.has_face() {
            crop
        } else {
            SquareCrop::centred(frame.width(), frame.height())
        };
        let face = crop_square(&frame.view(), crop, size).map_err(|e| e.to_string())?;
        let keypoints = fomm.keypoints(&face).map_err(|e| e.to_string())?;
        let initial = initial.get_or_insert_with(|| keypoints.clone());
        let driving = relative_motion(
            &source.keypoints,
            &keypoints,
            initial,
            MotionOptions::default(),
        )
        .map_err(|e| e.to_string())?;
        truth.push(fomm.animate(&source, &driving).map_err(|e| e.to_string())?);
        moved.push(driving);
    }
    let mut report = Vec::new();
    eprintln!(
        "  {:<8} {:<13} {:>9} {:>9} {:>9} {:>13}",
        "keyframe", "method", "PSNR dB", "hold dB", "gain dB", ">= 3 dB above"
    );
    for spacing in SPACINGS {
        for (method, name) in [
            (Method::LocalAffine, "local affine"),
            (Method::Spline, "spline"),
        ] {
            let mut series = Vec::new();
            for t in (0..truth.len()).filter(|t| t % spacing != 0) {
                let key = t - t % spacing;
                let predicted = inbetween(&truth[key], &moved[key], &moved[t], method)
                    .map_err(|e| e.to_string())?;
                series.push((t, psnr(&predicted, &truth[t]), psnr(&truth[key], &truth[t])));
            }
            let count = series.len().max(1) as f64;
            let mean =
                |pick: fn(&(usize, f64, f64)) -> f64| series.iter().map(pick).sum::<f64>() / count;
            let (mean_psnr, mean_hold) = (mean(|s| s.1), mean(|s| s.2));
            let share = series.iter().filter(|s| s.1 >= s.2 + 3.0).count() as f64 / count;
            eprintln!(
                "  every {:<2} {:<13} {:>9.2} {:>9.2} {:>9.2} {:>12.0}%",
                spacing,
                name,
                mean_psnr,
                mean_hold,
                mean_psnr - mean_hold,
                100.0 * share
            );
            report.push(Series {
                spacing,
                method: name,
                frames: series,
                mean_psnr,
                mean_hold_psnr: mean_hold,
                mean_gain_db: mean_psnr - mean_hold,
                share_3db: share,
            });
        }
    }
    let json = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
    println!("{json}");
    if let Some(path) = &args.json {
        std::fs::write(path, &json).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}
