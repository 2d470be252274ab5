//! The portrait's face parts looked for in its pixels, around where the layout placed them.
//! Anime faces are drawn flat: skin is one colour, so whatever differs from it (and is not the
//! white of an eye) is ink: lashes, irises, brows, lines, hair. An iris is the deepest patch of
//! ink beside an eye's white; a brow a thin band of ink with skin under and over it above an eye;
//! the mouth the inkiest row between nose and chin; the chin and the outline where the skin
//! ends.

mod irises;
mod lines;

use irises::{iris_in, iris_pair};
use lines::{brow_above, chin_below, mouth_line, outline_in};

use super::layout::{FaceAxes, FaceLayout};
use crate::image::RgbImage;
use crate::motion::Point;

/// Colours within this RGB distance of the skin's are skin.
const SKIN_DISTANCE: f32 = 55.0;

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
