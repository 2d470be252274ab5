//! `animecam serve`: the animation for a client on another machine (the GPU machine's side).

use std::time::Duration;

use animecam_cli::descriptions;

use crate::args::{Animation, BackgroundArg, LinkArgs};
use crate::commands::options::{self, link_variables, udp_port_free};
use crate::failure::Failure;
use crate::remote::server::{serve, ServeOptions};
use crate::remote::transport::unencrypted;

pub fn run(
    animation: Animation,
    port: u16,
    link: LinkArgs,
    seconds: Option<f64>,
) -> Result<(), Failure> {
    if animation.background == BackgroundArg::Transparent {
        return Err(Failure::from(
            "--background transparent: the H.264 link carries no transparency; key a \
             colour instead (--background green, blue or #RRGGBB)",
        ));
    }
    for port in [port, port + 1] {
        udp_port_free(port, " (serve needs --port and the next one)")?;
    }
    let mut variables = options::variables(&animation)?;
    options::live_network_variables(&animation, &mut variables);
    variables.insert("PORT", port.to_string());
    variables.insert("RETURN_PORT", (port + 1).to_string());
    link_variables(&link, &mut variables)?;
    let build = || {
        let pipeline = options::launch(
            descriptions::SERVE,
            &variables,
            &animation,
            animation.mode,
            false,
        )?;
        if link.insecure {
            unencrypted(&pipeline)?;
        }
        Ok::<_, Failure>(pipeline)
    };
    let options = ServeOptions {
        choices: options::choices(&animation),
        port,
        duration: seconds.map(Duration::from_secs_f64),
    };
    if link.insecure {
        eprintln!(
            "warning: --insecure: the link is neither encrypted nor authenticated; anyone who \
             can reach UDP ports {port} and {} can use this server, send it video and see the \
             animation",
            port + 1
        );
    }
    serve(|| build().map_err(|e| e.message), &options)?;
    Ok(())
}
