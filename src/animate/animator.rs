//! The animation session: the avatar, the driving face's rest pose, the last picture, and the
//! per-frame policy (when to calibrate, what counts as head motion, how the features move).

use super::avatar::Prepared;
use super::idle::{idle_pose, Absent, IdleSettings, Presence, WarpPose};
use super::{AnimateError, Avatar, AvatarMaker, Driving, Engine};
use crate::face::{mesh_points, Expression, MESH_POINTS};
use crate::fomm::deform_alpha;
use crate::image::RgbImage;
use crate::motion::{
    relative_head, relative_motion, Calibration, MotionOptions, Point, Similarity,
};
use crate::warp::{is_motion, warp_targets, FeatureMotion, HeadLimits};

/// Frames a face may be seen without a neutral pose before it is taken as the rest pose anyway.
const MAX_CALIBRATION_WAIT: u32 = 60;
/// Frames of a new face before it may become the rest pose (the mesh's smoothing settling).
const SETTLE_FRAMES: u32 = 15;
/// Frames every head change passes after a real motion, before noise is held back again.
const MOVING_FRAMES: u32 = 10;

/// What a frame did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// No face: the last picture again, or the avatar on its way to rest or resting.
    NoFace,
    /// A face, but not yet one to take as the rest pose (turned away, eyes closed, mouth open).
    AwaitingRestPose,
    /// A new picture; `calibrated` when this frame's face became the rest pose.
    Generated { calibrated: bool },
}

/// One animation session: the avatar, the driving face's rest pose, the last picture.
pub struct Animator {
    engine: Engine,
    avatar: Avatar,
    calibration: Calibration,
    /// The driving face's size at calibration (warp only).
    initial_face_size: f32,
    /// The face being followed, by track id.
    track: Option<u64>,
    last: Option<RgbImage>,
    /// The alpha of `last`, where the engine moves one (the warp, for a portrait with alpha).
    last_alpha: Option<RgbImage>,
    output_size: usize,
    pub motion: MotionOptions,
    /// How far the warp's head may move.
    pub limits: HeadLimits,
    /// Move the portrait's alpha with each picture ([`Animator::alpha`]): only worth its cost
    /// (a second remap every frame) when something shows the alpha. Off by default.
    pub carry_alpha: bool,
    /// Frames seen since a calibration was asked for, without a neutral face.
    calibration_wait: u32,
    /// The driver's expression at calibration: eyes and mouth move relative to it.
    rest_expression: Option<Expression>,
    /// How the warp moved the eyes and mouth on the last frame (for measuring).
    feature_motion: FeatureMotion,
    /// The warp's head transform on the last frame.
    head: Option<Similarity>,
    /// The driver's mesh at calibration.
    rest_mesh: Vec<Point>,
    /// Frames seen of the current track.
    track_frames: u32,
    /// Frames left of the head counting as moving.
    moving_frames: u32,
    /// What the avatar does without a face.
    pub idle: IdleSettings,
    presence: Presence,
    /// What was shown when the avatar began to rest (the way back starts there).
    rest_from: Option<Shown>,
    /// What was shown when a face took over from a rest (the take-over starts there).
    return_from: Option<Shown>,
}

/// A picture shown, as the engine can move it on: the warp's pose, FOMM's picture and alpha.
#[derive(Clone)]
enum Shown {
    Warp(WarpPose),
    Picture(RgbImage, Option<RgbImage>),
}

impl Animator {
    pub fn new(maker: &AvatarMaker, avatar: Avatar) -> Self {
        Animator {
            engine: maker.engine.clone(),
            avatar,
            calibration: Calibration::default(),
            initial_face_size: 1.0,
            track: None,
            last: None,
            last_alpha: None,
            output_size: maker.output_size,
            motion: MotionOptions::default(),
            limits: HeadLimits::default(),
            carry_alpha: false,
            calibration_wait: 0,
            rest_expression: None,
            feature_motion: FeatureMotion::default(),
            head: None,
            rest_mesh: Vec::new(),
            track_frames: 0,
            moving_frames: 0,
            idle: IdleSettings::default(),
            presence: Presence::default(),
            rest_from: None,
            return_from: None,
        }
    }

    /// Where the warp put the portrait's lids, lips and mouth corners on the last frame, in
    /// output pixels (right upper lid, right lower lid, left upper lid, left lower lid, upper
    /// lip, lower lip, right and left mouth corner, chin, then the points held with the head),
    /// or at rest before any frame moved them. `None` for FOMM.
    pub fn feature_points(&self) -> Option<Vec<crate::motion::Point>> {
        let Prepared::Warp { warp, .. } = &self.avatar.prepared else {
            return None;
        };
        warp.feature_points(
            &self.head.unwrap_or_else(|| rest_head(warp.landmarks())),
            &self.feature_motion,
        )
    }

    pub fn avatar(&self) -> &Avatar {
        &self.avatar
    }

    /// The engine the frames are animated by.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The picture the last [`Animator::frame`] returned, and its alpha (see
    /// [`Animator::alpha`]).
    pub fn shown(&self) -> (&RgbImage, Option<&RgbImage>) {
        (
            self.last.as_ref().unwrap_or(&self.avatar.still),
            self.alpha(),
        )
    }

