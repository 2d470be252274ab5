//! The driving pose of a frame: what the face in front of the camera does, as the engines read
//! it, and how it is made from the payloads the tracker and the keypoint detector attach.

use super::Engine;
use crate::face::{Expression, FaceTrack, Gaze, HeadPose};
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
    /// Where the eyes look, when the tracker runs the attention mesh (which finds the irises).
    pub gaze: Option<Gaze>,
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
            gaze: None,
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
    /// (no face on it, or one that is not a human face). A frame where the tracker saw no face
    /// neither calibrates nor drives (the keypoints there were read from the centred square,
    /// which follows the background).
    pub fn from_payloads(
        engine: &Engine,
        face: Option<&FaceTrack>,
        keypoints: Option<KeypointSet>,
        width: usize,
        height: usize,
    ) -> Result<Option<Driving>, Undriven> {
        // No face, or one that must not drive (an animal's, a drawing: the mesh says so).
        if face.is_some_and(|track| !track.drives()) {
            return Ok(None);
        }
        match engine {
            Engine::Fomm(_) => Driving::from_payloads_for_fomm(face, keypoints, width, height),
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

    /// [`Driving::from_payloads`] for FOMM, on a frame with a face (or no face track): the
    /// keypoints, with the face track's id, mesh and expression when there is one.
    fn from_payloads_for_fomm(
        face: Option<&FaceTrack>,
        keypoints: Option<KeypointSet>,
        width: usize,
        height: usize,
    ) -> Result<Option<Driving>, Undriven> {
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
            gaze: track.gaze,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::face::{Rect, TrackState};

    fn keypoints(jacobians: usize) -> KeypointSet {
        KeypointSet {
            keypoints: Keypoints {
                values: vec![[0.1, 0.2], [0.3, 0.4]],
                jacobians: vec![[[1.0, 0.0], [0.0, 1.0]]; jacobians],
            },
            crop: Rect::default(),
        }
    }

    fn tracked(landmarks: Vec<[f32; 2]>) -> FaceTrack {
        FaceTrack {
            state: TrackState::Detected,
            face: Rect {
                x: 0.25,
                y: 0.25,
                width: 0.5,
                height: 0.25,
            },
            landmarks,
            ..FaceTrack::lost(7)
        }
    }

    #[test]
    fn payloads_drive_the_engine_they_are_for() {
        let fomm_alone = Driving::from_payloads(&Engine::Warp, None, Some(keypoints(2)), 40, 20);
        assert!(
            matches!(fomm_alone, Ok(None)),
            "the warp needs a face track"
        );
        let face = tracked(vec![[0.5, 0.5]]);
        let warp = Driving::from_payloads(&Engine::Warp, Some(&face), None, 40, 20)
            .unwrap()
            .unwrap();
        assert_eq!(warp.keypoints.values, vec![[20.0, 10.0]]);
        assert_eq!((warp.face_size, warp.track), (20.0, Some(7)));
        assert_eq!(
            Driving::from_payloads(&Engine::Warp, Some(&tracked(Vec::new())), None, 40, 20)
                .unwrap_err(),
            Undriven::NoLandmarks
        );
        let lost = FaceTrack::lost(7);
        assert!(matches!(
            Driving::from_payloads(&Engine::Warp, Some(&lost), None, 40, 20),
            Ok(None)
        ));
        // A box the mesh says is no human face (the bunny's) drives nothing.
        let animal = FaceTrack {
            not_driving: Some(crate::face::NotDriving::NotAFace),
            ..tracked(vec![[0.5, 0.5]])
        };
        assert!(matches!(
            Driving::from_payloads(&Engine::Warp, Some(&animal), None, 40, 20),
            Ok(None)
        ));
    }

    #[test]
    fn keypoints_without_jacobians_or_a_face_drive_nothing() {
        // FOMM needs no model here: only the engine's kind is read.
        let fomm = |face: Option<&FaceTrack>, set: Option<KeypointSet>| {
            Driving::from_payloads_for_fomm(face, set, 40, 20)
        };
        assert_eq!(
            fomm(None, Some(keypoints(1))).unwrap_err(),
            Undriven::KeypointsWithoutJacobians
        );
        let alone = fomm(None, Some(keypoints(2))).unwrap().unwrap();
        assert_eq!((alone.face_size, alone.track), (1.0, None));
        let face = tracked(vec![[0.5, 0.5]]);
        let with_face = fomm(Some(&face), Some(keypoints(2))).unwrap().unwrap();
        assert_eq!((with_face.face_size, with_face.track), (1.0, Some(7)));
        assert_eq!(with_face.keypoints, keypoints(2).keypoints);
        assert!(matches!(fomm(Some(&face), None), Ok(None)));
    }
}
