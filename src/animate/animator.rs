//! The animation session: the avatar, the driving face's rest pose, the last picture, and the
//! per-frame policy (when to calibrate, what counts as head motion, how the features move).

use super::avatar::Prepared;
use super::idle::{breath, idle_pose, Absent, IdleSettings, Presence};
use super::keyframes::{KeyframePace, Keyframes, Picture};
use super::{AnimateError, Avatar, AvatarMaker, Driving, Engine};
use crate::face::{mesh_points, Expression, Gaze, HeadPose, MESH_POINTS};
use crate::fomm::deform_alpha;
use crate::image::RgbImage;
use crate::motion::{
    relative_head, relative_motion, Calibration, MotionOptions, Point, Similarity,
};
use crate::warp::{
    is_motion, warp_targets, ChannelGains, FeatureMotion, HeadLimits, LandmarkWarp, Turn, WarpPose,
};

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
    /// FOMM's newest keyframe moved to this frame's keypoints (the generator was busy);
    /// `new_keyframe`: the generator's time for a keyframe that arrived with this frame.
    Inbetween {
        new_keyframe: Option<std::time::Duration>,
    },
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
    /// How far the warp's head may move and turn.
    pub limits: HeadLimits,
    /// How strongly each channel of the driver's motion moves the warp's portrait.
    pub gains: ChannelGains,
    /// Move the portrait's alpha with each picture ([`Animator::alpha`]): only worth its cost
    /// (a second remap every frame) when something shows the alpha. Off by default.
    pub carry_alpha: bool,
    /// Frames seen since a calibration was asked for, without a neutral face.
    calibration_wait: u32,
    /// The driver's expression, head pose and gaze at calibration: the portrait moves relative
    /// to them.
    rest_expression: Option<Expression>,
    rest_pose: Option<HeadPose>,
    rest_gaze: Option<Gaze>,
    /// The warp's pose on the last frame.
    pose: Option<WarpPose>,
    /// The driver's mesh at calibration.
    rest_mesh: Vec<Point>,
    /// Frames seen of the current track.
    track_frames: u32,
    /// Frames left of the head counting as moving.
    moving_frames: u32,
    /// FOMM: generate on a thread of its own and show in-betweens between its pictures (at this
    /// pace), or (`None`) generate every frame on the caller's thread.
    pub inbetweens: Option<KeyframePace>,
    /// The generator's thread and its newest picture, while in-betweens are on.
    keyframes: Option<Keyframes>,
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
            gains: ChannelGains::default(),
            carry_alpha: false,
            calibration_wait: 0,
            rest_expression: None,
            rest_pose: None,
            rest_gaze: None,
            pose: None,
            rest_mesh: Vec::new(),
            track_frames: 0,
            moving_frames: 0,
            inbetweens: None,
            keyframes: None,
            idle: IdleSettings::default(),
            presence: Presence::default(),
            rest_from: None,
            return_from: None,
        }
    }

    /// Where the warp put the portrait's face parts on the last frame, in output pixels (in
    /// the order of [`crate::warp::feature_index`]: lids, lips, mouth corners, chin, eye corners,
    /// brows, nose, outline, irises), or at rest before any frame moved them. `None` for FOMM.
    pub fn feature_points(&self) -> Option<Vec<crate::motion::Point>> {
        let Prepared::Warp { warp, .. } = &self.avatar.prepared else {
            return None;
        };
        warp.feature_points(&self.warp_pose(warp))
    }

    /// The warp's pose on the last frame, or at rest.
    fn warp_pose(&self, warp: &LandmarkWarp) -> WarpPose {
        self.pose
            .unwrap_or_else(|| WarpPose::rest(rest_head(warp.landmarks())))
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
        if let Some(keyframes) = &mut self.keyframes {
            keyframes.forget();
        }
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
        if let Some(keyframes) = &mut self.keyframes {
            keyframes.forget();
        }
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
            Prepared::Warp { warp, .. } => Shown::Warp(self.warp_pose(warp)),
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
                let rest = WarpPose::rest(rest_head(warp.landmarks()));
                let idle = idle_pose(&rest, time, &self.idle);
                let idle = WarpPose {
                    breath: idle.breath * self.gains.breathing,
                    ..idle
                };
                let pose = from.towards(&idle, weight);
                self.pose = Some(pose);
                self.warp(warp, &pose)?
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
            self.rest_pose = driving.pose;
            self.rest_gaze = driving.gaze;
            self.rest_mesh = driving.mesh.clone();
        }
        let mut outcome = Outcome::Generated { calibrated };
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
                let (generated, alpha, made) = match self.inbetweens {
                    None => {
                        let (generated, deformation) = fomm.animate(encoding, &moved)?;
                        // The portrait's alpha read through the deformation the frame was made
                        // with: it follows the generated face.
                        let alpha = match (alpha.as_ref().filter(|_| self.carry_alpha), deformation)
                        {
                            (Some(alpha), Some(deformation)) => {
                                Some(deform_alpha(alpha, &deformation, self.output_size)?)
                            }
                            _ => None,
                        };
                        (generated, alpha, Picture::Generated)
                    }
                    Some(pace) => {
                        let keyframes = match &mut self.keyframes {
                            Some(keyframes) if keyframes.pace() == pace => keyframes,
                            keyframes => keyframes.insert(Keyframes::new(fomm.clone(), pace)),
                        };
                        let (picture, keyframe, made) = keyframes.frame(encoding, &moved)?;
                        // The alpha as the keyframe had it, moved as its picture was.
                        let alpha = match (
                            alpha.as_ref().filter(|_| self.carry_alpha),
                            &keyframe.deformation,
                        ) {
                            (Some(alpha), Some(deformation)) => {
                                let alpha = deform_alpha(alpha, deformation, alpha.width())?;
                                Some(match made {
                                    Picture::Generated => alpha,
                                    Picture::Inbetween { .. } => crate::inbetween::inbetween(
                                        &alpha,
                                        &keyframe.keypoints,
                                        &moved,
                                        crate::inbetween::Method::LocalAffine,
                                    )?,
                                })
                            }
                            _ => None,
                        };
                        let alpha = match alpha {
                            Some(alpha) if alpha.width() != self.output_size => {
                                Some(alpha.resized(self.output_size, self.output_size)?)
                            }
                            alpha => alpha,
                        };
                        (picture, alpha, made)
                    }
                };
                let picture = if generated.width() == self.output_size {
                    generated
                } else {
                    generated.resized(self.output_size, self.output_size)?
                };
                if let Picture::Inbetween { new_keyframe } = made {
                    outcome = Outcome::Inbetween { new_keyframe };
                }
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
                let rest = rest_head(warp.landmarks());
                let head = warp.bounded(&self.gains.scaled_head(&rest, &head), &self.limits);
                let turn = match (driving.pose, self.rest_pose) {
                    (Some(now), Some(rest)) => self.limits.turn(&now, &rest, self.gains.turn),
                    _ => Turn::default(),
                };
                // Still: noise-sized changes are held back. Moving: every change passes until the
                // head has been still for a few frames, so slow motion glides instead of stepping.
                let (head, turn) = match (&self.pose, calibrated) {
                    (Some(previous), false) => {
                        if is_motion(&previous.head, &head)
                            || self.limits.is_turning(&previous.turn, &turn)
                        {
                            self.moving_frames = MOVING_FRAMES;
                        }
                        if self.moving_frames > 0 {
                            self.moving_frames -= 1;
                            (head, turn)
                        } else {
                            (previous.head, previous.turn)
                        }
                    }
                    _ => (head, turn),
                };
                let mut motion = match (driving.expression, self.rest_expression) {
                    (Some(now), Some(rest)) => FeatureMotion::between(&now, &rest),
                    _ => FeatureMotion::default(),
                };
                if let Some(now) = driving.gaze {
                    motion = motion.looking(&now, &self.rest_gaze.unwrap_or_default());
                }
                let driven = self.gains.applied(&WarpPose {
                    head,
                    turn,
                    motion,
                    breath: breath(time, &self.idle),
                });
                let pose = match &self.return_from {
                    Some(Shown::Warp(from)) => from.towards(&driven, take_over),
                    _ => driven,
                };
                self.pose = Some(pose);
                self.warp(warp, &pose)?
            }
        };
        self.last_alpha = alpha;
        Ok((self.last.insert(picture), outcome))
    }

    /// The warp's picture in `pose`, with the alpha moved too where that is asked for.
    fn warp(
        &self,
        warp: &LandmarkWarp,
        pose: &WarpPose,
    ) -> Result<(RgbImage, Option<RgbImage>), AnimateError> {
        Ok(if self.carry_alpha {
            warp.warp_pose_with_alpha(pose)?
        } else {
            (warp.warp_pose(pose)?, None)
        })
    }
}

/// The head where the portrait has it: the identity on its landmarks.
fn rest_head(landmarks: &[Point]) -> Similarity {
    Similarity::fit(landmarks, landmarks)
}
