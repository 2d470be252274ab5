//! Calibration and relative motion: how a driving face's movement since calibration moves the
//! source portrait's keypoints. One implementation, used by FOMM and by the landmark warp.
//!
//! The rule is FOMM's `normalize_kp` (first-order-model, `animate.py`) with relative movement and
//! relative Jacobians:
//! - new values = source values + scale * (driving values - initial driving values);
//! - new Jacobians = driving Jacobian * inverse(initial driving Jacobian) * source Jacobian;
//! - scale = sqrt(hull area of the source keypoints / hull area of the initial driving keypoints)
//!   with adapt-scale, else 1.

use crate::face::Rect;

pub type Point = [f32; 2];
pub type Matrix2 = [[f32; 2]; 2];

/// Keypoints in a crop's coordinates (FOMM's: (x, y) in [-1, 1]), with a Jacobian per keypoint
/// where the model gives one (FOMM does; face landmarks do not).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Keypoints {
    pub values: Vec<Point>,
    pub jacobians: Vec<Matrix2>,
}

/// Keypoints with the square crop (fractions of the frame) they were found in: what
/// `fommkeypoints` attaches to each buffer.
#[derive(Debug, Clone, PartialEq)]
pub struct KeypointSet {
    pub keypoints: Keypoints,
    pub crop: Rect,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MotionError {
    #[error("keypoint counts differ: source {source_count}, driving {driving}, initial {initial}")]
    CountMismatch {
        source_count: usize,
        driving: usize,
        initial: usize,
    },
    #[error("the initial driving Jacobian of keypoint {index} is singular")]
    SingularJacobian { index: usize },
}

pub fn determinant(m: &Matrix2) -> f32 {
    m[0][0] * m[1][1] - m[0][1] * m[1][0]
}

/// Inverse of a 2x2 matrix; `None` when it is (numerically) singular.
pub fn inverse(m: &Matrix2) -> Option<Matrix2> {
    let det = determinant(m);
    if det.abs() < 1e-12 || !det.is_finite() {
        return None;
    }
    Some([
        [m[1][1] / det, -m[0][1] / det],
        [-m[1][0] / det, m[0][0] / det],
    ])
}

pub fn multiply(a: &Matrix2, b: &Matrix2) -> Matrix2 {
    let mut out = [[0.0; 2]; 2];
    for (i, row) in out.iter_mut().enumerate() {
        for (j, value) in row.iter_mut().enumerate() {
            *value = a[i][0] * b[0][j] + a[i][1] * b[1][j];
        }
    }
    out
}

fn cross(o: Point, a: Point, b: Point) -> f64 {
    (a[0] as f64 - o[0] as f64) * (b[1] as f64 - o[1] as f64)
        - (a[1] as f64 - o[1] as f64) * (b[0] as f64 - o[0] as f64)
}

/// Area of the convex hull of the points (Andrew's monotone chain); 0 for fewer than 3 points or
/// collinear ones.
pub fn convex_hull_area(points: &[Point]) -> f32 {
    let mut sorted: Vec<Point> = points.to_vec();
    sorted.sort_by(|a, b| a[0].total_cmp(&b[0]).then(a[1].total_cmp(&b[1])));
    sorted.dedup();
    if sorted.len() < 3 {
        return 0.0;
    }
    let mut hull: Vec<Point> = Vec::with_capacity(2 * sorted.len());
    for pass in 0..2 {
        let start = hull.len();
        let points: Box<dyn Iterator<Item = &Point>> = if pass == 0 {
            Box::new(sorted.iter())
        } else {
            Box::new(sorted.iter().rev())
        };
        for &point in points {
            while hull.len() >= start + 2
                && cross(hull[hull.len() - 2], hull[hull.len() - 1], point) <= 0.0
            {
                hull.pop();
            }
            hull.push(point);
        }
        hull.pop(); // the last point starts the other chain
    }
    let twice_area: f64 = (0..hull.len())
        .map(|i| {
            let (a, b) = (hull[i], hull[(i + 1) % hull.len()]);
            a[0] as f64 * b[1] as f64 - b[0] as f64 * a[1] as f64
        })
        .sum();
    (twice_area.abs() / 2.0) as f32
}

/// The movement scale for adapt-scale: sqrt(hull area of source / hull area of initial driving),
/// 1 when either hull is degenerate.
pub fn adapt_scale(source: &[Point], initial: &[Point]) -> f32 {
    let (source_area, initial_area) = (convex_hull_area(source), convex_hull_area(initial));
    if source_area > 0.0 && initial_area > 0.0 {
        (source_area / initial_area).sqrt()
    } else {
        1.0
    }
}

/// Options of [`relative_motion`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MotionOptions {
    /// Move the source by the driving face's motion since calibration (true), or put the source
    /// keypoints where the driving ones are (false: absolute, which needs faces of equal shape).
    pub relative: bool,
    /// Scale the motion by the ratio of the faces' sizes (see [`adapt_scale`]).
    pub adapt_scale: bool,
}