    /// The alpha (a grey picture) of the picture the last [`Animator::frame`] returned: the
    /// still's before any picture was made, then the engine's, which moves it with the pixels.
    /// `None` when the portrait has no alpha, for FOMM graphs exported without their
    /// deformation, or for pictures made while [`Animator::carry_alpha`] was off.
    pub fn alpha(&self) -> Option<&RgbImage> {
        if self.last.is_some() {
            self.last_alpha.as_ref()
        } else {
            self.avatar.still_alpha.as_ref()
        }
    }

    /// A new avatar: the calibration stays (the driving face did not change), the old avatar's
    /// last picture goes.
    pub fn swap(&mut self, avatar: Avatar) {
        self.avatar = avatar;
        self.last = None;
        self.last_alpha = None;
        self.rest_from = None;
        self.return_from = None;
    }

    /// The next frame with a face becomes the rest pose, whatever its expression: the user
    /// asked for it.
    pub fn recalibrate(&mut self) {
        self.calibration.reset();
        self.calibration_wait = MAX_CALIBRATION_WAIT;
    }

    /// A new stream (a flush, a seek, a new segment): nothing of the old one carries over.
    pub fn reset(&mut self) {
        self.calibration.reset();
        self.track = None;
        self.last = None;
        self.last_alpha = None;
        self.calibration_wait = 0;
        self.presence.reset();
        self.rest_from = None;
        self.return_from = None;
    }

    pub fn is_calibrated(&self) -> bool {
        self.calibration.is_calibrated()
    }

    /// What is shown now, as the engine can move it on.
    fn shown_now(&self) -> Shown {
        match &self.avatar.prepared {
            Prepared::Warp { warp, .. } => Shown::Warp(WarpPose {
                head: self.head.unwrap_or_else(|| rest_head(warp.landmarks())),
                motion: self.feature_motion,
            }),
            Prepared::Fomm { .. } => {
                let (picture, alpha) = self.shown();
                Shown::Picture(picture.clone(), alpha.cloned())
            }
        }
    }

    /// The picture for a frame at `time` (the stream's, seconds) without a driving face: the
    /// last one held for a moment, then the way back to rest, and the rest (breathing and
    /// blinking as [`Animator::idle`] says; FOMM's rest is the portrait itself).
    fn without_face(&mut self, time: f64) -> Result<(&RgbImage, Outcome), AnimateError> {
        self.return_from = None;
        let Absent::Resting { weight } = self.presence.absent(time, &self.idle) else {
            let picture = self.last.as_ref().unwrap_or(&self.avatar.still);
            return Ok((picture, Outcome::NoFace));
        };
        if self.rest_from.is_none() {
            self.rest_from = Some(self.shown_now());
        }
        let (picture, alpha) = match (&self.avatar.prepared, &self.rest_from) {
            (Prepared::Warp { warp, .. }, Some(Shown::Warp(from))) => {
                let rest = WarpPose {
                    head: rest_head(warp.landmarks()),
                    motion: FeatureMotion::default(),
                };
                let idle = idle_pose(&rest, time, self.output_size as f32, &self.idle);
                let pose = from.towards(&idle, weight);
                self.head = Some(pose.head);
                self.feature_motion = pose.motion;
                if self.carry_alpha {
                    warp.warp_head_with_alpha(&pose.head, &pose.motion)?
                } else {
                    (warp.warp_head(&pose.head, &pose.motion)?, None)
                }
            }
            (_, Some(Shown::Picture(from, from_alpha))) => {
                let picture = from.blended(&self.avatar.still, weight)?;
                let alpha = match (from_alpha, &self.avatar.still_alpha) {
                    (Some(from), Some(rest)) if self.carry_alpha => {
                        Some(from.blended(rest, weight)?)
                    }
                    _ => None,
                };
                (picture, alpha)
            }
            // The pose shown is always the engine's own; should it not be, rest on the still.
            _ => (
                self.avatar.still.clone(),
                self.avatar.still_alpha.clone().filter(|_| self.carry_alpha),
            ),
        };
        self.last_alpha = alpha;
        Ok((self.last.insert(picture), Outcome::NoFace))
    }

