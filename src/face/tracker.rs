//! The face tracker: detect every few frames (or when tracking gets unsure), follow the face with
//! optical flow in between, smooth the box, hold it briefly when the face is lost, then say so.

use opencv::core::{Mat, Point2f, Size, TermCriteria, Vector};
use opencv::prelude::*;

use super::{crop_box, Detection, FaceDetector, FaceError, FaceMesh, OneEuroFilter, Rect};
use crate::image::{gray, ImageView, SquareCrop};

mod flow;
mod human;
mod mesh_step;
mod scene_cut;
mod track;

use flow::{seed_flow, similarity, Flow, MIN_FLOW_POINTS};
use human::HumanEvidence;
use scene_cut::is_scene_cut;
pub use track::{FaceTrack, NotDriving, TrackState, TrackerConfig};

/// The side of the region searched around the current face, in face sizes.
const SEARCH_REGION_FACES: f32 = 3.0;
const REGION_GRID: f32 = 16.0;
/// Optical flow runs on frames no wider than this: enough for face-sized motion, cheap to compute.
const FLOW_WIDTH: usize = 640;
/// The mesh's face score under which its points are not taken as a face.
const MIN_MESH_SCORE: f32 = 0.5;
/// Once a face is taken for human, the judge (see [`Tracker::set_judge`]) runs on every this
/// many frames: the mesh's own flag still drops a face that leaves on the frame it does.
const JUDGE_EVERY: u32 = 10;
/// Side of the grey thumbnails compared frame to frame to find scene cuts.
const CUT_THUMBNAIL: (usize, usize) = (32, 24);
/// A point whose backward flow misses its start by more pixels than this was lost.
const MAX_FORWARD_BACKWARD_ERROR: f32 = 1.0;
/// Below this fraction of surviving points tracking is unsure and the detector runs.
const MIN_SURVIVING_FRACTION: f32 = 0.5;

struct Current {
    track_id: u64,
    /// Unsmoothed box and landmarks, frame pixels: what detection or flow said last.
    raw: Detection,
    smoothed: Detection,
    held_for: u32,
}

pub struct Tracker {
    detector: Box<dyn FaceDetector>,
    config: TrackerConfig,
    current: Option<Current>,
    flow: Option<Flow>,
    frames_since_detection: u32,
    last_track_id: u64,
    filters: Vec<OneEuroFilter>,
    /// The last frame's thumbnail, for scene cuts.
    thumbnail: Option<Vec<f32>>,
    /// Run on the tracked face of every frame when set.
    mesh: Option<FaceMesh>,
    /// One Euro filters of the mesh's coordinates, for the face of `mesh_track`.
    mesh_filters: Vec<OneEuroFilter>,
    mesh_track: Option<u64>,
    /// Whether the face of `human_track` is a human one, from the face flag of the judge (or,
    /// without one, of the mesh).
    human: HumanEvidence,
    human_track: Option<u64>,
    judge: Option<FaceMesh>,
    /// Frames since the judge last ran.
    unjudged_frames: u32,
}

impl Tracker {
    pub fn new(detector: Box<dyn FaceDetector>, config: TrackerConfig) -> Self {
        Tracker {
            detector,
            config,
            current: None,
            flow: None,
            frames_since_detection: 0,
            last_track_id: 0,
            filters: Vec::new(),
            thumbnail: None,
            mesh: None,
            mesh_filters: Vec::new(),
            mesh_track: None,
            human: HumanEvidence::default(),
            human_track: None,
            judge: None,
            unjudged_frames: 0,
        }
    }

    /// Runs the face mesh on the tracked face of every frame (its points, expression and pose
    /// go into the track), or stops running it.
    pub fn set_mesh(&mut self, mesh: Option<FaceMesh>) {
        self.mesh = mesh;
    }

