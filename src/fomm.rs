//! First Order Motion Model through ONNX Runtime: the keypoint detector, the source encoder
//! (run once per portrait: its features and keypoints are cached in [`SourceEncoding`]) and the
//! generator run per driving frame.

use std::path::Path;

use ndarray::{Array4, ArrayD, IxDyn};

use crate::image::{ImageError, RgbImage};
use crate::inference::{Layout, Manifest, Model, ModelError, Normalization, ProviderOptions};
use crate::motion::{Keypoints, Point};
use crate::tensor::{fill_tensor, from_tensor, TensorError};

pub const KEYPOINT_MODEL: &str = "fomm_kp";
pub const ENCODER_MODEL: &str = "fomm_encoder";
pub const GENERATOR_MODEL: &str = "fomm_generator";

#[derive(Debug, thiserror::Error)]
pub enum FommError {
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Image(#[from] ImageError),
    #[error(transparent)]
    Tensor(#[from] TensorError),
    #[error("FOMM model set {dir}: {reason}")]
    Inconsistent { dir: String, reason: String },
}

/// A source portrait as the generator needs it, computed once.
#[derive(Debug, Clone)]
pub struct SourceEncoding {
    /// The portrait crop at the model's size.
    pub portrait: RgbImage,
    image: Array4<f32>,
    features: ArrayD<f32>,
    pub keypoints: Keypoints,
}

/// The keypoint detector alone (`fommkeypoints` needs nothing else).
pub struct KeypointDetector {
    model: Model,
    size: usize,
    /// Reused input tensor.
    tensor: Array4<f32>,
}

impl KeypointDetector {
    pub fn load(dir: &Path, options: &ProviderOptions) -> Result<Self, FommError> {
        let manifest = Manifest::load(dir).map_err(ModelError::from)?;
        Self::from_manifest(&manifest, options)
    }

    fn from_manifest(manifest: &Manifest, options: &ProviderOptions) -> Result<Self, FommError> {
        let mut model = Model::load(manifest, KEYPOINT_MODEL, options)?;
        model.expect(&[("image", 4)], &[("kp_value", 3), ("kp_jacobian", 4)])?;
        let size = image_size(&model, "image", &manifest.dir)?;
        Ok(KeypointDetector {
            model,
            size,
            tensor: Array4::zeros([1, 3, size, size]),
        })
    }

    /// The side of the square crops the detector takes.
    pub fn image_size(&self) -> usize {
        self.size
    }

    pub fn provider(&self) -> crate::inference::Provider {
        self.model.provider()
    }

    /// Providers `auto` tried before the one in use, with why each failed.
    pub fn fallbacks(&self) -> &[String] {
        self.model.fallbacks()
    }

    /// Time spent inside ONNX Runtime since loading.
    pub fn inference_time(&self) -> std::time::Duration {
        self.model.inference_time()
    }

    /// Keypoints of a face crop (resized to the model's size when it is not).
    pub fn keypoints(&mut self, crop: &RgbImage) -> Result<Keypoints, FommError> {
        let crop = crop.at_size(self.size, self.size)?;
        fill_tensor(
            &crop,
            Layout::Nchw,
            Normalization::Unit,
            &mut self.tensor.view_mut(),
        )?;
        let outputs = self
            .model
            .run(&[("image", self.tensor.view().into_dyn())])?;
        Ok(keypoints_from(
            outputs.get("kp_value"),
            outputs.get("kp_jacobian"),
        ))
    }
}

/// The whole model set: keypoints, source encoder and generator.
pub struct Fomm {
    source_encoder: SourceEncoder,
    generator: Generator,
}

/// What a portrait needs once: the encoder and the keypoint detector.
pub struct SourceEncoder {
    keypoint_detector: KeypointDetector,
    encoder: Model,
    size: usize,
}

/// What every driving frame needs: the generator.
pub struct Generator {
    generator: Model,
    size: usize,
    /// Whether the graph gives its deformation (exports since the alpha backgrounds do).
    has_deformation: bool,
}

/// Where each point of a generated frame comes from in the source portrait: [height, width, 2],
/// (x, y) in [-1, 1] with -1 and 1 the centres of the first and last source pixels, x along the
/// width (grid_sample with align_corners=True, as the official FOMM samples).
pub type Deformation = ndarray::Array3<f32>;

/// The side of a FOMM graph's square image input. FOMM takes pixels in [0, 1] (the official
/// code's), which the manifest must say or leave unsaid.
fn image_size(model: &Model, input: &str, dir: &Path) -> Result<usize, FommError> {
    model
        .spec()
        .input(input)
        .filter(|spec| matches!(spec.normalization, None | Some(Normalization::Unit)))
        .and_then(|spec| spec.square_size(Layout::Nchw))
        .ok_or_else(|| FommError::Inconsistent {
            dir: dir.display().to_string(),
            reason: format!(
                "{}: input '{input}' must be a square NCHW image with normalization \"unit\" (pixels in [0, 1])",
                model.id()
            ),
        })
}

fn keypoints_from(value: &ArrayD<f32>, jacobian: &ArrayD<f32>) -> Keypoints {
    let values: Vec<Point> = value
        .as_slice()
        .expect("contiguous output")
        .chunks_exact(2)
        .map(|p| [p[0], p[1]])
        .collect();
    let jacobians = jacobian
        .as_slice()
        .expect("contiguous output")
        .chunks_exact(4)
        .map(|m| [[m[0], m[1]], [m[2], m[3]]])
        .collect();
    Keypoints { values, jacobians }
}

fn keypoint_arrays(keypoints: &Keypoints) -> Result<(ArrayD<f32>, ArrayD<f32>), FommError> {
    let count = keypoints.values.len();
    if keypoints.jacobians.len() != count {
        return Err(FommError::Inconsistent {
            dir: "keypoints".into(),
            reason: format!(
                "{count} keypoints but {} Jacobians",
                keypoints.jacobians.len()
            ),
        });
    }
    let values: Vec<f32> = keypoints.values.iter().flatten().copied().collect();
    let jacobians: Vec<f32> = keypoints
        .jacobians
        .iter()
        .flatten()
        .flatten()
        .copied()
        .collect();
    Ok((
        ArrayD::from_shape_vec(IxDyn(&[1, count, 2]), values).expect("2 values per keypoint"),
        ArrayD::from_shape_vec(IxDyn(&[1, count, 2, 2]), jacobians).expect("4 values per Jacobian"),
    ))
}

impl Fomm {
    /// Loads `fomm_kp`, `fomm_encoder` and `fomm_generator` from a model folder's manifest.
    pub fn load(dir: &Path, options: &ProviderOptions) -> Result<Self, FommError> {
        let manifest = Manifest::load(dir).map_err(ModelError::from)?;
        let keypoint_detector = KeypointDetector::from_manifest(&manifest, options)?;
        let mut encoder = Model::load(&manifest, ENCODER_MODEL, options)?;
        encoder.expect(&[("source", 4)], &[("features", 4)])?;
        let mut generator = Model::load(&manifest, GENERATOR_MODEL, options)?;
        let has_deformation = generator
            .spec()
            .output("deformation")
            .is_some_and(|spec| spec.shape.len() == 4);
        let outputs: &[(&str, usize)] = if has_deformation {
            &[("prediction", 4), ("deformation", 4)]
        } else {
            &[("prediction", 4)]
        };
        generator.expect(
            &[
                ("source", 4),
                ("features", 4),
                ("source_value", 3),
                ("source_jacobian", 4),
                ("driving_value", 3),
                ("driving_jacobian", 4),
            ],
            outputs,
        )?;
        let size = keypoint_detector.image_size();
        for (model, input) in [(&encoder, "source"), (&generator, "source")] {
            let other = image_size(model, input, dir)?;
            if other != size {
                return Err(FommError::Inconsistent {
                    dir: dir.display().to_string(),
                    reason: format!(
                        "{} takes {other}x{other} images, fomm_kp {size}x{size}",
                        model.id()
                    ),
                });
            }
        }
        Ok(Fomm {
            source_encoder: SourceEncoder {
                keypoint_detector,
                encoder,
                size,
            },
            generator: Generator {
                generator,
                size,
                has_deformation,
            },
        })
    }

    /// The encoder (once per portrait) and the generator (every frame) apart, so that a portrait
    /// can be encoded on another thread while frames are generated.
    pub fn into_parts(self) -> (SourceEncoder, Generator) {
        (self.source_encoder, self.generator)
    }

    /// The side of the square images the models take.
    pub fn image_size(&self) -> usize {
        self.generator.size
    }

    /// Providers `auto` tried before the ones in use, with why each failed, all three graphs.
    pub fn fallbacks(&self) -> Vec<String> {
        [
            self.source_encoder.keypoint_detector.fallbacks(),
            self.source_encoder.encoder.fallbacks(),
            self.generator.generator.fallbacks(),
        ]
        .concat()
    }

    /// Provider of each graph, in order kp, encoder, generator.
    pub fn providers(&self) -> [crate::inference::Provider; 3] {
        [
            self.source_encoder.keypoint_detector.provider(),
            self.source_encoder.encoder.provider(),
            self.generator.generator.provider(),
        ]
    }

    /// Time spent inside ONNX Runtime since loading, all three graphs.
    pub fn inference_time(&self) -> std::time::Duration {
        self.source_encoder.keypoint_detector.inference_time()
            + self.source_encoder.encoder.inference_time()
            + self.generator.generator.inference_time()
    }

    /// Keypoints of a face crop.
    pub fn keypoints(&mut self, crop: &RgbImage) -> Result<Keypoints, FommError> {
        self.source_encoder.keypoint_detector.keypoints(crop)
    }

    /// Encodes a source portrait crop once: its features and keypoints.
    pub fn encode_source(&mut self, portrait: &RgbImage) -> Result<SourceEncoding, FommError> {
        self.source_encoder.encode(portrait)
    }

    /// The portrait animated to the driving keypoints (after relative motion).
    pub fn animate(
        &mut self,
        source: &SourceEncoding,
        driving: &Keypoints,
    ) -> Result<RgbImage, FommError> {
        self.generator
            .animate_with_deformation(source, driving)
            .map(|(picture, _)| picture)
    }

    /// The generator, for its deformation too ([`Generator::animate_with_deformation`]).
    pub fn generator(&mut self) -> &mut Generator {
        &mut self.generator
    }
}

impl SourceEncoder {
    /// The side of the square images the models take.
    pub fn image_size(&self) -> usize {
        self.size
    }

    /// Time spent inside ONNX Runtime since loading.
    pub fn inference_time(&self) -> std::time::Duration {
        self.keypoint_detector.inference_time() + self.encoder.inference_time()
    }

    /// Encodes a source portrait crop once: its features and keypoints.
    pub fn encode(&mut self, portrait: &RgbImage) -> Result<SourceEncoding, FommError> {
        let portrait = portrait.resized(self.size, self.size)?;
        let mut image = Array4::zeros([1, 3, self.size, self.size]);
        fill_tensor(
            &portrait,
            Layout::Nchw,
            Normalization::Unit,
            &mut image.view_mut(),
        )?;
        let features = self
            .encoder
            .run(&[("source", image.view().into_dyn())])?
            .get("features")
            .clone();
        let keypoints = self.keypoint_detector.keypoints(&portrait)?;
        Ok(SourceEncoding {
            portrait,
            image,
            features,
            keypoints,
        })
    }
}

impl Generator {
    /// The side of the square images the generator makes.
    pub fn image_size(&self) -> usize {
        self.size
    }

    /// Time spent inside ONNX Runtime since loading.
    pub fn inference_time(&self) -> std::time::Duration {
        self.generator.inference_time()
    }

    /// The portrait animated to the driving keypoints (after relative motion), and the
    /// deformation it used when the graph gives it. [`Fomm::animate`] and the animation session
    /// run this.
    pub fn animate_with_deformation(
        &mut self,
        source: &SourceEncoding,
        driving: &Keypoints,
    ) -> Result<(RgbImage, Option<Deformation>), FommError> {
        let (source_value, source_jacobian) = keypoint_arrays(&source.keypoints)?;
        let (driving_value, driving_jacobian) = keypoint_arrays(driving)?;
        let outputs = self.generator.run(&[
            ("source", source.image.view().into_dyn()),
            ("features", source.features.view()),
            ("source_value", source_value.view()),
            ("source_jacobian", source_jacobian.view()),
            ("driving_value", driving_value.view()),
            ("driving_jacobian", driving_jacobian.view()),
        ])?;
        let prediction = outputs
            .get("prediction")
            .view()
            .into_dimensionality::<ndarray::Ix4>()
            .map_err(|e| FommError::Inconsistent {
                dir: self.generator.path().display().to_string(),
                reason: format!("prediction is not 4-D: {e}"),
            })?;
        let picture = from_tensor(prediction, Layout::Nchw, Normalization::Unit)?;
        let deformation = if self.has_deformation {
            let grid = outputs.get("deformation");
            let shape = grid.shape().to_vec();
            let grid = grid
                .to_owned()
                .into_shape_with_order((shape[1], shape[2], shape[3]))
                .map_err(|e| FommError::Inconsistent {
                    dir: self.generator.path().display().to_string(),
                    reason: format!("deformation is not [1, height, width, 2]: {e}"),
                })?;
            Some(grid)
        } else {
            None
        };
        Ok((picture, deformation))
    }
}

/// The source's `alpha` (a grey picture of the model's size) moved as the generator moved the
/// portrait: read through `deformation` at `size` x `size`. The deformation's values are
/// corner-aligned (-1 and 1 are the first and last pixel centres), so its grid is laid over the
/// picture corner-aligned too: at rest, where it is the identity, the alpha is the portrait's
/// exactly. Outside the source the alpha is clear, as grid_sample pads with zeros.
pub fn deform_alpha(
    alpha: &RgbImage,
    deformation: &Deformation,
    size: usize,
) -> Result<RgbImage, ImageError> {
    use opencv::core::{Mat, Vec2f, BORDER_CONSTANT};
    use opencv::prelude::*;
    let (height, width) = (deformation.shape()[0], deformation.shape()[1]);
    let last = (alpha.width() - 1) as f32;
    let to_grid = |pixel: usize, cells: usize| {
        if size > 1 {
            pixel as f32 * (cells - 1) as f32 / (size - 1) as f32
        } else {
            0.0
        }
    };
    let mut map = Mat::new_rows_cols_with_default(
        size as i32,
        size as i32,
        opencv::core::CV_32FC2,
        0.0.into(),
    )?;
    for y in 0..size {
        let gy = to_grid(y, height);
        let (y0, fy) = (gy.floor() as usize, gy.fract());
        let y1 = (y0 + 1).min(height - 1);
        for x in 0..size {
            let gx = to_grid(x, width);
            let (x0, fx) = (gx.floor() as usize, gx.fract());
            let x1 = (x0 + 1).min(width - 1);
            let value = |axis: usize| {
                let top =
                    deformation[[y0, x0, axis]] * (1.0 - fx) + deformation[[y0, x1, axis]] * fx;
                let bottom =
                    deformation[[y1, x0, axis]] * (1.0 - fx) + deformation[[y1, x1, axis]] * fx;
                // From [-1, 1] to the source's pixel coordinates.
                ((top * (1.0 - fy) + bottom * fy) + 1.0) / 2.0 * last
            };
            *map.at_2d_mut::<Vec2f>(y as i32, x as i32)? = Vec2f::from([value(0), value(1)]);
        }
    }
    let mut moved = Mat::default();
    opencv::imgproc::remap(
        &alpha.to_mat()?,
        &mut moved,
        &map,
        &Mat::default(),
        opencv::imgproc::INTER_LINEAR,
        BORDER_CONSTANT,
        0.0.into(),
    )?;
    RgbImage::new(size, size, moved.data_bytes()?.to_vec())
}
