//! MediaPipe's face mesh (468 points) through ONNX Runtime, on a face crop turned upright, and
//! what the animation needs from it: each eye's openness, the mouth's opening and width, and the
//! head's pose.

use std::path::Path;

use ndarray::Array4;

use super::FaceError;
use crate::image::{crop_rotated, ImageView};
use crate::inference::{Layout, Manifest, Model, ModelError, Normalization, ProviderOptions};
use crate::tensor::fill_tensor;

/// The face mesh's id in its manifest (`make face-mesh` writes it).
pub const FACE_MESH_MODEL: &str = "face_mesh";
/// Points of the mesh.
pub const MESH_POINTS: usize = 468;

/// Indices of the mesh's canonical topology (MediaPipe's `face_mesh` numbering). "Right" and
/// "left" are the subject's: the right eye is on the picture's left.
pub mod points {
    pub const RIGHT_EYE_OUTER: usize = 33;
    pub const RIGHT_EYE_INNER: usize = 133;
    pub const RIGHT_EYE_UPPER: usize = 159;
    pub const RIGHT_EYE_LOWER: usize = 145;
    pub const LEFT_EYE_OUTER: usize = 263;
    pub const LEFT_EYE_INNER: usize = 362;
    pub const LEFT_EYE_UPPER: usize = 386;
    pub const LEFT_EYE_LOWER: usize = 374;
    pub const MOUTH_RIGHT: usize = 61;
    pub const MOUTH_LEFT: usize = 291;
    pub const LIP_UPPER_INNER: usize = 13;
    pub const LIP_LOWER_INNER: usize = 14;
    pub const NOSE_TIP: usize = 1;
    pub const FOREHEAD: usize = 10;
    pub const CHIN: usize = 152;
    /// Points that move with the skull, not with the expression (forehead, temples, nose bridge
    /// and tip, eye corners, cheekbones): the head's motion is read from these.
    pub const RIGID: [usize; 13] = [10, 151, 9, 168, 6, 1, 33, 133, 362, 263, 127, 356, 4];
}

/// The mesh of one face: points in frame pixels (z in the same scale, towards the camera
/// negative) and the model's confidence that a face is there.
#[derive(Debug, Clone, PartialEq)]
pub struct Mesh {
    pub points: Vec<[f32; 3]>,
    /// In [0, 1].
    pub score: f32,
}

/// The face's expression, in proportions of the face so that distance to the camera does not
/// change it.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Expression {
    /// Lid gap over eye width: about 0.3 open, under 0.1 closed.
    pub right_eye: f32,
    pub left_eye: f32,
    /// Inner lip gap over the distance between the outer eye corners.
    pub mouth_open: f32,
    /// Mouth corner distance over the distance between the outer eye corners.
    pub mouth_width: f32,
}

/// The head's turn, in radians: yaw (to the subject's left positive), pitch (down positive),
/// roll (counter-clockwise on screen positive).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct HeadPose {
    pub yaw: f32,
    pub pitch: f32,
    pub roll: f32,
}

fn distance(a: [f32; 3], b: [f32; 3]) -> f32 {
    (a[0] - b[0]).hypot(a[1] - b[1])
}

impl Mesh {
    pub fn expression(&self) -> Expression {
        use points::*;
        let p = |index: usize| self.points[index];
        let eyes = distance(p(RIGHT_EYE_OUTER), p(LEFT_EYE_OUTER)).max(1e-3);
        let eye = |upper, lower, outer, inner| {
            distance(p(upper), p(lower)) / distance(p(outer), p(inner)).max(1e-3)
        };
        Expression {
            right_eye: eye(
                RIGHT_EYE_UPPER,
                RIGHT_EYE_LOWER,
                RIGHT_EYE_OUTER,
                RIGHT_EYE_INNER,
            ),
            left_eye: eye(
                LEFT_EYE_UPPER,
                LEFT_EYE_LOWER,
                LEFT_EYE_OUTER,
                LEFT_EYE_INNER,
            ),
            mouth_open: distance(p(LIP_UPPER_INNER), p(LIP_LOWER_INNER)) / eyes,
            mouth_width: distance(p(MOUTH_RIGHT), p(MOUTH_LEFT)) / eyes,
        }
    }

