//! The studio's window: what each widget does to the pipeline, and the pipeline's runs.
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
use super::widgets::{self, obs_address, rgb, Widgets, CHOSEN, RESOLUTIONS};
use super::Places;
use crate::args::Live;
use crate::commands::doctor;
use crate::failure::Failure;
use crate::report::AvatarReport;

/// How long "calibrated" stays in the status line after a calibration.
const CALIBRATED_SHOWN: Duration = Duration::from_secs(2);

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
        widgets::install_style(&window);
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