    /// A second mesh whose face flag alone judges whether the face is human, where the mesh's
    /// own flag cannot: the attention mesh's is above 0.99 on half of Big Buck Bunny's frames,
    /// the 468-point mesh's on none (and 1.0 on every frame of a real face). It runs on every
    /// frame until a face is taken for human, then on every `JUDGE_EVERY`th.
    pub fn set_judge(&mut self, judge: Option<FaceMesh>) {
        self.judge = judge;
    }

    /// Time spent inside ONNX Runtime since loading: the detector, and the mesh when it runs.
    pub fn inference_time(&self) -> std::time::Duration {
        self.detector.inference_time()
            + [self.mesh.as_ref(), self.judge.as_ref()]
                .into_iter()
                .flatten()
                .map(FaceMesh::inference_time)
                .sum::<std::time::Duration>()
    }

    /// Forgets the face (as after a change of resolution); track ids keep counting.
    pub fn reset(&mut self) {
        self.current = None;
        self.flow = None;
        self.filters.clear();
        self.frames_since_detection = 0;
        self.thumbnail = None;
        self.mesh_filters.clear();
        self.mesh_track = None;
        self.human_track = None;
    }

    pub fn config(&self) -> &TrackerConfig {
        &self.config
    }

    pub fn set_config(&mut self, config: TrackerConfig) {
        for filter in &mut self.filters {
            filter.set_params(config.smoothing);
        }
        self.config = config;
    }

    pub fn detector(&self) -> &dyn FaceDetector {
        self.detector.as_ref()
    }

    pub fn detector_mut(&mut self) -> &mut dyn FaceDetector {
        self.detector.as_mut()
    }

    /// The primary face on `frame`, taken at `time` seconds (a stream time; only differences
    /// matter, for the smoothing).
    pub fn update(&mut self, frame: &ImageView<'_>, time: f64) -> Result<FaceTrack, FaceError> {
        let (width, height) = (frame.width(), frame.height());
        let flow_scale = (FLOW_WIDTH as f32 / width as f32).min(1.0);
        let gray_frame = gray(
            frame,
            ((width as f32 * flow_scale).round() as usize).max(1),
            ((height as f32 * flow_scale).round() as usize).max(1),
        )?;

        // A cut in an edited video (or anything that replaces the whole picture) ends the track:
        // whoever is seen next is another face, with a new id.
        let thumbnail = gray(frame, CUT_THUMBNAIL.0, CUT_THUMBNAIL.1)?
            .data_bytes()?
            .iter()
            .map(|&v| v as f32)
            .collect::<Vec<f32>>();
        if self
            .thumbnail
            .as_ref()
            .is_some_and(|before| is_scene_cut(before, &thumbnail))
        {
            log::debug!("scene cut: the track ends");
            self.reset();
        }
        self.thumbnail = Some(thumbnail);

        let due = self.frames_since_detection + 1 >= self.config.detect_interval.max(1);
        let mut observation = None;
        if !due {
            observation = self.follow(&gray_frame)?.map(|d| (d, TrackState::Tracked));
        }
        if observation.is_none() {
            let detections = self.detect(frame)?;
            self.frames_since_detection = 0;
            observation = self.primary(detections).map(|d| (d, TrackState::Detected));
            self.flow = match &observation {
                Some((detection, _)) => seed_flow(gray_frame, &detection.face, flow_scale)?,
                None => None,
            };
        } else {
            self.frames_since_detection += 1;
            if let (Some(flow), Some(..)) = (&mut self.flow, &observation) {
                flow.gray = gray_frame;
            }
        }

        let track = match observation {
            Some((raw, state)) => self.observe(raw, state, time),
            None => self.miss(),
        };
        let mut described = self.describe(track, width, height);
        if described.state.has_face() {
            self.add_mesh(frame, &mut described, time)?;
        }
        Ok(described)
    }

