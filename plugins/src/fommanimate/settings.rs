//! fommanimate's properties: their specs, defaults and the settings they fill. Apart from the
//! element's streaming code, which reads them through [`Settings`].

use std::path::{Path, PathBuf};

use animecam::animate::{AvatarSpec, DetectorSettings, IdleSettings};
use animecam::portrait::PortraitError;
use animecam::warp::{ChannelGains, HeadLimits, MAX_GAIN};
use gst::glib;
use gst::prelude::*;

use super::{Background, Engine};
use crate::glue::ModelSettings;
use crate::inbetweens::Inbetweens;
use crate::stats;

pub(super) const DEFAULT_MODEL_SET: &str = animecam::model_sets::FOMM.name;
const DEFAULT_RELATIVE: bool = true;
const DEFAULT_ADAPT_SCALE: bool = true;
const DEFAULT_OUTPUT_SIZE: u32 = 0;
const DEFAULT_MARGIN: f32 = 0.4;
const DEFAULT_THREADS: u32 = 0;
const MAX_OUTPUT_SIZE: u32 = 4096;
/// Chroma-key green.
const DEFAULT_BACKGROUND_COLOR: u32 = 0x00FF00;

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Settings {
    pub(super) engine: Engine,
    pub(super) source: Option<String>,
    pub(super) source_crop: Option<String>,
    pub(super) model: ModelSettings,
    pub(super) relative: bool,
    pub(super) adapt_scale: bool,
    pub(super) output_size: u32,
    pub(super) margin: f32,
    pub(super) limits: HeadLimits,
    /// How strongly each channel of the driver's motion moves the warp's portrait.
    pub(super) gains: ChannelGains,
    /// What the avatar does without a face.
    pub(super) idle: IdleSettings,
    pub(super) background: Background,
    /// engine=fomm: in-betweens while the generator is busy, and how often it runs.
    pub(super) inbetweens: Inbetweens,
    pub(super) keyframe_every: u32,
    /// 0xRRGGBB.
    pub(super) background_color: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            engine: Engine::default(),
            source: None,
            source_crop: None,
            model: ModelSettings::new(DEFAULT_THREADS),
            relative: DEFAULT_RELATIVE,
            adapt_scale: DEFAULT_ADAPT_SCALE,
            output_size: DEFAULT_OUTPUT_SIZE,
            margin: DEFAULT_MARGIN,
            limits: HeadLimits::default(),
            gains: ChannelGains::default(),
            idle: IdleSettings::default(),
            background: Background::default(),
            inbetweens: Inbetweens::default(),
            keyframe_every: 0,
            background_color: DEFAULT_BACKGROUND_COLOR,
        }
    }
}

impl Settings {
    /// The library's background for the properties.
    pub(super) fn background(&self) -> animecam::background::Background {
        use animecam::background::Background as Shown;
        let [_, red, green, blue] = self.background_color.to_be_bytes();
        match self.background {
            Background::Portrait => Shown::Portrait,
            Background::Transparent => Shown::Transparent,
            Background::Color => Shown::Color([red, green, blue]),
        }
    }

    /// The portrait the properties ask for, or why `source-crop` cannot frame it.
    pub(super) fn avatar_spec(&self) -> Option<Result<AvatarSpec, PortraitError>> {
        let path = PathBuf::from(self.source.as_ref()?);
        let crop = self.source_crop.as_deref().map(str::parse).transpose();
        Some(crop.map(|crop| AvatarSpec {
            path,
            crop,
            margin: self.margin,
        }))
    }

    /// The portrait's face search: BlazeFace beside the model folder (where `animecam` and the
    /// exporters put it), else the default one, on this element's provider with one thread.
    pub(super) fn portrait_detector(&self) -> DetectorSettings {
        let mut detector = DetectorSettings::default();
        if let Some(beside) = self
            .model
            .model_dir
            .as_deref()
            .and_then(|dir| Path::new(dir).parent())
            .map(|parent| animecam::model_sets::BLAZEFACE.dir_in(parent))
            .filter(|dir| dir.join("manifest.json").is_file())
        {
            detector.dir = beside;
        }
        detector.options.provider = self.model.provider.into();
        detector
    }

