//! The driving pose of a frame: what the face in front of the camera does, as the engines read
//! it, and how it is made from the payloads the tracker and the keypoint detector attach.

use super::Engine;
use crate::face::{Expression, FaceTrack, HeadPose};
use crate::motion::{KeypointSet, Keypoints, Point};

/// Why a frame's payloads drive nothing although the frame has a face.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Undriven {
    /// FOMM keypoints must each have a Jacobian.
    #[error("keypoints without a Jacobian each")]
    KeypointsWithoutJacobians,
    /// The warp follows landmarks, which this face track has none of (a Haar detector's).
    #[error("the face has no landmarks")]
    NoLandmarks,
}

/// The driving pose of one frame.
#[derive(Debug, Clone)]
pub struct Driving {
    /// FOMM keypoints of the face crop, or the face landmarks in frame pixels for the warp.
    pub keypoints: Keypoints,
    /// The face's larger side in frame pixels (the warp's scale; 1 for FOMM).
    pub face_size: f32,
    /// The tracker's id of the face: another id is another person, who needs a calibration.
    pub track: Option<u64>,
    /// The face's expression and head pose, when the tracker runs the face mesh.
    pub expression: Option<Expression>,
    pub pose: Option<HeadPose>,
    /// The face mesh's points in frame pixels, when the tracker runs it: the head's motion is
    /// read from them (hundreds of points average the noise of a few landmarks away).
    pub mesh: Vec<Point>,
}

impl Driving {
    /// A driving pose of `keypoints` alone (no mesh, expression or pose): FOMM keypoints with
    /// `face_size` 1, or face landmarks in frame pixels with the face's larger side.
    pub fn from_keypoints(keypoints: Keypoints, face_size: f32, track: Option<u64>) -> Driving {
        Driving {
            keypoints,
            face_size,
            track,
            expression: None,
            pose: None,
            mesh: Vec::new(),
        }
    }

    /// A driving pose of face landmarks in frame pixels (the warp's), no mesh.
    pub fn from_landmarks(landmarks: Vec<Point>, face_size: f32, track: Option<u64>) -> Driving {
        let keypoints = Keypoints {
            values: landmarks,
            jacobians: Vec::new(),
        };
        Driving::from_keypoints(keypoints, face_size, track)
    }

    /// The driving pose a frame's payloads give `engine`: FOMM drives by the keypoints of
    /// `fommkeypoints` (with `facetrack`'s track id, mesh and expression when there is a face
    /// track too); the warp by the face track's landmarks. `Ok(None)`: the frame drives nothing
    /// (no face on it). A frame where the tracker saw no face neither calibrates nor drives
    /// (the keypoints there were read from the centred square, which follows the background).
    pub fn from_payloads(
        engine: &Engine,
        face: Option<&FaceTrack>,
        keypoints: Option<KeypointSet>,
        width: usize,
        height: usize,
    ) -> Result<Option<Driving>, Undriven> {
        if face.is_some_and(|track| !track.state.has_face()) {
            return Ok(None);
        }
        match engine {
            Engine::Fomm(_) => {
                let Some(set) = keypoints else {
                    return Ok(None);
                };
                if set.keypoints.jacobians.len() != set.keypoints.values.len() {
                    return Err(Undriven::KeypointsWithoutJacobians);
                }
                Ok(Some(match face {
                    Some(face) => Driving {
                        keypoints: set.keypoints,
                        face_size: 1.0,
                        ..Driving::from_track(face, width, height)
                    },
                    None => Driving::from_keypoints(set.keypoints, 1.0, None),
                }))
            }
            Engine::Warp => {
                let Some(face) = face else {
                    return Ok(None);
                };
                if face.landmarks.is_empty() {
                    return Err(Undriven::NoLandmarks);
                }
                Ok(Some(Driving::from_track(face, width, height)))
            }
        }
    }

    /// The warp's driving pose from a face track (fractions of a `width` x `height` frame):
    /// the detector's landmarks, the face's size, and the mesh with its expression and pose.
    pub fn from_track(track: &FaceTrack, width: usize, height: usize) -> Driving {
        let pixels = |[u, v]: [f32; 2]| [u * width as f32, v * height as f32];
        let face = track.face.to_pixels(width, height);
        Driving {
            keypoints: Keypoints {
                values: track.landmarks.iter().map(|p| pixels(*p)).collect(),
                jacobians: Vec::new(),
            },
            face_size: face.width.max(face.height),
            track: Some(track.track_id),
            expression: track.expression,
            pose: track.pose,
            mesh: track.mesh.iter().map(|p| pixels([p[0], p[1]])).collect(),
        }
    }

    /// Whether this face makes a good rest pose: facing the camera, eyes open, mouth closed
    /// (when the mesh says; any face does without it). Calibrating on a face mid-blink or
    /// mid-word would leave the avatar distorted until the next calibration.
    pub fn is_neutral(&self) -> bool {
        let facing = self
            .pose
            .is_none_or(|pose| pose.yaw.abs() < 0.35 && pose.pitch.abs() < 0.35);
        let calm = self
            .expression
            .is_none_or(|e| e.right_eye > 0.15 && e.left_eye > 0.15 && e.mouth_open < 0.15);
        facing && calm
    }
}
