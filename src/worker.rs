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
}
