//! The brows: placed above each eye and held with the head (they keep the lids' motion from
//! reaching the forehead). Brow motion from the driver would be added here.

use super::FaceAxes;
use crate::motion::Point;

/// The right brow, then the left: half an eye distance above each eye.
pub(super) fn place(axes: &FaceAxes, right: &Point, left: &Point) -> [Point; 2] {
    [axes.at(right, 0.0, -0.5), axes.at(left, 0.0, -0.5)]
}
