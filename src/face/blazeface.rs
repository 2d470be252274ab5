//! MediaPipe BlazeFace through ONNX Runtime, short range (128x128, faces within 2 m) or full
//! range (192x192, faces up to 5 m: small and far ones): anchors, decoding and the weighted
//! non-maximum suppression MediaPipe uses.

use ndarray::Array4;

use super::{Detection, FaceDetector, FaceError, Rect};
use crate::image::{crop_square, ImageView, SquareCrop};
use crate::inference::{Layout, Manifest, Model, Normalization, Provider, ProviderOptions};
use crate::tensor::fill_tensor;

/// The model id in `models/blazeface/manifest.json`.
pub const BLAZEFACE_MODEL_ID: &str = "blazeface_front";
/// The model id in `models/face_detection_full_range/manifest.json`.
pub const FULL_RANGE_MODEL_ID: &str = "blazeface_full_range";

/// The anchor grids of each model (cells a side, anchors a cell), as MediaPipe's
/// SsdAnchorsCalculator makes them for its graphs: the short-range model's 16x16 cells with 2
/// anchors each, then 8x8 cells with 6 each (strides 8 and 16 of 128); the full-range model's one
/// 48x48 grid with 1 anchor a cell (stride 4 of 192).
const SHORT_RANGE: (usize, &[(usize, usize)]) = (128, &[(16, 2), (8, 6)]);
const FULL_RANGE: (usize, &[(usize, usize)]) = (192, &[(48, 1)]);
const KEYPOINTS: usize = 6;
const VALUES_PER_ANCHOR: usize = 4 + 2 * KEYPOINTS;
/// Detections overlapping more than this are one face (MediaPipe's value).
const MERGE_IOU: f32 = 0.3;

pub struct BlazeFace {
    model: Model,
    input_size: usize,
    input_name: String,
    /// The grids' score outputs, then their box outputs, in grid order.
    score_names: Vec<String>,
    box_names: Vec<String>,
    /// Which model this is, for messages.
    model_id: &'static str,
    /// Anchor centres in [0, 1] of the model input, in output order.
    anchors: Vec<[f32; 2]>,
    tensor: Array4<f32>,
    pub score_threshold: f32,
    /// Faces whose larger side is smaller than this many frame pixels are ignored.
    pub min_face_size: f32,
}

impl BlazeFace {
    /// Loads the detector from a model folder holding `manifest.json`: the short-range model
    /// (`models/blazeface`) or the full-range one (`models/face_detection_full_range`).
    pub fn load(model_dir: &std::path::Path, options: &ProviderOptions) -> Result<Self, FaceError> {
        let manifest = Manifest::load(model_dir)?;
        let (model_id, (size, grids)) = if manifest.models.contains_key(FULL_RANGE_MODEL_ID) {
            (FULL_RANGE_MODEL_ID, FULL_RANGE)
        } else {
            (BLAZEFACE_MODEL_ID, SHORT_RANGE)
        };
        let model = Model::load(&manifest, model_id, options)?;
        let spec = model.spec();
        let input = &spec.inputs[0];
        let input_size =
            input
                .square_size(Layout::Nhwc)
                .ok_or_else(|| FaceError::DetectorFile {
                    path: model.path().display().to_string(),
                    reason: "the manifest must describe a square NHWC image input".into(),
                })?;
        // The decoder knows each model's anchor grids; any other layout would misread every box.
        let expected: Vec<Vec<Option<i64>>> = grids
            .iter()
            .map(|&(cells, per_cell)| {
                vec![Some(1), Some((cells * cells * per_cell) as i64), Some(1)]
            })
            .chain(grids.iter().map(|&(cells, per_cell)| {
                vec![
                    Some(1),
                    Some((cells * cells * per_cell) as i64),
                    Some(VALUES_PER_ANCHOR as i64),
                ]
            }))
            .collect();
        let found: Vec<Vec<Option<i64>>> = spec.outputs.iter().map(|o| o.shape.clone()).collect();
        if found != expected || input_size != size {
            return Err(FaceError::DetectorFile {
                path: model.path().display().to_string(),
                reason: format!(
                    "not the layout of {model_id}: input {input_size}, outputs {found:?}; expected input {size}, outputs {expected:?} (scores per grid, then boxes)"
                ),
            });
        }
        let names = |range: std::ops::Range<usize>| {
            spec.outputs[range]
                .iter()
                .map(|output| output.name.clone())
                .collect()
        };
        let anchors = grids
            .iter()
            .flat_map(|&(cells, per_cell)| {
                (0..cells * cells).flat_map(move |cell| {
                    let x = (cell % cells) as f32 + 0.5;
                    let y = (cell / cells) as f32 + 0.5;
                    std::iter::repeat_n([x / cells as f32, y / cells as f32], per_cell)
                })
            })
            .collect();
        Ok(BlazeFace {
            input_name: input.name.clone(),
            score_names: names(0..grids.len()),
            box_names: names(grids.len()..2 * grids.len()),
            model_id,
            tensor: Array4::zeros([1, input_size, input_size, 3]),
            input_size,
            anchors,
            model,
            score_threshold: 0.6,
            min_face_size: 0.0,
        })
    }

