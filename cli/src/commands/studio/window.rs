//! The studio's window: its widgets, what each does to the pipeline, and the pipeline's runs.
//! Changes that an element takes while playing (the portrait, the gains, the background) are
//! set on it; the others (mode, outputs, camera) build the pipeline again.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, Instant};

use animecam_cli::descriptions::{names, Mode};
use gst::prelude::*;
use gtk::prelude::*;
use gtk::{gdk, gio, glib};

use super::portraits;
use super::session::{self, Outputs, Picture, View};
use super::settings::{Background, Settings};
use super::Places;
use crate::args::Live;
use crate::commands::doctor;
use crate::failure::Failure;
use crate::report::AvatarReport;

/// The style class of the portrait being animated, and its look: a frame in the theme's
/// selection colour (the picture fills the button, so a background colour would not show).
pub(super) const CHOSEN: &str = "chosen-portrait";
const STYLE: &str =
    "button.chosen-portrait { box-shadow: inset 0 0 0 3px @theme_selected_bg_color; }";

/// How long "calibrated" stays in the status line after a calibration.
const CALIBRATED_SHOWN: Duration = Duration::from_secs(2);

/// The window's head limits when the settings have none: the warp's own.
fn default_limits() -> animecam::warp::HeadLimits {
    animecam::warp::HeadLimits::default()
}

/// The studio: its window, what the user chose, and the pipeline running now. Cloning shares it.
#[derive(Clone)]
pub struct Studio(Rc<Inner>);

struct Inner {
    window: gtk::Window,
    main_loop: glib::MainLoop,
    places: Places,
    live: Live,
    widgets: Widgets,
    state: RefCell<State>,
    avatar_frames: async_channel::Sender<Picture>,
    camera_frames: async_channel::Sender<Picture>,
}

struct State {
    settings: Settings,
    outputs: Outputs,
    running: Option<Running>,
    calibrated_at: Option<Instant>,
    /// Calibrations posted since the window opened.
    calibrations: u32,
    /// Avatar frames painted since the window opened, and when the first was.
    painted: u64,
    first_painted: Option<Instant>,
}

/// A pipeline playing, the stats it is read by, and the watch of its bus.
struct Running {
    pipeline: gst::Pipeline,
    report: AvatarReport,
    bus: Option<gst::bus::BusWatchGuard>,
    /// The file it records to, if it does.
    recording: Option<PathBuf>,
}

/// How long a recording may take to finish its file when it stops.
const FINISH_RECORDING: Duration = Duration::from_secs(2);

impl Running {
    /// Stops the pipeline; a recording first gets the end of the stream through it, so that its
    /// muxer writes the file's index (at most [`FINISH_RECORDING`]). Says what it wrote, or why
    /// the file may not play.
    fn end(mut self) -> Option<Result<PathBuf, String>> {
        let file = self.recording.take()?;
        // The watch goes, so that the end of the stream can be awaited on the bus here.
        self.bus = None;
        self.pipeline.send_event(gst::event::Eos::new());
        let ended = self.pipeline.bus().and_then(|bus| {
            bus.timed_pop_filtered(
                gst::ClockTime::from_nseconds(FINISH_RECORDING.as_nanos() as u64),
                &[gst::MessageType::Eos, gst::MessageType::Error],
            )
        });
        Some(match ended.as_ref().map(|m| m.view()) {
            Some(gst::MessageView::Eos(..)) => Ok(file),
            Some(gst::MessageView::Error(error)) => Err(format!(
                "the recording {} may not play: {}",
                file.display(),
                error.error()
            )),
            _ => Err(format!(
                "the recording {} may not play: it did not finish within {} s",
                file.display(),
                FINISH_RECORDING.as_secs()
            )),
        })
    }
}

