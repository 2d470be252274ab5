//! The landmark warp: moves a portrait's pixels with a thin-plate spline so that its face
//! landmarks land where relative motion puts them. No generator network: milliseconds per frame
//! on a CPU, and it needs only the face detector's landmarks.

use opencv::core::{Mat, BORDER_REPLICATE};
use opencv::prelude::*;

use crate::face::Expression;
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
    /// The portrait's alpha (grey, 3 channels), read through the same maps as its colours.
    alpha: Option<Mat>,
    size: usize,
    landmarks: Vec<Point>,
    face_size: f32,
    /// Points around the face, in portrait coordinates.
    ring: Vec<Point>,
    anchors: Vec<Point>,
    /// The eyes and mouth, when the landmarks are BlazeFace's six.
    features: Option<Features>,
}

/// How far the portrait's eyes and mouth move from rest, from the driver's expression.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FeatureMotion {
    /// 0 open as at rest, 1 closed.
    pub right_eye_closure: f32,
    pub left_eye_closure: f32,
    /// 0 closed as at rest, 1 wide open.
    pub mouth_opening: f32,
    /// -1 narrow, 0 as at rest, 1 wide.
    pub mouth_widening: f32,
}

impl FeatureMotion {
    /// The portrait's eyes and mouth for the driver's expression `now`, relative to `rest` (at
    /// calibration). An eye counts as open down to three quarters of its rest openness, so that
    /// a still face's jitter moves nothing, and as closed from under a third; the expression is
    /// not smoothed over time, so a blink (100 to 150 ms) stays crisp.
    pub fn between(now: &Expression, rest: &Expression) -> FeatureMotion {
        let closure = |now: f32, rest: f32| {
            let ratio = now / rest.max(0.05);
            ((0.75 - ratio) / (0.75 - 0.3)).clamp(0.0, 1.0)
        };
        FeatureMotion {
            right_eye_closure: closure(now.right_eye, rest.right_eye),
            left_eye_closure: closure(now.left_eye, rest.left_eye),
            mouth_opening: ((now.mouth_open - rest.mouth_open - 0.02) / 0.35).clamp(0.0, 1.0),
            mouth_widening: {
                // A change of width within 3% of the rest width is jitter.
                let change = now.mouth_width / rest.mouth_width.max(0.05) - 1.0;
                let beyond = (change.abs() - 0.03).max(0.0).copysign(change);
                (beyond / 0.3).clamp(-1.0, 1.0)
            },
        }
    }
}

/// Head motion smaller than this is sensor noise, not motion: the portrait stays where it was.
/// (A still face's landmarks wander by a few tenths of a pixel between detections; anime
/// outlines are sharp enough to show that.)
const STILL_SHIFT: f32 = 0.8;
const STILL_ZOOM: f32 = 0.008;
const STILL_ROLL_DEGREES: f32 = 0.5;

/// Whether `next` differs from `previous` by more than noise in some parameter: a real motion.
pub fn is_motion(previous: &Similarity, next: &Similarity) -> bool {
    let (a, b) = (
        previous.apply(next.from_centre()),
        next.apply(next.from_centre()),
    );
    let shifted = (a[0] - b[0]).hypot(a[1] - b[1]) > STILL_SHIFT;
    let zoomed = (next.scale() / previous.scale().max(1e-6) - 1.0).abs() > STILL_ZOOM;
    let rolled = (next.angle_degrees() - previous.angle_degrees()).abs() > STILL_ROLL_DEGREES;
    shifted || zoomed || rolled
}

/// How far the head may move in the picture: the portrait's face never leaves it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeadLimits {
    pub min_zoom: f32,
    pub max_zoom: f32,
    pub max_roll_degrees: f32,
    /// The face box keeps this much of the picture's side from each edge.
    pub margin: f32,
}

impl Default for HeadLimits {
    fn default() -> Self {
        HeadLimits {
            min_zoom: 0.6,
            max_zoom: 1.5,
            max_roll_degrees: 35.0,
            margin: 0.02,
        }
    }
}

