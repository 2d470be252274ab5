//! What the user is told about a run: what the avatar does second by second (from the elements'
//! stats), and what a live run showed.

use std::time::{Duration, Instant};

use animecam::activity::{ActivitySnapshot, AvatarState};
use animecam_cli::descriptions::names;
use gst::prelude::*;

/// Latency of some of the frames shown: how many, and how late against their capture.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Latency {
    pub frames: u64,
    /// Frames whose latency is known (a remote frame's capture time may not come back).
    pub timed: u64,
    total_us: u64,
    max_us: u64,
}

impl Latency {
    fn add(&mut self, late_us: Option<u64>) {
        self.frames += 1;
        if let Some(late) = late_us {
            self.timed += 1;
            self.total_us += late;
            self.max_us = self.max_us.max(late);
        }
    }

    pub fn mean_ms(&self) -> f64 {
        self.total_us as f64 / self.timed.max(1) as f64 / 1000.0
    }

    pub fn max_ms(&self) -> f64 {
        self.max_us as f64 / 1000.0
    }

    /// The mean latency of the frames timed since `earlier` (the status line's second).
    pub fn mean_ms_since(&self, earlier: &Latency) -> f64 {
        let timed = self.timed - earlier.timed;
        if timed == 0 {
            return 0.0;
        }
        (self.total_us - earlier.total_us) as f64 / timed as f64 / 1000.0
    }
}

/// The frames a live run showed, the start-up apart from the steady state. The steady state
/// begins with the first picture shown: frames captured before that moment waited for the
/// pipeline to start (models warming up, a backlog draining) and say nothing of the latency a
/// user lives with afterwards; frames captured from then on are the steady state's.
#[derive(Debug, Default, Clone)]
pub struct ShownFrames {
    /// When the first picture was shown, and the pipeline's running time then (microseconds).
    first_shown: Option<(Instant, Option<u64>)>,
    pub startup: Latency,
    pub steady: Latency,
    /// Every frame shown, for the once-a-second status line.
    pub all: Latency,
    /// Running time of the last frame shown, and the largest gap between two shown frames, in
    /// microseconds (a stall shows here: a portrait loading on the streaming thread, say).
    last_running_us: Option<u64>,
    max_gap_us: u64,
}

impl ShownFrames {
    /// Counts a frame shown at `at`, when the pipeline's running time is `now_us`; `running_us`
    /// is the frame's own running time and `captured_us` when it was captured (all in
    /// microseconds of running time, None where unknown).
    pub fn shown(
        &mut self,
        at: Instant,
        now_us: Option<u64>,
        running_us: Option<u64>,
        captured_us: Option<u64>,
    ) {
        if let Some(running) = running_us {
            if let Some(last) = self.last_running_us {
                self.max_gap_us = self.max_gap_us.max(running.saturating_sub(last));
            }
            self.last_running_us = Some(running);
        }
        let late = now_us
            .zip(captured_us)
            .map(|(now, captured)| now.saturating_sub(captured));
        self.all.add(late);
        let steady = match self.first_shown {
            None => {
                self.first_shown = Some((at, now_us));
                false
            }
            // A frame captured before the first picture was shown was part of the start.
            Some((_, first_us)) => match (captured_us, first_us) {
                (Some(captured), Some(first)) => captured >= first,
                _ => true,
            },
        };
        if steady {
            self.steady.add(late);
        } else {
            self.startup.add(late);
        }
    }

    /// When the first picture was shown.
    pub fn first_shown_at(&self) -> Option<Instant> {
        self.first_shown.map(|(at, _)| at)
    }

    pub fn max_gap_ms(&self) -> f64 {
        self.max_gap_us as f64 / 1000.0
    }
}

/// What a live run saw at its sink.
#[derive(Debug, Clone)]
pub struct LiveStats {
    pub shown: ShownFrames,
    /// When the run ended.
    pub ended: Instant,
    /// What the animation did over the whole run, and its engine's name.
    pub activity: Option<(String, ActivitySnapshot)>,
    /// Frames the face tracker saw: the camera's frames.
    pub camera_frames: Option<u64>,
}

impl LiveStats {
    /// Every frame shown, the start's included.
    pub fn frames(&self) -> u64 {
        self.shown.all.frames
    }

    /// From `started` to the first picture shown.
    pub fn startup(&self, started: Instant) -> Option<Duration> {
        Some(
            self.shown
                .first_shown_at()?
                .saturating_duration_since(started),
        )
    }

    /// From the first picture shown to the end of the run.
    pub fn steady_time(&self) -> Duration {
        self.shown.first_shown_at().map_or(Duration::ZERO, |first| {
            self.ended.saturating_duration_since(first)
        })
    }