impl Default for MotionOptions {
    fn default() -> Self {
        MotionOptions {
            relative: true,
            adapt_scale: true,
        }
    }
}

/// The source keypoints moved by the driving face's motion since `initial` (the calibration).
pub fn relative_motion(
    source: &Keypoints,
    driving: &Keypoints,
    initial: &Keypoints,
    options: MotionOptions,
) -> Result<Keypoints, MotionError> {
    let count = source.values.len();
    if driving.values.len() != count || initial.values.len() != count {
        return Err(MotionError::CountMismatch {
            source_count: count,
            driving: driving.values.len(),
            initial: initial.values.len(),
        });
    }
    if !options.relative {
        return Ok(driving.clone());
    }
    let scale = if options.adapt_scale {
        adapt_scale(&source.values, &initial.values)
    } else {
        1.0
    };
    let values = (0..count)
        .map(|i| {
            [
                source.values[i][0] + scale * (driving.values[i][0] - initial.values[i][0]),
                source.values[i][1] + scale * (driving.values[i][1] - initial.values[i][1]),
            ]
        })
        .collect();
    let with_jacobians = [&source.jacobians, &driving.jacobians, &initial.jacobians]
        .iter()
        .all(|j| j.len() == count);
    let jacobians = if with_jacobians {
        (0..count)
            .map(|i| {
                let undo_initial = inverse(&initial.jacobians[i])
                    .ok_or(MotionError::SingularJacobian { index: i })?;
                Ok(multiply(
                    &multiply(&driving.jacobians[i], &undo_initial),
                    &source.jacobians[i],
                ))
            })
            .collect::<Result<Vec<_>, _>>()?
    } else {
        Vec::new()
    };
    Ok(Keypoints { values, jacobians })
}

/// A similarity transform (rotation, uniform scale, shift): `p -> to_centre + R * s * (p - from_centre)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Similarity {
    from_centre: Point,
    to_centre: Point,
    /// scale * cos(angle), scale * sin(angle)
    cos: f32,
    sin: f32,
}

impl Similarity {
    /// The least-squares similarity taking `from` to `to` (Umeyama, without reflection).
    pub fn fit(from: &[Point], to: &[Point]) -> Similarity {
        let (a, b) = (centroid(from), centroid(to));
        let (mut dot, mut cross, mut norm) = (0.0f32, 0.0f32, 0.0f32);
        for (p, q) in from.iter().zip(to) {
            let (px, py, qx, qy) = (p[0] - a[0], p[1] - a[1], q[0] - b[0], q[1] - b[1]);
            dot += px * qx + py * qy;
            cross += px * qy - py * qx;
            norm += px * px + py * py;
        }
        let (cos, sin) = if norm > 0.0 {
            (dot / norm, cross / norm)
        } else {
            (1.0, 0.0)
        };
        Similarity {
            from_centre: a,
            to_centre: b,
            cos,
            sin,
        }
    }

    /// Turns by `radians` (y down: positive is clockwise on screen) and scales by `scale` about
    /// `from_centre`, which lands on `to_centre`.
    pub fn new(from_centre: Point, to_centre: Point, scale: f32, radians: f32) -> Similarity {
        Similarity {
            from_centre,
            to_centre,
            cos: scale * radians.cos(),
            sin: scale * radians.sin(),
        }
    }

    pub fn from_centre(&self) -> Point {
        self.from_centre
    }

    pub fn apply(&self, [x, y]: Point) -> Point {
        let (dx, dy) = (x - self.from_centre[0], y - self.from_centre[1]);
        [
            self.to_centre[0] + self.cos * dx - self.sin * dy,
            self.to_centre[1] + self.sin * dx + self.cos * dy,
        ]
    }

    /// Rotation in degrees (image coordinates, y down: positive turns clockwise on screen).
    pub fn angle_degrees(&self) -> f32 {
        self.sin.atan2(self.cos).to_degrees()
    }

    pub fn scale(&self) -> f32 {
        (self.cos * self.cos + self.sin * self.sin).sqrt()
    }