impl Drop for Running {
    /// A pipeline given up, for whatever reason, stops: its camera and outputs are released.
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

pub(super) struct Widgets {
    pub(super) avatar: gtk::Picture,
    pub(super) camera: gtk::Picture,
    pub(super) status: gtk::Label,
    /// What went wrong last (a portrait that cannot be read, a pipeline error).
    pub(super) problem: gtk::Label,
    pub(super) strip: gtk::Box,
    pub(super) recalibrate: gtk::Button,
    pub(super) show_camera: gtk::CheckButton,
    /// The chosen portrait with the face parts the warp found drawn over it, when asked.
    pub(super) parts: gtk::Picture,
    pub(super) show_parts: gtk::CheckButton,
    pub(super) modes: Vec<(Mode, gtk::CheckButton)>,
    pub(super) gains: Vec<(&'static str, gtk::Scale)>,
    pub(super) max_yaw: gtk::Scale,
    pub(super) max_pitch: gtk::Scale,
    pub(super) portrait_background: gtk::CheckButton,
    pub(super) key_background: gtk::CheckButton,
    pub(super) transparent_background: gtk::CheckButton,
    /// Why the live outputs are off while the background is transparent.
    pub(super) transparent_why: gtk::Label,
    pub(super) key_color: gtk::ColorButton,
    pub(super) virtual_camera: gtk::Switch,
    /// Why the virtual camera is off (the tests read it; the user sees it).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(super) virtual_camera_why: gtk::Label,
    pub(super) stream: gtk::Switch,
    pub(super) stream_port: gtk::SpinButton,
    pub(super) stream_address: gtk::Label,
    pub(super) record: gtk::Switch,
    /// Where recordings go, then the file last recorded.
    pub(super) record_file: gtk::Label,
    pub(super) cameras: gtk::DropDown,
    /// The devices the dropdown lists, in its order (None: the first camera, `--device`).
    pub(super) camera_devices: Vec<Option<String>>,
    pub(super) resolutions: gtk::DropDown,
}

/// The resolutions offered; None: the camera's own choice.
const RESOLUTIONS: [Option<&str>; 4] = [None, Some("640x480"), Some("1280x720"), Some("1920x1080")];

impl Studio {
    /// Opens the window and starts the pipeline.
    pub fn open(places: Places, live: Live, main_loop: glib::MainLoop) -> Result<Studio, Failure> {
        portraits::prepare(&places.portraits)?;
        let (mut settings, unreadable) = match &places.settings {
            Some(path) => Settings::load(path),
            None => (Settings::default(), None),
        };
        // The mode kept from the last run may have lost its weights since.
        let mut fallback = None;
        if let Some(why) = session::missing_weights(session::mode_of(&settings), &places.models) {
            fallback = Some(format!(
                "{}: {why}; the landmark warp runs instead",
                session::mode_of(&settings).name()
            ));
            settings.mode = Mode::Warp.name().to_owned();
        }
        let (widgets, layout) = Widgets::build(&settings, &live, &places);
        let window = gtk::Window::builder()
            .title("animecam studio")
            .child(&layout)
            .build();
        let style = gtk::CssProvider::new();
        style.load_from_data(STYLE);
        gtk::style_context_add_provider_for_display(
            &gtk::prelude::WidgetExt::display(&window),
            &style,
            gtk::STYLE_PROVIDER_PRIORITY_APPLICATION,
        );
        let (avatar_frames, avatar_rx) = async_channel::bounded(1);
        let (camera_frames, camera_rx) = async_channel::bounded(1);
        let studio = Studio(Rc::new(Inner {
            window,
            main_loop,
            places,
            live,
            widgets,
            state: RefCell::new(State {
                settings,
                outputs: Outputs::default(),
                running: None,
                calibrated_at: None,
                calibrations: 0,
                painted: 0,
                first_painted: None,
            }),
            avatar_frames,
            camera_frames,
        }));
        studio.paint(View::Avatar, avatar_rx);
        studio.paint(View::Camera, camera_rx);
        studio.fill_strip();
        studio.connect();
        studio.restart();
        // Said after the start, which clears the problem line when it succeeds.
        if let Some(why) = unreadable.or(fallback) {
            studio.say_problem(&why);
        }
        studio.0.window.present();
        let ticking = Rc::downgrade(&studio.0);
        glib::timeout_add_seconds_local(1, move || match ticking.upgrade() {
            Some(inner) => {
                Studio(inner).tick();
                glib::ControlFlow::Continue
            }
            None => glib::ControlFlow::Break,
        });
        Ok(studio)
    }

    /// After the main loop: keeps the settings for the next start.
    pub fn finish(&self) -> Result<(), Failure> {
        self.stop();
        let state = self.0.state.borrow();
        if let Some(first) = state.first_painted {
            let seconds = first.elapsed().as_secs_f64();
            eprintln!(
                "studio: {} avatar frames shown in {seconds:.1} s ({:.1} a second)",
                state.painted,
                state.painted.saturating_sub(1) as f64 / seconds.max(1e-3)
            );
        }
        drop(state);
        match &self.0.places.settings {
            Some(path) => Ok(self.0.state.borrow().settings.save(path)?),
            None => Ok(()),
        }
    }

    /// Paints each frame of a view as it comes (the newest only; see `session::hand_over`).
    fn paint(&self, view: View, frames: async_channel::Receiver<Picture>) {
        let studio = Rc::downgrade(&self.0);
        glib::spawn_future_local(async move {
            while let Ok(picture) = frames.recv().await {
                let Some(inner) = studio.upgrade() else { break };
                let (width, height, stride) = (picture.width, picture.height, picture.stride);
                let texture = gdk::MemoryTexture::new(
                    width as i32,
                    height as i32,
                    gdk::MemoryFormat::R8g8b8a8,
                    &glib::Bytes::from_owned(picture),
                    stride,
                );
                match view {
                    View::Avatar => {
                        inner.widgets.avatar.set_paintable(Some(&texture));
                        let mut state = inner.state.borrow_mut();
                        state.painted += 1;
                        state.first_painted.get_or_insert_with(Instant::now);
                    }
                    View::Camera => inner.widgets.camera.set_paintable(Some(&texture)),
                }
            }
        });
    }

    /// Builds the pipeline for the settings now and plays it (the one playing stops first).
    fn restart(&self) {
        self.stop();
        let (settings, outputs) = {
            let state = self.0.state.borrow();
            (state.settings.clone(), state.outputs.clone())
        };
        let portraits = portraits::list(&self.0.places.portraits);
        let Some(portrait) = session::chosen_portrait(&settings, &portraits) else {
            self.stopped(&format!(
                "no portrait in {}: drop a PNG or JPEG anime portrait on the window",
                self.0.places.portraits.display()
            ));
            return;
        };
        // The portrait shown is the one marked (the folder's first on a first start).
        self.0.state.borrow_mut().settings.portrait = portrait
            .file_name()
            .map(|n| n.to_string_lossy().to_string());
        let started = session::build(
            &settings,
            &portrait,
            &self.0.places.models,
            &self.0.live,
            &outputs,
        )
        .and_then(|pipeline| {
            session::hand_over(&pipeline, View::Avatar, self.0.avatar_frames.clone())?;
            session::hand_over(&pipeline, View::Camera, self.0.camera_frames.clone())?;
            // Held before it plays: a pipeline that fails to start is stopped when dropped.
            let running = Running {
                report: AvatarReport::new(&pipeline),
                bus: Some(self.watch(&pipeline)?),
                pipeline,
                recording: outputs.record.clone(),
            };
            running
                .pipeline
                .set_state(gst::State::Playing)
                .map_err(|_| "the pipeline would not start (the bus says why)".to_owned())?;
            Ok(running)
        });
        match started {
            Ok(running) => {
                self.0.state.borrow_mut().running = Some(running);
                self.0.widgets.problem.set_text("");
                self.0.widgets.status.set_text("starting");
            }
            Err(why) => self.stopped(&why),
        }
        self.mark_chosen_portrait();
    }

