//! In-between pictures for FOMM: the newest generated picture (a keyframe) moved by the driver's
//! motion since the keypoints it was generated from, so that a camera frame the generator has no
//! time for still shows the avatar where the face is now. The network says how the portrait
//! looks; this says where it is.
//!
//! Two ways to move it, both from the keypoints alone (no network):
//! - [`Method::LocalAffine`]: FOMM's own sparse motion. Near keypoint `i` a point `z` of the new
//!   frame came from `then_i + J_then_i J_now_i^-1 (z - now_i)` in the keyframe (each keypoint's
//!   local affine from its Jacobians, as FOMM moves the source); the affines are blended with
//!   Gaussian weights around the keypoints (FOMM's heatmap variance), the identity far from all;
//! - [`Method::Spline`]: a thin-plate spline through the keypoints, each with two points beside it
//!   moved by its local affine (so the Jacobians count too), the picture's corners held.
//!
//! Keypoints are FOMM's: x and y in [-1, 1] over the picture, corner-aligned.

use opencv::prelude::*;

use crate::image::{backward_map, read_through, ImageError, RgbImage, SquareCrop};
use crate::motion::{inverse, multiply, Keypoints, Matrix2, Point};
use crate::warp::ThinPlateSpline;

/// How an in-between moves the keyframe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    LocalAffine,
    Spline,
}

/// FOMM's keypoint heatmaps: a Gaussian of this variance in [-1, 1] units.
const KEYPOINT_VARIANCE: f32 = 0.01;
/// The identity's weight where no keypoint is near (a keypoint's own weight at about 2.6
/// standard deviations).
const BACKGROUND_WEIGHT: f32 = 0.03;
/// The map is evaluated every this many pixels and bilinear between.
const GRID_STEP: usize = 8;
/// The points set beside each keypoint for the spline, in [-1, 1] units.
const SATELLITE: f32 = 0.05;

/// `keyframe` (generated at the keypoints `then`) moved to the keypoints `now` (both after
/// relative motion, as the generator took them): the picture for `now` without the generator.
pub fn inbetween(
    keyframe: &RgbImage,
    then: &Keypoints,
    now: &Keypoints,
    method: Method,
) -> Result<RgbImage, ImageError> {
    let size = keyframe.width();
    let to_unit = |pixel: f32| 2.0 * pixel / (size - 1).max(1) as f32 - 1.0;
    let to_pixel = |unit: f32| (unit + 1.0) / 2.0 * (size - 1) as f32;
    let affines = local_affines(then, now);
    let map = match method {
        Method::LocalAffine => backward_map(size, GRID_STEP, |[x, y]| {
            let z = [to_unit(x), to_unit(y)];
            let [u, v] = blended(&affines, z);
            [to_pixel(u), to_pixel(v)]
        })?,
        Method::Spline => {
            let (from, to) = spline_points(&affines);
            let from: Vec<Point> = from.iter().map(|p| p.map(to_pixel)).collect();
            let to: Vec<Point> = to.iter().map(|p| p.map(to_pixel)).collect();
            let spline = ThinPlateSpline::fit(&from, &to)
                .ok_or_else(|| ImageError::Geometry("keypoints that coincide: no spline".into()))?;
            backward_map(size, GRID_STEP, |point| spline.apply(point))?
        }
    };
    let moved = read_through(&keyframe.to_mat()?, &map)?;
    RgbImage::new(size, size, moved.data_bytes()?.to_vec())
}

/// Each keypoint's local affine from the new frame to the keyframe: where it is now, where it
/// was, and `J_then J_now^-1` (the identity where a Jacobian cannot be inverted).
struct LocalAffine {
    now: Point,
    then: Point,
    matrix: Matrix2,
}

impl LocalAffine {
    fn apply(&self, z: Point) -> Point {
        let d = [z[0] - self.now[0], z[1] - self.now[1]];
        [
            self.then[0] + self.matrix[0][0] * d[0] + self.matrix[0][1] * d[1],
            self.then[1] + self.matrix[1][0] * d[0] + self.matrix[1][1] * d[1],
        ]
    }
}

fn local_affines(then: &Keypoints, now: &Keypoints) -> Vec<LocalAffine> {
    let identity = [[1.0, 0.0], [0.0, 1.0]];
    now.values
        .iter()
        .zip(&then.values)
        .enumerate()
        .map(|(i, (now_value, then_value))| {
            let matrix = match (now.jacobians.get(i), then.jacobians.get(i)) {
                (Some(now_jacobian), Some(then_jacobian)) => inverse(now_jacobian)
                    .map(|inverse| multiply(then_jacobian, &inverse))
                    .unwrap_or(identity),
                _ => identity,
            };
            LocalAffine {
                now: *now_value,
                then: *then_value,
                matrix,
            }
        })
        .collect()
}

