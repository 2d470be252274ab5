//! MediaPipe's face mesh through ONNX Runtime, on a face crop turned upright: the 468-point mesh,
//! or the attention mesh (the same 468 points and both irises), and what the animation needs
//! from it: each eye's openness, the mouth's opening, width and corners, each brow's height, the
//! gaze, and the head's pose.

use std::path::Path;

use ndarray::Array4;

use super::FaceError;
use crate::image::{crop_rotated, ImageView};
use crate::inference::{Layout, Manifest, Model, ModelError, Normalization, ProviderOptions};
use crate::tensor::fill_tensor;

/// The face mesh's id in its manifest (`make face-mesh` writes it).
pub const FACE_MESH_MODEL: &str = "face_mesh";
/// The attention mesh's id in its manifest (set-up writes models/face_mesh_attention).
pub const ATTENTION_MESH_MODEL: &str = "face_mesh_attention";
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
    /// The upper edge of each brow, from the nose outwards' reverse: outer to inner.
    pub const RIGHT_BROW: [usize; 5] = [70, 63, 105, 66, 107];
    pub const LEFT_BROW: [usize; 5] = [300, 293, 334, 296, 336];
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
    /// The subject's right then left iris, where the attention mesh runs.
    pub irises: Option<[Iris; 2]>,
}

/// One iris: its centre and radius (in frame pixels in a [`Mesh`], in fractions of the frame's
/// width and height in a face track).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Iris {
    pub center: [f32; 2],
    pub radius: f32,
}

/// Where the eyes look, from the irises' places in the eyes, averaged over both: `yaw` is the
/// iris's offset from the middle of the eye corners along the eye line, over half the eye's
/// width (to the subject's left positive; about -0.5 to 0.5 looking to the eye's corners);
/// `pitch` its offset from the middle of the lids across the eye line, over half the eye's width
/// (down positive; about -0.3 to 0.3).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Gaze {
    pub yaw: f32,
    pub pitch: f32,
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
    /// Each brow's height above the middle of its eye's corners, across the eye line, over the
    /// distance between the outer eye corners (about 0.22 calm, more when raised, less when
    /// lowered; 0 from a meta that has none).
    pub right_brow: f32,
    pub left_brow: f32,
    /// The mouth corners' height above the middle of the inner lips, across the eye line, over
    /// the distance between the outer eye corners: positive with a smile, negative with a frown
    /// (about -0.1 to 0.1).
    pub mouth_corners: f32,
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

fn midpoint(a: [f32; 3], b: [f32; 3]) -> [f32; 2] {
    [(a[0] + b[0]) / 2.0, (a[1] + b[1]) / 2.0]
}

/// The face's axes on screen: along the eye line towards the subject's left, and down the face.
fn face_axes(right_eye: [f32; 3], left_eye: [f32; 3]) -> ([f32; 2], [f32; 2]) {
    let (dx, dy) = (left_eye[0] - right_eye[0], left_eye[1] - right_eye[1]);
    let length = dx.hypot(dy).max(1e-6);
    let along = [dx / length, dy / length];
    (along, [-along[1], along[0]])
}

fn dot(a: [f32; 2], b: [f32; 2]) -> f32 {
    a[0] * b[0] + a[1] * b[1]
}