    fn stop(&self) {
        // Ended outside the borrow: stopping waits for the streaming threads, whose frames
        // may be waiting for the main loop.
        let running = self.0.state.borrow_mut().running.take();
        match running.and_then(Running::end) {
            Some(Ok(file)) => {
                self.0
                    .widgets
                    .record_file
                    .set_text(&format!("recorded {}", file.display()));
            }
            Some(Err(why)) => self.say_problem(&why),
            None => {}
        }
    }

    /// Errors and calibrations from the pipeline's bus, on the main loop.
    fn watch(&self, pipeline: &gst::Pipeline) -> Result<gst::bus::BusWatchGuard, String> {
        let studio = Rc::downgrade(&self.0);
        let bus = pipeline.bus().ok_or("the pipeline has no bus")?;
        bus.add_watch_local(move |_, message| {
            let Some(studio) = studio.upgrade().map(Studio) else {
                return glib::ControlFlow::Break;
            };
            match message.view() {
                gst::MessageView::Error(error) => {
                    let from = error
                        .src()
                        .map(|s| s.name().to_string())
                        .unwrap_or_else(|| "the pipeline".to_owned());
                    studio.stop();
                    studio.stopped(&format!("{from}: {}", error.error()));
                }
                gst::MessageView::Eos(..) => {
                    studio.stop();
                    studio.stopped(
                        "the camera stopped sending pictures (its stream ended): choose a camera \
                         on the Camera page",
                    );
                }
                gst::MessageView::Element(element)
                    if element
                        .structure()
                        .is_some_and(|s| s.name() == "fommanimate-calibrated") =>
                {
                    let mut state = studio.0.state.borrow_mut();
                    state.calibrated_at = Some(Instant::now());
                    state.calibrations += 1;
                }
                _ => {}
            }
            glib::ControlFlow::Continue
        })
        .map_err(|e| format!("cannot watch the pipeline's bus: {e}"))
    }

    /// Once a second: the status line the terminal shows (`animating`, `no face: resting`, the
    /// rates), and "calibrated" for a moment after a calibration.
    fn tick(&self) {
        let mut state = self.0.state.borrow_mut();
        let calibrated = state
            .calibrated_at
            .is_some_and(|at| at.elapsed() < CALIBRATED_SHOWN);
        let Some(running) = state.running.as_mut() else {
            return;
        };
        if let Some(summary) = running.report.since_last() {
            let text = if calibrated {
                format!("calibrated; {summary}")
            } else {
                summary
            };
            self.0.widgets.status.set_text(&text);
        }
    }

    /// Says what went wrong under the preview; the pipeline goes on.
    fn say_problem(&self, why: &str) {
        self.0.widgets.problem.set_text(why);
    }

    /// Says why the pipeline stopped.
    fn stopped(&self, why: &str) {
        self.say_problem(why);
        self.0.widgets.status.set_text("stopped");
    }

    /// The animation element of the pipeline playing now.
    fn animate(&self) -> Option<gst::Element> {
        let state = self.0.state.borrow();
        state.running.as_ref()?.pipeline.by_name(names::ANIMATE)
    }

    pub fn recalibrate(&self) {
        if let Some(animate) = self.animate() {
            animate.emit_by_name::<()>("recalibrate", &[]);
            self.0
                .widgets
                .status
                .set_text("recalibrating: hold still, facing the camera");
        }
    }

    /// The strip of the folder's portraits, each a button that swaps to it.
    fn fill_strip(&self) {
        let strip = &self.0.widgets.strip;
        while let Some(child) = strip.first_child() {
            strip.remove(&child);
        }
        for path in portraits::list(&self.0.places.portraits) {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            let thumbnail = gtk::Picture::for_filename(&path);
            thumbnail.set_size_request(96, 96);
            let button = gtk::Button::builder()
                .child(&thumbnail)
                .tooltip_text(&name)
                .name(&name)
                .build();
            let studio = Rc::downgrade(&self.0);
            button.connect_clicked(move |_| {
                if let Some(studio) = studio.upgrade().map(Studio) {
                    studio.choose_portrait(&path);
                }
            });
            strip.append(&button);
        }
        self.mark_chosen_portrait();
    }

    fn mark_chosen_portrait(&self) {
        let chosen = self.0.state.borrow().settings.portrait.clone();
        let mut child = self.0.widgets.strip.first_child();
        while let Some(button) = child {
            if chosen.as_deref() == Some(button.widget_name().as_str()) {
                button.add_css_class(CHOSEN);
            } else {
                button.remove_css_class(CHOSEN);
            }
            child = button.next_sibling();
        }
    }

    /// Swaps to a portrait while playing (the element loads it off its streaming thread and
    /// keeps drawing the current one until it is ready).
    pub fn choose_portrait(&self, path: &Path) {
        if let Err(e) = animecam::portrait::check_size(path) {
            self.say_problem(&e.to_string());
            return;
        }
        let name = path.file_name().map(|n| n.to_string_lossy().to_string());
        self.0.state.borrow_mut().settings.portrait = name;
        self.mark_chosen_portrait();
        if self.0.widgets.show_parts.is_active() {
            self.show_parts();
        }
        match self.animate() {
            Some(animate) if animate.has_property("source") => {
                animate.set_property("source", path.to_string_lossy().to_string());
            }
            _ => self.restart(),
        }
    }

