//! The irises: the deepest patches of ink in the eyes' band, each beside an eye's white.

use opencv::core::{Mat, Point as CvPoint, Scalar, Size, CV_8U};
use opencv::prelude::*;

use super::{colour_at, distance, is_ink};
use crate::image::RgbImage;
use crate::motion::Point;
use crate::warp::layout::{Circle, Eye, FaceAxes, FaceLayout};

/// Colours within this RGB distance of the hair's are hair.
const HAIR_DISTANCE: f32 = 45.0;

/// The ink of `picture` in the rectangle from (`left`, `top`), `width` by `height` (clipped to
/// the picture; `None` when little is left), closed over gaps of `gap` pixels (the highlights
/// drawn in irises), with the rectangle's corner.
fn ink_mask(
    picture: &RgbImage,
    [left, top]: Point,
    [width, height]: Point,
    gap: f32,
    skin: [f32; 3],
    hair: Option<[f32; 3]>,
) -> Option<(Mat, i32, i32)> {
    let left = left.round().max(0.0) as i32;
    let top = top.round().max(0.0) as i32;
    let right = ((left as f32 + width).round() as i32).min(picture.width() as i32);
    let bottom = ((top as f32 + height).round() as i32).min(picture.height() as i32);
    let (width, height) = (right - left, bottom - top);
    if width < 4 || height < 4 {
        return None;
    }
    let mut mask = Mat::new_rows_cols_with_default(height, width, CV_8U, Scalar::all(0.0)).ok()?;
    for y in 0..height {
        for x in 0..width {
            let colour = picture
                .rgb((left + x) as usize, (top + y) as usize)
                .map(f32::from);
            let hair_coloured = hair.is_some_and(|hair| distance(colour, hair) < HAIR_DISTANCE);
            if is_ink(colour, skin) && !hair_coloured {
                *mask.at_2d_mut::<u8>(y, x).ok()? = 255;
            }
        }
    }
    let side = (gap.round() as i32).max(3) | 1;
    let kernel = opencv::imgproc::get_structuring_element(
        opencv::imgproc::MORPH_ELLIPSE,
        Size::new(side, side),
        CvPoint::new(-1, -1),
    )
    .ok()?;
    let mut closed = Mat::default();
    opencv::imgproc::morphology_ex(
        &mask,
        &mut closed,
        opencv::imgproc::MORPH_CLOSE,
        &kernel,
        CvPoint::new(-1, -1),
        1,
        opencv::core::BORDER_CONSTANT,
        Scalar::all(0.0),
    )
    .ok()?;
    Some((closed, left, top))
}

/// Each pixel's distance to the nearest pixel that is not ink.
fn depth_of_ink(mask: &Mat) -> Option<Mat> {
    let mut distances = Mat::default();
    opencv::imgproc::distance_transform(
        mask,
        &mut distances,
        opencv::imgproc::DIST_L2,
        3,
        opencv::core::CV_32F,
    )
    .ok()?;
    Some(distances)
}

/// The deepest point of `depths` and its depth.
fn deepest(depths: &Mat) -> Option<(f32, CvPoint)> {
    let (mut peak, mut at) = (0.0f64, CvPoint::default());
    opencv::core::min_max_loc(
        depths,
        None,
        Some(&mut peak),
        None,
        Some(&mut at),
        &opencv::core::no_array(),
    )
    .ok()?;
    Some((peak as f32, at))
}

/// The disc around the deepest ink point `at` (of depth `radius`): centred on the ink within
/// its reach (the peak alone sits anywhere along the middle of an iris cut by the lids).
fn disc_around(mask: &Mat, at: CvPoint, radius: f32, left: i32, top: i32) -> Option<Circle> {
    let reach = 1.2 * radius;
    let (mut sum_x, mut sum_y, mut count) = (0.0f32, 0.0f32, 0.0f32);
    let span = reach.ceil() as i32;
    for y in (at.y - span).max(0)..(at.y + span + 1).min(mask.rows()) {
        for x in (at.x - span).max(0)..(at.x + span + 1).min(mask.cols()) {
            let (dx, dy) = ((x - at.x) as f32, (y - at.y) as f32);
            if dx.hypot(dy) <= reach && *mask.at_2d::<u8>(y, x).ok()? > 0 {
                sum_x += x as f32;
                sum_y += y as f32;
                count += 1.0;
            }
        }
    }
    (count > 0.0).then(|| Circle {
        centre: [left as f32 + sum_x / count, top as f32 + sum_y / count],
        radius,
    })
}

