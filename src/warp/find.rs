//! The portrait's irises and brows looked for in its pixels, around where the layout placed its
//! eyes. Anime faces are drawn flat: skin is one colour, so whatever differs from it (and is
//! not the white of an eye) is ink: lashes, irises, brows, hair. An iris is the thickest patch of
//! ink inside an eye; a brow is a thin band of ink with skin under and over it above an eye.

use opencv::core::{Mat, Point as CvPoint, Scalar, Size, CV_8U};
use opencv::prelude::*;

use super::layout::{Circle, Eye, FaceAxes, FaceLayout};
use crate::image::RgbImage;
use crate::motion::Point;

/// Colours within this RGB distance of the skin's are skin.
const SKIN_DISTANCE: f32 = 55.0;

impl FaceLayout {
    /// The layout with the irises and brows found in `picture` (the portrait these points are
    /// in): an iris where an eye holds a disc of ink, a brow only where one is drawn on skin
    /// (under bangs it is hidden, and stays still).
    pub fn found_in(mut self, picture: &RgbImage) -> FaceLayout {
        let Some(axes) = self.axes() else {
            return self;
        };
        let skin = skin_colour(picture, &self, &axes);
        self.right_eye.iris = iris_in(picture, &self.right_eye, skin);
        self.left_eye.iris = iris_in(picture, &self.left_eye, skin);
        self.right_brow = brow_above(picture, &self.right_eye, &axes, skin);
        self.left_brow = brow_above(picture, &self.left_eye, &axes, skin);
        self
    }

    /// The iris of `eye` (one of this layout's, moved where it is in `picture`) measured in
    /// `picture`: for checking where a warp put it.
    pub fn iris_in(&self, picture: &RgbImage, eye: &Eye) -> Option<Circle> {
        let axes = self.axes()?;
        iris_in(picture, eye, skin_colour(picture, self, &axes))
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

/// The thickest patch of ink in the eye's box: its inscribed circle (the distance transform's
/// peak, after closing the highlights drawn in an iris), centred on the ink around that peak.
fn iris_in(picture: &RgbImage, eye: &Eye, skin: [f32; 3]) -> Option<Circle> {
    let (half_width, half_height) = (0.5 * eye.width, 0.6 * eye.height);
    let left = (eye.centre[0] - half_width).round().max(0.0) as i32;
    let top = (eye.centre[1] - half_height).round().max(0.0) as i32;
    let right = ((eye.centre[0] + half_width).round() as i32).min(picture.width() as i32);
    let bottom = ((eye.centre[1] + half_height).round() as i32).min(picture.height() as i32);
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
            if is_ink(colour, skin) {
                *mask.at_2d_mut::<u8>(y, x).ok()? = 255;
            }
        }
    }
    // Highlights are drawn inside irises: close them so the disc counts whole.
    let side = ((0.15 * eye.height).round() as i32).max(3) | 1;
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
    let mut distances = Mat::default();
    opencv::imgproc::distance_transform(
        &closed,
        &mut distances,
        opencv::imgproc::DIST_L2,
        3,
        opencv::core::CV_32F,
    )
    .ok()?;
    let (mut peak, mut at) = (0.0f64, CvPoint::default());
    opencv::core::min_max_loc(
        &distances,
        None,
        Some(&mut peak),
        None,
        Some(&mut at),
        &opencv::core::no_array(),
    )
    .ok()?;
    let radius = peak as f32;
    // Lashes are thin lines: a disc a sixth of the eye's height across at least is an iris.
    if radius < eye.height / 12.0 {
        return None;
    }
    // The centre: the ink within the disc's reach of the peak, averaged (the peak alone sits
    // anywhere along the middle of an iris cut by the lids).
    let reach = 1.2 * radius;
    let (mut sum_x, mut sum_y, mut count) = (0.0f32, 0.0f32, 0.0f32);
    for y in 0..height {
        for x in 0..width {
            let (dx, dy) = ((x - at.x) as f32, (y - at.y) as f32);
            if dx.hypot(dy) <= reach && *closed.at_2d::<u8>(y, x).ok()? > 0 {
                sum_x += x as f32;
                sum_y += y as f32;
                count += 1.0;
            }
        }
    }
    Some(Circle {
        centre: [left as f32 + sum_x / count, top as f32 + sum_y / count],
        radius,
    })
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
    // Past the lashes to skin, within 0.35 eye distances.
    while skin_share(up) < 0.6 {
        up += step;
        if up > 0.35 {
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
