//! The portrait's features that move on their own, apart from the head: each in a file of its
//! own, named after it. `lids` (blinks), `lips` (an opening, widening, smiling mouth), `brows`
//! (raised and lowered, where drawn), `gaze` (the irises inside the eyes) and `turn` (the head
//! turned in depth: the features slide across the face, the outline less).

mod brows;
mod gaze;
mod lids;
mod lips;
mod turn;

pub(super) use lips::{paint_mouth, parted_gap};
pub use turn::Turn;

use super::layout::{FaceAxes, FaceLayout};
use crate::face::{Expression, Gaze};
use crate::motion::Point;

/// How far the portrait's eyes, brows and mouth move from rest, from the driver's expression.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FeatureMotion {
    /// 0 open as at rest, 1 closed.
    pub right_eye_closure: f32,
    pub left_eye_closure: f32,
    /// 0 closed as at rest, 1 wide open.
    pub mouth_opening: f32,
    /// -1 narrow, 0 as at rest, 1 wide.
    pub mouth_widening: f32,
    /// The mouth's corners: -1 down (a frown), 0 as at rest, 1 up (a smile).
    pub mouth_form: f32,
    /// Each brow: -1 lowered, 0 as at rest, 1 raised.
    pub right_brow: f32,
    pub left_brow: f32,
    /// Where the irises look: along the eye line (-1 to the character's right, the picture's
    /// left, 1 the other way) and down the face (-1 up, 1 down), as far as the eye allows.
    pub gaze: Point,
}

impl FeatureMotion {
    /// The portrait's eyes, brows and mouth for the driver's expression `now`, relative to `rest`
    /// (at calibration). The expression is not smoothed over time, so a blink (100 to 150 ms)
    /// stays crisp; each feature holds back its own jitter (`lids::closure`, `lips::opening`,
    /// ...).
    pub fn between(now: &Expression, rest: &Expression) -> FeatureMotion {
        FeatureMotion {
            right_eye_closure: lids::closure(now.right_eye, rest.right_eye),
            left_eye_closure: lids::closure(now.left_eye, rest.left_eye),
            mouth_opening: lips::opening(now, rest),
            mouth_widening: lips::widening(now, rest),
            mouth_form: lips::form(now, rest),
            right_brow: brows::raise(now.right_brow, rest.right_brow),
            left_brow: brows::raise(now.left_brow, rest.left_brow),
            gaze: [0.0, 0.0],
        }
    }

    /// The same, the irises looking where `now` looks relative to `rest`.
    pub fn looking(mut self, now: &Gaze, rest: &Gaze) -> FeatureMotion {
        self.gaze = gaze::direction(now, rest);
        self
    }

    /// `self` at `weight` 0, `other` at 1.
    pub fn towards(&self, other: &FeatureMotion, weight: f32) -> FeatureMotion {
        let mix = |a: f32, b: f32| a + (b - a) * weight;
        FeatureMotion {
            right_eye_closure: mix(self.right_eye_closure, other.right_eye_closure),
            left_eye_closure: mix(self.left_eye_closure, other.left_eye_closure),
            mouth_opening: mix(self.mouth_opening, other.mouth_opening),
            mouth_widening: mix(self.mouth_widening, other.mouth_widening),
            mouth_form: mix(self.mouth_form, other.mouth_form),
            right_brow: mix(self.right_brow, other.right_brow),
            left_brow: mix(self.left_brow, other.left_brow),
            gaze: [
                mix(self.gaze[0], other.gaze[0]),
                mix(self.gaze[1], other.gaze[1]),
            ],
        }
    }
}

/// Indices in [`Features::points`] of what a caller may measure: the lids, the lips, the mouth
/// corners and the chin come first, in this order.
pub mod index {
    pub const RIGHT_UPPER_LID: usize = 0;
    pub const RIGHT_LOWER_LID: usize = 1;
    pub const LEFT_UPPER_LID: usize = 2;
    pub const LEFT_LOWER_LID: usize = 3;
    pub const UPPER_LIP: usize = 4;
    pub const LOWER_LIP: usize = 5;
    pub const RIGHT_MOUTH_CORNER: usize = 6;
    pub const LEFT_MOUTH_CORNER: usize = 7;
    pub const CHIN: usize = 8;
    /// The eye corners: outer and inner of the right eye, inner and outer of the left.
    pub const EYE_CORNERS: usize = 9;
    /// The right brow, then the left (held with the head where none is drawn).
    pub const BROWS: usize = 13;
    pub const NOSE: usize = 15;
    /// The face outline's points ([`super::super::FaceLayout::outline`]), then the irises found.
    pub const OUTLINE: usize = 16;
}

/// The portrait's face parts as control points of the warp: the lids and lips that move, the
/// eye corners, brows, nose and outline that move with the turn, and the irises that move with
/// the gaze.
#[derive(Debug, Clone)]
pub(super) struct Features {
    /// In the order of [`index`], the irises found last.
    pub points: Vec<Point>,
    pub axes: FaceAxes,
    /// Which of the brows are drawn (the others are held).
    brows_drawn: [bool; 2],
    /// The irises found (right, left), with how far each may move in its eye.
    irises: Vec<gaze::IrisRoom>,
    turn: turn::FaceDepth,
}

impl Features {
    pub fn place(layout: &FaceLayout) -> Option<Features> {
        let axes = layout.axes()?;
        let mut points = Vec::with_capacity(24);
        points.extend(lids::place(&axes, &layout.right_eye, &layout.left_eye));
        points.extend(lips::place(&axes, layout));
        points.extend(lids::corners(&axes, &layout.right_eye, &layout.left_eye));
        let placed = brows::place(&axes, layout);
        points.extend(placed);
        points.push(layout.nose);
        points.extend(&layout.outline);
        let irises = gaze::rooms(layout);
        points.extend(irises.iter().map(|iris| iris.centre));
        Some(Features {
            points,
            axes,
            brows_drawn: [layout.right_brow.is_some(), layout.left_brow.is_some()],
            irises,
            turn: turn::FaceDepth::of(layout, &axes),
        })
    }

    /// The feature points moved by `motion` and turned by `turn`, in portrait pixels.
    pub fn moved(&self, motion: &FeatureMotion, turn: &Turn) -> Vec<Point> {
        let mut points = self.points.clone();
        lids::close(&mut points, motion);
        lips::open(&mut points, &self.axes, motion);
        brows::raise_drawn(&mut points, &self.axes, motion, self.brows_drawn);
        let first_iris = points.len() - self.irises.len();
        gaze::look(&mut points[first_iris..], &self.irises, &self.axes, motion);
        let outline = index::OUTLINE..first_iris;
        self.turn.apply(&mut points, index::NOSE, outline, turn);
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

/// How far `now` is from `rest` beyond `jitter` (a still face's noise), over `full` (the change
/// that moves the feature all the way), within -1 and 1.
fn beyond(now: f32, rest: f32, jitter: f32, full: f32) -> f32 {
    let change = now - rest;
    let past = (change.abs() - jitter).max(0.0).copysign(change);
    (past / full).clamp(-1.0, 1.0)
}