/// The portrait's eyes and mouth, placed from BlazeFace's six landmarks with anime-face
/// proportions (in eye distances along the eye line and across it): the lids and lips that
/// move, and the eye corners, brows and chin that hold the motion to the features.
#[derive(Debug, Clone)]
struct Features {
    /// Right upper lid, right lower lid, left upper lid, left lower lid, upper lip, lower lip,
    /// right mouth corner, left mouth corner, then the points that only follow the head.
    points: Vec<Point>,
    /// The eye line's unit vector (from the right eye to the left) and the unit vector down the
    /// face, in portrait pixels, and the distance between the eyes.
    along: Point,
    down: Point,
    eyes: f32,
}

const RIGHT_UPPER: usize = 0;
const RIGHT_LOWER: usize = 1;
const LEFT_UPPER: usize = 2;
const LEFT_LOWER: usize = 3;
const LIP_UPPER: usize = 4;
const LIP_LOWER: usize = 5;
const MOUTH_RIGHT: usize = 6;
const MOUTH_LEFT: usize = 7;
const CHIN: usize = 8;
/// How far the lower lip drops for a wide open mouth, in eye distances.
const MOUTH_DROP: f32 = 0.28;
/// How far each mouth corner moves out for a wide smile, in eye distances.
const MOUTH_STRETCH: f32 = 0.06;

impl Features {
    /// From BlazeFace's order: right eye, left eye, nose, mouth, right ear, left ear.
    fn place(landmarks: &[Point]) -> Option<Features> {
        let [right, left, _, mouth, ..] = landmarks else {
            return None;
        };
        let (dx, dy) = (left[0] - right[0], left[1] - right[1]);
        let eyes = dx.hypot(dy);
        if eyes < 1.0 {
            return None;
        }
        let along = [dx / eyes, dy / eyes];
        let down = [-along[1], along[0]];
        let at = |origin: &Point, a: f32, d: f32| {
            [
                origin[0] + eyes * (a * along[0] + d * down[0]),
                origin[1] + eyes * (a * along[1] + d * down[1]),
            ]
        };
        // Anime eyes are large: about 0.55 eye distances high and 0.6 wide.
        let points = vec![
            at(right, 0.0, -0.26),
            at(right, 0.0, 0.24),
            at(left, 0.0, -0.26),
            at(left, 0.0, 0.24),
            // BlazeFace puts an anime mouth a little below the drawn line.
            at(mouth, 0.0, -0.12),
            at(mouth, 0.0, -0.08),
            at(mouth, -0.15, -0.1),
            at(mouth, 0.15, -0.1),
            at(mouth, 0.0, 0.45),
            // Held with the head: eye corners and brows.
            at(right, -0.32, 0.0),
            at(right, 0.3, 0.0),
            at(left, -0.3, 0.0),
            at(left, 0.32, 0.0),
            at(right, 0.0, -0.5),
            at(left, 0.0, -0.5),
        ];
        Some(Features {
            points,
            along,
            down,
            eyes,
        })
    }

