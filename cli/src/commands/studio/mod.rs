//! `animecam studio`: a GTK 4 window over the same pipelines as the live commands. The avatar
//! large and the camera beside it, the status line, the portraits of a folder to swap live,
//! the mode, the warp's gains and head limits, the background, the outputs (virtual camera, OBS,
//! a recording) and the camera; the choices are kept for the next start.
//!
//! The window paints the appsinks' frames as textures (see README, Studio, for why not
//! gtk4paintablesink). It knows the pipeline only by the elements the descriptions name, as the
//! other commands do.

mod portraits;
mod session;
mod settings;
mod widgets;
mod window;

#[cfg(test)]
mod tests;

use std::path::PathBuf;

use crate::args::Live;
use crate::failure::Failure;

pub use window::Studio;

/// Where the studio finds its portraits and models and keeps its settings and recordings.
pub struct Places {
    pub portraits: PathBuf,
    /// None where the user has no config folder: nothing is kept.
    pub settings: Option<PathBuf>,
    /// Where recordings go: `~/Videos/animecam` (the desktop's videos folder where it names one).
    pub recordings: PathBuf,
    /// The model sets (`$ANIMECAM_MODELS`, else the checkout's models/).
    pub models: PathBuf,
}

impl Places {
    pub fn of_user(portraits: Option<PathBuf>) -> Result<Places, Failure> {
        let portraits = portraits
            .or_else(portraits::default_folder)
            .ok_or("no home folder to keep portraits in: pass --portraits FOLDER")?;
        let recordings = dirs::video_dir()
            .or_else(|| dirs::home_dir().map(|home| home.join("Videos")))
            .map(|videos| videos.join("animecam"))
            .ok_or("no home folder to keep recordings in")?;
        Ok(Places {
            portraits,
            settings: settings::settings_path(),
            recordings,
            models: animecam::model_sets::models_dir(),
        })
    }
}

pub fn run(live: Live, portraits: Option<PathBuf>) -> Result<(), Failure> {
    if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
        return Err(Failure::from(
            "animecam studio needs a desktop (no DISPLAY or WAYLAND_DISPLAY is set): on a \
             machine without one use `animecam virtualcam` or `animecam stream`",
        ));
    }
    gtk::init().map_err(|e| format!("cannot open the studio's window: {e}"))?;
    let places = Places::of_user(portraits)?;
    let main_loop = gtk::glib::MainLoop::new(None, false);
    let studio = Studio::open(places, live.clone(), main_loop.clone())?;
    // Ctrl-C, SIGTERM and a closed terminal close the window as its close button does: the
    // main loop ends, then the pipeline stops and the settings are kept.
    let interrupts = crate::signals::interrupts();
    let quit = main_loop.clone();
    std::thread::spawn(move || {
        if interrupts.recv().is_ok() {
            gtk::glib::MainContext::default().invoke(move || quit.quit());
        }
    });
    // --seconds: the window closes itself (scripts: screenshots, measurements).
    if let Some(seconds) = live.seconds {
        let quit = main_loop.clone();
        gtk::glib::timeout_add_local_once(std::time::Duration::from_secs_f64(seconds), move || {
            quit.quit()
        });
    }
    main_loop.run();
    studio.finish()
}
