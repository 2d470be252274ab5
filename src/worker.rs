//! A network that runs on a thread of its own, one job at a time, while the streaming thread goes
//! on: the newest frame is offered whenever the thread is free, and its result is taken when
//! ready. FOMM's generator and the style networks make their keyframes this way (in-betweens
//! fill the frames between).

use crossbeam_channel::{Receiver, Sender};

/// ONNX Runtime threads for a network that runs beside in-betweens: every core but one, which
/// the streaming thread keeps for tracking, keypoints and the in-betweens. Measured on 2 cores
/// (`animecam bench --live 20 --mode fomm --precision int8`, the talking clip at 30 fps): with one
/// generator thread 2.80 pictures made a second, 29.4 shown, latency mean 30 ms; with two, 2.65
/// made, 27.7 shown, 56 ms (the generator's threads took the core the frames needed).
pub fn network_threads_beside_inbetweens() -> usize {
    std::thread::available_parallelism().map_or(1, |cores| cores.get().saturating_sub(1).max(1))
}

/// When a network that makes keyframes runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyframePace {
    /// On its own thread, whenever it is free (live sources).
    #[default]
    AsFastAsItCan,
    /// On the calling thread, every this many frames (a clip, whose frames wait; or a CPU
    /// spared).
    Every(u32),
}

/// What a frame showed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Picture {
    /// A picture the network made for this very frame.
    Generated,
    /// The newest keyframe moved to this frame's keypoints; `new_keyframe` is how long the
    /// network took for that keyframe when it arrived with this frame.
    Inbetween {
        new_keyframe: Option<std::time::Duration>,
    },
}

/// The thread and its one job in flight. Jobs and results carry an epoch: a new stream or avatar
/// ([`Worker::forget`]) drops whatever was made for the old one.
pub struct Worker<J, R> {
    /// `None` once dropping: the thread then ends after its job.
    jobs: Option<Sender<(u64, J)>>,
    done: Receiver<(u64, R)>,
    thread: Option<std::thread::JoinHandle<()>>,
    epoch: u64,
    /// A job is on the thread.
    busy: bool,
}

impl<J: Send + 'static, R: Send + 'static> Worker<J, R> {
    /// A thread named `name` running `work` on each job offered.
    pub fn spawn(name: &str, mut work: impl FnMut(J) -> R + Send + 'static) -> Worker<J, R> {
        let (jobs, job_queue) = crossbeam_channel::bounded::<(u64, J)>(1);
        let (results, done) = crossbeam_channel::bounded(1);
        // The thread ends when the jobs' sender goes (with the worker).
        let thread = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                for (epoch, job) in job_queue {
                    if results.send((epoch, work(job))).is_err() {
                        break;
                    }
                }
            })
            .expect("a thread for a network");
        Worker {
            jobs: Some(jobs),
            done,
            thread: Some(thread),
            epoch: 0,
            busy: false,
        }
    }

    /// Whether a job is on the thread.
    pub fn is_busy(&self) -> bool {
        self.busy
    }

    /// Starts `job` when the thread is free; false (and the job dropped) when it is busy.
    pub fn offer(&mut self, job: J) -> bool {
        if let (false, Some(jobs)) = (self.busy, &self.jobs) {
            self.busy = jobs.try_send((self.epoch, job)).is_ok();
            return self.busy;
        }
        false
    }

    /// A new stream or avatar: what the thread makes for the old one is dropped.
    pub fn forget(&mut self) {
        self.epoch += 1;
    }

    /// This epoch's result if one is ready (older ones are dropped).
    pub fn take(&mut self) -> Option<R> {
        while let Ok((epoch, result)) = self.done.try_recv() {
            self.busy = false;
            if epoch == self.epoch {
                return Some(result);
            }
        }
        None
    }

    /// Waits for the job in flight: its result if it is this epoch's; `None` when nothing is in
    /// flight, it was an older epoch's, or the thread is gone.
    pub fn wait(&mut self) -> Option<R> {
        if !self.busy {
            return None;
        }
        let (epoch, result) = self.done.recv().ok()?;
        self.busy = false;
        (epoch == self.epoch).then_some(result)
    }
}

