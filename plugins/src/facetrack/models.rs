//! facetrack's models: the face detector the `detector` setting asks for (BlazeFace short or
//! full range, both, or OpenCV's Haar cascade), the face mesh of `landmarks`, and the 468-point
//! mesh that judges whether a face is human; where each is looked for, and the errors and
//! warnings that name what is missing and how to get it.

use std::path::PathBuf;

use animecam::face::{
    BlazeFace, EitherRange, FaceDetector, FaceMesh, HaarCascade, Tracker, DEFAULT_HAAR_CASCADE,
};
use animecam::inference::ProviderOptions;
use animecam::model_sets::{ATTENTION_MESH, BLAZEFACE, FACE_MESH, FULL_RANGE_DETECTOR};
use gst::prelude::*;
use gst::subclass::prelude::*;

use super::imp::{FaceTrack, Settings, CAT};
use super::{Detector, Landmarks};
use crate::glue::warn_fallbacks;

impl FaceTrack {
    fn load_detector(
        &self,
        settings: &Settings,
    ) -> Result<Box<dyn FaceDetector>, gst::ErrorMessage> {
        let options = ProviderOptions {
            provider: settings.provider.into(),
            intra_threads: settings.threads as usize,
            ..ProviderOptions::default()
        };
        // The short-range model is model-path (or models/blazeface); the full-range one is
        // model-path with detector=full-range, else beside it (or models/face_detection_full_range).
        let short_dir = || {
            settings
                .model_path
                .as_ref()
                .map(PathBuf::from)
                .unwrap_or_else(|| BLAZEFACE.dir())
        };
        let full_beside = |short: &std::path::Path| {
            short
                .parent()
                .map(|parent| FULL_RANGE_DETECTOR.dir_in(parent))
                .filter(|dir| dir.join("manifest.json").is_file())
                .unwrap_or_else(|| FULL_RANGE_DETECTOR.dir())
        };
        let load = |dir: &std::path::Path, what: &str, fix: &str| {
            let mut detector = BlazeFace::load(dir, &options).map_err(|e| {
                gst::error_msg!(
                    gst::ResourceError::OpenRead,
                    (
                        "Cannot load the {what} face detector from {}: {e}. {fix}",
                        dir.display()
                    )
                )
            })?;
            detector.score_threshold = settings.score_threshold;
            detector.min_face_size = settings.min_face_size as f32;
            Ok::<_, gst::ErrorMessage>(detector)
        };
        const SHORT_FIX: &str = "Run `make setup` in the animecam checkout (it fetches the \
            detector), set model-path to a folder holding its manifest.json, or use detector=haar";
        const FULL_FIX: &str =
            "Run `make setup` in the animecam checkout (it converts MediaPipe's \
            full-range detector), set model-path to its folder, or use detector=blazeface";
        match settings.detector {
            Detector::BlazeFace => Ok(Box::new(load(&short_dir(), "BlazeFace", SHORT_FIX)?)),
            Detector::FullRange => {
                let dir = settings
                    .model_path
                    .as_ref()
                    .map(PathBuf::from)
                    .unwrap_or_else(|| FULL_RANGE_DETECTOR.dir());
                Ok(Box::new(load(&dir, "full-range", FULL_FIX)?))
            }
            Detector::Auto => {
                let short_dir = short_dir();
                let short = load(&short_dir, "BlazeFace", SHORT_FIX)?;
                let full_dir = full_beside(&short_dir);
                if !full_dir.join("manifest.json").is_file() {
                    // Faces near the camera are still found: say what is missing, and run.
                    let _ = self.obj().post_message(
                        gst::message::Warning::builder(
                            gst::ResourceError::NotFound,
                            &format!(
                                "detector=auto: no full-range detector in {} (make setup converts \
                                 it); small and far faces will not be found",
                                full_dir.display()
                            ),
                        )
                        .src(&*self.obj())
                        .build(),
                    );
                    return Ok(Box::new(short));
                }
                let full = load(&full_dir, "full-range", FULL_FIX)?;
                Ok(Box::new(EitherRange::new(short, full)))
            }
            Detector::Haar => {
                let path = settings
                    .model_path
                    .clone()
                    .unwrap_or_else(|| DEFAULT_HAAR_CASCADE.to_owned());
                let mut detector = HaarCascade::load(path.as_ref()).map_err(|e| {
                    gst::error_msg!(
                        gst::ResourceError::OpenRead,
                        (
                            "{e}. Set model-path to an OpenCV cascade XML file, or use detector=blazeface"
                        )
                    )
                })?;
                detector.min_face_size = settings.min_face_size as f32;
                Ok(Box::new(detector))
            }
        }
    }

