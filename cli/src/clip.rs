//! Clip mode: a recorded clip drives the portrait into an MP4, with a progress bar.

use std::path::Path;
use std::time::Duration;

use gst::prelude::*;

/// Whether the file has an audio track, and its duration.
pub fn probe(input: &Path) -> Result<(bool, Option<gst::ClockTime>), String> {
    let uri =
        gst::glib::filename_to_uri(input, None).map_err(|e| format!("{}: {e}", input.display()))?;
    let discoverer = gst_pbutils::Discoverer::new(gst::ClockTime::from_seconds(15))
        .map_err(|e| e.to_string())?;
    let info = discoverer.discover_uri(&uri).map_err(|e| {
        format!("cannot read {} as a video: {e}. Expected a clip GStreamer can decode (MP4, MKV, WebM, ...)", input.display())
    })?;
    if info.video_streams().is_empty() {
        return Err(format!("{} has no video track", input.display()));
    }
    Ok((!info.audio_streams().is_empty(), info.duration()))
}

/// Runs the clip pipeline to the end, showing progress with an ETA.
pub fn run(
    pipeline: &gst::Pipeline,
    duration: Option<gst::ClockTime>,
    quiet: bool,
) -> Result<(), String> {
    let bus = pipeline.bus().expect("pipelines have a bus");
    let bar = if quiet {
        indicatif::ProgressBar::hidden()
    } else {
        let bar = indicatif::ProgressBar::new(duration.map_or(0, |d| d.mseconds()));
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {percent:>3}% {msg} (eta {eta})")
                .expect("a valid template"),
        );
        bar
    };
    if pipeline.set_state(gst::State::Playing).is_err() {
        let error = bus
            .timed_pop_filtered(gst::ClockTime::from_seconds(1), &[gst::MessageType::Error])
            .map(|m| match m.view() {
                gst::MessageView::Error(e) => e.error().to_string(),
                _ => unreachable!(),
            });
        pipeline.set_state(gst::State::Null).ok();
        return Err(error.unwrap_or_else(|| "the pipeline could not start".into()));
    }
    let outcome = loop {
        if let Some(message) = bus.timed_pop(gst::ClockTime::from_mseconds(200)) {
            match message.view() {
                gst::MessageView::Eos(..) => break Ok(()),
                gst::MessageView::Error(error) => {
                    break Err(format!(
                        "{} (from {})",
                        error.error(),
                        error
                            .src()
                            .map(|s| s.path_string().to_string())
                            .unwrap_or_default()
                    ))
                }
                gst::MessageView::Warning(warning) => {
                    bar.println(format!("warning: {}", warning.error()))
                }
                _ => {}
            }
        }
        if let Some(position) = pipeline.query_position::<gst::ClockTime>() {
            bar.set_position(position.mseconds());
            bar.set_message(format!("{:.1} s", position.mseconds() as f64 / 1000.0));
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    bar.finish_and_clear();
    pipeline.set_state(gst::State::Null).ok();
    outcome
}