    /// The line said at the end of a run that showed frames, which began at `started`: the
    /// start-up, then the steady state's frames and latency.
    pub fn summary(&self, started: Instant) -> String {
        let startup = self.startup(started).unwrap_or_default().as_secs_f64();
        let steady = &self.shown.steady;
        if steady.frames == 0 {
            let start = &self.shown.startup;
            return format!(
                "started in {startup:.1} s; shown {} frames, all captured during the start \
                 (latency mean {:.0} ms, max {:.0} ms)",
                start.frames,
                start.mean_ms(),
                start.max_ms()
            );
        }
        format!(
            "started in {startup:.1} s; then shown {} frames in {:.1} s, latency mean {:.0} ms, \
             max {:.0} ms",
            steady.frames,
            self.steady_time().as_secs_f64(),
            steady.mean_ms(),
            steady.max_ms()
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
        // In-betweens fill the frames the network has no time for: say both rates. Every frame
        // with a face got a picture (a keyframe made on the generator's thread lands in an
        // in-between frame, so generated and in-betweens overlap and are not added).
        (_, Some(rate)) if state == AvatarState::Animating && last_second.inbetweens > 0 => {
            let shown = last_second
                .frames
                .saturating_sub(last_second.repeated_without_face);
            format!("{state} ({engine} {rate:.1} fps, shown {shown} fps)")
        }
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
            inbetweens: 0,
            repeated_without_face: without_face,
            calibrations: 0,
            generate_time: Duration::from_millis(each_ms * generated),
            loading: false,
        }
    }

    #[test]
    fn start_up_frames_stay_out_of_the_steady_state() {
        // A camera at 30 fps (33 ms a frame); the first picture is shown 2 s into the run, after
        // the models warmed up: it and the frames captured behind it during the start come
        // 2000 to 1000 ms late. From then on each frame is shown 30 ms after its capture.
        let started = Instant::now();
        let mut shown = ShownFrames::default();
        let ms = |ms: u64| ms * 1000;
        let first_at = 2000;
        for captured in (0..1000).step_by(33) {
            let now = first_at + captured;
            shown.shown(
                started + Duration::from_millis(now),
                Some(ms(now)),
                Some(ms(captured)),
                Some(ms(captured)),
            );
        }
        let startup_frames = shown.all.frames;
        let steady_from = first_at + 1000;
        for captured in (steady_from..steady_from + 10_000).step_by(33) {
            let now = captured + 30;
            shown.shown(
                started + Duration::from_millis(now),
                Some(ms(now)),
                Some(ms(captured)),
                Some(ms(captured)),
            );
        }
        // Everything captured before the first picture was shown is the start's, however late
        // it came; the steady state's latency is its own 30 ms, not pulled up by the start.
        assert_eq!(shown.startup.frames, startup_frames);
        assert!(shown.startup.mean_ms() > 1000.0, "{:?}", shown.startup);
        assert_eq!(shown.steady.frames, shown.all.frames - startup_frames);
        assert_eq!(shown.steady.mean_ms(), 30.0);
        assert_eq!(shown.steady.max_ms(), 30.0);
        assert!(
            shown.all.mean_ms() > 100.0,
            "the whole run's mean is the start's"
        );

        let stats = LiveStats {
            shown,
            ended: started + Duration::from_millis(steady_from + 10_000),
            activity: None,
            camera_frames: None,
        };
        assert_eq!(
            stats.summary(started),
            format!(
                "started in 2.0 s; then shown {} frames in 11.0 s, latency mean 30 ms, max 30 ms",
                stats.shown.steady.frames
            )
        );
    }

    #[test]
    fn frames_without_a_capture_time_count_from_the_first_picture() {
        // A remote frame whose capture time did not come back is timed by when it came.
        let at = Instant::now();
        let mut shown = ShownFrames::default();
        shown.shown(at, None, None, None);
        shown.shown(at, None, None, None);
        assert_eq!((shown.startup.frames, shown.steady.frames), (1, 1));
        assert_eq!(shown.steady.timed, 0);
    }

    #[test]
    fn the_summary_names_a_network_slower_than_the_camera() {
        // FOMM at ~0.6 s a picture: two frames reach it while the camera gives 30.
        assert_eq!(
            avatar_summary("FOMM", &second(2, 2, 0, 600), Some(30)),
            "animating (FOMM 1.7 fps, camera 30 fps)"
        );
        // With in-betweens the picture keeps the camera's rate: both rates are said.
        let inbetweens = ActivitySnapshot {
            inbetweens: 26,
            ..second(30, 4, 0, 227)
        };
        assert_eq!(
            avatar_summary("FOMM", &inbetweens, Some(30)),
            "animating (FOMM 4.4 fps, shown 30 fps)"
        );
        // A generator as fast as the camera: each frame's in-between carries a new keyframe,
        // counted both as made and as an in-between; 30 frames are still 30 shown.
        let every_frame_a_keyframe = ActivitySnapshot {
            inbetweens: 30,
            ..second(30, 30, 0, 4)
        };
        assert_eq!(
            avatar_summary("FOMM", &every_frame_a_keyframe, Some(30)),
            "animating (FOMM 250.0 fps, shown 30 fps)"
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
            "no face: resting"
        );
        let mut loading = second(0, 0, 0, 0);
        loading.loading = true;
        assert_eq!(
            avatar_summary("FOMM", &loading, Some(30)),
            "loading portrait"
        );
    }
}
