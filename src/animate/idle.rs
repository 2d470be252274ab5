//! What the avatar does while no face drives it: it holds its last pose for a moment (a face
//! lost for a few frames comes back), then eases back to rest, and stays alive there (breathing,
//! a blink every few seconds). When a face drives again it takes over gradually, not in a jump.
//! Times are the stream's, in seconds.

use crate::warp::WarpPose;

/// How long the return to rest takes once it starts, seconds.
pub const EASE_TO_REST_S: f64 = 0.5;
/// How long a returning face takes to take over from the resting pose, seconds.
pub const TAKE_OVER_S: f64 = 0.15;
/// Breathing: one breath every this many seconds, the chest rising and falling by this fraction
/// of the picture's height (the head less).
const BREATH_PERIOD_S: f64 = 4.0;
const BREATH_AMPLITUDE: f32 = 0.008;
/// A blink: how long the lids take to close and open again, and the spacing between blinks
/// (from `BLINK_EVERY_S` to `BLINK_EVERY_S + BLINK_SPREAD_S`, varying blink to blink).
const BLINK_S: f64 = 0.15;
const BLINK_EVERY_S: f64 = 3.0;
const BLINK_SPREAD_S: f64 = 2.5;

/// How the avatar rests without a face.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IdleSettings {
    /// Seconds without a driving face before the avatar eases back to rest.
    pub rest_after: f64,
    /// Breathe (a slow rise and fall of the chest), with a face and without.
    pub breathing: bool,
    /// Blink every few seconds while resting.
    pub blinking: bool,
}

impl Default for IdleSettings {
    fn default() -> Self {
        IdleSettings {
            rest_after: 0.3,
            breathing: true,
            blinking: true,
        }
    }
}

/// Where the avatar is between a driving face and rest.
#[derive(Debug, Clone, Default)]
pub struct Presence {
    /// Since when no face has driven (`None` while one does).
    absent_since: Option<f64>,
    /// When a face took over again after the avatar had begun resting, from what it showed.
    returned_at: Option<f64>,
    /// The stream time of the last frame: for a stream that starts again (a seek back).
    last_time: Option<f64>,
}

/// What the avatar should show on a frame without a driving face.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Absent {
    /// The last picture again (a face missing for a moment).
    Hold,
    /// On the way to rest: `weight` 0 is the pose shown when the face left, 1 is rest.
    Resting { weight: f32 },
}

/// 0 at 0, 1 at 1 and beyond: half linear, half smoothstep, so it starts and ends gently (at
/// half speed) without the smoothstep's 1.5x speed in the middle, which made the steepest
/// frame-to-frame change of the way to rest a third larger.
fn ease(x: f64) -> f32 {
    let x = x.clamp(0.0, 1.0);
    (0.5 * x + 0.5 * x * x * (3.0 - 2.0 * x)) as f32
}

impl Presence {
    /// A new stream: nothing of the old one's absence carries over.
    pub fn reset(&mut self) {
        *self = Presence::default();
    }

    fn tick(&mut self, time: f64) {
        if self.last_time.is_some_and(|last| time < last) {
            self.reset();
        }
        self.last_time = Some(time);
    }

    /// A frame at `time` without a driving face.
    pub fn absent(&mut self, time: f64, settings: &IdleSettings) -> Absent {
        self.tick(time);
        self.returned_at = None;
        let since = *self.absent_since.get_or_insert(time);
        let waited = time - since - settings.rest_after;
        if waited < 0.0 {
            Absent::Hold
        } else {
            Absent::Resting {
                weight: ease(waited / EASE_TO_REST_S),
            }
        }
    }

    /// A frame at `time` with a driving face. Returns how much of the driven pose to show
    /// (1: all of it; less while taking over from a rest that had begun).
    pub fn present(&mut self, time: f64, settings: &IdleSettings) -> f32 {
        self.tick(time);
        if let Some(since) = self.absent_since.take() {
            if time - since >= settings.rest_after {
                self.returned_at = Some(time);
            }
        }
        match self.returned_at {
            Some(at) if time - at < TAKE_OVER_S => ease((time - at) / TAKE_OVER_S),
            _ => {
                self.returned_at = None;
                1.0
            }
        }
    }
}

