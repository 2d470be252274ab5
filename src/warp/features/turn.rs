//! The head turned in depth (2.5D, as Live2D rigs turn a drawn head): the face is taken for a
//! cylinder round its vertical axis (and another round its horizontal one, for a nod). Turning it
//! slides each point across the face by how its place on the cylinder turns: the eyes, nose and
//! mouth in the middle move most, the outline at the sides least, so the far half of the face and
//! its eye narrow and the near half widens. The hair beyond the face (the warp's ring) does not
//! turn: it is the head's back.

use super::FaceAxes;
use crate::motion::Point;
use crate::warp::layout::FaceLayout;

/// How far the head is turned from rest, in radians: `yaw` to the character's left (the
/// picture's right), `pitch` down.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Turn {
    pub yaw: f32,
    pub pitch: f32,
}

impl Turn {
    /// `self` at `weight` 0, `other` at 1.
    pub fn towards(&self, other: &Turn, weight: f32) -> Turn {
        Turn {
            yaw: self.yaw + (other.yaw - self.yaw) * weight,
            pitch: self.pitch + (other.pitch - self.pitch) * weight,
        }
    }
}

/// The nose stands out of the face: it moves this much further than the cylinder's surface, in
/// half face widths per unit of the turn's sine.
const NOSE_DEPTH: f32 = 0.25;
/// The outline is the cylinder's edge, where a drawn face shows its contour rather than turning
/// it: it slides this share of what the cylinder says (parallax against the features).
const OUTLINE_DEPTH: f32 = 0.5;

/// The cylinders the face is drawn on: their axes through `centre`, their radii the face's half
/// width and half height.
#[derive(Debug, Clone, Copy)]
pub(super) struct FaceDepth {
    centre: Point,
    axes: FaceAxes,
    half_width: f32,
    half_height: f32,
}

impl FaceDepth {
    /// Across: between the outline's temples. Down: from half an eye distance above the eyes (the
    /// brows) to the chin.
    pub fn of(layout: &FaceLayout, axes: &FaceAxes) -> FaceDepth {
        let along = |p: Point| p[0] * axes.along[0] + p[1] * axes.along[1];
        let down = |p: Point| p[0] * axes.down[0] + p[1] * axes.down[1];
        let (first, last) = match (layout.outline.first(), layout.outline.last()) {
            (Some(first), Some(last)) => (*first, *last),
            _ => (
                axes.at(&layout.right_eye.centre, -0.6, 0.0),
                axes.at(&layout.left_eye.centre, 0.6, 0.0),
            ),
        };
        let eyes = [
            (layout.right_eye.centre[0] + layout.left_eye.centre[0]) / 2.0,
            (layout.right_eye.centre[1] + layout.left_eye.centre[1]) / 2.0,
        ];
        let top = down(eyes) - 0.5 * axes.eyes;
        let bottom = down(layout.chin);
        let middle_along = (along(first) + along(last)) / 2.0;
        let middle_down = (top + bottom) / 2.0;
        FaceDepth {
            centre: [
                middle_along * axes.along[0] + middle_down * axes.down[0],
                middle_along * axes.along[1] + middle_down * axes.down[1],
            ],
            axes: *axes,
            half_width: (0.5 * (along(last) - along(first)).abs()).max(0.5 * axes.eyes),
            half_height: (0.55 * (bottom - top)).max(0.5 * axes.eyes),
        }
    }

    /// Turns `points` (the nose at `nose`, the outline's at `outline`) by `turn`.
    pub fn apply(
        &self,
        points: &mut [Point],
        nose: usize,
        outline: std::ops::Range<usize>,
        turn: &Turn,
    ) {
        if *turn == Turn::default() {
            return;
        }
        let slide = |offset: f32, radius: f32, angle: f32| {
            let place = (offset / radius).clamp(-0.95, 0.95).asin();
            radius * ((place + angle).sin() - place.sin())
        };
        for (index, point) in points.iter_mut().enumerate() {
            let offset = [point[0] - self.centre[0], point[1] - self.centre[1]];
            let along = offset[0] * self.axes.along[0] + offset[1] * self.axes.along[1];
            let down = offset[0] * self.axes.down[0] + offset[1] * self.axes.down[1];
            let mut across = slide(along, self.half_width, turn.yaw);
            let mut vertical = slide(down, self.half_height, turn.pitch);
            if index == nose {
                across += NOSE_DEPTH * self.half_width * turn.yaw.sin();
                vertical += NOSE_DEPTH * self.half_height * turn.pitch.sin();
            }
            if outline.contains(&index) {
                across *= OUTLINE_DEPTH;
                vertical *= OUTLINE_DEPTH;
            }
            point[0] += across * self.axes.along[0] + vertical * self.axes.down[0];
            point[1] += across * self.axes.along[1] + vertical * self.axes.down[1];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::warp::features::{index, Features};

    #[test]
    fn a_turn_slides_the_features_towards_it_the_outline_less_and_narrows_the_far_eye() {
        let layout = FaceLayout::from_landmarks(&[
            [80.0, 100.0],
            [120.0, 100.0],
            [100.0, 120.0],
            [100.0, 140.0],
            [55.0, 105.0],
            [145.0, 105.0],
        ])
        .unwrap();
        let features = Features::place(&layout).unwrap();
        let rest = features.moved(&Default::default(), &Turn::default());
        let turned = features.moved(
            &Default::default(),
            &Turn {
                yaw: 25f32.to_radians(),
                pitch: 0.0,
            },
        );
        let shift = |i: usize| turned[i][0] - rest[i][0];
        let nose = shift(index::NOSE);
        let outline: f32 = (0..6).map(|i| shift(index::OUTLINE + i)).sum::<f32>() / 6.0;
        assert!(nose > 10.0, "the nose moved {nose}");
        assert!(
            outline > 0.0 && outline < 0.5 * nose,
            "outline {outline}, nose {nose}"
        );
        let width = |points: &[Point], first: usize| points[first + 1][0] - points[first][0];
        let far = index::EYE_CORNERS + 2;
        assert!(
            width(&turned, far) < 0.8 * width(&rest, far),
            "the far eye narrows"
        );
        assert!(width(&turned, index::EYE_CORNERS) > width(&rest, index::EYE_CORNERS));
        // A nod down moves the eyes down more than the chin.
        let nodded = features.moved(
            &Default::default(),
            &Turn {
                yaw: 0.0,
                pitch: 15f32.to_radians(),
            },
        );
        let drop = |i: usize| nodded[i][1] - rest[i][1];
        assert!(drop(index::RIGHT_UPPER_LID) > 2.0 * drop(index::CHIN).max(0.5));
    }
}
