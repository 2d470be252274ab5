//! `animecam clip`: a recorded clip drives the portrait into an MP4 (or a transparent MOV), with
//! a progress bar.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use animecam_cli::descriptions::{self, names};
use gst::prelude::*;

use crate::args::{Animation, BackgroundArg};
use crate::bus::describe_error;
use crate::commands::options::{self, path_value};
use crate::failure::Failure;

/// Side of each half of the clip when `--size` is not given.
const DEFAULT_SIZE: u32 = 512;

/// How long finishing the file may take after Ctrl-C before the partial file is given up.
const FINISH_TIMEOUT: Duration = Duration::from_secs(20);

/// What a clip is written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Container {
    /// H.264 and AAC: the driving clip beside the avatar.
    Mp4,
    /// PNG frames with alpha and AAC: the avatar alone, transparent around it.
    Mov,
}

impl Container {
    fn extension(self) -> &'static str {
        match self {
            Container::Mp4 => "mp4",
            Container::Mov => "mov",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Container::Mp4 => "animecam writes MP4 files (H.264, AAC)",
            Container::Mov => "a transparent clip is a MOV (PNG frames with alpha, AAC), which OBS and video editors read with its transparency",
        }
    }
}

pub fn run(
    input: PathBuf,
    output: PathBuf,
    mut animation: Animation,
    force: bool,
) -> Result<(), Failure> {
    let transparent = animation.background == BackgroundArg::Transparent;
    let container = if transparent {
        Container::Mov
    } else {
        Container::Mp4
    };
    // Ctrl-C from the very start is ours: an interrupt before the pipeline runs ends the run
    // with a word and no file, rather than the signal's default silent death.
    let interrupts = crate::signals::interrupts();
    let partial = check_paths(&input, &output, force, container)?;
    let (has_audio, duration) = probe(&input)?;
    // Both halves of the clip are --size: the animation chains fill theirs.
    animation.size.get_or_insert(DEFAULT_SIZE);
    let mut variables = options::variables(&animation)?;
    variables.insert("INPUT", path_value(&input)?);
    // Written beside the target and renamed at the end: an interrupted run leaves no
    // half-written file under the user's name.
    variables.insert("OUTPUT", path_value(&partial)?);
    let description = match (transparent, has_audio) {
        (false, true) => descriptions::CLIP,
        (false, false) => descriptions::CLIP_SILENT,
        (true, true) => descriptions::CLIP_ALPHA,
        (true, false) => descriptions::CLIP_ALPHA_SILENT,
    };
    let pipeline = options::launch(description, &variables, &animation, animation.mode, true)?;
    if interrupts.try_recv().is_ok() {
        return Err(Failure::with_code(
            format!("{NOTHING_WRITTEN}: nothing was written"),
            Failure::INTERRUPTED,
        ));
    }
    let frames_written = count_video_into_muxer(&pipeline);
    let outcome = run_to_end(&pipeline, duration, false);
    let outcome = match outcome {
        // A file finished before its first frame holds only headers, which players call
        // corrupt: no frame written means no file.
        Ok(Finished::Interrupted(_)) if frames_written.load(Ordering::Relaxed) == 0 => {
            Ok(Finished::Abandoned(NOTHING_WRITTEN))
        }
        Ok(Finished::Complete) if frames_written.load(Ordering::Relaxed) == 0 => Err(format!(
            "{} ended without a video frame reaching the file: is it a video?",
            input.display()
        )),
        outcome => outcome,
    };
    let finished = match outcome {
        Ok(Finished::Abandoned(why)) => {
            let _ = std::fs::remove_file(&partial);
            return Err(Failure::with_code(
                format!("{why}: nothing was written"),
                Failure::INTERRUPTED,
            ));
        }
        Ok(finished) => finished,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(Failure::from(e));
        }
    };
    std::fs::rename(&partial, &output).map_err(|e| {
        let _ = std::fs::remove_file(&partial);
        format!("cannot write {}: {e}", output.display())
    })?;
    let audio = if has_audio {
        " (with the clip's audio)"
    } else {
        ""
    };
    match finished {
        Finished::Complete => eprintln!("wrote {}{audio}", output.display()),
        Finished::Abandoned(_) => unreachable!("handled above"),
        Finished::Interrupted(at) => {
            return Err(Failure::with_code(
                format!(
                    "interrupted: wrote the first {:.1} s to {}{audio}",
                    at.mseconds() as f64 / 1000.0,
                    output.display()
                ),
                Failure::INTERRUPTED,
            ))
        }
    }
    Ok(())
}

