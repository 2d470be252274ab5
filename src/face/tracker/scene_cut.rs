//! Scene cuts: a new shot is a new face, even where a face sits in the same place.

/// A scene cut: the thumbnail changed by this much on average (of 255)...
const CUT_MEAN_DIFFERENCE: f32 = 30.0;
/// ...and its pattern no longer correlates with the last one's (a camera's exposure change or a
/// person moving leaves the correlation high).
const CUT_MAX_CORRELATION: f32 = 0.5;
/// Thumbnails with less contrast than this (standard deviation, of 255) show no scene.
const CUT_MIN_CONTRAST: f32 = 8.0;

/// Whether two frames' grey thumbnails belong to different shots: a large change whose pattern
/// does not correlate. A plain frame (a covered lens, a camera's black frame) is no shot: the
/// face is held through it as through any frame without one.
pub(super) fn is_scene_cut(before: &[f32], after: &[f32]) -> bool {
    let count = before.len() as f32;
    let mean_difference = before
        .iter()
        .zip(after)
        .map(|(a, b)| (a - b).abs())
        .sum::<f32>()
        / count;
    if mean_difference < CUT_MEAN_DIFFERENCE {
        return false;
    }
    let mean = |values: &[f32]| values.iter().sum::<f32>() / count;
    let (mean_before, mean_after) = (mean(before), mean(after));
    let (mut covariance, mut variance_before, mut variance_after) = (0.0, 0.0, 0.0);
    for (a, b) in before.iter().zip(after) {
        let (a, b) = (a - mean_before, b - mean_after);
        covariance += a * b;
        variance_before += a * a;
        variance_after += b * b;
    }
    let plain = |variance: f32| (variance / count).sqrt() < CUT_MIN_CONTRAST;
    if plain(variance_before) || plain(variance_after) {
        return false;
    }
    let correlation = covariance / (variance_before * variance_after).sqrt().max(1e-6);
    correlation < CUT_MAX_CORRELATION
}