/// Where `z` (new frame, [-1, 1]) came from: the affines blended by their Gaussian weights at
/// `z`, the identity holding the background.
fn blended(affines: &[LocalAffine], z: Point) -> Point {
    let (mut sum, mut total) = (
        [BACKGROUND_WEIGHT * z[0], BACKGROUND_WEIGHT * z[1]],
        BACKGROUND_WEIGHT,
    );
    for affine in affines {
        let d2 = (z[0] - affine.now[0]).powi(2) + (z[1] - affine.now[1]).powi(2);
        let weight = (-0.5 * d2 / KEYPOINT_VARIANCE).exp();
        let moved = affine.apply(z);
        sum[0] += weight * moved[0];
        sum[1] += weight * moved[1];
        total += weight;
    }
    [sum[0] / total, sum[1] / total]
}

/// The spline's control points ([-1, 1]): each keypoint and two points beside it (moved by its
/// local affine), and the picture's corners and edge middles held.
fn spline_points(affines: &[LocalAffine]) -> (Vec<Point>, Vec<Point>) {
    let mut from = Vec::new();
    let mut to = Vec::new();
    for affine in affines {
        for offset in [[0.0, 0.0], [SATELLITE, 0.0], [0.0, SATELLITE]] {
            let z = [affine.now[0] + offset[0], affine.now[1] + offset[1]];
            from.push(z);
            to.push(affine.apply(z));
        }
    }
    for corner in [
        [-1.0, -1.0],
        [0.0, -1.0],
        [1.0, -1.0],
        [-1.0, 0.0],
        [1.0, 0.0],
        [-1.0, 1.0],
        [0.0, 1.0],
        [1.0, 1.0],
    ] {
        from.push(corner);
        to.push(corner);
    }
    (from, to)
}

/// `keyframe` moved by the dense optical flow (Farneback) from `truth` back to it: what the best
/// warp of the keyframe can do, since it reads the very picture it is to predict. Not an
/// in-between (nothing live has `truth`); `animecam bench --inbetweens` reports it as the
/// ceiling the keypoint methods are measured against.
pub fn dense_flow_ceiling(keyframe: &RgbImage, truth: &RgbImage) -> Result<RgbImage, ImageError> {
    let size = keyframe.width();
    let gray = |picture: &RgbImage| crate::image::gray(&picture.view(), size, size);
    // Flow from the truth to the keyframe: truth(x) is keyframe(x + flow(x)).
    let mut flow = opencv::core::Mat::default();
    opencv::video::calc_optical_flow_farneback(
        &gray(truth)?,
        &gray(keyframe)?,
        &mut flow,
        0.5,
        3,
        15,
        3,
        5,
        1.2,
        0,
    )?;
    let map = backward_map(size, 1, |[x, y]| {
        let row = y as i32;
        let column = x as i32;
        let shift = flow
            .at_2d::<opencv::core::Vec2f>(row, column)
            .map_or([0.0, 0.0], |shift| [shift[0], shift[1]]);
        [x + shift[0], y + shift[1]]
    })?;
    let moved = read_through(&keyframe.to_mat()?, &map)?;
    RgbImage::new(size, size, moved.data_bytes()?.to_vec())
}

/// Face mesh points standing for FOMM's ten keypoints: the eyes' outer corners, the nose tip,
/// the mouth's corners, the lips' middles, the chin and the brows.
pub const MESH_KEYPOINTS: [usize; 10] = [33, 263, 1, 61, 291, 13, 14, 152, 105, 334];
/// Mesh points around each keypoint whose motion gives its Jacobian.
const JACOBIAN_NEIGHBOURS: usize = 16;

/// Keypoints from face meshes (points in the picture's [-1, 1] units), for moving a picture by a
/// face's motion as FOMM's keypoints move its pictures: [`MESH_KEYPOINTS`], each with the local
/// affine that maps the offsets of its neighbours in a `reference` mesh to theirs in another
/// (least squares) as its Jacobian, so that `J_then J_now^-1` is the local motion between two
/// meshes. Each keypoint's neighbours are chosen once, on the reference.
pub struct MeshKeypoints {
    reference: Vec<Point>,
    /// Per keypoint, its nearest mesh points in the reference.
    neighbours: Vec<Vec<usize>>,
}

impl MeshKeypoints {
    /// `None` when `reference` is not a mesh holding the keypoints' points.
    pub fn new(reference: &[Point]) -> Option<MeshKeypoints> {
        let highest = MESH_KEYPOINTS.iter().max().copied().unwrap_or(0);
        if reference.len() <= highest {
            return None;
        }
        let neighbours = MESH_KEYPOINTS
            .iter()
            .map(|&keypoint| {
                let centre = reference[keypoint];
                let distance = |i: &usize| {
                    (reference[*i][0] - centre[0]).powi(2) + (reference[*i][1] - centre[1]).powi(2)
                };
                let mut nearest: Vec<usize> =
                    (0..reference.len()).filter(|&i| i != keypoint).collect();
                nearest.sort_by(|a, b| distance(a).total_cmp(&distance(b)));
                nearest.truncate(JACOBIAN_NEIGHBOURS);
                nearest
            })
            .collect();
        Some(MeshKeypoints {
            reference: reference.to_vec(),
            neighbours,
        })
    }

