//! The stages the int8 comparison times again and again: each holds its loaded sessions and
//! inputs, so that fp32 and int8 runs can alternate on the same sessions.

use std::cell::RefCell;
use std::path::Path;
use std::time::Duration;

use animecam::animate::{Animator, AvatarMaker, AvatarSpec, DetectorSettings, Driving, Engine};
use animecam::fomm::{Fomm, KeypointDetector};
use animecam::image::{crop_square, RgbImage, SquareCrop};
use animecam::inference::ProviderOptions;
use animecam::stylize::Stylizer;

use crate::commands::bench::measure::{measure, time_frames, Stage};

/// A stage with its sessions loaded: one frame at a time, and ONNX Runtime's time so far.
pub trait StageRun {
    fn step(&mut self, index: usize) -> Result<(), String>;
    fn inference_time(&self) -> Duration;
}

/// Times `frames` frames of `run` (after one warm-up frame) and prints its row.
pub fn measure_run(name: &str, frames: usize, run: &mut dyn StageRun) -> Result<Stage, String> {
    let run = RefCell::new(run);
    measure(name, frames, |t| run.borrow_mut().step(t), &|| {
        run.borrow().inference_time()
    })
}

/// As [`measure_run`], without printing a row (one of several runs of a comparison).
pub fn time_run(name: &str, frames: usize, run: &mut dyn StageRun) -> Result<Stage, String> {
    let run = RefCell::new(run);
    time_frames(name, frames, |t| run.borrow_mut().step(t), &|| {
        run.borrow().inference_time()
    })
}

/// The keypoint detector alone, as fommkeypoints runs it.
pub struct KeypointsRun<'a> {
    detector: KeypointDetector,
    crops: &'a [RgbImage],
}

impl<'a> KeypointsRun<'a> {
    pub fn load(
        models: &Path,
        options: &ProviderOptions,
        crops: &'a [RgbImage],
    ) -> Result<Self, String> {
        let detector = KeypointDetector::load(models, options).map_err(|e| e.to_string())?;
        Ok(KeypointsRun { detector, crops })
    }
}

impl StageRun for KeypointsRun<'_> {
    fn step(&mut self, index: usize) -> Result<(), String> {
        self.detector
            .keypoints(&self.crops[index % self.crops.len()])
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    fn inference_time(&self) -> Duration {
        self.detector.inference_time()
    }
}

/// A FOMM frame as the fommkeypoints and fommanimate elements make it: keypoints of the driving
/// crop, then the same Animator the element runs (relative motion, the generator with the source
/// encoded once).
pub struct FommFrameRun<'a> {
    keypoints: KeypointDetector,
    engine: Engine,
    animator: Animator,
    crops: &'a [RgbImage],
}

impl<'a> FommFrameRun<'a> {
    pub fn load(
        models: &Path,
        options: &ProviderOptions,
        portrait: &Path,
        crops: &'a [RgbImage],
    ) -> Result<Self, String> {
        let mut keypoints = KeypointDetector::load(models, options).map_err(|e| e.to_string())?;
        let engine = Engine::fomm(Fomm::load(models, options).map_err(|e| e.to_string())?);
        let maker = AvatarMaker::new(engine.clone(), 0, DetectorSettings::default());
        let spec = AvatarSpec {
            path: portrait.to_path_buf(),
            crop: None,
            margin: 0.4,
        };
        let mut animator = Animator::new(&maker, maker.make(&spec).map_err(|e| e.to_string())?);
        let rest = keypoints.keypoints(&crops[0]).map_err(|e| e.to_string())?;
        animator
            .frame(Some(&pose(rest)), 0.0)
            .map_err(|e| e.to_string())?;
        Ok(FommFrameRun {
            keypoints,
            engine,
            animator,
            crops,
        })
    }
}

fn pose(keypoints: animecam::motion::Keypoints) -> Driving {
    Driving::from_keypoints(keypoints, 1.0, Some(1))
}

impl StageRun for FommFrameRun<'_> {
    fn step(&mut self, index: usize) -> Result<(), String> {
        let crop = &self.crops[index % self.crops.len()];
        let driving = self.keypoints.keypoints(crop).map_err(|e| e.to_string())?;
        self.animator
            .frame(Some(&pose(driving)), index as f64 / 30.0)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    fn inference_time(&self) -> Duration {
        self.keypoints.inference_time() + self.engine.inference_time()
    }
}

/// One U-GAT-IT stylisation of a 256 face crop.
pub struct UgatitRun {
    stylizer: Stylizer,
    face: RgbImage,
}

impl UgatitRun {
    pub fn load(
        models: &Path,
        id: &str,
        options: &ProviderOptions,
        frame: &RgbImage,
    ) -> Result<Self, String> {
        let stylizer = Stylizer::load(models, id, options).map_err(|e| e.to_string())?;
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
        Ok(UgatitRun { stylizer, face })
    }
}

impl StageRun for UgatitRun {
    fn step(&mut self, _index: usize) -> Result<(), String> {
        self.stylizer
            .stylize(&self.face)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    fn inference_time(&self) -> Duration {
        self.stylizer.inference_time()
    }
}