    /// The 468-point mesh, whose face flag tells human faces from others where the attention
    /// mesh's cannot (see `Tracker::set_judge`); `None` (with a warning) where it is missing.
    fn load_judge(&self, settings: &Settings) -> Option<FaceMesh> {
        let dir = self
            .mesh_dirs(settings, &[FACE_MESH])
            .find(|dir| dir.join("manifest.json").is_file())
            .unwrap_or_else(|| FACE_MESH.dir());
        let options = ProviderOptions {
            provider: settings.provider.into(),
            intra_threads: settings.threads as usize,
            ..ProviderOptions::default()
        };
        FaceMesh::load(&dir, &options)
            .inspect_err(|e| {
                let _ = self.obj().post_message(
                    gst::message::Warning::builder(
                        gst::ResourceError::NotFound,
                        &format!(
                            "no 468-point face mesh in {} ({e}; make setup converts it): an \
                             animal's or a drawing's face may drive the avatar",
                            dir.display()
                        ),
                    )
                    .src(&*self.obj())
                    .build(),
                );
            })
            .ok()
    }

    /// Where to look for the mesh sets `sets`, in order: beside the detector's folder (where the
    /// CLI's --models puts them), then in the default models folder.
    fn mesh_dirs<'a>(
        &self,
        settings: &'a Settings,
        sets: &'a [animecam::model_sets::KnownSet],
    ) -> impl Iterator<Item = PathBuf> + 'a {
        let parent = settings
            .model_path
            .as_deref()
            .filter(|_| matches!(settings.detector, Detector::BlazeFace | Detector::Auto))
            .and_then(|dir| std::path::Path::new(dir).parent());
        sets.iter().flat_map(move |set| {
            parent
                .map(|parent| set.dir_in(parent))
                .into_iter()
                .chain([set.dir()])
        })
    }

    /// The face mesh the `landmarks` setting asks for: found beside the detector's folder (where
    /// `make face-mesh` and the CLI's --models put it), else in the default models folder.
    fn load_mesh(&self, settings: &Settings) -> Result<Option<FaceMesh>, gst::ErrorMessage> {
        if settings.landmarks == Landmarks::BlazeFace {
            return Ok(None);
        }
        // The attention mesh (irises too) when asked for; else the 468-point mesh. (auto takes
        // the 468-point mesh: with the attention mesh the animation made from a remote webcam's
        // H.264 frames diverged from the local one (cli/tests/remote.rs), which is not
        // understood yet.)
        let set = if settings.landmarks == Landmarks::Attention {
            ATTENTION_MESH
        } else {
            FACE_MESH
        };
        let dir = self
            .mesh_dirs(settings, &[set])
            .find(|dir| dir.join("manifest.json").is_file())
            .unwrap_or_else(|| set.dir());
        if settings.landmarks == Landmarks::Auto && !dir.join("manifest.json").is_file() {
            gst::info!(
                CAT,
                imp = self,
                "no face mesh in {}: BlazeFace's landmarks only",
                dir.display()
            );
            return Ok(None);
        }
        let options = ProviderOptions {
            provider: settings.provider.into(),
            intra_threads: settings.threads as usize,
            ..ProviderOptions::default()
        };
        FaceMesh::load(&dir, &options).map(Some).map_err(|e| {
            gst::error_msg!(
                gst::ResourceError::OpenRead,
                (
                    "Cannot load the face mesh from {}: {e}. Run `make setup` in the animecam \
                     checkout (it converts the meshes), or set landmarks=blazeface",
                    dir.display()
                )
            )
        })
    }

    /// The tracker with its detector and, where the settings ask for it, the face mesh.
    pub(super) fn load_tracker(&self, settings: &Settings) -> Result<Tracker, gst::ErrorMessage> {
        let detector = self.load_detector(settings)?;
        let provider = detector
            .provider()
            .map_or_else(|| "opencv".to_owned(), |p| p.to_string());
        gst::info!(
            CAT,
            imp = self,
            "{} detector running on {provider}",
            detector.name()
        );
        *self.provider_in_use.lock().unwrap() = provider;
        warn_fallbacks(self.obj().upcast_ref(), detector.fallbacks());
        let mut tracker = Tracker::new(detector, settings.tracker_config());
        let mesh = self.load_mesh(settings)?;
        if mesh.as_ref().is_some_and(FaceMesh::has_irises) {
            tracker.set_judge(self.load_judge(settings));
        }
        tracker.set_mesh(mesh);
        Ok(tracker)
    }
}