    /// The keypoints of `points`, a mesh of the same points as the reference (`None` when it is
    /// not).
    pub fn of(&self, points: &[Point]) -> Option<Keypoints> {
        if points.len() != self.reference.len() {
            return None;
        }
        let identity: Matrix2 = [[1.0, 0.0], [0.0, 1.0]];
        let jacobian = |keypoint: usize, neighbours: &[usize]| {
            let centre = self.reference[keypoint];
            // A = (sum d_now d_ref^T) (sum d_ref d_ref^T)^-1 over the neighbours' offsets d.
            let (mut cross, mut gram) = ([[0.0f32; 2]; 2], [[0.0f32; 2]; 2]);
            for &i in neighbours {
                let d_ref = [
                    self.reference[i][0] - centre[0],
                    self.reference[i][1] - centre[1],
                ];
                let d_now = [
                    points[i][0] - points[keypoint][0],
                    points[i][1] - points[keypoint][1],
                ];
                for r in 0..2 {
                    for c in 0..2 {
                        cross[r][c] += d_now[r] * d_ref[c];
                        gram[r][c] += d_ref[r] * d_ref[c];
                    }
                }
            }
            inverse(&gram).map_or(identity, |inverse| multiply(&cross, &inverse))
        };
        Some(Keypoints {
            values: MESH_KEYPOINTS.iter().map(|&i| points[i]).collect(),
            jacobians: MESH_KEYPOINTS
                .iter()
                .zip(&self.neighbours)
                .map(|(&i, neighbours)| jacobian(i, neighbours))
                .collect(),
        })
    }
}

/// Points given as fractions of a `frame` (width, height) in the keypoint units of `crop` read
/// at `size` x `size` pixels: [-1, 1] over its pixels, corner-aligned, as [`crop_square`]
/// samples it (crop pixel j is frame pixel `left + (j + 0.5) * scale - 0.5`).
///
/// [`crop_square`]: crate::image::crop_square
pub fn points_in_crop(
    points: impl IntoIterator<Item = [f32; 2]>,
    crop: SquareCrop,
    frame: (usize, usize),
    size: usize,
) -> Vec<Point> {
    let scale = crop.side.max(f32::EPSILON) / size as f32;
    let to_unit = |frame_pixel: f32, start: f32| {
        let pixel = (frame_pixel + 0.5 - start) / scale - 0.5;
        2.0 * pixel / (size - 1).max(1) as f32 - 1.0
    };
    points
        .into_iter()
        .map(|[x, y]| {
            [
                to_unit(x * frame.0 as f32, crop.left()),
                to_unit(y * frame.1 as f32, crop.top()),
            ]
        })
        .collect()
}

/// Peak signal-to-noise ratio of `picture` against `truth` (8-bit), in dB; 99 for equal
/// pictures.
pub fn psnr(picture: &RgbImage, truth: &RgbImage) -> f64 {
    let squared: f64 = picture
        .data()
        .iter()
        .zip(truth.data())
        .map(|(&a, &b)| (a as f64 - b as f64).powi(2))
        .sum::<f64>()
        / picture.data().len().max(1) as f64;
    if squared <= 0.0 {
        return 99.0;
    }
    10.0 * (255.0f64 * 255.0 / squared).log10()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A picture with a bright 10-pixel square at (`x`, `y`) (its top-left corner), on a
    /// gradient.
    fn square_at(size: usize, x: usize, y: usize) -> RgbImage {
        let mut data = Vec::with_capacity(size * size * 3);
        for row in 0..size {
            for column in 0..size {
                let inside = (x..x + 10).contains(&column) && (y..y + 10).contains(&row);
                let value = if inside {
                    250
                } else {
                    (column + row) as u8 / 4
                };
                data.extend([value, value, value]);
            }
        }
        RgbImage::new(size, size, data).unwrap()
    }

    fn keypoints(values: Vec<Point>) -> Keypoints {
        let jacobians = vec![[[1.0, 0.0], [0.0, 1.0]]; values.len()];
        Keypoints { values, jacobians }
    }

    #[test]
    fn an_inbetween_follows_the_keypoints_and_is_the_keyframe_when_they_do_not_move() {
        // The square (10 px) within about one standard deviation of FOMM's heatmaps (6 px here).
        let size = 128;
        let keyframe = square_at(size, 59, 59);
        let then = keypoints(vec![[0.0, 0.0], [-0.5, -0.5], [0.5, 0.5]]);
        for method in [Method::LocalAffine, Method::Spline] {
            let same = inbetween(&keyframe, &then, &then, method).unwrap();
            assert!(psnr(&same, &keyframe) > 45.0, "{method:?}");
            // The middle keypoint moved right by 8 pixels' worth: the square with it.
            let step = 2.0 * 8.0 / (size - 1) as f32;
            let now = keypoints(vec![[step, 0.0], [-0.5, -0.5], [0.5, 0.5]]);
            let moved = inbetween(&keyframe, &then, &now, method).unwrap();
            let truth = square_at(size, 67, 59);
            assert!(
                psnr(&moved, &truth) > psnr(&keyframe, &truth) + 6.0,
                "{method:?}: {:.1} dB moved, {:.1} held",
                psnr(&moved, &truth),
                psnr(&keyframe, &truth)
            );
        }
    }
}
