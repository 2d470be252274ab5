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
use crate::worker::Worker;
pub use crate::worker::{KeyframePace, Picture};

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
    pace: KeyframePace,
    generator: Worker<Job, Result<Keyframe, FommError>>,
    newest: Option<Keyframe>,
    frames: u64,
}

impl Keyframes {
    pub fn new(engine: FommEngine, pace: KeyframePace) -> Keyframes {
        let worker = engine.clone();
        let generator = Worker::spawn("fomm-generator", move |(encoding, keypoints): Job| {
            let started = std::time::Instant::now();
            worker
                .animate(&encoding, &keypoints)
                .map(|(picture, deformation)| Keyframe {
                    picture,
                    took: started.elapsed(),
                    deformation,
                    keypoints,
                })
        });
        Keyframes {
            engine,
            pace,
            generator,
            newest: None,
            frames: 0,
        }
    }

    pub fn pace(&self) -> KeyframePace {
        self.pace
    }

    /// A new stream, or a new avatar: the keyframe of the old one is not shown again (a job on
    /// the thread still finishes, and is dropped).
    pub fn forget(&mut self) {
        self.newest = None;
        self.frames = 0;
        self.generator.forget();
    }

    /// The picture for a frame whose keypoints (after relative motion) are `keypoints`, with the
    /// keyframe it came from (its deformation moves the portrait's alpha).
    pub fn frame(
        &mut self,
        encoding: &Arc<SourceEncoding>,
        keypoints: &Keypoints,
    ) -> Result<(RgbImage, &Keyframe, Picture), FommError> {
        self.frames += 1;
        let mut new_keyframe = None;
        if self.pace == KeyframePace::AsFastAsItCan && self.newest.is_none() {
            // The thread is still making a picture (an older stream's, or this one's first):
            // wait for it, so that nothing older is shown and the thread is free again.
            if let Some(made) = self.generator.wait() {
                let made = made?;
                new_keyframe = Some(made.took);
                self.newest = Some(made);
            }
        }
        let generate_here = match self.pace {
            KeyframePace::Every(every) => (self.frames - 1).is_multiple_of(u64::from(every.max(1))),
            // The first picture of a stream is made here: there is nothing to move yet.
            KeyframePace::AsFastAsItCan => self.newest.is_none(),
        };
        if generate_here {
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
        if self.pace == KeyframePace::AsFastAsItCan {
            if let Some(made) = self.generator.take() {
                let made = made?;
                new_keyframe = Some(made.took);
                self.newest = Some(made);
            }
            self.generator.offer((encoding.clone(), keypoints.clone()));
        }
        let keyframe = self.newest.as_ref().expect("a keyframe was made above");
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
