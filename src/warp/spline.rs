//! The thin-plate spline solver: the smoothest map through a set of control points. It knows
//! nothing of faces; the warp's features decide which points go where.

use crate::motion::Point;

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
}
