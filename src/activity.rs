//! What an animation did with the frames it was given: pictures generated, frames repeated
//! because no face was seen, calibrations, portrait loads. The live status line and the live
//! benchmark read it, so that a standing avatar always has a stated reason.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// Counters an animation updates from its streaming thread while others read them.
#[derive(Debug, Default)]
pub struct Activity {
    frames: AtomicU64,
    generated: AtomicU64,
    inbetweens: AtomicU64,
    repeated_without_face: AtomicU64,
    calibrations: AtomicU64,
    generate_ns: AtomicU64,
    loading: AtomicBool,
}

impl Activity {
    /// A frame arrived.
    pub fn frame(&self) {
        self.frames.fetch_add(1, Ordering::Relaxed);
    }

    /// A new picture was made (network or warp), taking `took`.
    pub fn generated(&self, took: Duration) {
        self.generated.fetch_add(1, Ordering::Relaxed);
        self.generate_ns
            .fetch_add(took.as_nanos() as u64, Ordering::Relaxed);
    }

    /// An in-between was shown: the newest generated picture moved to this frame's face.
    pub fn inbetween(&self) {
        self.inbetweens.fetch_add(1, Ordering::Relaxed);
    }

    /// The last picture was shown again: this frame had no face to follow.
    pub fn repeated_without_face(&self) {
        self.repeated_without_face.fetch_add(1, Ordering::Relaxed);
    }

    /// The driving face's rest pose was taken.
    pub fn calibrated(&self) {
        self.calibrations.fetch_add(1, Ordering::Relaxed);
    }

    /// A portrait is being loaded (while it is, no frame is animated).
    pub fn set_loading(&self, loading: bool) {
        self.loading.store(loading, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> ActivitySnapshot {
        ActivitySnapshot {
            frames: self.frames.load(Ordering::Relaxed),
            generated: self.generated.load(Ordering::Relaxed),
            inbetweens: self.inbetweens.load(Ordering::Relaxed),
            repeated_without_face: self.repeated_without_face.load(Ordering::Relaxed),
            calibrations: self.calibrations.load(Ordering::Relaxed),
            generate_time: Duration::from_nanos(self.generate_ns.load(Ordering::Relaxed)),
            loading: self.loading.load(Ordering::Relaxed),
        }
    }
}

/// The counters at one moment; the difference of two tells what happened in between.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct ActivitySnapshot {
    pub frames: u64,
    pub generated: u64,
    /// Frames shown as in-betweens (FOMM's newest picture moved to the frame's face).
    pub inbetweens: u64,
    pub repeated_without_face: u64,
    pub calibrations: u64,
    /// Time spent making the generated pictures.
    pub generate_time: Duration,
    pub loading: bool,
}

impl ActivitySnapshot {
    /// What happened since `earlier` (`loading` is the current state).
    pub fn since(&self, earlier: &ActivitySnapshot) -> ActivitySnapshot {
        ActivitySnapshot {
            frames: self.frames.saturating_sub(earlier.frames),
            generated: self.generated.saturating_sub(earlier.generated),
            inbetweens: self.inbetweens.saturating_sub(earlier.inbetweens),
            repeated_without_face: self
                .repeated_without_face
                .saturating_sub(earlier.repeated_without_face),
            calibrations: self.calibrations.saturating_sub(earlier.calibrations),
            generate_time: self.generate_time.saturating_sub(earlier.generate_time),
            loading: self.loading,
        }
    }

    /// Mean time to make one picture, if any was made.
    pub fn time_per_picture(&self) -> Option<Duration> {
        (self.generated > 0).then(|| self.generate_time / self.generated as u32)
    }

    /// What the avatar is doing, judged over the span this snapshot covers.
    pub fn state(&self) -> AvatarState {
        if self.loading {
            AvatarState::LoadingPortrait
        } else if self.calibrations > 0 {
            AvatarState::Calibrating
        } else if self.generated > 0 || self.inbetweens > 0 {
            AvatarState::Animating
        } else if self.repeated_without_face > 0 {
            AvatarState::NoFace
        } else {
            AvatarState::Waiting
        }
    }
}

/// What a person sees the avatar doing, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AvatarState {
    LoadingPortrait,
    /// The driving face's rest pose was just taken.
    Calibrating,
    Animating,
    /// Frames came, none with a face that drives: the avatar holds its last pose for a moment,
    /// then rests.
    NoFace,
    /// No frame reached the animation (the network is still busy with an earlier one).
    Waiting,
}

impl std::fmt::Display for AvatarState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AvatarState::LoadingPortrait => "loading portrait",
            AvatarState::Calibrating => "calibrating: hold still, facing the camera",
            AvatarState::Animating => "animating",
            AvatarState::NoFace => "no face: resting",
            AvatarState::Waiting => "waiting for the network",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_names_why_the_avatar_moves_or_not() {
        let activity = Activity::default();
        let start = activity.snapshot();
        assert_eq!(
            activity.snapshot().since(&start).state(),
            AvatarState::Waiting
        );
        activity.frame();
        activity.repeated_without_face();
        let no_face = activity.snapshot().since(&start);
        assert_eq!(no_face.state(), AvatarState::NoFace);
        assert_eq!(no_face.time_per_picture(), None);

        let second = activity.snapshot();
        activity.frame();
        activity.calibrated();
        activity.generated(Duration::from_millis(30));
        assert_eq!(
            activity.snapshot().since(&second).state(),
            AvatarState::Calibrating
        );
        let third = activity.snapshot();
        for _ in 0..3 {
            activity.frame();
            activity.generated(Duration::from_millis(10));
        }
        activity.frame();
        activity.repeated_without_face();
        let moving = activity.snapshot().since(&third);
        assert_eq!(moving.state(), AvatarState::Animating);
        assert_eq!((moving.frames, moving.generated), (4, 3));
        assert_eq!(moving.time_per_picture(), Some(Duration::from_millis(10)));

        activity.set_loading(true);
        assert_eq!(
            activity.snapshot().since(&third).state(),
            AvatarState::LoadingPortrait
        );
    }
}
