//! The eyelids: how a blink is drawn. The upper lid of each eye moves towards the lower one by
//! the driver's eye closure; the eye corners hold the motion to the eye.

use super::{towards, FaceAxes, FeatureMotion};
use crate::motion::Point;
use crate::warp::layout::Eye;

/// Indices of the lids in [`super::Features::points`].
pub(super) const RIGHT_UPPER: usize = 0;
pub(super) const RIGHT_LOWER: usize = 1;
pub(super) const LEFT_UPPER: usize = 2;
pub(super) const LEFT_LOWER: usize = 3;

/// How closed an eye is (0 open as at rest, 1 closed) from its openness `now` and at `rest`.
/// An eye counts as open down to three quarters of its rest openness, so that a still face's
/// jitter moves nothing, and as closed from under a third.
pub(super) fn closure(now: f32, rest: f32) -> f32 {
    let ratio = now / rest.max(0.05);
    ((0.75 - ratio) / (0.75 - 0.3)).clamp(0.0, 1.0)
}

/// The upper and lower lid of the right eye, then of the left.
pub(super) fn place(axes: &FaceAxes, right: &Eye, left: &Eye) -> [Point; 4] {
    let lid = |eye: &Eye, side: f32| axes.at(&eye.centre, 0.0, side * eye.height / axes.eyes);
    [
        lid(right, -0.5),
        lid(right, 0.5),
        lid(left, -0.5),
        lid(left, 0.5),
    ]
}

/// The eye corners, outer and inner of the right eye then inner and outer of the left: held
/// with the head, so a blink bends only the lids.
pub(super) fn corners(axes: &FaceAxes, right: &Eye, left: &Eye) -> [Point; 4] {
    let corner = |eye: &Eye, side: f32| axes.at(&eye.centre, side * eye.width / axes.eyes, 0.0);
    [
        corner(right, -0.5),
        corner(right, 0.5),
        corner(left, -0.5),
        corner(left, 0.5),
    ]
}

/// Closes the upper lids by the motion's eye closure. A closed lid rests just above the lower
/// one: the eye is a line, not gone.
pub(super) fn close(points: &mut [Point], motion: &FeatureMotion) {
    points[RIGHT_UPPER] = towards(
        points[RIGHT_UPPER],
        points[RIGHT_LOWER],
        0.9 * motion.right_eye_closure.clamp(0.0, 1.0),
    );
    points[LEFT_UPPER] = towards(
        points[LEFT_UPPER],
        points[LEFT_LOWER],
        0.9 * motion.left_eye_closure.clamp(0.0, 1.0),
    );
}
