//! The gaze: each iris found in the portrait slides inside its eye where the driver looks. The
//! eye's corners and lids hold still around it, so the iris moves under the lids and never out
//! of the eye.

use super::{shift, FaceAxes, FeatureMotion};
use crate::face::Gaze;
use crate::motion::Point;
use crate::warp::layout::{Eye, FaceLayout};

/// An iris and how far it may move: along the eye line and across it, in pixels.
#[derive(Debug, Clone, Copy)]
pub(super) struct IrisRoom {
    pub centre: Point,
    along: f32,
    across: f32,
}

/// The driver's gaze (see [`Gaze`]: along the eye line, about -0.5 to 0.5 at the corners; across
/// it, about -0.3 to 0.3) against `rest`, as a direction within -1 and 1 each way.
pub(super) fn direction(now: &Gaze, rest: &Gaze) -> Point {
    [
        super::beyond(now.yaw, rest.yaw, 0.03, 0.3),
        super::beyond(now.pitch, rest.pitch, 0.03, 0.2),
    ]
}

/// The irises the layout found, right then left, each with its room: what is left of the eye
/// beside the disc, most of it (the spline bends the disc a little at its edge).
pub(super) fn rooms(layout: &FaceLayout) -> Vec<IrisRoom> {
    [&layout.right_eye, &layout.left_eye]
        .into_iter()
        .filter_map(|eye: &Eye| {
            let iris = eye.iris?;
            Some(IrisRoom {
                centre: iris.centre,
                along: 0.7 * (0.5 * eye.width - iris.radius).max(0.12 * eye.width),
                // Anime irises fill the eye's height: looking up or down slides them a little
                // under a lid.
                across: 0.15 * eye.height,
            })
        })
        .collect()
}

/// Moves the irises (`points`, one per room) by the motion's gaze.
pub(super) fn look(
    points: &mut [Point],
    rooms: &[IrisRoom],
    axes: &FaceAxes,
    motion: &FeatureMotion,
) {
    for (point, room) in points.iter_mut().zip(rooms) {
        let along = room.along * motion.gaze[0].clamp(-1.0, 1.0);
        let across = room.across * motion.gaze[1].clamp(-1.0, 1.0);
        *point = shift(shift(*point, along, axes.along), across, axes.down);
    }
}