/// How far the chest is raised at `time`, in fractions of the picture's height (0 when
/// `settings` do not breathe).
pub fn breath(time: f64, settings: &IdleSettings) -> f32 {
    if !settings.breathing {
        return 0.0;
    }
    BREATH_AMPLITUDE * (time / BREATH_PERIOD_S * std::f64::consts::TAU).sin() as f32
}

/// The resting pose at `time`: `rest` with a breath and a blink now and then, as `settings`
/// allow.
pub fn idle_pose(rest: &WarpPose, time: f64, settings: &IdleSettings) -> WarpPose {
    let mut pose = *rest;
    pose.breath = breath(time, settings);
    if settings.blinking {
        let closure = blink_closure(time);
        pose.motion.right_eye_closure = pose.motion.right_eye_closure.max(closure);
        pose.motion.left_eye_closure = pose.motion.left_eye_closure.max(closure);
    }
    pose
}

/// How closed the lids are at `time` in the idle blinking: 0 open, 1 closed at the middle of a
/// blink. Blinks come every few seconds, the spacing varying from one to the next (a fixed
/// pseudo-random sequence: the same stream time blinks the same way).
fn blink_closure(time: f64) -> f32 {
    let mut start = 1.0;
    let mut index = 0u32;
    while start + BLINK_S < time {
        start += BLINK_EVERY_S + BLINK_SPREAD_S * spread(index);
        index += 1;
    }
    if time < start {
        return 0.0;
    }
    let through = (time - start) / BLINK_S;
    (1.0 - (2.0 * through - 1.0).abs()) as f32
}

/// A number in [0, 1) that varies with `index` (a hash, not a random generator: nothing here is
/// random between runs).
fn spread(index: u32) -> f64 {
    let mut x = index.wrapping_mul(0x9E37_79B9) ^ 0x85EB_CA6B;
    x ^= x >> 15;
    x = x.wrapping_mul(0x2C1B_3C6D);
    x ^= x >> 12;
    f64::from(x) / (f64::from(u32::MAX) + 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_avatar_holds_then_eases_to_rest_and_a_face_takes_over_gently() {
        let settings = IdleSettings::default();
        let mut presence = Presence::default();
        assert_eq!(presence.present(0.0, &settings), 1.0);
        // Gone for less than rest_after: held.
        assert_eq!(presence.absent(1.0, &settings), Absent::Hold);
        assert_eq!(presence.absent(1.29, &settings), Absent::Hold);
        // Then on the way to rest, monotonically, at rest after EASE_TO_REST_S.
        let mut last = 0.0;
        for step in 0..=20 {
            let time = 1.3 + step as f64 * 0.03;
            let Absent::Resting { weight } = presence.absent(time, &settings) else {
                panic!("resting from {time}")
            };
            assert!(
                weight >= last && weight - last <= 0.12,
                "{last} -> {weight}"
            );
            last = weight;
        }
        assert_eq!(last, 1.0);
        // Back: the face takes over within TAKE_OVER_S.
        let taking = presence.present(2.0, &settings);
        assert!(taking < 0.1, "{taking}");
        assert!(presence.present(2.1, &settings) > 0.5);
        assert_eq!(presence.present(2.16, &settings), 1.0);
        // A face missing for a moment and back: no take-over, it never rested.
        presence.absent(3.0, &settings);
        assert_eq!(presence.present(3.1, &settings), 1.0);
    }

    #[test]
    fn blinks_come_every_few_seconds_and_last_a_moment() {
        let frames: Vec<f32> = (0..30 * 20)
            .map(|frame| blink_closure(frame as f64 / 30.0))
            .collect();
        let closed: Vec<usize> = (1..frames.len())
            .filter(|&i| frames[i] >= 0.5 && frames[i - 1] < 0.5)
            .collect();
        assert!((4..=7).contains(&closed.len()), "{closed:?}");
        for pair in closed.windows(2) {
            let gap = (pair[1] - pair[0]) as f64 / 30.0;
            assert!((BLINK_EVERY_S..=BLINK_EVERY_S + BLINK_SPREAD_S + 0.1).contains(&gap));
        }
        assert!(frames.iter().filter(|&&c| c > 0.0).count() <= closed.len() * 5);
    }
}