    /// Raw detections in [0, 1] coordinates of the (letterboxed) model input.
    fn decode(&self, scores: Vec<&[f32]>, boxes: Vec<&[f32]>) -> Vec<Detection> {
        let scale = 1.0 / self.input_size as f32;
        let mut found = Vec::new();
        let mut anchors = self.anchors.iter();
        for (scores, boxes) in scores.into_iter().zip(boxes) {
            for (logit, values) in scores.iter().zip(boxes.chunks_exact(VALUES_PER_ANCHOR)) {
                let anchor = anchors.next().expect("anchor count matches the contract");
                let score = 1.0 / (1.0 + (-logit.clamp(-100.0, 100.0)).exp());
                if score < self.score_threshold {
                    continue;
                }
                let center_x = anchor[0] + values[0] * scale;
                let center_y = anchor[1] + values[1] * scale;
                let face =
                    Rect::from_center(center_x, center_y, values[2] * scale, values[3] * scale);
                let landmarks = values[4..]
                    .chunks_exact(2)
                    .map(|point| [anchor[0] + point[0] * scale, anchor[1] + point[1] * scale])
                    .collect();
                found.push(Detection {
                    face,
                    landmarks,
                    score,
                });
            }
        }
        found
    }
}

/// MediaPipe's weighted NMS: overlapping detections are averaged, weighted by score, rather than
/// dropped, which steadies the box from frame to frame.
pub(crate) fn merge_overlapping(mut detections: Vec<Detection>) -> Vec<Detection> {
    detections.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut merged = Vec::new();
    let mut used = vec![false; detections.len()];
    for i in 0..detections.len() {
        if used[i] {
            continue;
        }
        let anchor = detections[i].face;
        let mut weight = 0.0;
        let mut face = [0.0f32; 4];
        let mut landmarks = vec![[0.0f32; 2]; detections[i].landmarks.len()];
        for j in i..detections.len() {
            if used[j] || (j != i && anchor.iou(&detections[j].face) < MERGE_IOU) {
                continue;
            }
            used[j] = true;
            let detection = &detections[j];
            let w = detection.score;
            weight += w;
            let (cx, cy) = detection.face.center();
            for (sum, value) in
                face.iter_mut()
                    .zip([cx, cy, detection.face.width, detection.face.height])
            {
                *sum += w * value;
            }
            for (sum, point) in landmarks.iter_mut().zip(&detection.landmarks) {
                sum[0] += w * point[0];
                sum[1] += w * point[1];
            }
        }
        let [cx, cy, width, height] = face.map(|v| v / weight);
        merged.push(Detection {
            face: Rect::from_center(cx, cy, width, height),
            landmarks: landmarks
                .into_iter()
                .map(|[x, y]| [x / weight, y / weight])
                .collect(),
            score: detections[i].score,
        });
    }
    merged
}

impl FaceDetector for BlazeFace {
    fn detect(&mut self, frame: &ImageView<'_>) -> Result<Vec<Detection>, FaceError> {
        // Letterbox: the whole frame, centred in a square, so faces keep their aspect ratio.
        let letterbox = SquareCrop::letterbox(frame.width(), frame.height());
        self.detect_in(frame, letterbox)
    }

    fn detect_in(
        &mut self,
        frame: &ImageView<'_>,
        letterbox: SquareCrop,
    ) -> Result<Vec<Detection>, FaceError> {
        let input = crop_square(frame, letterbox, self.input_size)?;
        fill_tensor(
            &input,
            Layout::Nhwc,
            Normalization::Symmetric,
            &mut self.tensor.view_mut(),
        )?;
        let outputs = self
            .model
            .run(&[(self.input_name.as_str(), self.tensor.view().into_dyn())])?;
        let slice = |name: &String| {
            outputs
                .get(name)
                .as_slice()
                .expect("ONNX Runtime returns contiguous outputs")
        };
        let raw = self.decode(
            self.score_names.iter().map(slice).collect(),
            self.box_names.iter().map(slice).collect(),
        );
        let to_frame = |[u, v]: [f32; 2]| {
            let (x, y) = letterbox.to_frame(u, v);
            [x, y]
        };
        Ok(merge_overlapping(raw)
            .into_iter()
            .map(|detection| {
                let [x, y] = to_frame([detection.face.x, detection.face.y]);
                Detection {
                    face: Rect {
                        x,
                        y,
                        width: detection.face.width * letterbox.side,
                        height: detection.face.height * letterbox.side,
                    },
                    landmarks: detection.landmarks.into_iter().map(to_frame).collect(),
                    score: detection.score,
                }
            })
            .filter(|detection| {
                detection.face.width.max(detection.face.height) >= self.min_face_size
            })
            .collect())
    }

    fn set_limits(&mut self, score_threshold: f32, min_face_size: f32) {
        self.score_threshold = score_threshold;
        self.min_face_size = min_face_size;
    }

    fn name(&self) -> &'static str {
        match self.model_id {
            FULL_RANGE_MODEL_ID => "blazeface full-range",
            _ => "blazeface",
        }
    }

    fn provider(&self) -> Option<Provider> {
        Some(self.model.provider())
    }

    fn fallbacks(&self) -> &[String] {
        self.model.fallbacks()
    }

    fn inference_time(&self) -> std::time::Duration {
        self.model.inference_time()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detection(cx: f32, score: f32) -> Detection {
        Detection {
            face: Rect::from_center(cx, 0.5, 0.2, 0.2),
            landmarks: vec![[cx, 0.4]],
            score,
        }
    }

    #[test]
    fn overlapping_detections_are_averaged_by_score() {
        let merged = merge_overlapping(vec![
            detection(0.50, 0.9),
            detection(0.52, 0.3),
            detection(0.90, 0.8),
        ]);
        assert_eq!(merged.len(), 2);
        let (cx, _) = merged[0].face.center();
        assert!((cx - (0.5 * 0.9 + 0.52 * 0.3) / 1.2).abs() < 1e-6, "{cx}");
        assert!((merged[0].landmarks[0][0] - cx).abs() < 1e-6);
        assert_eq!(merged[0].score, 0.9);
        assert!((merged[1].face.center().0 - 0.9).abs() < 1e-6);
    }
}
