//! What the animating commands share: their options checked and turned into a description's
//! variables, and pipelines launched from the descriptions with what no description says.

use std::collections::HashMap;

use animecam::inference::Provider;
use animecam::model_sets;
use animecam_cli::descriptions::{self, edit, names, Mode};
use gst::prelude::*;

use crate::args::{Animation, BackgroundArg, LinkArgs};
use crate::failure::Failure;
use crate::keys::{first_portrait, Choices};
use crate::remote::transport::{check_passphrase, pack_for_srt, NO_PASSPHRASE};

/// A path as a description's value: absolute, so that no file name can be one of the parser's
/// special values (a bare `NULL`, or a quoted string whose quotes it strips), and without control
/// characters, which no element's property reads back as they were.
pub fn path_value(path: &std::path::Path) -> Result<String, Failure> {
    let text = std::path::absolute(path)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .to_string_lossy()
        .to_string();
    if text.chars().any(char::is_control) {
        return Err(Failure::from(format!(
            "{:?} holds a control character (a line break or a tab): rename it",
            path.display().to_string()
        )));
    }
    Ok(text)
}

/// The variables of a description, checked: the portrait exists, the models do for the mode.
pub fn variables(animation: &Animation) -> Result<HashMap<&'static str, String>, Failure> {
    if animation.background != BackgroundArg::Portrait && animation.mode.redraws_the_picture() {
        return Err(Failure::from(
            "--background needs --mode warp or fomm, which move the portrait's alpha with the \
             avatar: U-GAT-IT and style networks redraw your own picture, which has none",
        ));
    }
    let mut variables = HashMap::new();
    let models = animation
        .models
        .clone()
        .unwrap_or_else(model_sets::models_dir);
    if animation.expression.is_some() && animation.mode != Mode::Warp {
        return Err(Failure::from(
            "--expression sets the gains of the landmark warp's channels: use it with --mode warp",
        ));
    }
    if animation.mode.needs_portrait() {
        let portrait = animation.portrait.as_ref().ok_or(
            "no portrait: pass --portrait with an anime portrait (PNG or JPEG) or a folder of them",
        )?;
        let first = first_portrait(portrait)
            .filter(|p| p.is_file())
            .ok_or_else(|| format!("portrait {} not found: pass an existing PNG or JPEG file, or a folder holding some", portrait.display()))?;
        animecam::portrait::check_size(&first).map_err(|e| Failure::from(e.to_string()))?;
        variables.insert("PORTRAIT", path_value(&first)?);
    }
    if animation.mode == Mode::Style {
        variables.insert("STYLE", style_name(animation, &models)?);
    } else if animation.style.is_some() {
        return Err(Failure::from("--style goes with --mode style"));
    }
    if let Some((set, dir)) = missing_model_set(animation.mode, &models) {
        return Err(Failure::from(format!(
            "--mode {} needs the {} models in {}: import the official checkpoint (`animecam models import FILE`, README, Models), or use --mode warp",
            animation.mode.name(),
            set.name,
            dir.display()
        )));
    }
    variables.insert("MODELS", path_value(&models)?);
    let provider: Provider = animation.provider.into();
    variables.insert("PROVIDER", provider.to_string());
    variables.insert("VARIANT", animation.variant.nick().to_owned());
    variables.insert("PRECISION", animation.precision.nick().to_owned());
    if animation.keypoints_precision.is_some() && animation.mode != Mode::Fomm {
        return Err(Failure::from(
            "--keypoints-precision sets FOMM's keypoint detector: use it with --mode fomm",
        ));
    }
    let keypoints = animation.keypoints_precision.unwrap_or(animation.precision);
    variables.insert("KEYPOINTS_PRECISION", keypoints.nick().to_owned());
    if let Some(size) = animation.size {
        variables.insert("SIZE", size.to_string());
    }
    Ok(variables)
}

/// The model set `mode` needs when its folder in `models` holds no manifest: the set, and the
/// folder where it was looked for.
pub fn missing_model_set(
    mode: Mode,
    models: &std::path::Path,
) -> Option<(model_sets::KnownSet, std::path::PathBuf)> {
    let set = mode.model_set()?;
    let dir = set.dir_in(models);
    (!dir.join("manifest.json").is_file()).then_some((set, dir))
}

/// What a live animation runs differently from a clip's: FOMM and the style networks show
/// in-betweens while their network works on a thread of its own, so the network gets every core
/// but one; FOMM's keypoint detector, which then runs on every camera frame, runs int8 on the
/// CPU when the set is there unless --keypoints-precision says otherwise (measured on 2 cores:
/// fp32 keypoints take 33.5 ms on the one core left, more than a 30 fps frame's 33.3 ms; int8
/// 19.5 ms).
pub fn live_network_variables(
    animation: &Animation,
    variables: &mut HashMap<&'static str, String>,
) {
    let threads = animecam::worker::network_threads_beside_inbetweens().to_string();
    match animation.mode {
        Mode::Fomm => {
            variables.insert("GENERATOR_THREADS", threads);
            // Asked for, it is set already (variables); else auto, not a clip's --precision.
            if animation.keypoints_precision.is_none() {
                variables.insert("KEYPOINTS_PRECISION", "auto".to_owned());
            }
        }
        Mode::Ugatit | Mode::Style => {
            variables.insert("NETWORK_THREADS", threads);
        }
        Mode::Warp => {}
    }
}

