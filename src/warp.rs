//! The landmark warp: moves a portrait's pixels with a thin-plate spline so that its face
//! landmarks land where relative motion puts them. No generator network: milliseconds per frame
//! on a CPU, and it needs only the face detector's landmarks.

use opencv::core::{Mat, BORDER_REPLICATE};
use opencv::prelude::*;

use crate::motion::{centroid, relative_landmarks, MotionError, Point, Similarity};
use crate::tensor::{RgbImage, TensorError};

/// A thin-plate spline: the smoothest map (least bending energy) that sends each control point
/// exactly to its target.
#[derive(Debug, Clone)]
pub struct ThinPlateSpline {
    /// Coordinates are divided by this before solving: kernel values of pixel-sized distances
    /// span many orders of magnitude and would make the system ill-conditioned.
    unit: f64,
    controls: Vec<[f64; 2]>,
    weights: Vec<[f64; 2]>,
    /// Affine part: [constant, x, y] for each output coordinate.
    affine: [[f64; 3]; 2],
}

fn kernel(squared_distance: f64) -> f64 {
    if squared_distance <= 0.0 {
        0.0
    } else {
        0.5 * squared_distance * squared_distance.ln() // r^2 ln r
    }
}

/// Solves `matrix * x = rhs` in place by Gaussian elimination with partial pivoting.
fn solve(mut matrix: Vec<Vec<f64>>, mut rhs: Vec<[f64; 2]>) -> Option<Vec<[f64; 2]>> {
    let n = matrix.len();
    for column in 0..n {
        let pivot = (column..n)
            .max_by(|&a, &b| matrix[a][column].abs().total_cmp(&matrix[b][column].abs()))?;
        if matrix[pivot][column].abs() < 1e-12 {
            return None;
        }
        matrix.swap(column, pivot);
        rhs.swap(column, pivot);
        for row in column + 1..n {
            let factor = matrix[row][column] / matrix[column][column];
            if factor == 0.0 {
                continue;
            }
            let (upper, lower) = matrix.split_at_mut(row);
            for (target, source) in lower[0][column..].iter_mut().zip(&upper[column][column..]) {
                *target -= factor * source;
            }
            let pivot_rhs = rhs[column];
            for (target, source) in rhs[row].iter_mut().zip(pivot_rhs) {
                *target -= factor * source;
            }
        }
    }
    for row in (0..n).rev() {
        let mut solved = rhs[row];
        for (axis, value) in solved.iter_mut().enumerate() {
            let sum: f64 = (row + 1..n).map(|k| matrix[row][k] * rhs[k][axis]).sum();
            *value = (*value - sum) / matrix[row][row];
        }
        rhs[row] = solved;
    }
    Some(rhs)
}

impl ThinPlateSpline {
    /// The spline sending `from[i]` to `to[i]`; `None` for degenerate controls (fewer than 3, or
    /// all on a line).
    pub fn fit(from: &[Point], to: &[Point]) -> Option<Self> {
        let n = from.len();
        if n < 3 || to.len() != n {
            return None;
        }
        let unit = from
            .iter()
            .chain(to)
            .flat_map(|p| [p[0].abs(), p[1].abs()])
            .fold(1.0f32, f32::max) as f64;
        let controls: Vec<[f64; 2]> = from
            .iter()
            .map(|p| [p[0] as f64 / unit, p[1] as f64 / unit])
            .collect();
        let size = n + 3;
        let mut matrix = vec![vec![0.0; size]; size];
        for i in 0..n {
            for j in 0..n {
                let dx = controls[i][0] - controls[j][0];
                let dy = controls[i][1] - controls[j][1];
                matrix[i][j] = kernel(dx * dx + dy * dy);
            }
            let row = [1.0, controls[i][0], controls[i][1]];
            for (k, value) in row.into_iter().enumerate() {
                matrix[i][n + k] = value;
                matrix[n + k][i] = value;
            }
        }
        let mut rhs: Vec<[f64; 2]> = to
            .iter()
            .map(|p| [p[0] as f64 / unit, p[1] as f64 / unit])
            .collect();
        rhs.extend([[0.0; 2]; 3]);
        let solution = solve(matrix, rhs)?;
        let affine = [
            [solution[n][0], solution[n + 1][0], solution[n + 2][0]],
            [solution[n][1], solution[n + 1][1], solution[n + 2][1]],
        ];
        Some(ThinPlateSpline {
            unit,
            controls,
            weights: solution[..n].to_vec(),
            affine,
        })
    }

