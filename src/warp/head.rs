//! The head: how far it may move in the picture, and which changes of its pose are motion
//! rather than sensor noise. The head moves the whole portrait as one piece.

use super::{LandmarkWarp, Turn};
use crate::face::HeadPose;
use crate::motion::{centroid, Similarity};

/// Head motion smaller than this is sensor noise, not motion: the portrait stays where it was.
/// (A still face's landmarks wander by a few tenths of a pixel between detections; anime
/// outlines are sharp enough to show that.)
const STILL_SHIFT: f32 = 0.8;
const STILL_ZOOM: f32 = 0.008;
const STILL_ROLL_DEGREES: f32 = 0.5;
/// A turn (yaw or pitch) changing by less than this is noise; a turn within this of rest is none.
const STILL_TURN_DEGREES: f32 = 1.5;

/// Whether `next` differs from `previous` by more than noise in some parameter: a real motion.
pub fn is_motion(previous: &Similarity, next: &Similarity) -> bool {
    let (a, b) = (
        previous.apply(next.from_centre()),
        next.apply(next.from_centre()),
    );
    let shifted = (a[0] - b[0]).hypot(a[1] - b[1]) > STILL_SHIFT;
    let zoomed = (next.scale() / previous.scale().max(1e-6) - 1.0).abs() > STILL_ZOOM;
    let rolled = (next.angle_degrees() - previous.angle_degrees()).abs() > STILL_ROLL_DEGREES;
    shifted || zoomed || rolled
}

/// How far the head may move in the picture: the portrait's face never leaves it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeadLimits {
    pub min_zoom: f32,
    pub max_zoom: f32,
    pub max_roll_degrees: f32,
    /// How far the head turns in depth, left/right and up/down (a drawn face turned further
    /// would show what it does not have: its side).
    pub max_yaw_degrees: f32,
    pub max_pitch_degrees: f32,
    /// The face box keeps this much of the picture's side from each edge.
    pub margin: f32,
}

impl Default for HeadLimits {
    fn default() -> Self {
        HeadLimits {
            min_zoom: 0.6,
            max_zoom: 1.5,
            max_roll_degrees: 35.0,
            max_yaw_degrees: 30.0,
            max_pitch_degrees: 20.0,
            margin: 0.02,
        }
    }
}

impl HeadLimits {
    /// The portrait's turn for the driver's head pose `now` against `rest`, times `gain`, within
    /// the limits (a turn within noise of rest is none).
    pub fn turn(&self, now: &HeadPose, rest: &HeadPose, gain: f32) -> Turn {
        let still = STILL_TURN_DEGREES.to_radians();
        let beyond = |change: f32| (change.abs() - still).max(0.0).copysign(change) * gain;
        let limit = |value: f32, degrees: f32| {
            let most = degrees.to_radians();
            value.clamp(-most, most)
        };
        Turn {
            yaw: limit(beyond(now.yaw - rest.yaw), self.max_yaw_degrees),
            pitch: limit(beyond(now.pitch - rest.pitch), self.max_pitch_degrees),
        }
    }

    /// Whether the turn changed by more than noise from `previous` to `next`.
    pub fn is_turning(&self, previous: &Turn, next: &Turn) -> bool {
        let still = STILL_TURN_DEGREES.to_radians();
        (next.yaw - previous.yaw).abs() > still || (next.pitch - previous.pitch).abs() > still
    }
}

impl LandmarkWarp {
    /// The head's motion kept inside `limits`: zoom and roll clamped, and the face box (of
    /// the portrait's face size, zoomed) kept inside the picture.
    pub fn bounded(&self, head: &Similarity, limits: &HeadLimits) -> Similarity {
        let zoom = head.scale().clamp(limits.min_zoom, limits.max_zoom);
        let roll = head
            .angle_degrees()
            .clamp(-limits.max_roll_degrees, limits.max_roll_degrees)
            .to_radians();
        let centre = centroid(&self.landmarks);
        let moved = head.apply(centre);
        // The face box turned by the roll reaches |cos| + |sin| times as far from its centre.
        let turned = roll.cos().abs() + roll.sin().abs();
        let half = 0.5 * zoom * self.face_size * turned + limits.margin * self.size as f32;
        let keep = |value: f32| {
            let (low, high) = (half, self.size as f32 - half);
            if low <= high {
                value.clamp(low, high)
            } else {
                self.size as f32 / 2.0
            }
        };
        Similarity::new(centre, [keep(moved[0]), keep(moved[1])], zoom, roll)
    }
}