    pub fn pose(&self) -> HeadPose {
        use points::*;
        let p = |index: usize| self.points[index];
        let (right, left) = (p(RIGHT_EYE_OUTER), p(LEFT_EYE_OUTER));
        let (top, bottom) = (p(FOREHEAD), p(CHIN));
        HeadPose {
            // The eye line's depth slope turns with the head about the vertical axis (z grows
            // away from the camera).
            yaw: (left[2] - right[2]).atan2(distance(right, left)),
            pitch: (bottom[2] - top[2]).atan2(distance(top, bottom)),
            roll: (right[1] - left[1]).atan2(left[0] - right[0]),
        }
    }
}

/// Where to look for the mesh: a square around the face, turned so that the eyes are level.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeshRegion {
    pub center: (f32, f32),
    pub side: f32,
    /// The face's roll: counter-clockwise on screen, radians.
    pub angle: f32,
}

impl MeshRegion {
    /// MediaPipe's framing: the face box's larger side times 1.5, around its centre, level with
    /// the eyes (`eyes`: the subject's right then left eye, frame pixels).
    pub fn around(center: (f32, f32), face_side: f32, eyes: Option<([f32; 2], [f32; 2])>) -> Self {
        let angle = eyes.map_or(0.0, |(right, left)| {
            (right[1] - left[1]).atan2(left[0] - right[0])
        });
        MeshRegion {
            center,
            side: 1.5 * face_side,
            angle,
        }
    }
}

pub struct FaceMesh {
    model: Model,
    size: usize,
    tensor: Array4<f32>,
}

impl FaceMesh {
    /// Loads the mesh from a model folder (`make face-mesh` writes models/face_mesh).
    pub fn load(dir: &Path, options: &ProviderOptions) -> Result<Self, FaceError> {
        let manifest = Manifest::load(dir)?;
        let mut model = Model::load(&manifest, FACE_MESH_MODEL, options)?;
        model.expect(&[("image", 4)], &[("landmarks", 2), ("face_score", 2)])?;
        let size = model
            .spec()
            .input("image")
            .filter(|spec| spec.normalization == Some(Normalization::Unit))
            .and_then(|spec| spec.square_size(Layout::Nhwc))
            .ok_or_else(|| {
                FaceError::Model(ModelError::Contract {
                    path: model.path().to_path_buf(),
                    mismatches: vec![
                        "input 'image' must be a square NHWC image with normalization \"unit\""
                            .into(),
                    ],
                })
            })?;
        Ok(FaceMesh {
            model,
            size,
            tensor: Array4::zeros([1, size, size, 3]),
        })
    }

    pub fn inference_time(&self) -> std::time::Duration {
        self.model.inference_time()
    }

    /// The mesh of the face in `region` of the frame.
    pub fn run(&mut self, frame: &ImageView<'_>, region: MeshRegion) -> Result<Mesh, FaceError> {
        let (crop, map) = crop_rotated(frame, region.center, region.side, region.angle, self.size)?;
        fill_tensor(
            &crop,
            Layout::Nhwc,
            Normalization::Unit,
            &mut self.tensor.view_mut(),
        )?;
        let outputs = self
            .model
            .run(&[("image", self.tensor.view().into_dyn())])?;
        let values = outputs.get("landmarks");
        let values = values.as_slice().expect("contiguous output");
        let logit = outputs
            .get("face_score")
            .iter()
            .next()
            .copied()
            .unwrap_or(-10.0);
        let scale = map.scale();
        let points = values
            .chunks_exact(3)
            .map(|p| {
                let [x, y] = map.to_frame(p[0], p[1]);
                [x, y, p[2] * scale]
            })
            .collect();
        Ok(Mesh {
            points,
            score: 1.0 / (1.0 + (-logit).exp()),
        })
    }
}