    /// Moves the last raw box by the optical flow of its points; `None` when flow is unsure.
    fn follow(&mut self, gray_frame: &Mat) -> Result<Option<Detection>, FaceError> {
        let (Some(flow), Some(current)) = (self.flow.as_mut(), self.current.as_ref()) else {
            return Ok(None);
        };
        if current.held_for > 0 {
            return Ok(None);
        }
        let mut forward = Vector::<Point2f>::new();
        let mut backward = Vector::<Point2f>::new();
        let mut status_forward = Vector::<u8>::new();
        let mut status_backward = Vector::<u8>::new();
        let mut errors = Vector::<f32>::new();
        let criteria = TermCriteria::new(
            opencv::core::TermCriteria_COUNT + opencv::core::TermCriteria_EPS,
            30,
            0.01,
        )?;
        let window = Size::new(21, 21);
        opencv::video::calc_optical_flow_pyr_lk(
            &flow.gray,
            gray_frame,
            &flow.points,
            &mut forward,
            &mut status_forward,
            &mut errors,
            window,
            3,
            criteria,
            0,
            1e-4,
        )?;
        opencv::video::calc_optical_flow_pyr_lk(
            gray_frame,
            &flow.gray,
            &forward,
            &mut backward,
            &mut status_backward,
            &mut errors,
            window,
            3,
            criteria,
            0,
            1e-4,
        )?;
        let mut before = Vec::new();
        let mut after = Vector::<Point2f>::new();
        for i in 0..flow.points.len() {
            let start = flow.points.get(i)?;
            let end = forward.get(i)?;
            let back = backward.get(i)?;
            let error = ((back.x - start.x).powi(2) + (back.y - start.y).powi(2)).sqrt();
            if status_forward.get(i)? == 1
                && status_backward.get(i)? == 1
                && error <= MAX_FORWARD_BACKWARD_ERROR
            {
                before.push(start);
                after.push(end);
            }
        }
        let surviving = before.len() as f32 / flow.seeded.max(1) as f32;
        if before.len() < MIN_FLOW_POINTS || surviving < MIN_SURVIVING_FRACTION {
            return Ok(None);
        }
        let after_points: Vec<Point2f> = after.to_vec();
        let (shift_x, shift_y, scale) = similarity(&before, &after_points);
        flow.points = after;
        let shift = (shift_x / flow.scale, shift_y / flow.scale);

        let raw = &current.raw;
        let (cx, cy) = raw.face.center();
        let moved = |[x, y]: [f32; 2]| {
            [
                cx + shift.0 + scale * (x - cx),
                cy + shift.1 + scale * (y - cy),
            ]
        };
        Ok(Some(Detection {
            face: Rect::from_center(
                cx + shift.0,
                cy + shift.1,
                raw.face.width * scale,
                raw.face.height * scale,
            ),
            landmarks: raw.landmarks.iter().copied().map(moved).collect(),
            score: raw.score * surviving.min(1.0),
        }))
    }

    /// Detection near the current face first (a region a few face sizes wide, where the face is
    /// large in the detector's input), then over the whole frame. A face found over the whole
    /// frame is looked at again in its region on the same frame, so that every box of a track
    /// comes from the same scale (the detector's boxes differ by several percent between scales).
    fn detect(&mut self, frame: &ImageView<'_>) -> Result<Vec<Detection>, FaceError> {
        if let Some(current) = &self.current {
            let face = current.smoothed.face;
            if let Some(found) = self.detect_around(frame, &face)? {
                return Ok(found);
            }
        }
        let whole_frame = self.detector.detect(frame)?;
        let Some(best) = self.primary(whole_frame.clone()) else {
            return Ok(whole_frame);
        };
        Ok(self
            .detect_around(frame, &best.face)?
            .unwrap_or(whole_frame))
    }