impl Mesh {
    pub fn expression(&self) -> Expression {
        use points::*;
        let p = |index: usize| self.points[index];
        let eyes = distance(p(RIGHT_EYE_OUTER), p(LEFT_EYE_OUTER)).max(1e-3);
        let (_, down) = face_axes(p(RIGHT_EYE_OUTER), p(LEFT_EYE_OUTER));
        // Heights across the eye line, up positive, over the eye distance.
        let height_above = |point: [f32; 2], base: [f32; 2]| {
            -dot([point[0] - base[0], point[1] - base[1]], down) / eyes
        };
        let brow = |indices: [usize; 5], outer: usize, inner: usize| {
            let count = indices.len() as f32;
            let centre = indices.iter().fold([0.0, 0.0], |sum, &index| {
                [sum[0] + p(index)[0] / count, sum[1] + p(index)[1] / count]
            });
            height_above(centre, midpoint(p(outer), p(inner)))
        };
        let lips = midpoint(p(LIP_UPPER_INNER), p(LIP_LOWER_INNER));
        let corner = |index: usize| height_above([p(index)[0], p(index)[1]], lips);
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
            right_brow: brow(RIGHT_BROW, RIGHT_EYE_OUTER, RIGHT_EYE_INNER),
            left_brow: brow(LEFT_BROW, LEFT_EYE_OUTER, LEFT_EYE_INNER),
            mouth_corners: (corner(MOUTH_RIGHT) + corner(MOUTH_LEFT)) / 2.0,
        }
    }

    /// Where the eyes look, when the mesh has the irises.
    pub fn gaze(&self) -> Option<Gaze> {
        use points::*;
        let [right_iris, left_iris] = self.irises?;
        let p = |index: usize| self.points[index];
        let (along, down) = face_axes(p(RIGHT_EYE_OUTER), p(LEFT_EYE_OUTER));
        let eye = |iris: Iris, outer: usize, inner: usize, upper: usize, lower: usize| {
            let half_width = distance(p(outer), p(inner)).max(1e-3) / 2.0;
            let corners = midpoint(p(outer), p(inner));
            let lids = midpoint(p(upper), p(lower));
            let from = |base: [f32; 2]| [iris.center[0] - base[0], iris.center[1] - base[1]];
            (
                dot(from(corners), along) / half_width,
                dot(from(lids), down) / half_width,
            )
        };
        let right = eye(
            right_iris,
            RIGHT_EYE_OUTER,
            RIGHT_EYE_INNER,
            RIGHT_EYE_UPPER,
            RIGHT_EYE_LOWER,
        );
        let left = eye(
            left_iris,
            LEFT_EYE_OUTER,
            LEFT_EYE_INNER,
            LEFT_EYE_UPPER,
            LEFT_EYE_LOWER,
        );
        Some(Gaze {
            yaw: (right.0 + left.0) / 2.0,
            pitch: (right.1 + left.1) / 2.0,
        })
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
    /// The attention mesh, with the irises.
    attention: bool,
}

impl FaceMesh {
    /// Loads the mesh from a model folder: the attention mesh (models/face_mesh_attention,
    /// irises too) or the 468-point mesh (models/face_mesh), whichever its manifest holds.
    pub fn load(dir: &Path, options: &ProviderOptions) -> Result<Self, FaceError> {
        let manifest = Manifest::load(dir)?;
        let attention = manifest.models.contains_key(ATTENTION_MESH_MODEL);
        let id = if attention {
            ATTENTION_MESH_MODEL
        } else {
            FACE_MESH_MODEL
        };
        let mut model = Model::load(&manifest, id, options)?;
        let mut outputs = vec![("landmarks", 2), ("face_score", 2)];
        if attention {
            outputs.extend([("left_iris", 2), ("right_iris", 2)]);
        }
        model.expect(&[("image", 4)], &outputs)?;
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
            attention,
        })
    }

    /// Whether this mesh gives the irises.
    pub fn has_irises(&self) -> bool {
        self.attention
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
        // Each iris: its centre, then four points on its edge. The model names them by the
        // picture's sides: its "left" iris is the subject's right.
        let iris = |name: &str| {
            let values = outputs.get(name);
            let values = values.as_slice().expect("contiguous output");
            let center = map.to_frame(values[0], values[1]);
            let radius = values[2..]
                .chunks_exact(2)
                .map(|p| {
                    let edge = map.to_frame(p[0], p[1]);
                    (edge[0] - center[0]).hypot(edge[1] - center[1])
                })
                .sum::<f32>()
                / 4.0;
            Iris { center, radius }
        };
        let irises = self
            .attention
            .then(|| [iris("left_iris"), iris("right_iris")]);
        Ok(Mesh {
            points,
            score: 1.0 / (1.0 + (-logit).exp()),
            irises,
        })
    }
}
