//! What the user is told about a run: what the avatar does second by second (from the elements'
//! stats), and what a live run showed.

use std::time::Duration;

use animecam::activity::{ActivitySnapshot, AvatarState};
use animecam_cli::descriptions::names;
use gst::prelude::*;

/// What a live run saw at its sink.
#[derive(Debug, Clone)]
pub struct LiveStats {
    pub frames: u64,
    pub mean_latency_ms: f64,
    pub max_latency_ms: f64,
    /// The largest gap between the timestamps of two frames shown.
    pub max_gap_ms: f64,
    /// What the animation did over the whole run, and its engine's name.
    pub activity: Option<(String, ActivitySnapshot)>,
    /// Frames the face tracker saw: the camera's frames.
    pub camera_frames: Option<u64>,
}

impl LiveStats {
    /// The line said at the end of a run that showed frames.
    pub fn summary(&self, elapsed: Duration) -> String {
        format!(
            "shown {} frames in {:.1} s; latency mean {:.0} ms, max {:.0} ms",
            self.frames,
            elapsed.as_secs_f64(),
            self.mean_latency_ms,
            self.max_latency_ms
        )
    }
}

/// The counters the elements publish in their `stats` property.
pub struct Watched {
    animate: Option<gst::Element>,
    tracker: Option<gst::Element>,
}

impl Watched {
    fn find(pipeline: &gst::Pipeline) -> Watched {
        let has_stats = |element: &gst::Element| element.has_property("stats");
        Watched {
            animate: pipeline.by_name(names::ANIMATE).filter(has_stats),
            tracker: pipeline
                .iterate_recurse()
                .into_iter()
                .flatten()
                .find(|e| e.factory().is_some_and(|f| f.name() == "facetrack")),
        }
    }

    pub fn activity(&self) -> Option<(String, ActivitySnapshot)> {
        let stats = self.animate.as_ref()?.property::<gst::Structure>("stats");
        gstanimecam::stats::activity_from_structure(&stats).ok()
    }

    pub fn camera_frames(&self) -> Option<u64> {
        let stats = self.tracker.as_ref()?.property::<gst::Structure>("stats");
        gstanimecam::stats::faces_from_structure(&stats)
            .ok()
            .map(|(frames, _)| frames)
    }
}

/// What the avatar does, second by second, from the elements' stats: the status line's words.
pub struct AvatarReport {
    pub watched: Watched,
    last_activity: Option<(String, ActivitySnapshot)>,
    last_camera: Option<u64>,
}

impl AvatarReport {
    pub fn new(pipeline: &gst::Pipeline) -> AvatarReport {
        let watched = Watched::find(pipeline);
        AvatarReport {
            last_activity: watched.activity(),
            last_camera: watched.camera_frames(),
            watched,
        }
    }

    /// What the avatar did since the last call (`animating`, `no face: ...`), when the
    /// pipeline animates here.
    pub fn since_last(&mut self) -> Option<String> {
        let (activity, camera) = (self.watched.activity(), self.watched.camera_frames());
        let summary = match (&activity, &self.last_activity) {
            (Some((engine, now)), Some((_, before))) => Some(avatar_summary(
                engine,
                &now.since(before),
                camera.zip(self.last_camera).map(|(n, b)| n - b),
            )),
            _ => None,
        };
        (self.last_activity, self.last_camera) = (activity, camera);
        summary
    }
}

/// What the avatar did in the last second, for the status line: its state, and the network's own
/// rate when it is slower than the camera (then the picture cannot keep up, and the user should
/// know it is the network and not the camera).
pub fn avatar_summary(
    engine: &str,
    last_second: &ActivitySnapshot,
    camera_frames: Option<u64>,
) -> String {
    let state = last_second.state();
    // The network's rate from its own time per picture: frames without a face, or dropped while
    // the machine was busy with something else, do not make it look slower than it is.
    let rate = last_second
        .time_per_picture()
        .map(|t| 1.0 / t.as_secs_f64().max(1e-6));
    match (camera_frames, rate) {
        (Some(camera), Some(rate))
            if state == AvatarState::Animating && rate < 0.9 * camera as f64 =>
        {
            format!("{state} ({engine} {rate:.1} fps, camera {camera} fps)")
        }
        _ => state.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn second(frames: u64, generated: u64, without_face: u64, each_ms: u64) -> ActivitySnapshot {
        ActivitySnapshot {
            frames,
            generated,
            repeated_without_face: without_face,
            calibrations: 0,
            generate_time: Duration::from_millis(each_ms * generated),
            loading: false,
        }
    }

    #[test]
    fn the_summary_names_a_network_slower_than_the_camera() {
        // FOMM at ~0.6 s a picture: two frames reach it while the camera gives 30.
        assert_eq!(
            avatar_summary("FOMM", &second(2, 2, 0, 600), Some(30)),
            "animating (FOMM 1.7 fps, camera 30 fps)"
        );
        // The warp keeps up: no rates, even when some frames had no face.
        assert_eq!(
            avatar_summary("warp", &second(30, 30, 0, 4), Some(30)),
            "animating"
        );
        assert_eq!(
            avatar_summary("warp", &second(30, 12, 18, 4), Some(30)),
            "animating"
        );
        assert_eq!(
            avatar_summary("warp", &second(30, 0, 30, 0), Some(30)),
            "no face: looking at the camera helps"
        );
        let mut loading = second(0, 0, 0, 0);
        loading.loading = true;
        assert_eq!(
            avatar_summary("FOMM", &loading, Some(30)),
            "loading portrait"
        );
    }
}