    /// `self` at `weight` 0, `other` at 1, each parameter in between (for the small turns
    /// between two poses of one head).
    pub fn towards(&self, other: &Similarity, weight: f32) -> Similarity {
        let mix = |a: f32, b: f32| a + (b - a) * weight;
        Similarity {
            from_centre: [
                mix(self.from_centre[0], other.from_centre[0]),
                mix(self.from_centre[1], other.from_centre[1]),
            ],
            to_centre: [
                mix(self.to_centre[0], other.to_centre[0]),
                mix(self.to_centre[1], other.to_centre[1]),
            ],
            cos: mix(self.cos, other.cos),
            sin: mix(self.sin, other.sin),
        }
    }

    /// The same transform, then moved by `by`.
    pub fn shifted(&self, by: Point) -> Similarity {
        Similarity {
            to_centre: [self.to_centre[0] + by[0], self.to_centre[1] + by[1]],
            ..*self
        }
    }

    pub fn shift(&self) -> Point {
        [
            self.to_centre[0] - self.from_centre[0],
            self.to_centre[1] - self.from_centre[1],
        ]
    }
}

pub fn centroid(points: &[Point]) -> Point {
    let n = points.len().max(1) as f32;
    [
        points.iter().map(|p| p[0]).sum::<f32>() / n,
        points.iter().map(|p| p[1]).sum::<f32>() / n,
    ]
}

/// Relative motion for landmarks, which carry no Jacobians. FOMM's Jacobians hold each
/// keypoint's local rotation and scale; for landmarks the head's similarity transform since
/// calibration plays that part, so that a tilt of the driving head tilts the source by the same
/// angle whatever the two faces' proportions:
/// - the head's motion (initial -> driving similarity) moves the source landmarks about their
///   centre, its shift measured in face sizes;
/// - what the similarity leaves over (a mouth opening, an eyebrow) is added in face sizes, the
///   additive rule of [`relative_motion`].
///
/// On the calibration frame (driving = initial) the source comes back unchanged.
/// The head's motion since calibration (`initial` to `driving`, any set of face points, in
/// frame pixels) as a similarity of the portrait, whose face points are `source`: the same
/// rotation and zoom, the shift scaled by the faces' sizes.
pub fn relative_head(
    source: &[Point],
    source_face_size: f32,
    driving: &[Point],
    initial: &[Point],
    initial_face_size: f32,
) -> Similarity {
    let head = Similarity::fit(initial, driving);
    let ratio = source_face_size / initial_face_size.max(f32::EPSILON);
    let shift = head.shift();
    let source_centre = centroid(source);
    Similarity {
        from_centre: source_centre,
        to_centre: [
            source_centre[0] + shift[0] * ratio,
            source_centre[1] + shift[1] * ratio,
        ],
        cos: head.cos,
        sin: head.sin,
    }
}

pub fn relative_landmarks(
    source: &[Point],
    source_face_size: f32,
    driving: &[Point],
    initial: &[Point],
    initial_face_size: f32,
) -> Result<Vec<Point>, MotionError> {
    if driving.len() != source.len() || initial.len() != source.len() {
        return Err(MotionError::CountMismatch {
            source_count: source.len(),
            driving: driving.len(),
            initial: initial.len(),
        });
    }
    let head = Similarity::fit(initial, driving);
    let ratio = source_face_size / initial_face_size.max(f32::EPSILON);
    let source_head = relative_head(
        source,
        source_face_size,
        driving,
        initial,
        initial_face_size,
    );
    Ok(source
        .iter()
        .zip(driving.iter().zip(initial))
        .map(|(s, (d, i))| {
            let rigid = source_head.apply(*s);
            let expected = head.apply(*i);
            [
                rigid[0] + (d[0] - expected[0]) * ratio,
                rigid[1] + (d[1] - expected[1]) * ratio,
            ]
        })
        .collect())
}

/// The calibration: the driving keypoints of the first frame with a face, until reset.
#[derive(Debug, Clone, Default)]
pub struct Calibration {
    initial: Option<Keypoints>,
}

impl Calibration {
    /// The initial keypoints, taking `driving` as them if there are none yet; `true` when this
    /// frame calibrated.
    pub fn observe(&mut self, driving: &Keypoints) -> (&Keypoints, bool) {
        let calibrating = self.initial.is_none();
        let initial = self.initial.get_or_insert_with(|| driving.clone());
        (initial, calibrating)
    }

    pub fn initial(&self) -> Option<&Keypoints> {
        self.initial.as_ref()
    }

    /// The next frame with keypoints becomes the calibration.
    pub fn reset(&mut self) {
        self.initial = None;
    }

