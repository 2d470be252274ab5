//! `animecam stream`: the animation to OBS over SRT.

use crate::args::{Animation, Live, RemoteArgs};
use crate::commands::live_common::{live_variables, LivePipeline};
use crate::commands::options::udp_port_free;
use crate::failure::Failure;
use animecam_cli::descriptions;

pub fn run(animation: Animation, live: Live, port: u16, remote: RemoteArgs) -> Result<(), Failure> {
    udp_port_free(port, "")?;
    let status = format!("streaming on srt://0.0.0.0:{port}: in OBS add a Media Source with input srt://127.0.0.1:{port}?mode=caller, format mpegts");
    let output = ("PORT", port.to_string());
    LivePipeline {
        description: descriptions::STREAM,
        variables: live_variables(&animation, &live, &remote, Some(output))?,
        animation: &animation,
        live: &live,
        remote: &remote,
        window: None,
        square: false,
    }
    .run(status)
}