    pub fn apply(&self, point: Point) -> Point {
        let (x, y) = (point[0] as f64 / self.unit, point[1] as f64 / self.unit);
        let mut out = [
            self.affine[0][0] + self.affine[0][1] * x + self.affine[0][2] * y,
            self.affine[1][0] + self.affine[1][1] * x + self.affine[1][2] * y,
        ];
        for (control, weight) in self.controls.iter().zip(&self.weights) {
            let u = kernel((x - control[0]).powi(2) + (y - control[1]).powi(2));
            out[0] += weight[0] * u;
            out[1] += weight[1] * u;
        }
        [(out[0] * self.unit) as f32, (out[1] * self.unit) as f32]
    }
}

/// The spline is evaluated on a grid this many pixels apart and interpolated in between: it is
/// smooth, and this keeps a 512x512 frame well under a millisecond of spline work.
const GRID_STEP: usize = 8;

/// Warps one portrait (a square crop at the output size) by its landmarks.
///
/// Three kinds of control points shape the warp: the landmarks themselves (expressions: mouth,
/// eyes); a ring around the face that moves with the least-squares similarity of the landmarks
/// (so the head turns, shifts and zooms as one piece instead of stretching between landmarks);
/// and fixed points on the border (so the background there stays where it is).
pub struct LandmarkWarp {
    portrait: Mat,
    size: usize,
    landmarks: Vec<Point>,
    /// Points around the face, in portrait coordinates.
    ring: Vec<Point>,
    anchors: Vec<Point>,
}

/// The ring's radius around the landmarks' centre, in face sizes: the head, not the shoulders.
const RING_RADIUS: f32 = 0.6;
const RING_POINTS: usize = 8;
const ANCHOR_SPREAD: f32 = 2.0;

impl LandmarkWarp {
    /// `portrait` is square; `landmarks` are in its pixel coordinates, `face_size` the face's
    /// larger side in its pixels.
    pub fn new(
        portrait: &RgbImage,
        landmarks: Vec<Point>,
        face_size: f32,
    ) -> Result<Self, TensorError> {
        let size = portrait.width();
        let mat = Mat::new_rows_cols_with_data(
            portrait.height() as i32,
            (size * 3) as i32,
            portrait.data(),
        )?
        .reshape(3, portrait.height() as i32)?
        .try_clone()?;
        // Fixed points on a square ANCHOR_SPREAD times the portrait's size around it: the
        // background stays put far from the face, while near it there is room for the head to
        // move without squeezing the face against the border.
        let centre = (size - 1) as f32 / 2.0;
        let reach = ANCHOR_SPREAD * size as f32 / 2.0;
        let anchors = [
            (-1.0, -1.0),
            (0.0, -1.0),
            (1.0, -1.0),
            (-1.0, 0.0),
            (1.0, 0.0),
            (-1.0, 1.0),
            (0.0, 1.0),
            (1.0, 1.0),
        ]
        .iter()
        .map(|(u, v)| [centre + u * reach, centre + v * reach])
        .collect();
        let centre = centroid(&landmarks);
        let radius = RING_RADIUS * face_size;
        let ring = (0..RING_POINTS)
            .map(|i| {
                let angle = i as f32 * std::f32::consts::TAU / RING_POINTS as f32;
                [
                    centre[0] + radius * angle.cos(),
                    centre[1] + radius * angle.sin(),
                ]
            })
            .collect();
        Ok(LandmarkWarp {
            portrait: mat,
            size,
            landmarks,
            ring,
            anchors,
        })
    }

    pub fn landmarks(&self) -> &[Point] {
        &self.landmarks
    }

