//! The studio's widgets: what the window holds and how it is laid out (the preview, the portrait
//! strip, the pages of controls), made from the settings; `window.rs` wires them to what each
//! changes.

use animecam_cli::descriptions::Mode;
use gst::prelude::*;
use gtk::gdk;
use gtk::prelude::*;

use super::session;
use super::settings::{Background, Settings};
use super::Places;
use crate::args::Live;
use crate::commands::doctor;

/// The style class of the portrait being animated, and its look: a frame in the theme's
/// selection colour (the picture fills the button, so a background colour would not show).
pub(super) const CHOSEN: &str = "chosen-portrait";

/// Makes the studio's style (the chosen portrait's frame) the window's display's.
pub(super) fn install_style(window: &gtk::Window) {
    let style = gtk::CssProvider::new();
    style.load_from_data(&format!(
        "button.{CHOSEN} {{ box-shadow: inset 0 0 0 3px @theme_selected_bg_color; }}"
    ));
    gtk::style_context_add_provider_for_display(
        &gtk::prelude::WidgetExt::display(window),
        &style,
        gtk::STYLE_PROVIDER_PRIORITY_APPLICATION,
    );
}

/// What the window holds, for the handlers in `window.rs` (and the studio's tests) to reach.
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
pub(super) const RESOLUTIONS: [Option<&str>; 4] =
    [None, Some("640x480"), Some("1280x720"), Some("1920x1080")];

/// The address OBS's Media Source reads the stream from (as `animecam stream` says it).
pub(super) fn obs_address(port: u16) -> String {
    format!("srt://127.0.0.1:{port}?mode=caller")
}

/// 0xRRGGBB of a GDK colour.
pub(super) fn rgb(color: &gdk::RGBA) -> u32 {
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
    /// The widgets for these settings, and the window's content laid out.
    pub(super) fn build(settings: &Settings, live: &Live, places: &Places) -> (Widgets, gtk::Box) {
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
        let limits = animecam::warp::HeadLimits::default();
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