    /// The element's properties: the model folder's, the stats, then fommanimate's own.
    pub(super) fn properties() -> Vec<glib::ParamSpec> {
        let mut properties = ModelSettings::properties(
            "engine=fomm: folder with the FOMM graphs and their manifest.json, as the exporter writes it (default: $ANIMECAM_MODELS/vox-256, else models/vox-256 of the animecam checkout)",
            DEFAULT_THREADS,
        );
        properties.extend([
            stats::property(stats::ACTIVITY_BLURB),
            glib::ParamSpecEnum::builder_with_default("engine", Engine::default())
                .nick("Engine")
                .blurb("fomm: the First Order Motion Model (needs fommkeypoints upstream and converted weights); warp: move the portrait by the face landmarks of facetrack, no generator network")
                .mutable_ready()
                .build(),
            glib::ParamSpecString::builder("source")
                .nick("Source portrait")
                .blurb("The portrait to animate: a PNG or JPEG of any size. Setting it while playing swaps the avatar without a restart")
                .mutable_playing()
                .build(),
            glib::ParamSpecString::builder("source-crop")
                .nick("Source crop")
                .blurb("The square of the portrait to animate, \"x,y,side\" in its pixels; empty to find the face with BlazeFace (falling back to the centred square, with a warning)")
                .mutable_playing()
                .build(),
            glib::ParamSpecFloat::builder("margin")
                .nick("Source margin")
                .blurb("Margin around the detected portrait face, as a fraction of its size on each side")
                .minimum(0.0)
                .maximum(5.0)
                .default_value(DEFAULT_MARGIN)
                .mutable_playing()
                .build(),
            glib::ParamSpecBoolean::builder("relative")
                .nick("Relative motion")
                .blurb("Move the portrait by the driving face's motion since calibration (on), or copy the driving face's pose (off)")
                .default_value(DEFAULT_RELATIVE)
                .mutable_playing()
                .build(),
            glib::ParamSpecBoolean::builder("adapt-scale")
                .nick("Adapt scale")
                .blurb("Scale the motion by the ratio of the faces' sizes")
                .default_value(DEFAULT_ADAPT_SCALE)
                .mutable_playing()
                .build(),
            glib::ParamSpecUInt::builder("output-size")
                .nick("Output size")
                .blurb("Side of the square output in pixels (0: the model's, 256 for vox-256, or 512 for the warp; FOMM output larger than the model is upscaled)")
                .maximum(MAX_OUTPUT_SIZE)
                .default_value(DEFAULT_OUTPUT_SIZE)
                .mutable_ready()
                .build(),
            glib::ParamSpecEnum::builder_with_default("background", Background::default())
                .nick("Background")
                .blurb("What the avatar is shown over where the portrait is transparent: the portrait as drawn, transparent (RGBA/BGRA output) or background-color")
                .mutable_ready()
                .build(),
            glib::ParamSpecUInt::builder("background-color")
                .nick("Background colour")
                .blurb("background=color: the colour as 0xRRGGBB (default green, for chroma keys)")
                .maximum(0xFF_FF_FF)
                .default_value(DEFAULT_BACKGROUND_COLOR)
                .mutable_playing()
                .build(),
            glib::ParamSpecEnum::builder_with_default("in-betweens", Inbetweens::default())
                .nick("In-betweens")
                .blurb("engine=fomm: auto (on for a live source), on (the generator runs on its own thread whenever it is free; every frame meanwhile shows its newest picture moved by the keypoints' motion since, so the output keeps the camera's rate) or off (the generator on every frame)")
                .mutable_ready()
                .build(),
            glib::ParamSpecUInt::builder("keyframe-every")
                .nick("Keyframe every")
                .blurb("engine=fomm with in-betweens: 0 runs the generator whenever it is free; N runs it on every Nth frame on the streaming thread and shows in-betweens on the others (files, tests, a CPU spared)")
                .maximum(1000)
                .default_value(0)
                .mutable_ready()
                .build(),
            glib::ParamSpecFloat::builder("min-zoom")
                .nick("Smallest zoom")
                .blurb("engine=warp: the portrait's face is never shown smaller than this times its size (the face box always stays inside the picture)")
                .minimum(0.2)
                .maximum(1.0)
                .default_value(HeadLimits::default().min_zoom)
                .mutable_playing()
                .build(),
            glib::ParamSpecFloat::builder("max-zoom")
                .nick("Largest zoom")
                .blurb("engine=warp: the portrait's face is never shown larger than this times its size")
                .minimum(1.0)
                .maximum(3.0)
                .default_value(HeadLimits::default().max_zoom)
                .mutable_playing()
                .build(),
            glib::ParamSpecFloat::builder("max-roll")
                .nick("Largest roll")
                .blurb("engine=warp: the portrait's head turns at most this many degrees either way")
                .minimum(0.0)
                .maximum(90.0)
                .default_value(HeadLimits::default().max_roll_degrees)
                .mutable_playing()
                .build(),
            glib::ParamSpecFloat::builder("max-yaw")
                .nick("Largest turn")
                .blurb("engine=warp: the portrait's head turns left or right in depth at most this many degrees")
                .minimum(0.0)
                .maximum(45.0)
                .default_value(HeadLimits::default().max_yaw_degrees)
                .mutable_playing()
                .build(),
            glib::ParamSpecFloat::builder("max-pitch")
                .nick("Largest nod")
                .blurb("engine=warp: the portrait's head nods up or down in depth at most this many degrees")
                .minimum(0.0)
                .maximum(45.0)
                .default_value(HeadLimits::default().max_pitch_degrees)
                .mutable_playing()
                .build(),
            glib::ParamSpecDouble::builder("rest-after")
                .nick("Rest after")
                .blurb("Seconds without a face (or with one that is not human) before the avatar eases back to rest, in half a second; until then it holds its last pose")
                .minimum(0.0)
                .maximum(60.0)
                .default_value(IdleSettings::default().rest_after)
                .mutable_playing()
                .build(),
            glib::ParamSpecBoolean::builder("breathing")
                .nick("Breathing")
                .blurb("engine=warp: the chest's slow rise and fall (a breath every 4 s), with a face and without")
                .default_value(IdleSettings::default().breathing)
                .mutable_playing()
                .build(),
            glib::ParamSpecBoolean::builder("blinking")
                .nick("Blinking")
                .blurb("engine=warp: while resting without a face, a blink every 3 to 5.5 s")
                .default_value(IdleSettings::default().blinking)
                .mutable_playing()
                .build(),
        ]);
        properties.extend(ChannelGains::CHANNELS.iter().map(|(name, moves)| {
            glib::ParamSpecFloat::builder(&format!("{name}-gain"))
                .nick(&format!("{name} gain"))
                .blurb(&format!(
                    "engine=warp: the gain on {moves} (1 as measured, 0 off, up to {MAX_GAIN} exaggerated)"
                ))
                .minimum(0.0)
                .maximum(MAX_GAIN)
                .default_value(1.0)
                .mutable_playing()
                .build()
        }));
        properties
    }

