//! A style network at the camera's rate: the network redraws the face on a thread of its own,
//! whenever it is free, from the newest frame; every frame meanwhile shows the newest redrawn face
//! moved by the face mesh's motion since the frame it was drawn from, pasted where the face is
//! now. As FOMM's in-betweens ([`crate::inbetween`]), with the mesh's points for keypoints.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{FlickerFilter, StylizeError, Stylizer};
use crate::image::RgbImage;
use crate::inbetween::{inbetween, mesh_keypoints, Method};
use crate::motion::Point;
use crate::worker::{KeyframePace, Picture, Worker};

/// A face to redraw: the crop at the network's size and the mesh in it ([-1, 1] units; empty
/// without a mesh).
type Job = (RgbImage, Vec<Point>);

/// A redrawn face, the mesh of the crop it was drawn from, and how long the network took.
struct Keyframe {
    picture: RgbImage,
    mesh: Vec<Point>,
    took: Duration,
}

/// The network's thread and the newest redrawn face.
pub struct StyleKeyframes {
    stylizer: Arc<Mutex<Stylizer>>,
    pace: KeyframePace,
    network: Worker<Job, Result<Keyframe, StylizeError>>,
    newest: Option<Keyframe>,
    frames: u64,
}

fn redraw(stylizer: &Mutex<Stylizer>, (crop, mesh): Job) -> Result<Keyframe, StylizeError> {
    let started = Instant::now();
    let picture = stylizer
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .stylize(&crop)?;
    Ok(Keyframe {
        picture,
        mesh,
        took: started.elapsed(),
    })
}

impl StyleKeyframes {
    pub fn new(stylizer: Arc<Mutex<Stylizer>>, pace: KeyframePace) -> StyleKeyframes {
        let worker = stylizer.clone();
        let network = Worker::spawn("style-network", move |job: Job| redraw(&worker, job));
        StyleKeyframes {
            stylizer,
            pace,
            network,
            newest: None,
            frames: 0,
        }
    }

    pub fn pace(&self) -> KeyframePace {
        self.pace
    }

    /// A new stream, or another face: its redrawn face is not shown again.
    pub fn forget(&mut self) {
        self.newest = None;
        self.frames = 0;
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
        self.frames += 1;
        let mut arrived = |made: Keyframe, newest: &mut Option<Keyframe>| {
            let took = made.took;
            *newest = Some(Keyframe {
                picture: flicker.filter(&made.picture, smoothing),
                ..made
            });
            took
        };
        let mut new_keyframe = None;
        if self.pace == KeyframePace::AsFastAsItCan && self.newest.is_none() {
            // A face still being redrawn (an older stream's, or this one's first): wait for it,
            // so that nothing older is shown and the thread is free again.
            if let Some(made) = self.network.wait() {
                new_keyframe = Some(arrived(made?, &mut self.newest));
            }
        }
        let draw_here = match self.pace {
            KeyframePace::Every(every) => (self.frames - 1).is_multiple_of(u64::from(every.max(1))),
            // The first face of a stream is drawn here: there is nothing to move yet.
            KeyframePace::AsFastAsItCan => self.newest.is_none(),
        };
        if draw_here {
            let made = redraw(&self.stylizer, (crop, mesh))?;
            arrived(made, &mut self.newest);
            let newest = self.newest.as_ref().expect("drawn above");
            return Ok((newest.picture.clone(), Picture::Generated));
        }
        if self.pace == KeyframePace::AsFastAsItCan {
            if let Some(made) = self.network.take() {
                new_keyframe = Some(arrived(made?, &mut self.newest));
            }
            self.network.offer((crop, mesh.clone()));
        }
        let newest = self.newest.as_ref().expect("a face was drawn above");
        // Keypoints from the two meshes, Jacobians against the redrawn face's own.
        let moved = mesh_keypoints(&newest.mesh, &newest.mesh)
            .zip(mesh_keypoints(&mesh, &newest.mesh))
            .map(|(then, now)| inbetween(&newest.picture, &then, &now, Method::LocalAffine))
            .transpose()?;
        // Without a mesh (facetrack runs none) the face is only pasted where the face is now.
        let picture = moved.unwrap_or_else(|| newest.picture.clone());
        Ok((picture, Picture::Inbetween { new_keyframe }))
    }
}
