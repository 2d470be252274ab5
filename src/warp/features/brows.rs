//! The brows: raised and lowered with the driver's, where the portrait draws them. A brow hidden
//! under the bangs is held where a brow would be (it keeps the lids' motion from reaching the
//! forehead) and does not move: the hair over it must not.

use super::{beyond, index, shift, FaceAxes, FeatureMotion};
use crate::motion::Point;
use crate::warp::layout::FaceLayout;

/// How far a brow rises for a full raise, and falls for a full frown, in eye distances.
const RAISE: f32 = 0.14;
const LOWER: f32 = 0.06;

/// How far a brow rose (-1 fell, 1 rose) from the driver's brow height `now` against `rest`
/// (over the distance between the outer eye corners: about 0.22 calm, 0.05 more raised).
pub(super) fn raise(now: f32, rest: f32) -> f32 {
    beyond(now, rest, 0.01, 0.045)
}

/// The right brow, then the left: where the layout found them, or half an eye distance above
/// each eye where it found none.
pub(super) fn place(axes: &FaceAxes, layout: &FaceLayout) -> [Point; 2] {
    [
        layout
            .right_brow
            .unwrap_or_else(|| axes.at(&layout.right_eye.centre, 0.0, -0.5)),
        layout
            .left_brow
            .unwrap_or_else(|| axes.at(&layout.left_eye.centre, 0.0, -0.5)),
    ]
}

/// Raises (or lowers) the drawn brows by the motion.
pub(super) fn raise_drawn(
    points: &mut [Point],
    axes: &FaceAxes,
    motion: &FeatureMotion,
    drawn: [bool; 2],
) {
    for (side, (amount, drawn)) in [motion.right_brow, motion.left_brow]
        .into_iter()
        .zip(drawn)
        .enumerate()
    {
        if drawn {
            let up = if amount >= 0.0 { RAISE } else { LOWER } * amount.clamp(-1.0, 1.0);
            let at = index::BROWS + side;
            points[at] = shift(points[at], -up * axes.eyes, axes.down);
        }
    }
}
