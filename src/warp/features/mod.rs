//! The portrait's features that move on their own, apart from the head: each in a file of its
//! own, named after it. `lids` (blinks) and `lips` (an opening, widening mouth) move; `brows`
//! are placed but only follow the head. What comes next (gaze: the irises) goes beside them, as
//! a placement in [`Features::place`] and a motion in [`Features::moved`].

mod brows;
mod lids;
mod lips;

pub(super) use lips::{paint_mouth, parted_gap};

use crate::face::Expression;
use crate::motion::Point;

/// How far the portrait's eyes and mouth move from rest, from the driver's expression.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FeatureMotion {
    /// 0 open as at rest, 1 closed.
    pub right_eye_closure: f32,
    pub left_eye_closure: f32,
    /// 0 closed as at rest, 1 wide open.
    pub mouth_opening: f32,
    /// -1 narrow, 0 as at rest, 1 wide.
    pub mouth_widening: f32,
}

impl FeatureMotion {
    /// The portrait's eyes and mouth for the driver's expression `now`, relative to `rest` (at
    /// calibration). The expression is not smoothed over time, so a blink (100 to 150 ms) stays
    /// crisp; each feature holds back its own jitter (`lids::closure`, `lips::opening`).
    pub fn between(now: &Expression, rest: &Expression) -> FeatureMotion {
        FeatureMotion {
            right_eye_closure: lids::closure(now.right_eye, rest.right_eye),
            left_eye_closure: lids::closure(now.left_eye, rest.left_eye),
            mouth_opening: lips::opening(now, rest),
            mouth_widening: lips::widening(now, rest),
        }
    }

    /// `self` at `weight` 0, `other` at 1.
    pub fn towards(&self, other: &FeatureMotion, weight: f32) -> FeatureMotion {
        let mix = |a: f32, b: f32| a + (b - a) * weight;
        FeatureMotion {
            right_eye_closure: mix(self.right_eye_closure, other.right_eye_closure),
            left_eye_closure: mix(self.left_eye_closure, other.left_eye_closure),
            mouth_opening: mix(self.mouth_opening, other.mouth_opening),
            mouth_widening: mix(self.mouth_widening, other.mouth_widening),
        }
    }
}

/// Where the features are measured from: the eye line's unit vector (from the right eye to the
/// left), the unit vector down the face, in portrait pixels, and the distance between the eyes.
#[derive(Debug, Clone, Copy)]
pub(super) struct FaceAxes {
    pub along: Point,
    pub down: Point,
    pub eyes: f32,
}

impl FaceAxes {
    /// The point `a` eye distances along the eye line and `d` down the face from `origin`.
    fn at(&self, origin: &Point, a: f32, d: f32) -> Point {
        [
            origin[0] + self.eyes * (a * self.along[0] + d * self.down[0]),
            origin[1] + self.eyes * (a * self.along[1] + d * self.down[1]),
        ]
    }
}

/// The portrait's eyes and mouth, placed from BlazeFace's six landmarks with anime-face
/// proportions (in eye distances along the eye line and across it): the lids and lips that
/// move, and the eye corners, brows and chin that hold the motion to the features.
#[derive(Debug, Clone)]
pub(super) struct Features {
    /// The lids ([`lids::RIGHT_UPPER`] ...), the lips and chin ([`lips::UPPER`] ...), then the
    /// points that only follow the head: eye corners and brows.
    pub points: Vec<Point>,
    pub axes: FaceAxes,
}

impl Features {
    /// From BlazeFace's order: right eye, left eye, nose, mouth, right ear, left ear.
    pub fn place(landmarks: &[Point]) -> Option<Features> {
        let [right, left, _, mouth, ..] = landmarks else {
            return None;
        };
        let (dx, dy) = (left[0] - right[0], left[1] - right[1]);
        let eyes = dx.hypot(dy);
        if eyes < 1.0 {
            return None;
        }
        let along = [dx / eyes, dy / eyes];
        let down = [-along[1], along[0]];
        let axes = FaceAxes { along, down, eyes };
        let mut points = Vec::with_capacity(15);
        points.extend(lids::place(&axes, right, left));
        points.extend(lips::place(&axes, mouth));
        // Held with the head: eye corners and brows.
        points.extend(lids::corners(&axes, right, left));
        points.extend(brows::place(&axes, right, left));
        Some(Features { points, axes })
    }

    /// The feature points moved by `motion`, in portrait pixels.
    pub fn moved(&self, motion: &FeatureMotion) -> Vec<Point> {
        let mut points = self.points.clone();
        lids::close(&mut points, motion);
        lips::open(&mut points, &self.axes, motion);
        points
    }
}

/// `from` moved `amount` of the way to `to`.
fn towards(from: Point, to: Point, amount: f32) -> Point {
    [
        from[0] + amount * (to[0] - from[0]),
        from[1] + amount * (to[1] - from[1]),
    ]
}

/// `point` moved `amount` along the unit vector `axis`.
fn shift(point: Point, amount: f32, axis: Point) -> Point {
    [point[0] + amount * axis[0], point[1] + amount * axis[1]]
}