/// What n and p cycle through live: the imported styles in style mode, else the portrait's
/// folder.
pub fn choices(animation: &Animation) -> Choices {
    match (&animation.style, &animation.portrait) {
        (Some(style), _) if animation.mode == Mode::Style => Choices::Styles {
            models: animation
                .models
                .clone()
                .unwrap_or_else(model_sets::models_dir),
            current: style.clone(),
        },
        (_, Some(portrait)) => Choices::Portraits(portrait.clone()),
        _ => Choices::Nothing,
    }
}

/// The --style asked for, checked against the styles imported into `models`; the error lists them.
fn style_name(animation: &Animation, models: &std::path::Path) -> Result<String, Failure> {
    let installed = model_sets::imported_styles(models);
    let choices = if installed.is_empty() {
        format!(
            "none is imported in {}: `animecam models import FILE` (README, Models)",
            models.join(model_sets::STYLES_DIR).display()
        )
    } else {
        format!("imported: {}", installed.join(", "))
    };
    match &animation.style {
        Some(name) if installed.contains(name) => Ok(name.clone()),
        Some(name) => Err(Failure::from(format!(
            "--style {name}: no such style ({choices})"
        ))),
        None => Err(Failure::from(format!(
            "--mode style needs --style NAME ({choices})"
        ))),
    }
}

/// The variables of the link, checked: a passphrase SRT accepts, or --insecure.
pub fn link_variables(
    link: &LinkArgs,
    variables: &mut HashMap<&'static str, String>,
) -> Result<(), Failure> {
    match (&link.passphrase, link.insecure) {
        (Some(_), true) => {
            return Err(Failure::from(
                "--insecure and a passphrase: pick one (unset ANIMECAM_PASSPHRASE for --insecure)",
            ))
        }
        (Some(passphrase), false) => {
            check_passphrase(passphrase)?;
            variables.insert("PASSPHRASE", passphrase.clone());
        }
        // The descriptions require a passphrase; the parsed link gets none (`unencrypted`).
        (None, true) => {
            variables.insert("PASSPHRASE", NO_PASSPHRASE.to_owned());
        }
        (None, false) => {
            return Err(Failure::from(
                "no passphrase: set ANIMECAM_PASSPHRASE (or --passphrase) to the same 10 to 79 \
                 characters on the server and its clients, or pass --insecure on both to send \
                 the video unencrypted",
            ))
        }
    }
    variables.insert("LATENCY", link.latency.to_string());
    Ok(())
}

/// Parses `description` filled in with `variables` and the animation of `mode` (see
/// [`descriptions::launch`]), then sets what no description names: the face detector's folder
/// when `--models` points elsewhere, the attention mesh for the warp (its gaze), the warp's
/// gains, the background, and SRT packing on every muxer.
pub fn launch(
    description: &str,
    variables: &HashMap<&'static str, String>,
    animation: &Animation,
    mode: Mode,
    square: bool,
) -> Result<gst::Pipeline, Failure> {
    let pipeline = descriptions::launch(description, variables, mode, square)?;
    finish(&pipeline, animation)?;
    Ok(pipeline)
}

/// Sets on a parsed pipeline what the animation options ask and no description says, and keeps
/// the H.264 encoder's misleading drain line out of the user's terminal.
pub fn finish(pipeline: &gst::Pipeline, animation: &Animation) -> Result<(), Failure> {
    crate::bus::skip_openh264_drain(pipeline);
    // Every muxer of ours feeds SRT (OBS's stream, the remote link's two directions).
    for element in pipeline.iterate_recurse().into_iter().flatten() {
        if element.factory().is_some_and(|f| f.name() == "mpegtsmux") {
            pack_for_srt(&element);
        }
    }
    if let Some(models) = &animation.models {
        let detector = model_sets::BLAZEFACE
            .dir_in(models)
            .to_string_lossy()
            .to_string();
        for element in pipeline.iterate_recurse().into_iter().flatten() {
            if element.factory().is_some_and(|f| f.name() == "facetrack") {
                element.set_property("model-path", &detector);
            }
        }
    }
    // The warp moves the portrait's irises with the driver's gaze, which only the attention
    // mesh reads (its irises): facetrack runs it where set-up converted it.
    let models = animation
        .models
        .clone()
        .unwrap_or_else(model_sets::models_dir);
    if animation.mode == Mode::Warp
        && model_sets::ATTENTION_MESH
            .dir_in(&models)
            .join("manifest.json")
            .is_file()
    {
        for element in pipeline.iterate_recurse().into_iter().flatten() {
            if element.factory().is_some_and(|f| f.name() == "facetrack") {
                element.set_property_from_str("landmarks", "attention");
            }
        }
    }
    if let Some(expression) = &animation.expression {
        let animate = edit::named(pipeline, names::ANIMATE)?;
        for (channel, gain) in &expression.0 {
            animate.set_property(&format!("{channel}-gain"), gain);
        }
    }
    if animation.background != BackgroundArg::Portrait {
        let animate = edit::named(pipeline, names::ANIMATE)?;
        match animation.background {
            BackgroundArg::Transparent => {
                animate.set_property_from_str("background", "transparent")
            }
            BackgroundArg::Color(color) => {
                animate.set_property_from_str("background", "color");
                animate.set_property("background-color", color);
            }
            BackgroundArg::Portrait => {}
        }
    }
    Ok(())
}

/// SRT listens on UDP: a port another program holds would fail deep inside libsrt.
pub fn udp_port_free(port: u16, why: &str) -> Result<(), Failure> {
    match std::net::UdpSocket::bind(("0.0.0.0", port)) {
        Ok(_) => Ok(()),
        Err(e) => Err(Failure::from(format!(
            "port {port} is in use ({e}){why}: stop the program using it, or pick another with --port"
        ))),
    }
}