/// Checks what the user asked for before any work, and returns the partial file to write: the
/// input exists, the output has the container's extension in an existing folder, is not the
/// input, and is not overwritten without `force`.
fn check_paths(
    input: &Path,
    output: &Path,
    force: bool,
    container: Container,
) -> Result<PathBuf, String> {
    check_input(input)?;
    let extension = container.extension();
    let fits = output
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case(extension));
    if !fits {
        return Err(format!(
            "{} does not end in .{extension}: {}; name the output *.{extension}",
            output.display(),
            container.describe()
        ));
    }
    let folder = match output.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    if !folder.is_dir() {
        return Err(format!(
            "folder {} does not exist: create it first (mkdir -p '{}') or write the clip elsewhere",
            folder.display(),
            folder.display()
        ));
    }
    if output.is_dir() {
        return Err(format!(
            "{} is a folder: name the .{extension} file to write",
            output.display()
        ));
    }
    let same = |a: &Path, b: &Path| matches!((a.canonicalize(), b.canonicalize()), (Ok(a), Ok(b)) if a == b);
    if same(input, output) {
        return Err(format!(
            "{} is the input clip: animecam never writes over its input, even with --force; choose another output",
            output.display()
        ));
    }
    if output.exists() && !force {
        return Err(format!(
            "{} exists: animecam does not overwrite it; pass --force or another path",
            output.display()
        ));
    }
    let name = output
        .file_name()
        .expect("a path with an extension has a file name");
    let partial = folder.join(format!(".{}.part", name.to_string_lossy()));
    if same(input, &partial) {
        return Err(format!(
            "{} is the input clip and animecam's working file for {}: rename the input",
            partial.display(),
            output.display()
        ));
    }
    Ok(partial)
}

