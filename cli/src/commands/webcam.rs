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
    let side = animation.size.unwrap_or(PREVIEW_SIDE);
    if preview {
        animation.size = Some(side);
    }
    let mut variables = live_variables(&animation, &live, &remote, None)?;
    let description = if preview {
        // The camera in a 4:3 box beside the animation.
        let camera_width = (side * 4 / 3) & !1;
        variables.insert("CAMERA_WIDTH", camera_width.to_string());
        variables.insert("PREVIEW_WIDTH", (camera_width + side).to_string());
        descriptions::WEBCAM_PREVIEW
    } else {
        descriptions::WEBCAM
    };
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
    LivePipeline {
        description,
        variables,
        animation: &animation,
        live: &live,
        remote: &remote,
        window: Some(window),
    }
    .run(status)
}
