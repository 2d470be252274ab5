//! The face layout drawn over its portrait, for a person to check: eyes green, irises blue,
//! brows orange, nose, mouth and chin red, the outline yellow.

use opencv::core::{Point as CvPoint, Scalar, Size};
use opencv::prelude::*;

use super::layout::{Eye, FaceLayout};
use crate::image::{ImageError, RgbImage};
use crate::motion::Point;

impl FaceLayout {
    /// `picture` (the one this layout's points are in) with the layout drawn over it.
    pub fn drawn_on(&self, picture: &RgbImage) -> Result<RgbImage, ImageError> {
        let mut mat = picture.to_mat()?;
        let thickness =
            ((picture.width().max(picture.height()) as f32 / 400.0).round() as i32).max(1);
        let at = |p: Point| CvPoint::new(p[0].round() as i32, p[1].round() as i32);
        let colour = |r: f64, g: f64, b: f64| Scalar::new(r, g, b, 0.0);
        let angle = self.axes().map_or(0.0, |axes| {
            axes.along[1].atan2(axes.along[0]).to_degrees() as f64
        });
        let eye = |mat: &mut opencv::core::Mat, eye: &Eye| -> Result<(), ImageError> {
            opencv::imgproc::ellipse(
                mat,
                at(eye.centre),
                Size::new(
                    (eye.width / 2.0).round() as i32,
                    (eye.height / 2.0).round() as i32,
                ),
                angle,
                0.0,
                360.0,
                colour(40.0, 200.0, 60.0),
                thickness,
                opencv::imgproc::LINE_AA,
                0,
            )?;
            if let Some(iris) = eye.iris {
                opencv::imgproc::circle(
                    mat,
                    at(iris.centre),
                    iris.radius.round() as i32,
                    colour(30.0, 90.0, 255.0),
                    thickness,
                    opencv::imgproc::LINE_AA,
                    0,
                )?;
            }
            Ok(())
        };
        eye(&mut mat, &self.right_eye)?;
        eye(&mut mat, &self.left_eye)?;
        let mark = |mat: &mut opencv::core::Mat, p: Point, c: Scalar| {
            opencv::imgproc::draw_marker(
                mat,
                at(p),
                c,
                opencv::imgproc::MARKER_CROSS,
                6 * thickness + 4,
                thickness,
                opencv::imgproc::LINE_AA,
            )
        };
        for brow in [self.right_brow, self.left_brow].into_iter().flatten() {
            mark(&mut mat, brow, colour(255.0, 140.0, 0.0))?;
        }
        let red = colour(230.0, 30.0, 30.0);
        mark(&mut mat, self.nose, red)?;
        mark(&mut mat, self.chin, red)?;
        if let Some(axes) = self.axes() {
            let half = 0.5 * self.mouth_width / axes.eyes;
            opencv::imgproc::line(
                &mut mat,
                at(axes.at(&self.mouth, -half, 0.0)),
                at(axes.at(&self.mouth, half, 0.0)),
                red,
                thickness,
                opencv::imgproc::LINE_AA,
                0,
            )?;
        }
        let outline: opencv::core::Vector<CvPoint> = self.outline.iter().map(|p| at(*p)).collect();
        let outline: opencv::core::Vector<opencv::core::Vector<CvPoint>> =
            std::iter::once(outline).collect();
        opencv::imgproc::polylines(
            &mut mat,
            &outline,
            false,
            colour(240.0, 220.0, 0.0),
            thickness,
            opencv::imgproc::LINE_AA,
            0,
        )?;
        RgbImage::new(
            picture.width(),
            picture.height(),
            mat.data_bytes()?.to_vec(),
        )
    }
}
