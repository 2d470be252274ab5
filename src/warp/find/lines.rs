//! The lines and edges: the brows, the mouth's drawn line, and where the skin ends (the chin and
//! the outline).

use super::{colour_at, distance, is_ink};
use crate::image::RgbImage;
use crate::motion::Point;
use crate::warp::layout::{Eye, FaceAxes, FaceLayout};

/// Walks from `from` along the unit vector `step` (1 pixel each) while `keep` holds, over gaps
/// of at most `gap` pixels, for at most `limit` pixels; the last pixel where it held, if the walk
/// ended before the limit.
fn walk(
    from: Point,
    step: Point,
    limit: f32,
    gap: f32,
    keep: impl Fn(Point) -> Option<bool>,
) -> Option<Point> {
    let (mut last, mut missed) = (from, 0.0);
    let mut travelled = 0.0;
    while travelled < limit {
        travelled += 1.0;
        let at = [from[0] + travelled * step[0], from[1] + travelled * step[1]];
        if keep(at)? {
            last = at;
            missed = 0.0;
        } else {
            missed += 1.0;
            if missed > gap {
                return Some(last);
            }
        }
    }
    None
}

/// Skin for the outline's walks: colours near the skin's (shading and blush included); the
/// drawn outline, the hair or the background end it.
fn is_face(picture: &RgbImage, at: Point, skin: [f32; 3]) -> Option<bool> {
    colour_at(picture, at).map(|colour| distance(colour, skin) < 80.0)
}

/// The mouth's drawn line: the row between the nose and the chin with the most ink across the
/// face's middle, nearest where the layout put the mouth; and its width, as far as the ink runs.
pub(super) fn mouth_line(
    picture: &RgbImage,
    layout: &FaceLayout,
    axes: &FaceAxes,
    skin: [f32; 3],
) -> Option<(Point, f32)> {
    let eyes = axes.eyes;
    let middle = layout.mouth;
    let ink_share = |at: Point| {
        let samples: Vec<bool> = (-4..=4)
            .filter_map(|a| colour_at(picture, axes.at(&at, a as f32 * 0.02, 0.0)))
            .map(|colour| is_ink(colour, skin))
            .collect();
        samples.iter().filter(|&&s| s).count() as f32 / samples.len().max(1) as f32
    };
    let mut best: Option<(f32, Point)> = None;
    let steps = (0.3 * eyes).round() as i32;
    for step in -steps..=steps {
        let at = axes.at(&middle, 0.0, step as f32 / eyes);
        let share = ink_share(at);
        let score = share - 0.3 * (step.abs() as f32 / steps.max(1) as f32);
        if share >= 0.3 && best.as_ref().is_none_or(|(s, _)| score > *s) {
            best = Some((score, at));
        }
    }
    let (_, line) = best?;
    let ink = |at: Point| colour_at(picture, at).map(|colour| is_ink(colour, skin));
    let gap = (0.03 * eyes).max(2.0);
    let reach = 0.35 * eyes;
    let right_end = walk(line, [-axes.along[0], -axes.along[1]], reach, gap, ink)
        .unwrap_or_else(|| axes.at(&line, -0.35, 0.0));
    let left_end =
        walk(line, axes.along, reach, gap, ink).unwrap_or_else(|| axes.at(&line, 0.35, 0.0));
    let width = (left_end[0] - right_end[0]).hypot(left_end[1] - right_end[1]);
    let centre = [
        (left_end[0] + right_end[0]) / 2.0,
        (left_end[1] + right_end[1]) / 2.0,
    ];
    Some((centre, width.clamp(0.12 * eyes, 0.7 * eyes)))
}

/// The chin: where the skin below the mouth ends (the jaw's drawn line), within an eye distance.
pub(super) fn chin_below(
    picture: &RgbImage,
    layout: &FaceLayout,
    axes: &FaceAxes,
    skin: [f32; 3],
) -> Option<Point> {
    let eyes = axes.eyes;
    // Start below the lips' ink.
    let from = axes.at(&layout.mouth, 0.0, 0.08);
    let chin = walk(from, axes.down, eyes, 0.03 * eyes, |at| {
        is_face(picture, at, skin)
    })?;
    let below =
        (chin[0] - layout.mouth[0]) * axes.down[0] + (chin[1] - layout.mouth[1]) * axes.down[1];
    (below > 0.15 * eyes).then_some(chin)
}