    /// The picture for a frame at `time` (the stream's, seconds) with this driving pose
    /// (`None`: no face drives this frame).
    pub fn frame(
        &mut self,
        driving: Option<&Driving>,
        time: f64,
    ) -> Result<(&RgbImage, Outcome), AnimateError> {
        let Some(driving) = driving else {
            return self.without_face(time);
        };
        self.rest_from = None;
        // After a rest, the face takes over from what the rest showed, not in a jump.
        let take_over = self.presence.present(time, &self.idle);
        let returning = take_over < 1.0;
        if !returning {
            self.return_from = None;
        } else if self.return_from.is_none() {
            self.return_from = Some(self.shown_now());
        }
        if driving.track != self.track {
            // A face coming back after a rest is taken for the one that left (a webcam's user
            // back in front of it): it drives at once on the old rest pose. Another face while
            // one drives is another person, or a cut in an edited video.
            if driving.track.is_some() && self.track.is_some() && !returning {
                // Another person (or a cut in an edited video): their pose relative to the last
                // person's rest pose means nothing.
                self.calibration.reset();
            }
            self.track_frames = 0;
            self.calibration_wait = 0;
        }
        self.track = driving.track;
        self.track_frames += 1;
        if !self.calibration.is_calibrated() {
            // The tracker's smoothing settles on a new face within half a second: a rest pose
            // taken before that would drift away from the face while it settles.
            let settling = !driving.mesh.is_empty() && self.track_frames < SETTLE_FRAMES;
            let waiting = settling || !driving.is_neutral();
            if waiting && self.calibration_wait < MAX_CALIBRATION_WAIT {
                // Waiting for the driver to face the camera, eyes open, mouth closed.
                self.calibration_wait += 1;
                let picture = self.last.as_ref().unwrap_or(&self.avatar.still);
                return Ok((picture, Outcome::AwaitingRestPose));
            }
            self.calibration_wait = 0;
        }
        let (initial, calibrated) = self.calibration.observe(&driving.keypoints);
        if calibrated {
            self.initial_face_size = driving.face_size;
            self.rest_expression = driving.expression;
            self.rest_mesh = driving.mesh.clone();
        }
        let (picture, alpha) = match &self.avatar.prepared {
            Prepared::Fomm { encoding, alpha } => {
                let Engine::Fomm(fomm) = &self.engine else {
                    unreachable!("FOMM avatars are made by the FOMM engine")
                };
                let moved = relative_motion(
                    &encoding.keypoints,
                    &driving.keypoints,
                    initial,
                    self.motion,
                )?;
                let (generated, deformation) = fomm.animate(encoding, &moved)?;
                let picture = if generated.width() == self.output_size {
                    generated
                } else {
                    generated.resized(self.output_size, self.output_size)?
                };
                // The portrait's alpha read through the deformation the frame was made with:
                // it follows the generated face.
                let alpha = match (alpha.as_ref().filter(|_| self.carry_alpha), deformation) {
                    (Some(alpha), Some(deformation)) => {
                        Some(deform_alpha(alpha, &deformation, self.output_size)?)
                    }
                    _ => None,
                };
                match &self.return_from {
                    Some(Shown::Picture(from, from_alpha)) => {
                        let alpha = match (from_alpha, alpha) {
                            (Some(from), Some(alpha)) => Some(from.blended(&alpha, take_over)?),
                            (_, alpha) => alpha,
                        };
                        (from.blended(&picture, take_over)?, alpha)
                    }
                    _ => (picture, alpha),
                }
            }
            Prepared::Warp { warp, face_size } => {
                // The head moves as one piece, bounded; only the lids and lips bend, by the
                // expression (without the mesh they stay as drawn).
                let head =
                    if driving.mesh.len() == MESH_POINTS && self.rest_mesh.len() == MESH_POINTS {
                        // The skull's points only: a mouth opening or a blink must not move the head.
                        let rigid = |mesh: &[Point]| -> Vec<Point> {
                            mesh_points::RIGID
                                .iter()
                                .map(|&index| mesh[index])
                                .collect()
                        };
                        relative_head(
                            warp.landmarks(),
                            *face_size,
                            &rigid(&driving.mesh),
                            &rigid(&self.rest_mesh),
                            self.initial_face_size,
                        )
                    } else {
                        let targets = warp_targets(
                            warp.landmarks(),
                            *face_size,
                            &driving.keypoints.values,
                            &initial.values,
                            self.initial_face_size,
                        )?;
                        Similarity::fit(warp.landmarks(), &targets)
                    };
                let head = warp.bounded(&head, &self.limits);
                // Still: noise-sized changes are held back. Moving: every change passes until the
                // head has been still for a few frames, so slow motion glides instead of stepping.
                let head = match (&self.head, calibrated) {
                    (Some(previous), false) => {
                        if is_motion(previous, &head) {
                            self.moving_frames = MOVING_FRAMES;
                        }
                        if self.moving_frames > 0 {
                            self.moving_frames -= 1;
                            head
                        } else {
                            *previous
                        }
                    }
                    _ => head,
                };
                let motion = match (driving.expression, self.rest_expression) {
                    (Some(now), Some(rest)) => FeatureMotion::between(&now, &rest),
                    _ => FeatureMotion::default(),
                };
                let driven = WarpPose { head, motion };
                let WarpPose { head, motion } = match &self.return_from {
                    Some(Shown::Warp(from)) => from.towards(&driven, take_over),
                    _ => driven,
                };
                self.feature_motion = motion;
                self.head = Some(head);
                if self.carry_alpha {
                    warp.warp_head_with_alpha(&head, &motion)?
                } else {
                    (warp.warp_head(&head, &motion)?, None)
                }
            }
        };
        self.last_alpha = alpha;
        Ok((self.last.insert(picture), Outcome::Generated { calibrated }))
    }
}

/// The head where the portrait has it: the identity on its landmarks.
fn rest_head(landmarks: &[Point]) -> Similarity {
    Similarity::fit(landmarks, landmarks)
}
