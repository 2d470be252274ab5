//! The stage table: each stage of tracking and animation on its own, timed as the elements run it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use animecam::animate::{Animator, AvatarMaker, AvatarSpec, DetectorSettings, Driving, Engine};
use animecam::face::{BlazeFace, FaceDetector, FaceMesh, Tracker, TrackerConfig};
use animecam::fomm::Fomm;
use animecam::image::{crop_square, read_image, RgbImage, SquareCrop};
use animecam::inference::{Provider, ProviderOptions};
use animecam::model_sets;
use animecam::motion::{relative_motion, MotionOptions};
use animecam::portrait::Portrait;
use animecam::stylize::STYLE_MODEL;

use crate::args::BenchArgs;
use crate::commands::bench::fixtures::{driving_frame, media};
use crate::commands::bench::measure::{machine, measure, Stage};
use crate::commands::bench::runs::{measure_run, FommFrameRun, KeypointsRun, UgatitRun};

/// The stages measured, and the inputs they ran on (the int8 comparison runs on the same).
pub struct Measured {
    pub stages: Vec<Stage>,
    pub options: ProviderOptions,
    pub frames: Vec<RgbImage>,
    pub crops: Vec<RgbImage>,
    pub portrait_path: PathBuf,
}

/// Measures every stage on the graphs in `models`, printing a row each.
pub fn measure_stages(args: &BenchArgs, models: &Path) -> Result<Measured, String> {
    let models = models.to_path_buf();
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

    // The same with the attention mesh (irises) as facetrack runs it where set-up made it, and
    // the 468-point mesh judging the face human (every frame until it is, then every 10th).
    let attention_dir = model_sets::ATTENTION_MESH.dir();
    if attention_dir.join("manifest.json").is_file() {
        let detector = BlazeFace::load(&model_sets::BLAZEFACE.dir(), &detector_options)
            .map_err(|e| e.to_string())?;
        let mut tracker = Tracker::new(Box::new(detector), TrackerConfig::default());
        tracker.set_mesh(Some(
            FaceMesh::load(&attention_dir, &detector_options).map_err(|e| e.to_string())?,
        ));
        tracker.set_judge(FaceMesh::load(&model_sets::FACE_MESH.dir(), &detector_options).ok());
        let tracker = std::cell::RefCell::new(tracker);
        stages.push(measure(
            "facetrack 640x480 + attention mesh",
            args.frames * 5,
            |t| {
                tracker
                    .borrow_mut()
                    .update(&frames[t % frames.len()].view(), t as f64 / 30.0)
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            },
            &|| tracker.borrow().inference_time(),
        )?);
    } else {
        eprintln!(
            "  (no attention mesh in {}: its row is left out; make setup converts it)",
            attention_dir.display()
        );
    }

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
    stages.push(measure_run(
        "fomm keypoints",
        args.frames,
        &mut KeypointsRun::load(&models, &options, &crops)?,
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

    stages.push(measure_run(
        "fomm frame, source encoded once",
        args.frames.min(10),
        &mut FommFrameRun::load(&models, &options, &portrait_path, &crops)?,
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
    warp.frame(Some(&landmark_pose(&rest)), 0.0)
        .map_err(|e| e.to_string())?;
    let warp = std::cell::RefCell::new(warp);
    stages.push(measure(
        "warp 512x512",
        args.frames * 5,
        |t| {
            let driving = landmarks[t % landmarks.len()].as_ref().unwrap_or(&rest);
            warp.borrow_mut()
                .frame(Some(&landmark_pose(driving)), t as f64 / 30.0)
                .map(|_| ())
                .map_err(|e| e.to_string())
        },
        &|| Duration::ZERO,
    )?);

    // What a webcam session with the face mesh costs a frame: tracking at 640x480 with the mesh,
    // then the expression warp at 512x512; and with the attention mesh, whose irises drive the
    // gaze: every channel of the warp moving (turn, gaze, brows, mouth, breathing).
    for (set, label) in [
        (model_sets::FACE_MESH, "warp 512x512 + facetrack with mesh"),
        (
            model_sets::ATTENTION_MESH,
            "warp 512x512, every channel + facetrack with attention mesh",
        ),
    ] {
        let mesh_dir = set.dir();
        if !mesh_dir.join("manifest.json").is_file() {
            eprintln!(
                "  (no {} in {}: its row is left out; make setup converts it)",
                set.name,
                mesh_dir.display()
            );
            continue;
        }
        let detector = BlazeFace::load(&model_sets::BLAZEFACE.dir(), &detector_options)
            .map_err(|e| e.to_string())?;
        let mut tracker = Tracker::new(Box::new(detector), TrackerConfig::default());
        tracker.set_mesh(Some(
            FaceMesh::load(&mesh_dir, &detector_options).map_err(|e| e.to_string())?,
        ));
        if set.name == model_sets::ATTENTION_MESH.name {
            // As facetrack runs it: the 468-point mesh judges the face human beside it.
            tracker.set_judge(FaceMesh::load(&model_sets::FACE_MESH.dir(), &detector_options).ok());
        }
        let mut animator = Animator::new(
            &warp_maker,
            warp_maker.make(&spec).map_err(|e| e.to_string())?,
        );
        animator.recalibrate();
        let session = std::cell::RefCell::new((tracker, animator));
        stages.push(measure(
            label,
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
                    .frame(driving.as_ref(), t as f64 / 30.0)
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            },
            &|| session.borrow().0.inference_time(),
        )?);
    }

    for (id, label) in [
        ("ugatit_light", "ugatit light 256"),
        ("ugatit_full", "ugatit full 256"),
    ] {
        stages.push(measure_run(
            label,
            args.frames.min(10),
            &mut UgatitRun::load(&models, id, &options, &frames[0])?,
        )?);
    }

    // Style networks with random weights (`animecam_models random-styles`, no PyTorch), each its
    // own set under styles/: their rows are left out where they were not made.
    for (set, label) in STYLE_STAGES {
        let dir = model_sets::style_dir(&models, set);
        if !dir.join("manifest.json").is_file() {
            eprintln!(
                "  (no {}: the {label} row is left out; make bench makes it)",
                dir.display()
            );
            continue;
        }
        stages.push(measure_run(
            label,
            args.frames.min(10),
            &mut UgatitRun::load(&dir, STYLE_MODEL, &options, &frames[0])?,
        )?);
    }

    Ok(Measured {
        stages,
        options,
        frames,
        crops,
        portrait_path,
    })
}

/// The benchmark's style networks (sets under styles/ of the benchmark models) and their rows.
pub const STYLE_STAGES: [(&str, &str); 3] = [
    ("animegan2-256", "style animegan2 256"),
    ("animegan2-512", "style animegan2 512"),
    ("cartoongan-256", "style cartoongan 256"),
];

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
