//! `animecam webcam`: the webcam to an anime window, optionally with the camera beside it.

use crate::args::{Animation, Live, RemoteArgs};
use crate::commands::live_common::{live_variables, LivePipeline, Window};
use crate::failure::Failure;
use animecam_cli::descriptions;

/// Side of the avatar beside the camera with --preview when --size is not given.
const PREVIEW_SIDE: u32 = 512;

pub fn run(
    mut animation: Animation,
    live: Live,
    preview: bool,
    sink: Option<String>,
    remote: RemoteArgs,
) -> Result<(), Failure> {
    if preview && remote.remote.is_some() {
        return Err(Failure::from(
            "--preview shows the camera beside the animation on this machine: it cannot \
             go with --remote yet",
        ));
    }
    // The preview needs the avatar's side to lay the camera beside it.
    if preview {
        animation.size = Some(animation.size.unwrap_or(PREVIEW_SIDE));
    }
    let mut pipeline = webcam_pipeline(&animation, &live, &remote, preview)?;
    // Checked before the pipeline is built: without a display a window sink can only crash.
    let (window, status) = match sink {
        Some(sink) => {
            let status = format!("output: {sink}");
            (Window::Sink(sink), status)
        }
        None => {
            let window = crate::window::choose()?;
            (Window::Chosen(window), format!("window: {window}"))
        }
    };
    pipeline.window = Some(window);
    pipeline.run(status)
}

/// webcam's pipeline, its window not yet chosen; with `preview` the camera beside the
/// animation, which is a square of `--size` (set by then).
pub(crate) fn webcam_pipeline<'a>(
    animation: &'a Animation,
    live: &'a Live,
    remote: &'a RemoteArgs,
    preview: bool,
) -> Result<LivePipeline<'a>, Failure> {
    let mut variables = live_variables(animation, live, remote, None)?;
    let description = if preview {
        // The camera in a 4:3 box beside the animation.
        let side = animation.size.unwrap_or(PREVIEW_SIDE);
        let camera_width = (side * 4 / 3) & !1;
        variables.insert("CAMERA_WIDTH", camera_width.to_string());
        variables.insert("PREVIEW_WIDTH", (camera_width + side).to_string());
        descriptions::WEBCAM_PREVIEW
    } else {
        descriptions::WEBCAM
    };
    Ok(LivePipeline {
        description,
        variables,
        animation,
        live,
        remote,
        window: None,
        square: preview,
    })
}
