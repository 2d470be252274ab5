//! FOMM at the camera's rate: generated pictures as keyframes, an in-between for every frame the
//! generator has no time for. The generator runs on a thread of its own, on the newest frame's
//! keypoints whenever it is free; each frame meanwhile shows the newest keyframe moved by the
//! keypoints' motion since it was made ([`crate::inbetween`]), so the avatar is where the face is
//! now while the network catches up with how it looks.

use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender};

use super::avatar::FommEngine;
use crate::fomm::{Deformation, FommError, SourceEncoding};
use crate::image::RgbImage;
use crate::inbetween::{inbetween, Method};
use crate::motion::Keypoints;

/// ONNX Runtime threads for a generator that runs beside in-betweens: every core but one, which
/// the streaming thread keeps for tracking, keypoints and the in-betweens. Measured on 2 cores
/// (`animecam bench --live 20 --mode fomm --precision int8`, the talking clip at 30 fps): with one
/// generator thread 2.80 pictures made a second, 29.4 shown, latency mean 30 ms; with two, 2.65
/// made, 27.7 shown, 56 ms (the generator's threads took the core the frames needed).
pub fn generator_threads_beside_inbetweens() -> usize {
    std::thread::available_parallelism().map_or(1, |cores| cores.get().saturating_sub(1).max(1))
}

/// When the generator runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyframePace {
    /// On its own thread, whenever it is free (live sources).
    #[default]
    AsFastAsItCan,
    /// On the calling thread, every this many frames (a clip, whose frames wait; or a CPU
    /// spared).
    Every(u32),
}

/// A picture the generator made, with the keypoints it was made for.
pub struct Keyframe {
    pub picture: RgbImage,
    /// How long the generator took to make it.
    pub took: std::time::Duration,
    pub deformation: Option<Deformation>,
    pub keypoints: Keypoints,
}

/// What a frame showed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Picture {
    /// A picture the generator made for this very frame.
    Generated,
    /// The newest keyframe moved to this frame's keypoints; `new_keyframe` is how long the
    /// generator took for that keyframe when it arrived with this frame.
    Inbetween {
        new_keyframe: Option<std::time::Duration>,
    },
}

/// A picture to make: for which stream and avatar (the epoch), from which encoding, for which
/// keypoints.
type Job = (u64, Arc<SourceEncoding>, Keypoints);

/// The generator's thread and the newest keyframe.
pub struct Keyframes {
    engine: FommEngine,
    pace: KeyframePace,
    /// `None` once dropping: the thread then ends after its job.
    jobs: Option<Sender<Job>>,
    done: Receiver<(u64, Result<Keyframe, FommError>)>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// Counts the streams and avatars: a picture made for an older one is dropped.
    epoch: u64,
    /// A job is on the generator's thread.
    busy: bool,
    newest: Option<Keyframe>,
    frames: u64,
}

impl Keyframes {
    pub fn new(engine: FommEngine, pace: KeyframePace) -> Keyframes {
        let (jobs, job_queue) = crossbeam_channel::bounded::<Job>(1);
        let (results, done) = crossbeam_channel::bounded(1);
        let worker = engine.clone();
        // The thread ends when the jobs' sender goes (with these keyframes).
        let thread = std::thread::Builder::new()
            .name("fomm-generator".into())
            .spawn(move || {
                for (epoch, encoding, keypoints) in job_queue {
                    let started = std::time::Instant::now();
                    let made =
                        worker
                            .animate(&encoding, &keypoints)
                            .map(|(picture, deformation)| Keyframe {
                                picture,
                                took: started.elapsed(),
                                deformation,
                                keypoints,
                            });
                    if results.send((epoch, made)).is_err() {
                        break;
                    }
                }
            })
            .expect("a thread for the FOMM generator");
        Keyframes {
            engine,
            pace,
            jobs: Some(jobs),
            done,
            thread: Some(thread),
            epoch: 0,
            busy: false,
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
        self.epoch += 1;
    }

    /// The picture the thread made, waiting for it when `wait`, if it is this epoch's (one made
    /// for an older stream or avatar is dropped). `None`: none ready, an older one, or the
    /// thread is gone.
    fn take_made(&mut self, wait: bool) -> Option<Result<Keyframe, FommError>> {
        loop {
            let (epoch, made) = if wait {
                self.done.recv().ok()?
            } else {
                self.done.try_recv().ok()?
            };
            self.busy = false;
            if epoch == self.epoch {
                return Some(made);
            }
            if wait {
                // The one in flight was an older stream's: nothing else is coming.
                return None;
            }
        }
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
        if self.pace == KeyframePace::AsFastAsItCan && self.newest.is_none() && self.busy {
            // The thread is still making a picture (an older stream's, or this one's first):
            // wait for it, so that nothing older is shown and the thread is free again.
            if let Some(made) = self.take_made(true) {
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
            if let Some(made) = self.take_made(false) {
                let made = made?;
                new_keyframe = Some(made.took);
                self.newest = Some(made);
            }
            if let (false, Some(jobs)) = (self.busy, &self.jobs) {
                let job = (self.epoch, encoding.clone(), keypoints.clone());
                self.busy = jobs.try_send(job).is_ok();
            }
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

impl Drop for Keyframes {
    /// Waits for the generator's thread to finish the picture it is making (at most one
    /// generator run): no network may still run once its element has stopped.
    fn drop(&mut self) {
        self.jobs = None;
        // A finished picture nobody takes would keep the thread waiting to hand it over.
        while self.done.try_recv().is_ok() {}
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