    /// The feature points moved by `motion`, in portrait pixels.
    fn moved(&self, motion: &FeatureMotion) -> Vec<Point> {
        let mut points = self.points.clone();
        let towards = |from: Point, to: Point, amount: f32| {
            [
                from[0] + amount * (to[0] - from[0]),
                from[1] + amount * (to[1] - from[1]),
            ]
        };
        // A closed lid rests just above the lower one: the eye is a line, not gone.
        points[RIGHT_UPPER] = towards(
            points[RIGHT_UPPER],
            points[RIGHT_LOWER],
            0.9 * motion.right_eye_closure.clamp(0.0, 1.0),
        );
        points[LEFT_UPPER] = towards(
            points[LEFT_UPPER],
            points[LEFT_LOWER],
            0.9 * motion.left_eye_closure.clamp(0.0, 1.0),
        );
        let drop = MOUTH_DROP * self.eyes * motion.mouth_opening.clamp(0.0, 1.0);
        let shift = |point: Point, amount: f32, axis: Point| {
            [point[0] + amount * axis[0], point[1] + amount * axis[1]]
        };
        points[LIP_LOWER] = shift(points[LIP_LOWER], drop, self.down);
        // The jaw drops with the lip, less far.
        points[CHIN] = shift(points[CHIN], 0.5 * drop, self.down);
        let stretch = MOUTH_STRETCH * self.eyes * motion.mouth_widening.clamp(-1.0, 1.0);
        points[MOUTH_RIGHT] = shift(points[MOUTH_RIGHT], -stretch, self.along);
        points[MOUTH_LEFT] = shift(points[MOUTH_LEFT], stretch, self.along);
        points
    }
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
        let mat = portrait.to_mat()?;
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
        let features = Features::place(&landmarks);
        Ok(LandmarkWarp {
            portrait: mat,
            alpha: None,
            size,
            landmarks,
            face_size,
            ring,
            anchors,
            features,
        })
    }

    /// Carries `alpha` (the portrait's alpha as a grey picture of the portrait's size) through
    /// every warp: [`LandmarkWarp::warp_head_with_alpha`] returns it moved as the pixels move.
    pub fn with_alpha(mut self, alpha: &RgbImage) -> Result<Self, TensorError> {
        if (alpha.width(), alpha.height()) != (self.size, self.size) {
            return Err(TensorError::OpenCv(format!(
                "the alpha is {}x{}, the portrait {}x{}",
                alpha.width(),
                alpha.height(),
                self.size,
                self.size
            )));
        }
        self.alpha = Some(alpha.to_mat()?);
        Ok(self)
    }

    /// The head's motion kept inside `limits`: zoom and roll clamped, and the face box (of
    /// the portrait's face size, zoomed) kept inside the picture.
    pub fn bounded(&self, head: &Similarity, limits: &HeadLimits) -> Similarity {
        let zoom = head.scale().clamp(limits.min_zoom, limits.max_zoom);
        let roll = head
            .angle_degrees()
            .clamp(-limits.max_roll_degrees, limits.max_roll_degrees)
            .to_radians();
        let centre = centroid(&self.landmarks);
        let moved = head.apply(centre);
        // The face box turned by the roll reaches |cos| + |sin| times as far from its centre.
        let turned = roll.cos().abs() + roll.sin().abs();
        let half = 0.5 * zoom * self.face_size * turned + limits.margin * self.size as f32;
        let keep = |value: f32| {
            let (low, high) = (half, self.size as f32 - half);
            if low <= high {
                value.clamp(low, high)
            } else {
                self.size as f32 / 2.0
            }
        };
        Similarity::new(centre, [keep(moved[0]), keep(moved[1])], zoom, roll)
    }

    /// The portrait moved as one piece by `head` (portrait pixels to output pixels), its eyes
    /// and mouth by `motion`: nothing but the lids and lips bends, so noise in the driver's
    /// points cannot drag the portrait's features into streaks.
    pub fn warp_head(
        &self,
        head: &Similarity,
        motion: &FeatureMotion,
    ) -> Result<RgbImage, TensorError> {
        self.warp_head_with_alpha(head, motion)
            .map(|(picture, _)| picture)
    }

    /// [`LandmarkWarp::warp_head`], and the alpha moved by the same maps (when the warp has one).
    pub fn warp_head_with_alpha(
        &self,
        head: &Similarity,
        motion: &FeatureMotion,
    ) -> Result<(RgbImage, Option<RgbImage>), TensorError> {
        let Some(features) = &self.features else {
            let targets: Vec<Point> = self.landmarks.iter().map(|p| head.apply(*p)).collect();
            return self.warp_with_alpha(&targets);
        };
        // The nose and ears hold the head; the eye and mouth landmarks give way to the lids and
        // lips around them.
        let held: Vec<Point> = self
            .landmarks
            .iter()
            .enumerate()
            .filter(|(index, _)| !matches!(index, 0 | 1 | 3))
            .map(|(_, p)| *p)
            .collect();
        let moved = features.moved(motion);
        let from: Vec<Point> = held
            .iter()
            .chain(&moved)
            .chain(&self.ring)
            .map(|p| head.apply(*p))
            .chain(self.anchors.iter().copied())
            .collect();
        let to: Vec<Point> = held
            .iter()
            .chain(&features.points)
            .chain(&self.ring)
            .chain(&self.anchors)
            .copied()
            .collect();
        let maps = self.maps(&from, &to)?;
        let mut picture = read_through(&self.portrait, &maps)?;
        // How far the lips parted beyond their drawn line, in output pixels.
        let gap = MOUTH_DROP * features.eyes * motion.mouth_opening.clamp(0.0, 1.0) * head.scale();
        if gap > 2.0 {
            self.paint_mouth(&mut picture, head, &moved, gap)?;
        }
        self.pictures(picture, &maps)
    }

    /// The warped picture as an image, and the alpha read through the same maps.
    fn pictures(
        &self,
        picture: Mat,
        maps: &(Mat, Mat),
    ) -> Result<(RgbImage, Option<RgbImage>), TensorError> {
        let alpha = match &self.alpha {
            Some(alpha) => {
                let warped = read_through(alpha, maps)?;
                Some(RgbImage::new(
                    self.size,
                    self.size,
                    warped.data_bytes()?.to_vec(),
                )?)
            }
            None => None,
        };
        Ok((
            RgbImage::new(self.size, self.size, picture.data_bytes()?.to_vec())?,
            alpha,
        ))
    }

    /// The inside of an open mouth: a dark ellipse between the lips, instead of skin stretched.
    fn paint_mouth(
        &self,
        picture: &mut Mat,
        head: &Similarity,
        moved: &[Point],
        gap: f32,
    ) -> Result<(), TensorError> {
        let (upper, lower) = (head.apply(moved[LIP_UPPER]), head.apply(moved[LIP_LOWER]));
        let (right, left) = (
            head.apply(moved[MOUTH_RIGHT]),
            head.apply(moved[MOUTH_LEFT]),
        );
        let centre = [(upper[0] + lower[0]) / 2.0, (upper[1] + lower[1]) / 2.0];
        let width = (left[0] - right[0]).hypot(left[1] - right[1]);
        let angle = (left[1] - right[1]).atan2(left[0] - right[0]).to_degrees();
        let mut overlay = picture.try_clone()?;
        opencv::imgproc::ellipse(
            &mut overlay,
            opencv::core::Point::new(centre[0].round() as i32, centre[1].round() as i32),
            opencv::core::Size::new(
                (0.4 * width).round().max(1.0) as i32,
                (0.45 * gap).round().max(1.0) as i32,
            ),
            angle as f64,
            0.0,
            360.0,
            opencv::core::Scalar::new(70.0, 25.0, 35.0, 0.0),
            -1,
            opencv::imgproc::LINE_AA,
            0,
        )?;
        let mut blended = Mat::default();
        opencv::core::add_weighted(&overlay, 0.85, picture, 0.15, 0.0, &mut blended, -1)?;
        *picture = blended;
        Ok(())
    }

    /// The portrait's feature points (lids, lips) where `motion` puts them, then moved by `head`:
    /// what the warp makes of an expression, for measuring it.
    pub fn feature_points(&self, head: &Similarity, motion: &FeatureMotion) -> Option<Vec<Point>> {
        let features = self.features.as_ref()?;
        Some(
            features
                .moved(motion)
                .into_iter()
                .map(|p| head.apply(p))
                .collect(),
        )
    }

    pub fn landmarks(&self) -> &[Point] {
        &self.landmarks
    }

    /// The portrait with its landmarks moved to `targets` (same order, output pixels).
    pub fn warp(&self, targets: &[Point]) -> Result<RgbImage, TensorError> {
        self.warp_with_alpha(targets).map(|(picture, _)| picture)
    }

    /// [`LandmarkWarp::warp`], and the alpha moved by the same maps (when the warp has one).
    pub fn warp_with_alpha(
        &self,
        targets: &[Point],
    ) -> Result<(RgbImage, Option<RgbImage>), TensorError> {
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
        let maps = self.maps(&from, &to)?;
        self.pictures(read_through(&self.portrait, &maps)?, &maps)
    }

    /// For each output pixel, where to read in the portrait: the spline taking each output point
    /// of `from` to its portrait point in `to`.
    fn maps(&self, from: &[Point], to: &[Point]) -> Result<(Mat, Mat), TensorError> {
        let spline = ThinPlateSpline::fit(from, to).ok_or_else(|| {
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
        let map_x = Mat::new_rows_cols_with_data(side, side, &xs)?.try_clone()?;
        let map_y = Mat::new_rows_cols_with_data(side, side, &ys)?.try_clone()?;
        Ok((map_x, map_y))
    }
}

/// `source` read through `maps` (bilinear; the border repeated).
fn read_through(source: &Mat, (map_x, map_y): &(Mat, Mat)) -> Result<Mat, TensorError> {
    let mut warped = Mat::default();
    opencv::imgproc::remap(
        source,
        &mut warped,
        map_x,
        map_y,
        opencv::imgproc::INTER_LINEAR,
        BORDER_REPLICATE,
        0.0.into(),
    )?;
    Ok(warped)
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
