//! `animecam virtualcam`: the animation as a camera for video calls, on a v4l2loopback device.

use crate::args::{Animation, Live, RemoteArgs};
use crate::commands::live_common::{live_variables, LivePipeline};
use crate::commands::options::path_value;
use crate::failure::Failure;
use animecam_cli::descriptions;

pub fn run(
    animation: Animation,
    live: Live,
    output: String,
    remote: RemoteArgs,
) -> Result<(), Failure> {
    if !std::path::Path::new(&output).exists() {
        return Err(Failure::from(format!(
            "{output} not found: load v4l2loopback first: sudo modprobe v4l2loopback devices=1 video_nr=10 card_label=\"animecam\" exclusive_caps=1"
        )));
    }
    let status =
        format!("virtual camera on {output}: pick \"animecam\" as the camera in your call app");
    let output = ("OUTPUT", path_value(std::path::Path::new(&output))?);
    LivePipeline {
        description: descriptions::VIRTUALCAM,
        variables: live_variables(&animation, &live, &remote, Some(output))?,
        animation: &animation,
        live: &live,
        remote: &remote,
        window: None,
        square: false,
    }
    .run(status)
}
