//! The face mesh step of a tracked frame: the mesh run where MediaPipe frames a face, the judge
//! of whether it is a human face, and the mesh's points smoothed into the track.

use super::{HumanEvidence, Tracker, JUDGE_EVERY, MIN_MESH_SCORE};
use crate::face::{FaceError, Iris, MeshRegion, OneEuroFilter};
use crate::face::{FaceTrack, NotDriving};
use crate::image::ImageView;

impl Tracker {
    /// The mesh of the tracked face: searched in the square MediaPipe frames a face with, level
    /// with the eyes of the detector's landmarks.
    pub(super) fn add_mesh(
        &mut self,
        frame: &ImageView<'_>,
        track: &mut FaceTrack,
        time: f64,
    ) -> Result<(), FaceError> {
        let (Some(mesh), Some(current)) = (self.mesh.as_mut(), self.current.as_ref()) else {
            return Ok(());
        };
        let face = current.smoothed.face;
        let eyes = match current.smoothed.landmarks.as_slice() {
            [right, left, ..] => Some((*right, *left)),
            _ => None,
        };
        let region = MeshRegion::around(face.center(), face.width.max(face.height), eyes);
        let found = mesh.run(frame, region)?;
        if self.human_track != Some(track.track_id) {
            self.human = HumanEvidence::default();
            self.human_track = Some(track.track_id);
            self.unjudged_frames = JUDGE_EVERY;
        }
        // Not a face the mesh recognises on this frame, or not yet for long enough (an
        // animal's, a drawing, a hand): the box may stay, but nothing of it drives the avatar
        // (a face that drives has its mesh: without it, it would drive differently).
        let human = match self.judge.as_mut() {
            Some(judge) if !self.human.is_human() || self.unjudged_frames >= JUDGE_EVERY => {
                self.unjudged_frames = 0;
                let flag = judge.run(frame, region)?.score;
                self.human.observe(flag, time)
            }
            Some(_) => {
                self.unjudged_frames += 1;
                self.human.is_human()
            }
            None => self.human.observe(found.score, time),
        };
        if !human || found.score < MIN_MESH_SCORE {
            track.not_driving = Some(NotDriving::NotAFace);
        }
        if found.score < MIN_MESH_SCORE {
            return Ok(());
        }
        let (width, height) = (frame.width() as f32, frame.height() as f32);
        // The expression from the points as found: a blink lasts a few frames and must not be
        // smoothed away. The points themselves, which move the head, are smoothed like the box.
        track.expression = Some(found.expression());
        track.pose = Some(found.pose());
        track.gaze = found.gaze();
        track.irises = found.irises.map(|irises| {
            irises.map(|iris| Iris {
                center: [iris.center[0] / width, iris.center[1] / height],
                radius: iris.radius / width,
            })
        });
        let new_track = self.mesh_track != Some(track.track_id);
        if new_track || self.mesh_filters.len() != 3 * found.points.len() {
            self.mesh_filters =
                vec![OneEuroFilter::new(self.config.smoothing); 3 * found.points.len()];
            self.mesh_track = Some(track.track_id);
        }
        let mut filters = self.mesh_filters.chunks_exact_mut(3);
        track.mesh = found
            .points
            .iter()
            .map(|point| {
                let filters = filters.next().expect("three filters a point");
                let [x, y, z] = [0, 1, 2].map(|axis| filters[axis].filter(point[axis], time));
                [x / width, y / height, z / width]
            })
            .collect();
        Ok(())
    }
}
