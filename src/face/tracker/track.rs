//! What the tracker says about a frame ([`FaceTrack`]: where the face is, how it was found, its
//! mesh and what was read from it) and how it is set up ([`TrackerConfig`]).

#[cfg(doc)]
use crate::face::crop_box;
use crate::face::{Expression, Gaze, HeadPose, Iris, OneEuroParams, Rect};

/// Where the primary face's box came from on this frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrackState {
    /// The detector found it on this frame.
    Detected,
    /// Optical flow moved the last box to this frame.
    Tracked,
    /// Neither found it; the last box is held for a few frames.
    Held,
    /// No face.
    Lost,
}

impl TrackState {
    pub fn name(self) -> &'static str {
        match self {
            TrackState::Detected => "detected",
            TrackState::Tracked => "tracked",
            TrackState::Held => "held",
            TrackState::Lost => "lost",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        [
            TrackState::Detected,
            TrackState::Tracked,
            TrackState::Held,
            TrackState::Lost,
        ]
        .into_iter()
        .find(|state| state.name() == name)
    }

    /// Whether the boxes describe a face on this frame.
    pub fn has_face(self) -> bool {
        self != TrackState::Lost
    }
}

/// Why a face the tracker follows does not drive the avatar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotDriving {
    /// The face mesh's face flag is under its threshold: an animal's face, a drawing, a toy.
    NotAFace,
}

impl NotDriving {
    /// The name in the face meta.
    pub fn name(self) -> &'static str {
        match self {
            NotDriving::NotAFace => "not-a-face",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        [NotDriving::NotAFace]
            .into_iter()
            .find(|why| why.name() == name)
    }
}

/// The primary face on one frame: what `facetrack` attaches to each buffer. Coordinates are
/// fractions of the frame, so scaling the video does not invalidate them.
#[derive(Debug, Clone, PartialEq)]
pub struct FaceTrack {
    /// Increases each time a new face is acquired; 0 before the first.
    pub track_id: u64,
    pub state: TrackState,
    /// Detector confidence of the last detection, lowered while tracking gets unsure.
    pub score: f32,
    /// The smoothed face box.
    pub face: Rect,
    /// The square crop (square in pixels) the models should take.
    pub crop: Rect,
    /// Smoothed detector landmarks, when the detector gives them.
    pub landmarks: Vec<[f32; 2]>,
    /// The face mesh's 468 points (x, y as fractions of the frame, z in fractions of its width),
    /// when the tracker runs the mesh.
    pub mesh: Vec<[f32; 3]>,
    /// The expression and head pose read from the mesh.
    pub expression: Option<Expression>,
    pub pose: Option<HeadPose>,
    /// The subject's right then left iris (centres as fractions of the frame, radius as a
    /// fraction of its width), and where the eyes look, when the attention mesh runs.
    pub irises: Option<[Iris; 2]>,
    pub gaze: Option<Gaze>,
    /// Set when the box follows something that must not drive the avatar (and why): the frame
    /// counts as one without a face for the animation.
    pub not_driving: Option<NotDriving>,
}

impl FaceTrack {
    /// Whether this frame's face drives the avatar: there is one, and it is a human face (as far
    /// as the mesh can tell; without the mesh every face drives).
    pub fn drives(&self) -> bool {
        self.state.has_face() && self.not_driving.is_none()
    }

    /// A frame without a face.
    pub fn lost(track_id: u64) -> Self {
        FaceTrack {
            track_id,
            state: TrackState::Lost,
            score: 0.0,
            face: Rect::default(),
            crop: Rect::default(),
            landmarks: Vec::new(),
            mesh: Vec::new(),
            expression: None,
            pose: None,
            irises: None,
            gaze: None,
            not_driving: None,
        }
    }
}

/// Tracker behaviour; every field can change between frames.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackerConfig {
    /// Run the detector every this many frames (1: every frame); optical flow fills the gaps.
    pub detect_interval: u32,
    /// Frames to keep the last box after the face is lost, before reporting it lost.
    pub hold_frames: u32,
    /// Crop margin on each side, as a fraction of the face's larger side (see [`crop_box`]).
    pub margin: f32,
    pub smoothing: OneEuroParams,
}

impl Default for TrackerConfig {
    fn default() -> Self {
        TrackerConfig {
            detect_interval: 5,
            hold_frames: 15,
            margin: 0.4,
            smoothing: OneEuroParams::default(),
        }
    }
}