/// The outline: at the temples (level with the eyes), the cheeks and the jaw, where the skin
/// ends on each side. A side whose skin does not end within reach keeps its placed point.
pub(super) fn outline_in(
    picture: &RgbImage,
    layout: &mut FaceLayout,
    axes: &FaceAxes,
    skin: [f32; 3],
) {
    if layout.outline.len() != 6 {
        return;
    }
    let eyes = axes.eyes;
    let eye_line = [
        (layout.right_eye.centre[0] + layout.left_eye.centre[0]) / 2.0,
        (layout.right_eye.centre[1] + layout.left_eye.centre[1]) / 2.0,
    ];
    let down_to =
        |p: Point| (p[0] - eye_line[0]) * axes.down[0] + (p[1] - eye_line[1]) * axes.down[1];
    let mouth = down_to(layout.mouth);
    let chin = down_to(layout.chin);
    // Along the face's middle line (from the eyes' middle down through the mouth).
    let levels = [
        (0.15 * eyes, 0.5 + layout.right_eye.width / eyes / 2.0),
        (0.5 * mouth, 0.25),
        (mouth + 0.4 * (chin - mouth), 0.15),
    ];
    let middle_at = |depth: f32| {
        let t = depth / mouth.max(1.0);
        [
            eye_line[0] + t * (layout.mouth[0] - eye_line[0]),
            eye_line[1] + t * (layout.mouth[1] - eye_line[1]),
        ]
    };
    let face = |at: Point| is_face(picture, at, skin);
    for (level, (depth, start)) in levels.iter().enumerate() {
        let middle = middle_at(*depth);
        for (side, sign) in [(level, -1.0f32), (5 - level, 1.0)] {
            let from = axes.at(&middle, sign * start, 0.0);
            let step = [sign * axes.along[0], sign * axes.along[1]];
            if let Some(edge) = walk(from, step, 1.2 * eyes, 0.025 * eyes, face) {
                layout.outline[side] = edge;
            }
        }
    }
}

/// The brow above `eye`: going up from the upper lid, past the lashes, over skin, then a band of
/// ink no thicker than 0.2 eye distances with skin over it. `None` where the hair (or nothing
/// drawn) takes the place of skin.
pub(super) fn brow_above(
    picture: &RgbImage,
    eye: &Eye,
    axes: &FaceAxes,
    skin: [f32; 3],
) -> Option<Point> {
    let lid = axes.at(&eye.centre, 0.0, -0.5 * eye.height / axes.eyes);
    let step = 1.0 / axes.eyes;
    let skin_share = |up: f32| {
        let samples: Vec<bool> = (-6..=6)
            .filter_map(|a| {
                let at = axes.at(&lid, a as f32 * 0.04, -up);
                colour_at(picture, at).map(|colour| !is_ink(colour, skin))
            })
            .collect();
        samples.iter().filter(|&&s| s).count() as f32 / samples.len().max(1) as f32
    };
    let mut up = 0.0;
    // Past the lashes (and a glasses' frame) to skin, within 0.45 eye distances.
    while skin_share(up) < 0.6 {
        up += step;
        if up > 0.45 {
            return None;
        }
    }
    // Over the skin to the next ink.
    while skin_share(up) >= 0.5 {
        up += step;
        if up > 0.8 {
            return None;
        }
    }
    let start = up;
    // Through the ink: a brow is thin, with skin above it; hair goes on.
    while skin_share(up) < 0.6 {
        up += step;
        if up - start > 0.2 {
            return None;
        }
    }
    // Skin over it, not a gap between strands of bangs.
    let mut above = up;
    while above < up + 0.06 {
        if skin_share(above) < 0.6 {
            return None;
        }
        above += step;
    }
    Some(axes.at(&lid, 0.0, -(start + up) / 2.0))
}
