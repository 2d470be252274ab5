//! The landmark warp assembled: the portrait, the control points that shape its spline (the
//! landmarks, a ring that moves with the head, fixed anchors far out, and the features), and
//! the per-pixel maps the spline becomes.

use opencv::core::Mat;
use opencv::prelude::*;

use super::features::{self, Features};
use super::layout::FaceLayout;
use super::pose::WarpPose;
use super::spline::ThinPlateSpline;
use crate::image::{backward_map, read_through, ImageError, RgbImage};
use crate::motion::{centroid, relative_landmarks, MotionError, Point, Similarity};

/// The spline is evaluated on a grid this many pixels apart and interpolated in between: it is
/// smooth, and this keeps a 512x512 frame well under a millisecond of spline work.
const GRID_STEP: usize = 8;

/// Warps one portrait (a square crop at the output size) by its landmarks.
///
/// Four kinds of control points shape the warp: the face's parts (its layout: lids, lips,
/// brows, irises, nose, outline), which move with the expression and the turn; a ring around the
/// face that moves with the head only (so the head rolls, shifts and zooms as one piece instead
/// of stretching between landmarks); a row across the chest that rises and falls with the
/// breath; and fixed points far outside the picture.
pub struct LandmarkWarp {
    portrait: Mat,
    /// The portrait's alpha (grey, 3 channels), read through the same maps as its colours.
    alpha: Option<Mat>,
    pub(super) size: usize,
    pub(super) landmarks: Vec<Point>,
    pub(super) face_size: f32,
    /// Points around the face, in portrait coordinates.
    ring: Vec<Point>,
    /// Across the chest, below the chin (none when the picture ends at the chin).
    chest: Vec<Point>,
    anchors: Vec<Point>,
    /// Where the face's parts are.
    layout: Option<FaceLayout>,
    /// The face's parts as control points.
    features: Option<Features>,
}

/// The ring's radius around the landmarks' centre, in face sizes: the head, not the shoulders
/// (and clear of the face's outline, which turns while the ring does not).
const RING_RADIUS: f32 = 0.7;
/// The chest's row: this many face sizes below the chin; none where that is below this share of
/// the picture (the portrait ends at the shoulders).
const CHEST_BELOW_CHIN: f32 = 0.45;
const CHEST_LOWEST: f32 = 0.92;
/// The head rides on the chest: it rises this share of the chest's breath.
const HEAD_BREATH: f32 = 0.3;
const RING_POINTS: usize = 8;
const ANCHOR_SPREAD: f32 = 2.0;

impl LandmarkWarp {
    /// `portrait` is square; `landmarks` (BlazeFace's six, which the head's motion is fitted to)
    /// are in its pixel coordinates, `face_size` the face's larger side in its pixels, `layout`
    /// where its face's parts are (`None`: placed from the landmarks).
    pub fn new(
        portrait: &RgbImage,
        landmarks: Vec<Point>,
        face_size: f32,
        layout: Option<FaceLayout>,
    ) -> Result<Self, ImageError> {
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
        let layout = layout.or_else(|| FaceLayout::from_landmarks(&landmarks));
        let features = layout.as_ref().and_then(Features::place);
        let chest = match &layout {
            Some(layout)
                if layout.chin[1] + CHEST_BELOW_CHIN * face_size < CHEST_LOWEST * size as f32 =>
            {
                let row = layout.chin[1] + CHEST_BELOW_CHIN * face_size;
                (0..5)
                    .map(|i| [(0.1 + 0.2 * i as f32) * size as f32, row])
                    .collect()
            }
            _ => Vec::new(),
        };
        Ok(LandmarkWarp {
            portrait: mat,
            alpha: None,
            size,
            landmarks,
            face_size,
            ring,
            chest,
            anchors,
            layout,
            features,
        })
    }