impl<J, R> Drop for Worker<J, R> {
    /// Waits for the thread to finish the job it is on (at most one network run): no network may
    /// still run once its element has stopped.
    fn drop(&mut self) {
        self.jobs = None;
        // A finished result nobody takes would keep the thread waiting to hand it over.
        while self.done.try_recv().is_ok() {}
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// What a frame does with its keyframes ([`PacedWorker::turn`]).
pub enum Turn<R> {
    /// Make this frame's picture on the caller's thread: the first of a stream, or every Nth.
    MakeHere,
    /// Show an in-between of the newest keyframe, after taking in the one the thread made, if
    /// one arrived.
    Between(Option<R>),
}

/// A [`Worker`] at a [`KeyframePace`]: which frames make their picture on the caller's thread,
/// and when the thread is offered the newest frame or waited for.
pub struct PacedWorker<J, R> {
    pace: KeyframePace,
    worker: Worker<J, R>,
    frames: u64,
}

impl<J: Send + 'static, R: Send + 'static> PacedWorker<J, R> {
    pub fn spawn(
        name: &str,
        pace: KeyframePace,
        work: impl FnMut(J) -> R + Send + 'static,
    ) -> PacedWorker<J, R> {
        PacedWorker {
            pace,
            worker: Worker::spawn(name, work),
            frames: 0,
        }
    }

    pub fn pace(&self) -> KeyframePace {
        self.pace
    }

    /// A new stream or avatar: counted afresh, and what the thread makes for the old one dropped.
    pub fn forget(&mut self) {
        self.frames = 0;
        self.worker.forget();
    }

    /// This frame's turn, `has_keyframe` saying whether a keyframe is there to move; `job` makes
    /// this frame's job, offered to the thread when it is free.
    pub fn turn(&mut self, has_keyframe: bool, job: impl FnOnce() -> J) -> Turn<R> {
        self.frames += 1;
        match self.pace {
            KeyframePace::Every(every) => {
                if (self.frames - 1).is_multiple_of(u64::from(every.max(1))) {
                    Turn::MakeHere
                } else {
                    Turn::Between(None)
                }
            }
            KeyframePace::AsFastAsItCan => {
                let arrived = if has_keyframe {
                    self.worker.take()
                } else {
                    // The thread is still making a picture (an older stream's, or this one's
                    // first): wait for it, so that nothing older is shown and the thread is free
                    // again; with nothing in flight the picture is made here.
                    match self.worker.wait() {
                        Some(made) => Some(made),
                        None => return Turn::MakeHere,
                    }
                };
                // The job is made only for a free thread (a busy one would drop it).
                if !self.worker.is_busy() {
                    self.worker.offer(job());
                }
                Turn::Between(arrived)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_of_a_forgotten_epoch_are_dropped_and_busy_jobs_refused() {
        let (release, gate) = crossbeam_channel::bounded::<()>(0);
        let mut worker = Worker::spawn("test-worker", move |job: u32| {
            gate.recv().unwrap();
            job * 2
        });
        assert!(worker.offer(1));
        assert!(!worker.offer(2), "a second job while the first runs");
        release.send(()).unwrap();
        assert_eq!(worker.wait(), Some(2));
        assert!(!worker.is_busy());
        assert!(worker.offer(3));
        worker.forget();
        release.send(()).unwrap();
        assert_eq!(worker.wait(), None, "made for the forgotten epoch");
        assert!(worker.offer(4));
        release.send(()).unwrap();
        let started = std::time::Instant::now();
        let result = loop {
            if let Some(result) = worker.take() {
                break result;
            }
            assert!(started.elapsed().as_secs() < 10, "no result");
            std::thread::yield_now();
        };
        assert_eq!(result, 8);
    }

    #[test]
    fn a_paced_worker_makes_the_first_picture_here_then_offers_frames_and_hands_back_results() {
        let (release, gate) = crossbeam_channel::bounded::<()>(0);
        let mut paced = PacedWorker::spawn("test-paced", KeyframePace::AsFastAsItCan, move |job| {
            gate.recv().unwrap();
            job
        });
        let between = |turn: Turn<u32>| match turn {
            Turn::MakeHere => panic!("made here"),
            Turn::Between(arrived) => arrived,
        };
        // Nothing to move and nothing in flight: the first picture is made here.
        assert!(matches!(paced.turn(false, || 1), Turn::MakeHere));
        // Then each frame is offered; the thread takes the first and is busy with it.
        assert_eq!(between(paced.turn(true, || 2)), None);
        assert_eq!(between(paced.turn(true, || 3)), None);
        release.send(()).unwrap();
        let started = std::time::Instant::now();
        let arrived = loop {
            if let Some(made) = between(paced.turn(true, || 4)) {
                break made;
            }
            assert!(started.elapsed().as_secs() < 10, "no result");
            std::thread::yield_now();
        };
        assert_eq!(
            arrived, 2,
            "the job offered first, not the ones refused while busy"
        );
        // A new stream: with a job of the old one in flight, the first frame waits for it and
        // makes its picture here (the old one's is dropped).
        paced.forget();
        release.send(()).unwrap();
        assert!(matches!(paced.turn(false, || 5), Turn::MakeHere));
        let mut every = PacedWorker::spawn("test-every", KeyframePace::Every(3), |job: u32| job);
        let made_here: Vec<bool> = (0..7)
            .map(|frame| matches!(every.turn(true, || frame), Turn::MakeHere))
            .collect();
        assert_eq!(made_here, [true, false, false, true, false, false, true]);
    }
}