/// The two irises: the deepest points of the ink across the eyes' band (hair and lashes merge
/// with irises into one patch, so patches are not told apart; depth tells a disc from a line),
/// each with the white of an eye beside it; the pair most alike in size, level, as far apart as
/// eyes are and nearest where the layout placed the eyes.
pub(super) fn iris_pair(
    picture: &RgbImage,
    layout: &FaceLayout,
    axes: &FaceAxes,
    skin: [f32; 3],
) -> Option<(Circle, Circle)> {
    let eyes = axes.eyes;
    let (right, left) = (layout.right_eye.centre, layout.left_eye.centre);
    let corner = [
        right[0].min(left[0]) - 0.8 * eyes,
        right[1].min(left[1]) - 0.6 * eyes,
    ];
    let extent = [
        (right[0] - left[0]).abs() + 1.6 * eyes,
        (right[1] - left[1]).abs() + 1.2 * eyes,
    ];
    let hair = hair_colour(picture, layout, axes, skin);
    let (mask, x0, y0) = ink_mask(picture, corner, extent, 0.05 * eyes, skin, hair)?;
    let mut depths = depth_of_ink(&mask)?;
    let mut candidates: Vec<(Circle, f32)> = Vec::new();
    for _ in 0..60 {
        let (radius, at) = deepest(&depths)?;
        if radius < 0.05 * eyes {
            break;
        }
        // Nothing else within this disc is another iris.
        opencv::imgproc::circle(
            &mut depths,
            at,
            (1.2 * radius).round() as i32,
            Scalar::all(0.0),
            -1,
            opencv::imgproc::LINE_8,
            0,
        )
        .ok()?;
        // A disc cut by the band's edge is hair going on beyond it.
        let inside = at.x as f32 > radius
            && at.y as f32 > radius
            && ((mask.cols() - at.x) as f32) > radius
            && ((mask.rows() - at.y) as f32) > radius;
        if radius > 0.3 * eyes || !inside {
            continue;
        }
        if let Some(disc) = disc_around(&mask, at, radius, x0, y0) {
            candidates.push((disc, white_beside(picture, &disc, skin)));
        }
    }
    let (picture_left, picture_right) = if right[0] <= left[0] {
        (right, left)
    } else {
        (left, right)
    };
    let off = |p: Point, q: Point| (p[0] - q[0]).hypot(p[1] - q[1]) / eyes;
    let mut best: Option<(f32, Circle, Circle)> = None;
    for (a, a_white) in &candidates {
        for (b, b_white) in &candidates {
            if a.centre[0] >= b.centre[0] {
                continue;
            }
            let (dx, dy) = (b.centre[0] - a.centre[0], b.centre[1] - a.centre[1]);
            let apart = dx.hypot(dy);
            if !(0.55 * eyes..=1.7 * eyes).contains(&apart) || dy.abs() > 0.3 * apart {
                continue;
            }
            // Irises are the largest discs there, each beside the white of its eye (hair
            // strands make discs too, but without the white); bangs may cut one iris smaller.
            let score = 0.5 * (a.radius - b.radius).abs() / a.radius.max(b.radius)
                + dy.abs() / apart
                + off(a.centre, picture_left)
                + off(b.centre, picture_right)
                + 1.5 * (2.0 - a_white - b_white)
                - (a.radius + b.radius) / (0.3 * eyes);
            if best.as_ref().is_none_or(|(s, ..)| score < *s) {
                best = Some((score, *a, *b));
            }
        }
    }
    let (_, a, b) = best?;
    // The character's right eye is the one the layout has on its side of the picture.
    Some(if right[0] <= left[0] { (a, b) } else { (b, a) })
}

/// The hair's colour: the median over the forehead (where bangs are), when it is not skin.
fn hair_colour(
    picture: &RgbImage,
    layout: &FaceLayout,
    axes: &FaceAxes,
    skin: [f32; 3],
) -> Option<[f32; 3]> {
    let eyes = [
        (layout.right_eye.centre[0] + layout.left_eye.centre[0]) / 2.0,
        (layout.right_eye.centre[1] + layout.left_eye.centre[1]) / 2.0,
    ];
    let forehead = axes.at(&eyes, 0.0, -0.8);
    let colours: Vec<[f32; 3]> = (-4..=4)
        .flat_map(|a| (-2..=2).map(move |d| (a, d)))
        .filter_map(|(a, d)| {
            colour_at(
                picture,
                axes.at(&forehead, a as f32 * 0.03, d as f32 * 0.03),
            )
        })
        .collect();
    if colours.is_empty() {
        return None;
    }
    let median = [0, 1, 2].map(|channel| {
        let mut values: Vec<f32> = colours.iter().map(|c| c[channel]).collect();
        values.sort_by(f32::total_cmp);
        values[values.len() / 2]
    });
    (distance(median, skin) > 80.0).then_some(median)
}

/// Whether a colour is the white of an eye: near white, and not the skin (pale skins are
/// near white too).
fn is_eye_white(colour: [f32; 3], skin: [f32; 3]) -> bool {
    colour.iter().all(|&c| c > 225.0) && distance(colour, skin) > 15.0
}

/// The share of white (an eye's) in the ring from 1.2 to 1.8 radii around `disc`, in [0, 1]
/// scaled so that an eye's usual share (a fifth of the ring or more) counts fully.
fn white_beside(picture: &RgbImage, disc: &Circle, skin: [f32; 3]) -> f32 {
    let mut white = 0usize;
    let mut total = 0usize;
    for ring in [1.2f32, 1.5, 1.8] {
        for step in 0..24 {
            let angle = step as f32 * std::f32::consts::TAU / 24.0;
            let at = [
                disc.centre[0] + ring * disc.radius * angle.cos(),
                disc.centre[1] + ring * disc.radius * angle.sin(),
            ];
            if let Some(colour) = colour_at(picture, at) {
                total += 1;
                white += usize::from(is_eye_white(colour, skin));
            }
        }
    }
    (5.0 * white as f32 / total.max(1) as f32).min(1.0)
}

/// The thickest patch of ink in the eye's box: its inscribed circle, centred on the ink around
/// it.
pub(super) fn iris_in(picture: &RgbImage, eye: &Eye, skin: [f32; 3]) -> Option<Circle> {
    let (half_width, half_height) = (0.5 * eye.width, 0.6 * eye.height);
    let (mask, left, top) = ink_mask(
        picture,
        [eye.centre[0] - half_width, eye.centre[1] - half_height],
        [2.0 * half_width, 2.0 * half_height],
        0.15 * eye.height,
        skin,
        None,
    )?;
    let (radius, at) = deepest(&depth_of_ink(&mask)?)?;
    // Lashes are thin lines: a disc a sixth of the eye's height across at least is an iris.
    if radius < eye.height / 12.0 {
        return None;
    }
    disc_around(&mask, at, radius, left, top)
}
