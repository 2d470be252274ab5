//! FOMM at the camera's rate: generated pictures as keyframes, an in-between for every frame the
//! generator has no time for. The generator runs on a thread of its own, on the newest frame's
//! keypoints whenever it is free; each frame meanwhile shows the newest keyframe moved by the
//! keypoints' motion since it was made ([`crate::inbetween`]), so the avatar is where the face is
//! now while the network catches up with how it looks.

use std::sync::Arc;

use super::avatar::FommEngine;
use crate::fomm::{Deformation, FommError, SourceEncoding};
use crate::image::RgbImage;
use crate::inbetween::{inbetween, Method};
use crate::motion::Keypoints;
pub use crate::worker::{KeyframePace, Picture};
use crate::worker::{PacedWorker, Turn};

/// A picture the generator made, with the keypoints it was made for.
pub struct Keyframe {
    pub picture: RgbImage,
    /// How long the generator took to make it.
    pub took: std::time::Duration,
    pub deformation: Option<Deformation>,
    pub keypoints: Keypoints,
}

/// A picture to make: from which encoding, for which keypoints.
type Job = (Arc<SourceEncoding>, Keypoints);

/// The generator's thread and the newest keyframe.
pub struct Keyframes {
    engine: FommEngine,
    generator: PacedWorker<Job, Result<Keyframe, FommError>>,
    newest: Option<Keyframe>,
}

impl Keyframes {
    pub fn new(engine: FommEngine, pace: KeyframePace) -> Keyframes {
        let worker = engine.clone();
        let make = move |(encoding, keypoints): Job| {
            let started = std::time::Instant::now();
            worker
                .animate(&encoding, &keypoints)
                .map(|(picture, deformation)| Keyframe {
                    picture,
                    took: started.elapsed(),
                    deformation,
                    keypoints,
                })
        };
        Keyframes {
            engine,
            generator: PacedWorker::spawn("fomm-generator", pace, make),
            newest: None,
        }
    }

    pub fn pace(&self) -> KeyframePace {
        self.generator.pace()
    }

    /// A new stream, or a new avatar: the keyframe of the old one is not shown again (a job on
    /// the thread still finishes, and is dropped).
    pub fn forget(&mut self) {
        self.newest = None;
        self.generator.forget();
    }

    /// The picture for a frame whose keypoints (after relative motion) are `keypoints`, with the
    /// keyframe it came from (its deformation moves the portrait's alpha).
    pub fn frame(
        &mut self,
        encoding: &Arc<SourceEncoding>,
        keypoints: &Keypoints,
    ) -> Result<(RgbImage, &Keyframe, Picture), FommError> {
        let job = || (encoding.clone(), keypoints.clone());
        let new_keyframe = match self.generator.turn(self.newest.is_some(), job) {
            Turn::MakeHere => {
                let started = std::time::Instant::now();
                let (picture, deformation) = self.engine.animate(encoding, keypoints)?;
                let keyframe = self.newest.insert(Keyframe {
                    picture: picture.clone(),
                    took: started.elapsed(),
                    deformation,
                    keypoints: keypoints.clone(),
                });
                return Ok((picture, keyframe, Picture::Generated));
            }
            Turn::Between(arrived) => arrived
                .map(|made| made.map(|made| self.newest.insert(made).took))
                .transpose()?,
        };
        let keyframe = self.newest.as_ref().expect("a keyframe was made before");
        let picture = inbetween(
            &keyframe.picture,
            &keyframe.keypoints,
            keypoints,
            Method::LocalAffine,
        )
        .map_err(FommError::from)?;
        Ok((picture, keyframe, Picture::Inbetween { new_keyframe }))
    }
}
