//! What the benchmark runs on: driving frames, the cached media, a temporary folder, and a looped
//! talking-face clip for live runs.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use animecam::image::{crop_square, RgbImage, SquareCrop};
use animecam_cli::descriptions::{bench, edit, fill, names};
use gst::prelude::*;

/// Frame `t` of the driving clip: the astronaut photo drifting and zooming, 640x480.
pub fn driving_frame(photo: &RgbImage, t: usize) -> RgbImage {
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

pub fn media(name: &str) -> Result<PathBuf, String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../.cache/media")
        .join(name);
    path.is_file()
        .then_some(path.clone())
        .ok_or_else(|| format!("{} missing: run `make setup`", path.display()))
}

/// A folder of this process's, removed with everything in it when dropped (on errors too).
pub struct TempFolder(PathBuf);

impl TempFolder {
    pub fn new() -> Result<TempFolder, String> {
        let path = std::env::temp_dir().join(format!("animecam-bench-{}", std::process::id()));
        std::fs::create_dir_all(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(TempFolder(path))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempFolder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The talking-face clip played `copies` times in a row (no re-encoding): a face for a live run.
pub fn looped_clip(clip: &Path, copies: usize, output: &Path) -> Result<(), String> {
    let variables = HashMap::from([
        ("CLIP", clip.to_string_lossy().to_string()),
        ("OUTPUT", output.to_string_lossy().to_string()),
    ]);
    let pipeline = edit::parse(&fill(bench::LOOP_CLIP, &variables)?)?;
    for _ in 0..copies {
        let copy = edit::part(&fill(bench::CLIP_COPY, &variables)?)?;
        edit::feed(&pipeline, &copy, names::CONCAT)?;
    }
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