    pub fn is_calibrated(&self) -> bool {
        self.initial.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hull_area_of_a_square_with_inner_and_repeated_points() {
        let points = [
            [0.0, 0.0],
            [2.0, 0.0],
            [2.0, 2.0],
            [0.0, 2.0],
            [1.0, 1.0],
            [2.0, 2.0],
        ];
        assert_eq!(convex_hull_area(&points), 4.0);
        assert_eq!(convex_hull_area(&[[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]]), 0.0);
        assert_eq!(convex_hull_area(&[[0.0, 0.0]]), 0.0);
    }

    #[test]
    fn inverse_and_singular_matrices() {
        let m = [[2.0, 1.0], [1.0, 1.0]];
        assert_eq!(
            multiply(&m, &inverse(&m).unwrap()),
            [[1.0, 0.0], [0.0, 1.0]]
        );
        assert!(inverse(&[[1.0, 2.0], [2.0, 4.0]]).is_none());
    }

    #[test]
    fn on_the_calibration_frame_the_source_comes_back_unchanged() {
        let source = Keypoints {
            values: vec![[0.1, 0.2], [-0.3, 0.4], [0.5, -0.6]],
            jacobians: vec![[[1.1, 0.1], [0.0, 0.9]]; 3],
        };
        let driving = Keypoints {
            values: vec![[0.0, 0.1], [-0.2, 0.3], [0.4, -0.5]],
            jacobians: vec![[[0.9, 0.2], [-0.1, 1.2]]; 3],
        };
        let mut calibration = Calibration::default();
        let (initial, calibrated) = calibration.observe(&driving);
        assert!(calibrated);
        let moved = relative_motion(&source, &driving, initial, MotionOptions::default()).unwrap();
        assert_eq!(moved.values, source.values);
        for (got, want) in moved.jacobians.iter().zip(&source.jacobians) {
            for (g, w) in got.iter().flatten().zip(want.iter().flatten()) {
                assert!((g - w).abs() < 1e-6);
            }
        }
        let (_, calibrated) = calibration.observe(&source);
        assert!(!calibrated, "calibration stays until reset");
        calibration.reset();
        assert!(!calibration.is_calibrated());
    }

    #[test]
    fn landmarks_turn_by_the_heads_angle_whatever_the_faces_proportions() {
        // A narrow source face and a wide driving face, the driving one turned by 20 degrees,
        // zoomed by 1.1 and shifted by 0.5 face sizes, with the mouth opened a little.
        let source = [[40.0, 40.0], [60.0, 40.0], [50.0, 55.0], [50.0, 70.0]];
        let initial = [[0.0, 0.0], [40.0, 0.0], [20.0, 15.0], [20.0, 30.0]];
        let turn = Similarity {
            from_centre: centroid(&initial),
            to_centre: {
                let c = centroid(&initial);
                [c[0] + 20.0, c[1]]
            },
            cos: 1.1 * 20f32.to_radians().cos(),
            sin: 1.1 * 20f32.to_radians().sin(),
        };
        let mut driving: Vec<Point> = initial.iter().map(|p| turn.apply(*p)).collect();
        driving[3][1] += 2.0;
        let moved = relative_landmarks(&source, 40.0, &driving, &initial, 40.0).unwrap();
        // The eyes and nose did not move beyond the head: they show its motion (the mouth's own
        // movement pulls the least-squares fit of the head a little).
        let head = Similarity::fit(&source[..3], &moved[..3]);
        assert!(
            (head.angle_degrees() - 20.0).abs() < 1.0,
            "{}",
            head.angle_degrees()
        );
        assert!((head.scale() - 1.1).abs() < 0.03, "{}", head.scale());
        // The mouth opened by its own 2 pixels (face sizes are equal here).
        let rigid = head.apply(source[3]);
        assert!(
            (moved[3][1] - rigid[1] - 2.0).abs() < 1.0,
            "{:?} {:?}",
            moved[3],
            rigid
        );
        let unchanged = relative_landmarks(&source, 40.0, &initial, &initial, 40.0).unwrap();
        for (a, b) in unchanged.iter().zip(&source) {
            assert!((a[0] - b[0]).abs() < 1e-4 && (a[1] - b[1]).abs() < 1e-4);
        }
    }

    #[test]
    fn mismatched_counts_and_singular_calibrations_are_errors() {
        let one = Keypoints {
            values: vec![[0.0, 0.0]],
            jacobians: vec![[[0.0, 0.0], [0.0, 0.0]]],
        };
        let two = Keypoints {
            values: vec![[0.0, 0.0]; 2],
            jacobians: Vec::new(),
        };
        assert!(matches!(
            relative_motion(&one, &two, &one, MotionOptions::default()),
            Err(MotionError::CountMismatch { .. })
        ));
        assert_eq!(
            relative_motion(&one, &one, &one, MotionOptions::default()),
            Err(MotionError::SingularJacobian { index: 0 })
        );
    }
}