    /// Sets the property `name` of fommanimate's own; false for one it does not hold.
    pub(super) fn set(&mut self, name: &str, value: &glib::Value) -> bool {
        let text = || {
            value
                .get::<Option<String>>()
                .expect("type checked upstream")
                .filter(|text| !text.is_empty())
        };
        match name {
            "engine" => self.engine = value.get().expect("type checked upstream"),
            "source" => self.source = text(),
            "source-crop" => self.source_crop = text(),
            "margin" => self.margin = value.get().expect("type checked upstream"),
            "relative" => self.relative = value.get().expect("type checked upstream"),
            "adapt-scale" => self.adapt_scale = value.get().expect("type checked upstream"),
            "output-size" => self.output_size = value.get().expect("type checked upstream"),
            "background" => self.background = value.get().expect("type checked upstream"),
            "in-betweens" => self.inbetweens = value.get().expect("type checked upstream"),
            "keyframe-every" => self.keyframe_every = value.get().expect("type checked upstream"),
            "background-color" => {
                self.background_color = value.get().expect("type checked upstream")
            }
            "min-zoom" => self.limits.min_zoom = value.get().expect("type checked upstream"),
            "max-zoom" => self.limits.max_zoom = value.get().expect("type checked upstream"),
            "max-roll" => {
                self.limits.max_roll_degrees = value.get().expect("type checked upstream")
            }
            "rest-after" => self.idle.rest_after = value.get().expect("type checked upstream"),
            "breathing" => self.idle.breathing = value.get().expect("type checked upstream"),
            "blinking" => self.idle.blinking = value.get().expect("type checked upstream"),
            "max-yaw" => self.limits.max_yaw_degrees = value.get().expect("type checked upstream"),
            "max-pitch" => {
                self.limits.max_pitch_degrees = value.get().expect("type checked upstream")
            }
            gain if gain.ends_with("-gain") => {
                let channel = gain.trim_end_matches("-gain");
                return self
                    .gains
                    .set(channel, value.get().expect("type checked upstream"));
            }
            _ => return false,
        }
        true
    }

    /// The value of the property `name` of fommanimate's own, if it holds it.
    pub(super) fn get(&self, name: &str) -> Option<glib::Value> {
        Some(match name {
            "engine" => self.engine.to_value(),
            "source" => self.source.to_value(),
            "source-crop" => self.source_crop.to_value(),
            "margin" => self.margin.to_value(),
            "relative" => self.relative.to_value(),
            "adapt-scale" => self.adapt_scale.to_value(),
            "output-size" => self.output_size.to_value(),
            "background" => self.background.to_value(),
            "in-betweens" => self.inbetweens.to_value(),
            "keyframe-every" => self.keyframe_every.to_value(),
            "background-color" => self.background_color.to_value(),
            "min-zoom" => self.limits.min_zoom.to_value(),
            "max-zoom" => self.limits.max_zoom.to_value(),
            "max-roll" => self.limits.max_roll_degrees.to_value(),
            "rest-after" => self.idle.rest_after.to_value(),
            "breathing" => self.idle.breathing.to_value(),
            "blinking" => self.idle.blinking.to_value(),
            "max-yaw" => self.limits.max_yaw_degrees.to_value(),
            "max-pitch" => self.limits.max_pitch_degrees.to_value(),
            gain if gain.ends_with("-gain") => {
                self.gains.get(gain.trim_end_matches("-gain"))?.to_value()
            }
            _ => return None,
        })
    }
}