    /// Finds the chosen portrait's face parts (a thread of its own: the face detector runs) and
    /// shows them drawn over it.
    fn show_parts(&self) {
        let portraits = portraits::list(&self.0.places.portraits);
        let Some(portrait) = session::chosen_portrait(&self.0.state.borrow().settings, &portraits)
        else {
            return;
        };
        let (found, finding) = async_channel::bounded(1);
        let models = self.0.places.models.clone();
        std::thread::spawn(move || {
            let parts = crate::commands::portrait::find_parts(&portrait, &models);
            let _ = found.send_blocking(parts.map(|parts| parts.drawn).map_err(|e| e.message));
        });
        let studio = Rc::downgrade(&self.0);
        glib::spawn_future_local(async move {
            let Ok(drawn) = finding.recv().await else {
                return;
            };
            let Some(studio) = studio.upgrade().map(Studio) else {
                return;
            };
            match drawn {
                Ok(drawn) => {
                    let texture = gdk::MemoryTexture::new(
                        drawn.width() as i32,
                        drawn.height() as i32,
                        gdk::MemoryFormat::R8g8b8,
                        &glib::Bytes::from(drawn.data()),
                        drawn.width() * 3,
                    );
                    studio.0.widgets.parts.set_paintable(Some(&texture));
                }
                Err(why) => studio.say_problem(&format!("face parts: {why}")),
            }
        });
    }

    /// A picture dropped on the window: copied into the portraits folder and animated.
    fn add_portrait(&self, dropped: &Path) {
        match portraits::add(&self.0.places.portraits, dropped) {
            Ok(added) => {
                self.fill_strip();
                self.choose_portrait(&added);
            }
            Err(why) => self.say_problem(&why),
        }
    }

    fn set_gain(&self, channel: &str, gain: f32) {
        self.0
            .state
            .borrow_mut()
            .settings
            .gains
            .insert(channel.to_owned(), gain);
        if let Some(animate) = self
            .animate()
            .filter(|a| a.has_property(&format!("{channel}-gain")))
        {
            animate.set_property(&format!("{channel}-gain"), gain);
        }
    }

    fn set_limit(&self, property: &str, degrees: f32) {
        {
            let settings = &mut self.0.state.borrow_mut().settings;
            match property {
                "max-yaw" => settings.max_yaw = Some(degrees),
                _ => settings.max_pitch = Some(degrees),
            }
        }
        if let Some(animate) = self.animate().filter(|a| a.has_property(property)) {
            animate.set_property(property, degrees);
        }
    }

    fn set_background(&self, background: Background) {
        let previous = {
            let settings = &mut self.0.state.borrow_mut().settings;
            let previous = settings.background;
            settings.background = background;
            if let Background::Key(color) = background {
                settings.key_color = color;
            }
            previous
        };
        // Transparency goes through no virtual camera or H.264 stream: their switches go off.
        let transparent = background == Background::Transparent;
        let widgets = &self.0.widgets;
        if transparent {
            widgets.virtual_camera.set_active(false);
            widgets.stream.set_active(false);
        }
        widgets.stream.set_sensitive(!transparent);
        widgets
            .virtual_camera
            .set_sensitive(!transparent && doctor::v4l2loopback_loaded());
        widgets.transparent_why.set_text(if transparent {
            session::TRANSPARENT_LIVE
        } else {
            ""
        });
        // The networks that redraw the camera's picture have no portrait background to replace.
        let Some(animate) = self.animate().filter(|a| a.has_property("background")) else {
            return;
        };
        let was_transparent = previous == Background::Transparent;
        match background {
            // The element's output gains or loses its alpha: a new pipeline.
            _ if transparent || was_transparent => self.restart(),
            Background::Portrait => animate.set_property_from_str("background", "portrait"),
            Background::Key(color) => {
                animate.set_property_from_str("background", "color");
                animate.set_property("background-color", color);
            }
            Background::Transparent => {}
        }
    }

    fn set_mode(&self, mode: Mode) {
        if session::mode_of(&self.0.state.borrow().settings) == mode {
            return;
        }
        self.0.state.borrow_mut().settings.mode = mode.name().to_owned();
        // The gains and limits are the warp's.
        let warp = mode == Mode::Warp;
        for (_, scale) in &self.0.widgets.gains {
            scale.set_sensitive(warp);
        }
        self.0.widgets.max_yaw.set_sensitive(warp);
        self.0.widgets.max_pitch.set_sensitive(warp);
        self.restart();
    }

    /// Starts recording into a new file in the recordings folder, or finishes the recording.
    fn record(&self, on: bool) {
        if !on {
            self.set_outputs(|outputs| outputs.record = None);
            return;
        }
        let folder = &self.0.places.recordings;
        if let Err(e) = std::fs::create_dir_all(folder) {
            self.say_problem(&format!("cannot make {}: {e}", folder.display()));
            return;
        }
        let transparent = self.0.state.borrow().settings.background == Background::Transparent;
        let now = glib::DateTime::now_local()
            .and_then(|now| now.format("%Y-%m-%d %H-%M-%S"))
            .map(|text| text.to_string())
            .unwrap_or_else(|_| "recording".to_owned());
        let file = session::recording_file(folder, transparent, &now);
        self.0
            .widgets
            .record_file
            .set_text(&format!("recording {}", file.display()));
        self.set_outputs(|outputs| outputs.record = Some(file));
    }

