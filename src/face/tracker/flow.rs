//! Optical flow between detections: corners seeded inside the face box, followed frame to frame,
//! and the robust shift and scale they agree on.

use opencv::core::{Mat, Point2f, Vector};
use opencv::prelude::*;

use crate::face::{FaceError, Rect};

const MAX_FLOW_POINTS: i32 = 60;
pub(super) const MIN_FLOW_POINTS: usize = 8;

pub(super) struct Flow {
    pub gray: Mat,
    pub points: Vector<Point2f>,
    pub seeded: usize,
    pub scale: f32,
}

/// Corners to follow inside the face box (shrunk so background corners stay out), searched in
/// that region only: corner detection over the whole frame costs more than the detector.
pub(super) fn seed_flow(
    gray_frame: Mat,
    face: &Rect,
    scale: f32,
) -> Result<Option<Flow>, FaceError> {
    let inner = Rect::from_center(
        face.center().0 * scale,
        face.center().1 * scale,
        face.width * scale * 0.8,
        face.height * scale * 0.8,
    );
    let x0 = (inner.x.max(0.0) as i32).min(gray_frame.cols());
    let y0 = (inner.y.max(0.0) as i32).min(gray_frame.rows());
    let x1 = ((inner.x + inner.width) as i32).clamp(x0, gray_frame.cols());
    let y1 = ((inner.y + inner.height) as i32).clamp(y0, gray_frame.rows());
    if x1 - x0 < 8 || y1 - y0 < 8 {
        return Ok(None);
    }
    let region = Mat::roi(
        &gray_frame,
        opencv::core::Rect::new(x0, y0, x1 - x0, y1 - y0),
    )?;
    let mut corners = Vector::<Point2f>::new();
    opencv::imgproc::good_features_to_track(
        &region,
        &mut corners,
        MAX_FLOW_POINTS,
        0.01,
        3.0,
        &opencv::core::no_array(),
        3,
        false,
        0.04,
    )?;
    drop(region);
    if corners.len() < MIN_FLOW_POINTS {
        return Ok(None);
    }
    let points: Vector<Point2f> = corners
        .iter()
        .map(|p| Point2f::new(p.x + x0 as f32, p.y + y0 as f32))
        .collect();
    Ok(Some(Flow {
        gray: gray_frame,
        seeded: points.len(),
        points,
        scale,
    }))
}

fn median(values: &mut [f32]) -> f32 {
    values.sort_by(f32::total_cmp);
    let middle = values.len() / 2;
    if values.len().is_multiple_of(2) {
        (values[middle - 1] + values[middle]) / 2.0
    } else {
        values[middle]
    }
}

/// Robust shift and scale between matched points: medians of the displacements and of the ratios
/// of distances between point pairs (after, before), so a few wrong matches do not move the box.
pub(super) fn similarity(before: &[Point2f], after: &[Point2f]) -> (f32, f32, f32) {
    let mut dx: Vec<f32> = before.iter().zip(after).map(|(b, a)| a.x - b.x).collect();
    let mut dy: Vec<f32> = before.iter().zip(after).map(|(b, a)| a.y - b.y).collect();
    let distance = |p: &Point2f, q: &Point2f| ((p.x - q.x).powi(2) + (p.y - q.y).powi(2)).sqrt();
    let mut ratios = Vec::new();
    let n = before.len();
    for i in 0..n {
        for j in (i + 1..n).step_by((n / 8).max(1)) {
            let d_before = distance(&before[i], &before[j]);
            if d_before > 4.0 {
                ratios.push(distance(&after[i], &after[j]) / d_before);
            }
        }
    }
    let scale = if ratios.is_empty() {
        1.0
    } else {
        median(&mut ratios)
    };
    (median(&mut dx), median(&mut dy), scale)
}