    /// Carries `alpha` (the portrait's alpha as a grey picture of the portrait's size) through
    /// every warp: [`LandmarkWarp::warp_head_with_alpha`] returns it moved as the pixels move.
    pub fn with_alpha(mut self, alpha: &RgbImage) -> Result<Self, ImageError> {
        if (alpha.width(), alpha.height()) != (self.size, self.size) {
            return Err(ImageError::OpenCv(format!(
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

    /// The portrait in `pose`: moved as one piece by its head (portrait pixels to output
    /// pixels), turned in depth, its features moved by their motion, its chest raised by the
    /// breath. Nothing but the face's parts bends, so noise in the driver's points cannot drag
    /// the portrait into streaks.
    pub fn warp_pose(&self, pose: &WarpPose) -> Result<RgbImage, ImageError> {
        self.warp_pose_with_alpha(pose).map(|(picture, _)| picture)
    }

    /// [`LandmarkWarp::warp_pose`], and the alpha moved by the same maps (when the warp has one).
    pub fn warp_pose_with_alpha(
        &self,
        pose: &WarpPose,
    ) -> Result<(RgbImage, Option<RgbImage>), ImageError> {
        let Some(features) = &self.features else {
            let targets: Vec<Point> = self.landmarks.iter().map(|p| pose.head.apply(*p)).collect();
            return self.warp_with_alpha(&targets);
        };
        let breath = pose.breath * self.size as f32;
        let head = pose.head.shifted([0.0, -HEAD_BREATH * breath]);
        let moved = features.moved(&pose.motion, &pose.turn);
        let from: Vec<Point> = moved
            .iter()
            .chain(&self.ring)
            .map(|p| head.apply(*p))
            .chain(self.chest.iter().map(|p| {
                let [x, y] = pose.head.apply(*p);
                [x, y - breath]
            }))
            .chain(self.anchors.iter().copied())
            .collect();
        let to: Vec<Point> = features
            .points
            .iter()
            .chain(&self.ring)
            .chain(&self.chest)
            .chain(&self.anchors)
            .copied()
            .collect();
        let maps = self.maps(&from, &to)?;
        let mut picture = read_through(&self.portrait, &maps)?;
        let gap = features::parted_gap(&features.axes, &pose.motion, head.scale());
        if gap > 2.0 {
            features::paint_mouth(&mut picture, &head, &moved, gap)?;
        }
        self.pictures(picture, &maps)
    }

    /// The warped picture as an image, and the alpha read through the same maps.
    fn pictures(
        &self,
        picture: Mat,
        map: &Mat,
    ) -> Result<(RgbImage, Option<RgbImage>), ImageError> {
        let alpha = match &self.alpha {
            Some(alpha) => {
                let warped = read_through(alpha, map)?;
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

    /// The portrait's feature points (see [`crate::warp::feature_index`]) where `pose` puts
    /// them, in output pixels: what the warp makes of an expression, for measuring it.
    pub fn feature_points(&self, pose: &WarpPose) -> Option<Vec<Point>> {
        let features = self.features.as_ref()?;
        let head = pose
            .head
            .shifted([0.0, -HEAD_BREATH * pose.breath * self.size as f32]);
        Some(
            features
                .moved(&pose.motion, &pose.turn)
                .into_iter()
                .map(|p| head.apply(p))
                .collect(),
        )
    }

    /// Where the face's parts are in the portrait (at rest).
    pub fn layout(&self) -> Option<&FaceLayout> {
        self.layout.as_ref()
    }

    pub fn landmarks(&self) -> &[Point] {
        &self.landmarks
    }

    /// The portrait with its landmarks moved to `targets` (same order, output pixels).
    pub fn warp(&self, targets: &[Point]) -> Result<RgbImage, ImageError> {
        self.warp_with_alpha(targets).map(|(picture, _)| picture)
    }

    /// [`LandmarkWarp::warp`], and the alpha moved by the same maps (when the warp has one).
    pub fn warp_with_alpha(
        &self,
        targets: &[Point],
    ) -> Result<(RgbImage, Option<RgbImage>), ImageError> {
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
    fn maps(&self, from: &[Point], to: &[Point]) -> Result<Mat, ImageError> {
        let spline = ThinPlateSpline::fit(from, to).ok_or_else(|| {
            ImageError::OpenCv("degenerate landmarks: the warp has no solution".into())
        })?;
        backward_map(self.size, GRID_STEP, |point| spline.apply(point))
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
        let warp = LandmarkWarp::new(&portrait, landmarks.clone(), 40.0, None).unwrap();
        assert!(
            warp.warp(&landmarks).unwrap() == portrait,
            "identity warp changed pixels"
        );
        let shifted: Vec<Point> = landmarks.iter().map(|[x, y]| [x + 3.0, *y]).collect();
        assert!(warp.warp(&shifted).unwrap() != portrait);
    }
}