    /// Faces in the search region around `face`; `None` when the region would hold the whole
    /// frame anyway or nothing is found there.
    fn detect_around(
        &mut self,
        frame: &ImageView<'_>,
        face: &Rect,
    ) -> Result<Option<Vec<Detection>>, FaceError> {
        // Snapped to a grid, so that a still face is searched in the very same region every
        // time: a region following the detector's own noise would feed that noise back.
        let snap = |value: f32| (value / REGION_GRID).round() * REGION_GRID;
        let (center_x, center_y) = face.center();
        let region = SquareCrop {
            center_x: snap(center_x),
            center_y: snap(center_y),
            side: snap(face.width.max(face.height) * SEARCH_REGION_FACES).max(REGION_GRID),
        };
        if region.side >= frame.width().max(frame.height()) as f32 {
            return Ok(None);
        }
        let found = self.detector.detect_in(frame, region)?;
        Ok((!found.is_empty()).then_some(found))
    }

    /// The face to follow: the one overlapping the current track most, else the largest, surest.
    fn primary(&self, detections: Vec<Detection>) -> Option<Detection> {
        let largest = detections
            .iter()
            .map(|d| d.face.area())
            .fold(0.0f32, f32::max);
        let rank = |d: &Detection| {
            let stability = self
                .current
                .as_ref()
                .map_or(0.0, |current| current.raw.face.iou(&d.face));
            d.face.area() / largest.max(f32::EPSILON) * d.score + 2.0 * stability
        };
        detections
            .into_iter()
            .max_by(|a, b| rank(a).total_cmp(&rank(b)))
    }

    fn observe(&mut self, raw: Detection, state: TrackState, time: f64) -> (TrackState, f32) {
        let values = 4 + 2 * raw.landmarks.len();
        let new_track = match &self.current {
            None => true,
            Some(current) => {
                // No overlap with where the face just was: a face cannot move its whole width
                // between two frames, so this is someone else.
                current.raw.landmarks.len() != raw.landmarks.len()
                    || current.raw.face.iou(&raw.face) == 0.0
            }
        };
        if new_track || self.filters.len() != values {
            self.filters = vec![OneEuroFilter::new(self.config.smoothing); values];
        }
        let track_id = match &self.current {
            Some(current) if !new_track => current.track_id,
            _ => {
                self.last_track_id += 1;
                self.last_track_id
            }
        };
        let (cx, cy) = raw.face.center();
        let mut inputs = vec![cx, cy, raw.face.width, raw.face.height];
        inputs.extend(raw.landmarks.iter().flat_map(|p| [p[0], p[1]]));
        let out: Vec<f32> = inputs
            .iter()
            .zip(&mut self.filters)
            .map(|(&value, filter)| filter.filter(value, time))
            .collect();
        let smoothed = Detection {
            face: Rect::from_center(out[0], out[1], out[2], out[3]),
            landmarks: out[4..].chunks_exact(2).map(|p| [p[0], p[1]]).collect(),
            score: raw.score,
        };
        let score = raw.score;
        self.current = Some(Current {
            track_id,
            raw,
            smoothed,
            held_for: 0,
        });
        (state, score)
    }

    fn miss(&mut self) -> (TrackState, f32) {
        self.flow = None;
        match &mut self.current {
            Some(current) if current.held_for < self.config.hold_frames => {
                current.held_for += 1;
                (TrackState::Held, current.raw.score)
            }
            _ => {
                self.current = None;
                (TrackState::Lost, 0.0)
            }
        }
    }

    fn describe(
        &self,
        (state, score): (TrackState, f32),
        width: usize,
        height: usize,
    ) -> FaceTrack {
        let Some(current) = &self.current else {
            return FaceTrack::lost(self.last_track_id);
        };
        let face = current.smoothed.face;
        FaceTrack {
            track_id: current.track_id,
            state,
            score,
            face: face.normalized(width, height),
            crop: crop_box(&face, self.config.margin).normalized(width, height),
            landmarks: current
                .smoothed
                .landmarks
                .iter()
                .map(|[x, y]| [x / width as f32, y / height as f32])
                .collect(),
            mesh: Vec::new(),
            expression: None,
            pose: None,
            irises: None,
            gaze: None,
            not_driving: None,
        }
    }
}

#[cfg(test)]
mod tests;