    /// The portrait with its landmarks moved to `targets` (same order, output pixels).
    pub fn warp(&self, targets: &[Point]) -> Result<RgbImage, TensorError> {
        // Backward mapping: for each output pixel, where to read in the portrait.
        let head = Similarity::fit(&self.landmarks, targets);
        let moved_ring: Vec<Point> = self.ring.iter().map(|p| head.apply(*p)).collect();
        let from: Vec<Point> = targets
            .iter()
            .chain(&moved_ring)
            .chain(&self.anchors)
            .copied()
            .collect();
        let to: Vec<Point> = self
            .landmarks
            .iter()
            .chain(&self.ring)
            .chain(&self.anchors)
            .copied()
            .collect();
        let spline = ThinPlateSpline::fit(&from, &to).ok_or_else(|| {
            TensorError::OpenCv("degenerate landmarks: the warp has no solution".into())
        })?;
        let cells = self.size.div_ceil(GRID_STEP) + 1;
        let grid: Vec<Point> = (0..cells * cells)
            .map(|index| {
                let (row, column) = (index / cells, index % cells);
                spline.apply([(column * GRID_STEP) as f32, (row * GRID_STEP) as f32])
            })
            .collect();
        // One value per pixel, bilinear between grid points (the spline is smooth at this scale).
        let mut xs = Vec::with_capacity(self.size * self.size);
        let mut ys = Vec::with_capacity(self.size * self.size);
        let step = GRID_STEP as f32;
        for y in 0..self.size {
            let (row, fy) = (y / GRID_STEP, (y % GRID_STEP) as f32 / step);
            for x in 0..self.size {
                let (column, fx) = (x / GRID_STEP, (x % GRID_STEP) as f32 / step);
                let at = |r: usize, c: usize| grid[r * cells + c];
                let (a, b, c, d) = (
                    at(row, column),
                    at(row, column + 1),
                    at(row + 1, column),
                    at(row + 1, column + 1),
                );
                for (axis, out) in [(0, &mut xs), (1, &mut ys)] {
                    let top = a[axis] + fx * (b[axis] - a[axis]);
                    let bottom = c[axis] + fx * (d[axis] - c[axis]);
                    out.push(top + fy * (bottom - top));
                }
            }
        }
        let side = self.size as i32;
        let map_x = Mat::new_rows_cols_with_data(side, side, &xs)?;
        let map_y = Mat::new_rows_cols_with_data(side, side, &ys)?;
        let mut warped = Mat::default();
        opencv::imgproc::remap(
            &self.portrait,
            &mut warped,
            &map_x,
            &map_y,
            opencv::imgproc::INTER_LINEAR,
            BORDER_REPLICATE,
            0.0.into(),
        )?;
        RgbImage::new(self.size, self.size, warped.data_bytes()?.to_vec())
    }
}

/// Where the portrait's landmarks go for a driving pose (see
/// [`crate::motion::relative_landmarks`]: the head's rotation, zoom and shift since calibration,
/// plus what the landmarks move beyond it, both in face sizes). The warp always moves relatively:
/// absolute landmark positions of two different faces mean nothing to each other.
pub fn warp_targets(
    portrait: &[Point],
    portrait_face_size: f32,
    driving: &[Point],
    initial: &[Point],
    initial_face_size: f32,
) -> Result<Vec<Point>, MotionError> {
    relative_landmarks(
        portrait,
        portrait_face_size,
        driving,
        initial,
        initial_face_size,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spline_hits_its_controls_and_is_affine_for_affine_data() {
        let from = [
            [0.0, 0.0],
            [10.0, 0.0],
            [0.0, 10.0],
            [10.0, 10.0],
            [5.0, 4.0],
        ];
        let to = [
            [1.0, 2.0],
            [12.0, 1.0],
            [0.0, 11.0],
            [13.0, 9.0],
            [6.0, 3.0],
        ];
        let spline = ThinPlateSpline::fit(&from, &to).unwrap();
        for (f, t) in from.iter().zip(&to) {
            let got = spline.apply(*f);
            assert!(
                (got[0] - t[0]).abs() < 1e-4 && (got[1] - t[1]).abs() < 1e-4,
                "{got:?} vs {t:?}"
            );
        }
        // Points moved by one affine map: the spline is that map everywhere.
        let affine = |[x, y]: Point| [0.9 * x - 0.2 * y + 3.0, 0.1 * x + 1.1 * y - 2.0];
        let moved: Vec<Point> = from.iter().map(|p| affine(*p)).collect();
        let spline = ThinPlateSpline::fit(&from, &moved).unwrap();
        let probe = spline.apply([3.0, 7.0]);
        let want = affine([3.0, 7.0]);
        assert!((probe[0] - want[0]).abs() < 1e-3 && (probe[1] - want[1]).abs() < 1e-3);
        assert!(ThinPlateSpline::fit(&[[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]], &from[..3]).is_none());
    }

    #[test]
    fn unmoved_landmarks_give_back_the_portrait_exactly() {
        let data: Vec<u8> = (0..64 * 64 * 3).map(|i| (i * 7 % 251) as u8).collect();
        let portrait = RgbImage::new(64, 64, data).unwrap();
        let landmarks = vec![
            [20.0, 25.0],
            [44.0, 25.0],
            [32.0, 35.0],
            [32.0, 45.0],
            [12.0, 28.0],
            [52.0, 28.0],
        ];
        let warp = LandmarkWarp::new(&portrait, landmarks.clone(), 40.0).unwrap();
        assert!(
            warp.warp(&landmarks).unwrap() == portrait,
            "identity warp changed pixels"
        );
        let shifted: Vec<Point> = landmarks.iter().map(|[x, y]| [x + 3.0, *y]).collect();
        assert!(warp.warp(&shifted).unwrap() != portrait);
    }
}
