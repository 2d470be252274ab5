//! The lips and the jaw: how a mouth opens, widens, smiles and frowns. The lower lip and the
//! chin drop for an open mouth, the corners move out for a wide mouth and up for a smile (down
//! for a frown), and the inside of a mouth opened wide is painted dark between the lips.

use opencv::core::Mat;
use opencv::prelude::*;

use super::{beyond, shift, FaceAxes, FeatureMotion};
use crate::face::Expression;
use crate::image::ImageError;
use crate::motion::{Point, Similarity};
use crate::warp::layout::FaceLayout;

/// Indices of the lips, the mouth corners and the chin in [`super::Features::points`].
pub(super) const UPPER: usize = 4;
pub(super) const LOWER: usize = 5;
pub(super) const RIGHT_CORNER: usize = 6;
pub(super) const LEFT_CORNER: usize = 7;
pub(super) const CHIN: usize = 8;
/// How far the lower lip drops for a wide open mouth, in eye distances.
const MOUTH_DROP: f32 = 0.28;
/// How far each mouth corner moves out for a wide smile, in eye distances.
const MOUTH_STRETCH: f32 = 0.06;
/// How far the corners rise for a full smile (and fall for a frown), in eye distances.
const CORNER_RISE: f32 = 0.07;

/// How open the mouth is (0 closed as at rest, 1 wide open) for the driver's expression `now`
/// against `rest`.
pub(super) fn opening(now: &Expression, rest: &Expression) -> f32 {
    ((now.mouth_open - rest.mouth_open - 0.02) / 0.35).clamp(0.0, 1.0)
}

/// How much wider the mouth is than at rest (-1 narrow, 0 as at rest, 1 wide).
pub(super) fn widening(now: &Expression, rest: &Expression) -> f32 {
    // A change of width within 3% of the rest width is jitter.
    let change = now.mouth_width / rest.mouth_width.max(0.05) - 1.0;
    let beyond = (change.abs() - 0.03).max(0.0).copysign(change);
    (beyond / 0.3).clamp(-1.0, 1.0)
}

/// How far the mouth's corners rose (-1 fell, a frown; 1 rose, a smile): the driver's corners
/// (their height above the lips' middle, over the eye distance, about -0.1 to 0.1) against rest.
pub(super) fn form(now: &Expression, rest: &Expression) -> f32 {
    beyond(now.mouth_corners, rest.mouth_corners, 0.008, 0.05)
}

/// The upper lip, lower lip, right and left mouth corner (on the mouth's drawn line), and the
/// chin.
pub(super) fn place(axes: &FaceAxes, layout: &FaceLayout) -> [Point; 5] {
    let half_width = 0.5 * layout.mouth_width / axes.eyes;
    [
        axes.at(&layout.mouth, 0.0, -0.02),
        axes.at(&layout.mouth, 0.0, 0.02),
        axes.at(&layout.mouth, -half_width, 0.0),
        axes.at(&layout.mouth, half_width, 0.0),
        layout.chin,
    ]
}

/// Opens and widens the mouth by the motion.
pub(super) fn open(points: &mut [Point], axes: &FaceAxes, motion: &FeatureMotion) {
    let drop = MOUTH_DROP * axes.eyes * motion.mouth_opening.clamp(0.0, 1.0);
    points[LOWER] = shift(points[LOWER], drop, axes.down);
    // The jaw drops with the lip, less far.
    points[CHIN] = shift(points[CHIN], 0.5 * drop, axes.down);
    let stretch = MOUTH_STRETCH * axes.eyes * motion.mouth_widening.clamp(-1.0, 1.0);
    points[RIGHT_CORNER] = shift(points[RIGHT_CORNER], -stretch, axes.along);
    points[LEFT_CORNER] = shift(points[LEFT_CORNER], stretch, axes.along);
    let rise = CORNER_RISE * axes.eyes * motion.mouth_form.clamp(-1.0, 1.0);
    for corner in [RIGHT_CORNER, LEFT_CORNER] {
        points[corner] = shift(points[corner], -rise, axes.down);
    }
}

/// How far the lips parted beyond their drawn line, in output pixels, for a head zoomed by
/// `head_scale`.
pub(in crate::warp) fn parted_gap(axes: &FaceAxes, motion: &FeatureMotion, head_scale: f32) -> f32 {
    MOUTH_DROP * axes.eyes * motion.mouth_opening.clamp(0.0, 1.0) * head_scale
}

/// The inside of an open mouth: a dark ellipse between the lips, instead of skin stretched.
/// `moved` are the feature points as [`super::Features::moved`] left them, `gap` the parting.
pub(in crate::warp) fn paint_mouth(
    picture: &mut Mat,
    head: &Similarity,
    moved: &[Point],
    gap: f32,
) -> Result<(), ImageError> {
    let (upper, lower) = (head.apply(moved[UPPER]), head.apply(moved[LOWER]));
    let (right, left) = (
        head.apply(moved[RIGHT_CORNER]),
        head.apply(moved[LEFT_CORNER]),
    );
    let centre = [(upper[0] + lower[0]) / 2.0, (upper[1] + lower[1]) / 2.0];
    let width = (left[0] - right[0]).hypot(left[1] - right[1]);
    let angle = (left[1] - right[1]).atan2(left[0] - right[0]).to_degrees();
    let mut overlay = picture.try_clone()?;
    opencv::imgproc::ellipse(
        &mut overlay,
        opencv::core::Point::new(centre[0].round() as i32, centre[1].round() as i32),
        opencv::core::Size::new(
            (0.4 * width).round().max(1.0) as i32,
            (0.45 * gap).round().max(1.0) as i32,
        ),
        angle as f64,
        0.0,
        360.0,
        opencv::core::Scalar::new(70.0, 25.0, 35.0, 0.0),
        -1,
        opencv::imgproc::LINE_AA,
        0,
    )?;
    let mut blended = Mat::default();
    opencv::core::add_weighted(&overlay, 0.85, picture, 0.15, 0.0, &mut blended, -1)?;
    *picture = blended;
    Ok(())
}
