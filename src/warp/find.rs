//! The portrait's face parts looked for in its pixels, around where the layout placed them.
//! Anime faces are drawn flat: skin is one colour, so whatever differs from it (and is not the
//! white of an eye) is ink: lashes, irises, brows, lines, hair. An iris is the deepest patch of
//! ink beside an eye's white; a brow a thin band of ink with skin under and over it above an eye;
//! the mouth the inkiest row between nose and chin; the chin and the outline where the skin
//! ends.

use opencv::core::{Mat, Point as CvPoint, Scalar, Size, CV_8U};
use opencv::prelude::*;

use super::layout::{Circle, Eye, FaceAxes, FaceLayout};
use crate::image::RgbImage;
use crate::motion::Point;

/// Colours within this RGB distance of the skin's are skin.
const SKIN_DISTANCE: f32 = 55.0;
/// Colours within this RGB distance of the hair's are hair.
const HAIR_DISTANCE: f32 = 45.0;

impl FaceLayout {
    /// The layout refined by what `picture` (the portrait these points are in) shows: the eyes
    /// moved onto the two irises found near them (a face detector places anime eyes loosely),
    /// the mouth onto the ink line between nose and chin, the chin and the outline onto where
    /// the skin ends, and a brow only where one is drawn on skin (under bangs it is hidden, and
    /// stays still).
    pub fn found_in(mut self, picture: &RgbImage) -> FaceLayout {
        let Some(axes) = self.axes() else {
            return self;
        };
        let skin = skin_colour(picture, &self, &axes);
        match iris_pair(picture, &self, &axes, skin) {
            Some((right, left)) => {
                for (eye, iris) in [(&mut self.right_eye, right), (&mut self.left_eye, left)] {
                    eye.centre = iris.centre;
                    eye.iris = Some(iris);
                }
            }
            None => {
                self.right_eye.iris = iris_in(picture, &self.right_eye, skin);
                self.left_eye.iris = iris_in(picture, &self.left_eye, skin);
            }
        }
        let Some(axes) = self.axes() else {
            return self;
        };
        self.right_brow = brow_above(picture, &self.right_eye, &axes, skin);
        self.left_brow = brow_above(picture, &self.left_eye, &axes, skin);
        if let Some((mouth, width)) = mouth_line(picture, &self, &axes, skin) {
            self.mouth = mouth;
            self.mouth_width = width;
        }
        if let Some(chin) = chin_below(picture, &self, &axes, skin) {
            self.chin = chin;
        }
        outline_in(picture, &mut self, &axes, skin);
        self
    }
}

fn colour_at(picture: &RgbImage, point: Point) -> Option<[f32; 3]> {
    let (x, y) = (point[0].round(), point[1].round());
    if x < 0.0 || y < 0.0 || x >= picture.width() as f32 || y >= picture.height() as f32 {
        return None;
    }
    Some(picture.rgb(x as usize, y as usize).map(f32::from))
}

fn distance(a: [f32; 3], b: [f32; 3]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(p, q)| (p - q).powi(2))
        .sum::<f32>()
        .sqrt()
}

/// The skin's colour: the median of each channel over both cheeks (between each eye and the
/// mouth, where little is drawn).
fn skin_colour(picture: &RgbImage, layout: &FaceLayout, axes: &FaceAxes) -> [f32; 3] {
    let mut channels: [Vec<f32>; 3] = Default::default();
    for eye in [&layout.right_eye, &layout.left_eye] {
        let cheek = [
            (eye.centre[0] + layout.mouth[0]) / 2.0,
            (eye.centre[1] + layout.mouth[1]) / 2.0,
        ];
        for a in -4..=4 {
            for d in -2..=2 {
                let at = axes.at(&cheek, a as f32 * 0.025, d as f32 * 0.025);
                if let Some(colour) = colour_at(picture, at) {
                    for (channel, value) in channels.iter_mut().zip(colour) {
                        channel.push(value);
                    }
                }
            }
        }
    }
    channels.map(|mut values| {
        if values.is_empty() {
            return 255.0;
        }
        values.sort_by(f32::total_cmp);
        values[values.len() / 2]
    })
}

/// Whether a pixel is ink: not skin, not the white of an eye.
fn is_ink(colour: [f32; 3], skin: [f32; 3]) -> bool {
    let white = colour.iter().all(|&c| c > 205.0);
    distance(colour, skin) > SKIN_DISTANCE && !white
}

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
fn iris_pair(
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
fn iris_in(picture: &RgbImage, eye: &Eye, skin: [f32; 3]) -> Option<Circle> {
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
fn mouth_line(
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
fn chin_below(
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
fn outline_in(picture: &RgbImage, layout: &mut FaceLayout, axes: &FaceAxes, skin: [f32; 3]) {
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
fn brow_above(picture: &RgbImage, eye: &Eye, axes: &FaceAxes, skin: [f32; 3]) -> Option<Point> {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A drawn face: skin, two white eyes with a blue iris each, a brow over the right eye and
    /// bangs over the left.
    fn drawn_face() -> (RgbImage, FaceLayout) {
        let size = 200;
        let mut data = vec![0u8; size * size * 3];
        let mut paint = |x: usize, y: usize, colour: [u8; 3]| {
            data[(y * size + x) * 3..][..3].copy_from_slice(&colour);
        };
        for y in 0..size {
            for x in 0..size {
                let (fx, fy) = (x as f32, y as f32);
                let mut colour = [250, 225, 205];
                for (eye_x, iris_x) in [(70.0, 74.0), (130.0, 126.0)] {
                    if ((fx - eye_x) / 16.0).powi(2) + ((fy - 90.0) / 12.0).powi(2) <= 1.0 {
                        colour = [255, 255, 255];
                        if (fx - iris_x).hypot(fy - 90.0) <= 9.0 {
                            colour = [40, 60, 170];
                        }
                    }
                }
                if (58.0..82.0).contains(&fx) && (68.0..72.0).contains(&fy) {
                    colour = [90, 50, 30];
                }
                if (110.0..160.0).contains(&fx) && fy < 79.0 {
                    colour = [200, 90, 40];
                }
                paint(x, y, colour);
            }
        }
        let layout = FaceLayout::from_landmarks(&[
            [70.0, 90.0],
            [130.0, 90.0],
            [100.0, 115.0],
            [100.0, 140.0],
            [45.0, 100.0],
            [155.0, 100.0],
        ])
        .unwrap();
        (RgbImage::new(size, size, data).unwrap(), layout)
    }

    #[test]
    fn irises_and_a_drawn_brow_are_found_and_a_brow_under_bangs_is_not() {
        let (picture, layout) = drawn_face();
        let found = layout.found_in(&picture);
        let right = found.right_eye.iris.expect("the right iris");
        let left = found.left_eye.iris.expect("the left iris");
        assert!(
            (right.centre[0] - 74.0).abs() < 1.5 && (right.centre[1] - 90.0).abs() < 1.5,
            "{right:?}"
        );
        assert!((left.centre[0] - 126.0).abs() < 1.5, "{left:?}");
        assert!((6.0..=10.0).contains(&right.radius), "{right:?}");
        let brow = found.right_brow.expect("the drawn brow");
        assert!((brow[1] - 70.0).abs() < 2.0, "{brow:?}");
        assert_eq!(found.left_brow, None, "the left brow is under the bangs");
    }
}
