//! A style network at the camera's rate: the network redraws the face on a thread of its own,
//! whenever it is free, from the newest frame; every frame meanwhile shows the newest redrawn face
//! moved by the face mesh's motion since the frame it was drawn from, pasted where the face is
//! now. As FOMM's in-betweens ([`crate::inbetween`]), with the mesh's points for keypoints.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{FlickerFilter, StylizeError, Stylizer};
use crate::image::RgbImage;
use crate::inbetween::{inbetween, MeshKeypoints, Method};
use crate::motion::{Keypoints, Point};
use crate::worker::{KeyframePace, PacedWorker, Picture, Turn};

/// A face to redraw: the crop at the network's size and the mesh in it ([-1, 1] units; empty
/// without a mesh).
type Job = (RgbImage, Vec<Point>);

/// A redrawn face, how long the network took, and (with a mesh) the keypoints of the mesh of
/// the crop it was drawn from, with the neighbours later meshes' Jacobians are read against.
struct Keyframe {
    picture: RgbImage,
    took: Duration,
    keypoints: Option<(MeshKeypoints, Keypoints)>,
}

/// The network's thread and the newest redrawn face.
pub struct StyleKeyframes {
    stylizer: Arc<Mutex<Stylizer>>,
    network: PacedWorker<Job, Result<Keyframe, StylizeError>>,
    newest: Option<Keyframe>,
}

fn redraw(stylizer: &Mutex<Stylizer>, (crop, mesh): Job) -> Result<Keyframe, StylizeError> {
    let started = Instant::now();
    let picture = stylizer
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .stylize(&crop)?;
    let keypoints = MeshKeypoints::new(&mesh)
        .and_then(|reference| reference.of(&mesh).map(|then| (reference, then)));
    Ok(Keyframe {
        picture,
        took: started.elapsed(),
        keypoints,
    })
}

impl StyleKeyframes {
    pub fn new(stylizer: Arc<Mutex<Stylizer>>, pace: KeyframePace) -> StyleKeyframes {
        let worker = stylizer.clone();
        let make = move |job: Job| redraw(&worker, job);
        StyleKeyframes {
            stylizer,
            network: PacedWorker::spawn("style-network", pace, make),
            newest: None,
        }
    }

    pub fn pace(&self) -> KeyframePace {
        self.network.pace()
    }

    /// A new stream, or another face: its redrawn face is not shown again.
    pub fn forget(&mut self) {
        self.newest = None;
        self.network.forget();
    }

    /// The face for a frame: `crop` (the face's crop at the network's size) and `mesh` (the face
    /// mesh's points in it, [-1, 1] units; empty without a mesh). A newly redrawn face passes
    /// through `flicker` (`smoothing`) as it arrives.
    pub fn frame(
        &mut self,
        crop: RgbImage,
        mesh: Vec<Point>,
        flicker: &mut FlickerFilter,
        smoothing: f32,
    ) -> Result<(RgbImage, Picture), StylizeError> {
        let mut filtered = |made: Keyframe| Keyframe {
            picture: flicker.filter(&made.picture, smoothing),
            ..made
        };
        let job = || (crop.clone(), mesh.clone());
        let new_keyframe = match self.network.turn(self.newest.is_some(), job) {
            Turn::MakeHere => {
                let made = filtered(redraw(&self.stylizer, (crop, mesh))?);
                let picture = made.picture.clone();
                self.newest = Some(made);
                return Ok((picture, Picture::Generated));
            }
            Turn::Between(arrived) => arrived
                .map(|made| made.map(|made| self.newest.insert(filtered(made)).took))
                .transpose()?,
        };
        let newest = self.newest.as_ref().expect("a face was drawn before");
        // The mesh's keypoints now, Jacobians against the redrawn face's own mesh.
        let moved = newest
            .keypoints
            .as_ref()
            .and_then(|(reference, then)| Some((then, reference.of(&mesh)?)))
            .map(|(then, now)| inbetween(&newest.picture, then, &now, Method::LocalAffine))
            .transpose()?;
        // Without a mesh (facetrack runs none) the face is only pasted where the face is now.
        let picture = moved.unwrap_or_else(|| newest.picture.clone());
        Ok((picture, Picture::Inbetween { new_keyframe }))
    }
}