/// The input is a regular file; otherwise what it is (a FIFO, a device, a folder) or why it
/// cannot be read.
fn check_input(input: &Path) -> Result<(), String> {
    use std::os::unix::fs::FileTypeExt;
    let kind = match std::fs::metadata(input) {
        Ok(metadata) if metadata.is_file() => return Ok(()),
        Ok(metadata) => {
            let kind = metadata.file_type();
            if kind.is_dir() {
                "a folder"
            } else if kind.is_fifo() {
                "a FIFO (a named pipe)"
            } else if kind.is_char_device() {
                "a character device"
            } else if kind.is_block_device() {
                "a block device"
            } else if kind.is_socket() {
                "a socket"
            } else {
                "a special file"
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(format!(
                "clip {} not found: pass an existing video file",
                input.display()
            ))
        }
        Err(e) => return Err(format!("cannot read clip {}: {e}", input.display())),
    };
    Err(format!(
        "clip {} is {kind}, not a video file: pass a recorded clip (MP4, MKV, WebM, ...) saved as a file",
        input.display()
    ))
}

/// Whether the file has an audio track, and its duration.
fn probe(input: &Path) -> Result<(bool, Option<gst::ClockTime>), String> {
    // A URI needs an absolute path; the user may well have typed a relative one.
    let absolute = std::path::absolute(input).map_err(|e| format!("{}: {e}", input.display()))?;
    let uri = gst::glib::filename_to_uri(&absolute, None)
        .map_err(|e| format!("{}: {e}", input.display()))?;
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

/// Ends the clip where it is: end of stream straight into the compositor and the muxer's audio
/// input, so that the encoder and the muxer finish the file at once. (An end of stream at the
/// source would only come out after every frame already decoded and queued, which is most of a
/// short clip.)
fn end_early(pipeline: &gst::Pipeline) {
    let mut pads = Vec::new();
    if let Some(compose) = pipeline.by_name(names::COMPOSE) {
        pads.extend(compose.sink_pads());
    }
    // The transparent clip has no compositor: its video ends at the element before the encoder.
    if let Some(finish) = pipeline.by_name(names::FINISH) {
        pads.extend(finish.sink_pads());
    }
    if let Some(mux) = pipeline.by_name(names::MUX) {
        pads.extend(
            mux.sink_pads()
                .into_iter()
                .filter(|pad| pad.name().starts_with("audio")),
        );
    }
    if pads.is_empty() {
        pipeline.send_event(gst::event::Eos::new());
    }
    for pad in pads {
        pad.send_event(gst::event::Eos::new());
    }
}

/// Why an interrupted clip left no file when it stopped before any frame reached the file.
const NOTHING_WRITTEN: &str = "interrupted before the first frame";

/// Counts the video buffers that reach the muxer (the frames the file will hold).
fn count_video_into_muxer(pipeline: &gst::Pipeline) -> Arc<AtomicU64> {
    let count = Arc::new(AtomicU64::new(0));
    let Some(mux) = pipeline.by_name(names::MUX) else {
        return count;
    };
    for pad in mux.sink_pads() {
        if pad.name().starts_with("video") {
            let count = count.clone();
            pad.add_probe(gst::PadProbeType::BUFFER, move |_, _| {
                count.fetch_add(1, Ordering::Relaxed);
                gst::PadProbeReturn::Ok
            });
        }
    }
    count
}

/// How a clip run ended well.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Finished {
    Complete,
    /// Ctrl-C: the file was finished at this position of the clip and is playable.
    Interrupted(gst::ClockTime),
    /// Ctrl-C, and the file could not be finished (why): the partial file is to be removed.
    Abandoned(&'static str),
}

/// Runs the clip pipeline to the end, showing progress with an ETA. Ctrl-C (or SIGTERM) ends the
/// clip early but cleanly: end of stream is sent so that the MP4 is finished and playable; a
/// second one, or a finish that takes too long, gives up (the caller removes the partial file).
fn run_to_end(
    pipeline: &gst::Pipeline,
    duration: Option<gst::ClockTime>,
    quiet: bool,
) -> Result<Finished, String> {
    let interrupts = crate::signals::interrupts();
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
    let mut interrupted: Option<(std::time::Instant, gst::ClockTime)> = None;
    let mut said = crate::bus::WarningsSaid::default();
    let outcome = loop {
        if interrupts.try_recv().is_ok() {
            if interrupted.is_some() {
                break Ok(Finished::Abandoned("interrupted twice"));
            }
            let at = pipeline
                .query_position::<gst::ClockTime>()
                .unwrap_or_default();
            bar.suspend(|| {
                eprintln!(
                    "interrupted at {:.1} s: finishing the file (Ctrl-C again to give up)",
                    at.mseconds() as f64 / 1000.0
                )
            });
            end_early(pipeline);
            interrupted = Some((std::time::Instant::now(), at));
        }
        if let Some((since, _)) = interrupted {
            if since.elapsed() > FINISH_TIMEOUT {
                break Ok(Finished::Abandoned(
                    "interrupted, and the file could not be finished in time",
                ));
            }
        }
        if let Some(message) = bus.timed_pop(gst::ClockTime::from_mseconds(200)) {
            match message.view() {
                gst::MessageView::Eos(..) => {
                    break Ok(
                        interrupted.map_or(Finished::Complete, |(_, at)| Finished::Interrupted(at))
                    )
                }
                gst::MessageView::Error(error) => break Err(describe_error(error)),
                gst::MessageView::Warning(warning)
                    if said.first_time(&warning.error().to_string()) =>
                {
                    bar.suspend(|| eprintln!("warning: {}", warning.error()))
                }
                _ => {}
            }
        }
        if let Some(position) = pipeline.query_position::<gst::ClockTime>() {
            bar.set_position(position.mseconds());
            bar.set_message(format!("{:.1} s", position.mseconds() as f64 / 1000.0));
        }
    };
    bar.finish_and_clear();
    pipeline.set_state(gst::State::Null).ok();
    outcome
}
