//! `animecam`: your face drives an anime portrait, live or from a clip.
//!
//! The subcommands run the gst-launch descriptions of `pipelines/` through the animecam plugin,
//! which is linked in: no GST_PLUGIN_PATH needed. This file parses the command line, hands it to
//! the subcommand's module and turns the outcome into an exit code.

use std::process::ExitCode;

use clap::Parser;

mod alloc_count;
mod args;
mod bus;
mod commands;
mod failure;
mod key_command;
mod keys;
mod live;
mod remote;
mod report;
mod signals;
mod window;

use args::{Cli, Command, ModelsAction};
use failure::Failure;

#[global_allocator]
static ALLOCATOR: alloc_count::CountingAllocator = alloc_count::CountingAllocator;

fn init() -> Result<(), Failure> {
    gst::init()?;
    gstanimecam::plugin_register_static()
        .map_err(|e| format!("cannot register the animecam plugin: {e}"))?;
    Ok(())
}

/// GStreamer and the plugin for this binary's unit tests, once: registering the plugin a second
/// time replaces its element factories while elements made before still point at the old ones
/// (a crash in a later test that reads an element's factory).
#[cfg(test)]
pub(crate) fn init_for_tests() {
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(|| init().unwrap_or_else(|failure| panic!("{}", failure.message)));
}

fn run(cli: Cli) -> Result<(), Failure> {
    init()?;
    match cli.command {
        Command::Webcam {
            animation,
            live,
            preview,
            sink,
            remote,
        } => commands::webcam::run(animation, live, preview, sink, remote),
        Command::Virtualcam {
            animation,
            live,
            output,
            remote,
        } => commands::virtualcam::run(animation, live, output, remote),
        Command::Studio { live, portraits } => commands::studio::run(live, portraits),
        Command::Stream {
            animation,
            live,
            port,
            remote,
        } => commands::stream::run(animation, live, port, remote),
        Command::Serve {
            animation,
            port,
            link,
            seconds,
        } => commands::serve::run(animation, port, link, seconds),
        Command::Clip {
            input,
            output,
            animation,
            force,
        } => commands::clip::run(input, output, animation, force),
        Command::Models(args) => match args.action {
            Some(ModelsAction::Import(import)) => commands::import::run(import),
            None => commands::models::run(args.models, args.provider),
        },
        Command::Portrait(args) => commands::portrait::run(args),
        Command::Doctor => commands::doctor::run(),
        Command::Bench(args) => Ok(commands::bench::run(&args)?),
    }
}

fn main() -> ExitCode {
    // ONNX Runtime latches its telemetry opt-out when it initialises: set it while the process
    // has one thread, before anything can load it.
    animecam::inference::disable_telemetry();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure { message, code }) => {
            if !message.is_empty() {
                eprintln!("error: {message}");
            }
            ExitCode::from(code)
        }
    }
}