    fn set_outputs(&self, change: impl FnOnce(&mut Outputs)) {
        change(&mut self.0.state.borrow_mut().outputs);
        self.restart();
    }

    /// Wires each widget to what it changes.
    fn connect(&self) {
        let widgets = &self.0.widgets;
        let weak = || Rc::downgrade(&self.0);
        let key = gtk::EventControllerKey::new();
        let studio = weak();
        key.connect_key_pressed(move |_, key, _, _| {
            if matches!(key, gdk::Key::r | gdk::Key::R) {
                if let Some(studio) = studio.upgrade().map(Studio) {
                    studio.recalibrate();
                }
                return glib::Propagation::Stop;
            }
            glib::Propagation::Proceed
        });
        self.0.window.add_controller(key);
        let studio = weak();
        widgets.recalibrate.connect_clicked(move |_| {
            if let Some(studio) = studio.upgrade().map(Studio) {
                studio.recalibrate();
            }
        });
        let studio = weak();
        widgets.show_camera.connect_toggled(move |check| {
            if let Some(studio) = studio.upgrade() {
                studio.widgets.camera.set_visible(check.is_active());
                studio.state.borrow_mut().settings.show_camera = check.is_active();
            }
        });
        let studio = weak();
        widgets.show_parts.connect_toggled(move |check| {
            if let Some(studio) = studio.upgrade().map(Studio) {
                studio.0.widgets.parts.set_visible(check.is_active());
                if check.is_active() {
                    studio.show_parts();
                }
            }
        });
        for (mode, button) in &widgets.modes {
            let (studio, mode) = (weak(), *mode);
            button.connect_toggled(move |button| {
                if button.is_active() {
                    if let Some(studio) = studio.upgrade().map(Studio) {
                        studio.set_mode(mode);
                    }
                }
            });
        }
        for (channel, scale) in &widgets.gains {
            let (studio, channel) = (weak(), *channel);
            scale.connect_value_changed(move |scale| {
                if let Some(studio) = studio.upgrade().map(Studio) {
                    studio.set_gain(channel, scale.value() as f32);
                }
            });
        }
        for (property, scale) in [
            ("max-yaw", &widgets.max_yaw),
            ("max-pitch", &widgets.max_pitch),
        ] {
            let studio = weak();
            scale.connect_value_changed(move |scale| {
                if let Some(studio) = studio.upgrade().map(Studio) {
                    studio.set_limit(property, scale.value() as f32);
                }
            });
        }
        /// What a background radio button stands for, read when it is chosen.
        type Chosen = Box<dyn Fn() -> Background>;
        let color = widgets.key_color.clone();
        let backgrounds: [(&gtk::CheckButton, Chosen); 3] = [
            (
                &widgets.portrait_background,
                Box::new(|| Background::Portrait),
            ),
            (
                &widgets.key_background,
                Box::new(move || Background::Key(rgb(&color.rgba()))),
            ),
            (
                &widgets.transparent_background,
                Box::new(|| Background::Transparent),
            ),
        ];
        for (button, background) in backgrounds {
            let studio = weak();
            button.connect_toggled(move |button| {
                if button.is_active() {
                    if let Some(studio) = studio.upgrade().map(Studio) {
                        studio.set_background(background());
                    }
                }
            });
        }
        let studio = weak();
        let key_background = widgets.key_background.clone();
        widgets.key_color.connect_color_set(move |button| {
            key_background.set_active(true);
            if let Some(studio) = studio.upgrade().map(Studio) {
                studio.set_background(Background::Key(rgb(&button.rgba())));
            }
        });
        let studio = weak();
        widgets.virtual_camera.connect_state_set(move |_, on| {
            if let Some(studio) = studio.upgrade().map(Studio) {
                studio.set_outputs(|outputs| outputs.virtual_camera = on);
            }
            glib::Propagation::Proceed
        });
        let studio = weak();
        widgets.stream.connect_state_set(move |_, on| {
            if let Some(studio) = studio.upgrade().map(Studio) {
                studio.set_outputs(|outputs| outputs.stream = on);
            }
            glib::Propagation::Proceed
        });
        let studio = weak();
        widgets.record.connect_state_set(move |_, on| {
            if let Some(studio) = studio.upgrade().map(Studio) {
                studio.record(on);
            }
            glib::Propagation::Proceed
        });
        let studio = weak();
        let address = widgets.stream_address.clone();
        widgets.stream_port.connect_value_changed(move |spin| {
            let port = spin.value() as u16;
            address.set_text(&obs_address(port));
            if let Some(studio) = studio.upgrade().map(Studio) {
                studio.0.state.borrow_mut().settings.stream_port = port;
                if studio.0.state.borrow().outputs.stream {
                    studio.restart();
                }
            }
        });
        let studio = weak();
        widgets.cameras.connect_selected_notify(move |dropdown| {
            if let Some(studio) = studio.upgrade().map(Studio) {
                let device = studio
                    .0
                    .widgets
                    .camera_devices
                    .get(dropdown.selected() as usize)
                    .cloned()
                    .flatten();
                studio.0.state.borrow_mut().settings.device = device;
                studio.restart();
            }
        });
        let studio = weak();
        widgets
            .resolutions
            .connect_selected_notify(move |dropdown| {
                if let Some(studio) = studio.upgrade().map(Studio) {
                    let resolution = RESOLUTIONS
                        .get(dropdown.selected() as usize)
                        .copied()
                        .flatten()
                        .map(str::to_owned);
                    studio.0.state.borrow_mut().settings.resolution = resolution;
                    studio.restart();
                }
            });
        let drop = gtk::DropTarget::new(gio::File::static_type(), gdk::DragAction::COPY);
        let studio = weak();
        drop.connect_drop(move |_, value, _, _| {
            let Some(studio) = studio.upgrade().map(Studio) else {
                return false;
            };
            match value.get::<gio::File>().ok().and_then(|file| file.path()) {
                Some(path) => {
                    studio.add_portrait(&path);
                    true
                }
                None => false,
            }
        });
        self.0.window.add_controller(drop);
        let studio = weak();
        self.0.window.connect_close_request(move |_| {
            if let Some(studio) = studio.upgrade().map(Studio) {
                studio.stop();
                studio.0.main_loop.quit();
            }
            glib::Propagation::Proceed
        });
    }
}

/// The address OBS's Media Source reads the stream from (as `animecam stream` says it).
fn obs_address(port: u16) -> String {
    format!("srt://127.0.0.1:{port}?mode=caller")
}

/// 0xRRGGBB of a GDK colour.
fn rgb(color: &gdk::RGBA) -> u32 {
    let channel = |value: f32| ((value.clamp(0.0, 1.0) * 255.0).round() as u32) & 0xFF;
    (channel(color.red()) << 16) | (channel(color.green()) << 8) | channel(color.blue())
}

fn rgba(color: u32) -> gdk::RGBA {
    let channel = |shift: u32| ((color >> shift) & 0xFF) as f32 / 255.0;
    gdk::RGBA::new(channel(16), channel(8), channel(0), 1.0)
}

/// A label at the start of its place, as a control's name.
fn caption(text: &str) -> gtk::Label {
    gtk::Label::builder().label(text).xalign(0.0).build()
}

/// A titled group of controls.
fn section(title: &str, content: &impl IsA<gtk::Widget>) -> gtk::Frame {
    let frame = gtk::Frame::builder().label(title).child(content).build();
    content.set_margin_start(8);
    content.set_margin_end(8);
    content.set_margin_top(4);
    content.set_margin_bottom(8);
    frame
}

/// A label that says why a control is off, which the user can select and copy.
fn why_label(text: &str) -> gtk::Label {
    gtk::Label::builder()
        .label(text)
        .wrap(true)
        .selectable(true)
        .xalign(0.0)
        .max_width_chars(40)
        .width_chars(30)
        .css_classes(["dim-label"])
        .build()
}

impl Widgets {
    fn build(settings: &Settings, live: &Live, places: &Places) -> (Widgets, gtk::Box) {
        let (recordings, models) = (&places.recordings, &places.models);
        let side = session::AVATAR_SIDE as i32;
        let avatar = gtk::Picture::builder()
            .name("avatar")
            .can_shrink(false)
            .build();
        avatar.set_size_request(side, side);
        let camera = gtk::Picture::builder()
            .name("camera")
            .valign(gtk::Align::Start)
            .visible(settings.show_camera)
            .build();
        camera.set_size_request(320, 240);
        let pictures = gtk::Box::new(gtk::Orientation::Horizontal, 8);
        pictures.append(&avatar);
        let status = gtk::Label::builder()
            .label("starting")
            .xalign(0.0)
            .name("status")
            .build();
        let problem = gtk::Label::builder()
            .xalign(0.0)
            .wrap(true)
            .selectable(true)
            .name("problem")
            .max_width_chars(90)
            .css_classes(["error"])
            .build();
        let recalibrate = gtk::Button::with_label("Recalibrate");
        recalibrate.set_tooltip_text(Some("Take your face as it is now as the rest pose (key r)"));
        let show_camera = gtk::CheckButton::with_label("Show camera");
        show_camera.set_active(settings.show_camera);
        let show_parts = gtk::CheckButton::with_label("Show face parts");
        show_parts.set_tooltip_text(Some(
            "The face parts the warp found in the portrait: eyes green, irises blue, brows orange, \
             nose, mouth and chin red, outline yellow (to correct them: animecam portrait FILE, \
             then edit FILE.animecam.json)",
        ));
        let parts = gtk::Picture::builder()
            .name("face parts")
            .valign(gtk::Align::Start)
            .visible(false)
            .build();
        parts.set_size_request(320, 240);
        let bar = gtk::Box::new(gtk::Orientation::Horizontal, 8);
        bar.append(&recalibrate);
        bar.append(&show_camera);
        bar.append(&show_parts);
        bar.append(&status);
        let strip = gtk::Box::new(gtk::Orientation::Horizontal, 4);
        let strip_scroll = gtk::ScrolledWindow::builder()
            .child(&strip)
            .vscrollbar_policy(gtk::PolicyType::Never)
            .min_content_height(112)
            .build();
        let preview = gtk::Box::new(gtk::Orientation::Vertical, 8);
        preview.append(&pictures);
        preview.append(&bar);
        preview.append(&problem);
        preview.append(&caption("Portraits (drop a PNG or JPEG here to add one)"));
        preview.append(&strip_scroll);

        // Mode: each mode whose weights are missing is off, with the command that converts them.
        let mode_box = gtk::Box::new(gtk::Orientation::Vertical, 2);
        let mut modes = Vec::new();
        let chosen = session::mode_of(settings);
        for (mode, title) in [
            (Mode::Warp, "Landmark warp"),
            (Mode::Fomm, "FOMM"),
            (Mode::Ugatit, "U-GAT-IT"),
        ] {
            let button = gtk::CheckButton::with_label(title);
            if let Some((_, first)) = modes.first() {
                button.set_group(Some(first));
            }
            button.set_active(mode == chosen);
            mode_box.append(&button);
            if let Some(why) = session::missing_weights(mode, models) {
                button.set_sensitive(false);
                mode_box.append(&why_label(&why));
            }
            modes.push((mode, button));
        }

        // Expression and head: the warp's channel gains and head limits.
        let grid = gtk::Grid::builder()
            .column_spacing(8)
            .row_spacing(2)
            .build();
        let scale = |value: f64, most: f64, step: f64, name: &str| {
            let scale = gtk::Scale::with_range(gtk::Orientation::Horizontal, 0.0, most, step);
            scale.set_value(value);
            scale.set_hexpand(true);
            scale.set_draw_value(true);
            scale.set_value_pos(gtk::PositionType::Right);
            scale.set_widget_name(name);
            scale
        };
        let mut gains = Vec::new();
        for (row, (channel, what)) in animecam::warp::ChannelGains::CHANNELS.iter().enumerate() {
            let label = gtk::Label::builder()
                .label(*channel)
                .xalign(0.0)
                .tooltip_text(*what)
                .build();
            let gain = scale(
                settings.gain(channel) as f64,
                animecam::warp::MAX_GAIN as f64,
                0.05,
                &format!("{channel} gain"),
            );
            gain.set_tooltip_text(Some(what));
            grid.attach(&label, 0, row as i32, 1, 1);
            grid.attach(&gain, 1, row as i32, 1, 1);
            gains.push((*channel, gain));
        }
        let limits = default_limits();
        let max_yaw = scale(
            settings.max_yaw.unwrap_or(limits.max_yaw_degrees) as f64,
            45.0,
            1.0,
            "largest turn",
        );
        let max_pitch = scale(
            settings.max_pitch.unwrap_or(limits.max_pitch_degrees) as f64,
            45.0,
            1.0,
            "largest nod",
        );
        let rows = gains.len() as i32;
        grid.attach(&caption("largest turn (°)"), 0, rows, 1, 1);
        grid.attach(&max_yaw, 1, rows, 1, 1);
        grid.attach(&caption("largest nod (°)"), 0, rows + 1, 1, 1);
        grid.attach(&max_pitch, 1, rows + 1, 1, 1);
        let warp = chosen == Mode::Warp;
        for (_, gain) in &gains {
            gain.set_sensitive(warp);
        }
        max_yaw.set_sensitive(warp);
        max_pitch.set_sensitive(warp);

        // Background.
        let portrait_background = gtk::CheckButton::with_label("The portrait's own");
        let key_background = gtk::CheckButton::with_label("Key colour");
        key_background.set_group(Some(&portrait_background));
        let transparent_background = gtk::CheckButton::with_label("Transparent");
        transparent_background.set_group(Some(&portrait_background));
        let key_color = gtk::ColorButton::with_rgba(&rgba(match settings.background {
            Background::Key(color) => color,
            Background::Portrait | Background::Transparent => settings.key_color,
        }));
        key_color.set_title("The key colour");
        key_color.set_widget_name("key colour");
        match settings.background {
            Background::Portrait => portrait_background.set_active(true),
            Background::Key(_) => key_background.set_active(true),
            Background::Transparent => transparent_background.set_active(true),
        }
        let transparent = settings.background == Background::Transparent;
        let transparent_why = why_label(if transparent {
            session::TRANSPARENT_LIVE
        } else {
            ""
        });
        let background_row = gtk::Box::new(gtk::Orientation::Horizontal, 8);
        background_row.append(&portrait_background);
        background_row.append(&key_background);
        background_row.append(&key_color);
        background_row.append(&transparent_background);
        let background_box = gtk::Box::new(gtk::Orientation::Vertical, 4);
        background_box.append(&background_row);
        background_box.append(&transparent_why);

        // Outputs: each switch says plainly why it cannot be switched on.
        let outputs = gtk::Grid::builder()
            .column_spacing(8)
            .row_spacing(4)
            .build();
        let virtual_camera = gtk::Switch::builder().valign(gtk::Align::Center).build();
        virtual_camera.set_widget_name("virtual camera");
        let virtual_camera_why = why_label("");
        if !doctor::v4l2loopback_loaded() {
            virtual_camera.set_sensitive(false);
            virtual_camera_why.set_text(&format!(
                "Needs the v4l2loopback module, which is not loaded: {}",
                doctor::V4L2LOOPBACK_FIX
            ));
        }
        outputs.attach(&caption("Virtual camera"), 0, 0, 1, 1);
        outputs.attach(&virtual_camera, 1, 0, 1, 1);
        outputs.attach(&virtual_camera_why, 0, 1, 3, 1);
        let stream = gtk::Switch::builder().valign(gtk::Align::Center).build();
        stream.set_widget_name("stream to OBS");
        let stream_port = gtk::SpinButton::with_range(1.0, 65535.0, 1.0);
        stream_port.set_value(settings.stream_port as f64);
        stream_port.set_widget_name("stream port");
        let stream_address = gtk::Label::builder()
            .label(obs_address(settings.stream_port))
            .selectable(true)
            .xalign(0.0)
            .build();
        let copy = gtk::Button::with_label("Copy");
        copy.set_tooltip_text(Some(
            "Copy the address for OBS's Media Source (input format mpegts)",
        ));
        let address = stream_address.clone();
        copy.connect_clicked(move |button| button.clipboard().set_text(&address.text()));
        outputs.attach(&caption("Stream to OBS, port"), 0, 2, 1, 1);
        outputs.attach(&stream, 1, 2, 1, 1);
        outputs.attach(&stream_port, 2, 2, 1, 1);
        outputs.attach(&stream_address, 0, 3, 2, 1);
        outputs.attach(&copy, 2, 3, 1, 1);
        if transparent {
            virtual_camera.set_sensitive(false);
            stream.set_sensitive(false);
        }
        let record = gtk::Switch::builder().valign(gtk::Align::Center).build();
        record.set_widget_name("record");
        let record_file = why_label(&format!(
            "into {} (MP4; MOV with a transparent background)",
            recordings.display()
        ));
        outputs.attach(&caption("Record to a file"), 0, 4, 1, 1);
        outputs.attach(&record, 1, 4, 1, 1);
        outputs.attach(&record_file, 0, 5, 3, 1);

        // Camera and resolution.
        let (camera_names, camera_devices) = cameras(live);
        let names: Vec<&str> = camera_names.iter().map(String::as_str).collect();
        let cameras = gtk::DropDown::from_strings(&names);
        let chosen_camera = camera_devices
            .iter()
            .position(|device| device.is_some() && *device == settings.device)
            .unwrap_or(0);
        cameras.set_selected(chosen_camera as u32);
        cameras.set_sensitive(live.camera.is_none());
        cameras.set_tooltip_text(live.camera.as_deref());
        let resolution_names: Vec<&str> = RESOLUTIONS
            .iter()
            .map(|r| r.unwrap_or("the camera's choice"))
            .collect();
        let resolutions = gtk::DropDown::from_strings(&resolution_names);
        let chosen_resolution = RESOLUTIONS
            .iter()
            .position(|r| r.map(str::to_owned) == settings.resolution)
            .unwrap_or(0);
        resolutions.set_selected(chosen_resolution as u32);
        resolutions.set_sensitive(live.camera.is_none());
        let camera_box = gtk::Box::new(gtk::Orientation::Vertical, 4);
        for (title, choice) in [("Camera", &cameras), ("Resolution", &resolutions)] {
            camera_box.append(&caption(title));
            camera_box.append(choice);
        }

        let beside = gtk::Box::new(gtk::Orientation::Vertical, 8);
        beside.append(&camera);
        beside.append(&parts);
        pictures.append(&beside);
        // The controls in pages: the expression, the picture, where it goes, the camera.
        let picture_box = gtk::Box::new(gtk::Orientation::Vertical, 8);
        picture_box.append(&section("Mode", &mode_box));
        picture_box.append(&section("Background", &background_box));
        let controls = gtk::Notebook::new();
        for (content, title) in [
            (grid.upcast_ref::<gtk::Widget>(), "Expression and head"),
            (picture_box.upcast_ref(), "Mode and background"),
            (outputs.upcast_ref(), "Outputs"),
            (camera_box.upcast_ref(), "Camera"),
        ] {
            content.set_margin_start(8);
            content.set_margin_end(8);
            content.set_margin_top(8);
            content.set_margin_bottom(8);
            controls.append_page(content, Some(&gtk::Label::new(Some(title))));
        }
        controls.set_width_request(420);
        controls.set_valign(gtk::Align::Start);
        let layout = gtk::Box::new(gtk::Orientation::Horizontal, 12);
        for side in [preview.upcast_ref::<gtk::Widget>(), controls.upcast_ref()] {
            side.set_margin_top(8);
            side.set_margin_bottom(8);
        }
        preview.set_margin_start(8);
        controls.set_margin_end(8);
        layout.append(&preview);
        layout.append(&controls);
        let widgets = Widgets {
            avatar,
            camera,
            status,
            problem,
            strip,
            recalibrate,
            show_camera,
            parts,
            show_parts,
            modes,
            gains,
            max_yaw,
            max_pitch,
            portrait_background,
            key_background,
            transparent_background,
            transparent_why,
            key_color,
            virtual_camera,
            virtual_camera_why,
            stream,
            stream_port,
            stream_address,
            record,
            record_file,
            cameras,
            camera_devices,
            resolutions,
        };
        (widgets, layout)
    }
}

/// The cameras GStreamer's device monitor lists, as names for the dropdown and their device
/// paths; with `--camera` only that source.
fn cameras(live: &Live) -> (Vec<String>, Vec<Option<String>>) {
    if live.camera.is_some() {
        // The description itself would widen the window (the dropdown shows it whole): its
        // tooltip holds it.
        return (vec!["--camera (the source given)".to_owned()], vec![None]);
    }
    let monitor = gst::DeviceMonitor::new();
    monitor.add_filter(Some("Video/Source"), None);
    let mut names = vec![format!("{} (--device)", live.device)];
    let mut devices = vec![None];
    if monitor.start().is_ok() {
        for device in monitor.devices() {
            let path = gst::prelude::DeviceExt::properties(&device).and_then(|p| {
                p.get::<String>("device.path")
                    .or_else(|_| p.get::<String>("api.v4l2.path"))
                    .ok()
            });
            if let Some(path) = path {
                names.push(format!(
                    "{} ({path})",
                    gst::prelude::DeviceExt::display_name(&device)
                ));
                devices.push(Some(path));
            }
        }
        monitor.stop();
    }
    (names, devices)
}

#[cfg(test)]
pub(super) mod probe {
    //! What the studio's own tests read of the window.
    use super::*;

    impl Studio {
        /// Closes the window as its close button does: every pipeline stopped, the main loop
        /// left.
        pub fn close(&self) {
            self.0.window.close();
        }

        pub fn calibrations(&self) -> u32 {
            self.0.state.borrow().calibrations
        }
        pub fn painted(&self) -> u64 {
            self.0.state.borrow().painted
        }
        pub(in crate::commands::studio) fn widgets(&self) -> &Widgets {
            &self.0.widgets
        }
        pub fn pipeline(&self) -> Option<gst::Pipeline> {
            Some(self.0.state.borrow().running.as_ref()?.pipeline.clone())
        }
    }
}
