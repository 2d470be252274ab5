//! `animecam doctor`: everything animecam needs, and the exact fix for each thing missing.

use std::path::Path;

use animecam::inference::{
    inspect_int8_set, runtime, Int8Set, Manifest, Model, Provider, ProviderOptions,
};
use animecam::model_sets::{self, Need};

use crate::failure::Failure;

/// What loads the virtual camera's kernel module (doctor's fix; the studio says it beside its
/// virtual camera switch).
pub const V4L2LOOPBACK_FIX: &str = "sudo apt-get install v4l2loopback-dkms && sudo modprobe v4l2loopback devices=1 video_nr=10 card_label=\"animecam\" exclusive_caps=1";

/// Whether v4l2loopback, which `animecam virtualcam` writes to, is loaded.
pub fn v4l2loopback_loaded() -> bool {
    Path::new("/sys/module/v4l2loopback").exists()
}

struct Report {
    failures: usize,
}

impl Report {
    fn ok(&self, what: &str, detail: impl std::fmt::Display) {
        println!("  ok    {what}: {detail}");
    }

    fn fail(&mut self, what: &str, detail: impl std::fmt::Display, fix: &str) {
        self.failures += 1;
        println!("  FAIL  {what}: {detail}\n        fix: {fix}");
    }

    fn note(&self, what: &str, detail: impl std::fmt::Display) {
        println!("  --    {what}: {detail}");
    }
}

/// The elements our pipelines use, with the Debian package that ships each.
const ELEMENTS: &[(&str, &str)] = &[
    (
        "facetrack",
        "the animecam plugin: make build, and GST_PLUGIN_PATH=target/release",
    ),
    ("v4l2src", "apt-get install gstreamer1.0-plugins-good"),
    ("v4l2sink", "apt-get install gstreamer1.0-plugins-good"),
    ("videoconvert", "apt-get install gstreamer1.0-plugins-base"),
    ("compositor", "apt-get install gstreamer1.0-plugins-base"),
    ("decodebin", "apt-get install gstreamer1.0-plugins-base"),
    ("glimagesink", "apt-get install gstreamer1.0-gl"),
    ("ximagesink", "apt-get install gstreamer1.0-x"),
    ("openh264enc", "apt-get install gstreamer1.0-plugins-bad"),
    ("mp4mux", "apt-get install gstreamer1.0-plugins-good"),
    ("avenc_aac", "apt-get install gstreamer1.0-libav"),
    ("avdec_h264", "apt-get install gstreamer1.0-libav"),
    ("mpegtsmux", "apt-get install gstreamer1.0-plugins-bad"),
    ("srtsink", "apt-get install gstreamer1.0-plugins-bad"),
    ("srtsrc", "apt-get install gstreamer1.0-plugins-bad"),
    ("tsdemux", "apt-get install gstreamer1.0-plugins-bad"),
];

pub fn run() -> Result<(), Failure> {
    match check() {
        0 => Ok(()),
        // Each problem was printed with its fix.
        _ => Err(Failure::from("")),
    }
}

fn check() -> i32 {
    let mut report = Report { failures: 0 };
    println!("GStreamer");
    let (major, minor, micro, _) = gst::version();
    if (major, minor) >= (1, 22) {
        report.ok("version", format!("{major}.{minor}.{micro}"));
    } else {
        report.fail(
            "version",
            format!("{major}.{minor}.{micro}"),
            "animecam needs GStreamer 1.22 or newer (Debian 12)",
        );
    }
    for (element, fix) in ELEMENTS {
        match gst::ElementFactory::find(element) {
            Some(_) => report.ok(element, "found"),
            None => report.fail(element, "missing", fix),
        }
    }

    println!("ONNX Runtime");
    match runtime() {
        Ok(runtime) => {
            report.ok("library", runtime.library().display());
            let providers: Vec<String> = runtime
                .providers()
                .iter()
                .map(ToString::to_string)
                .collect();
            report.ok("providers built in", providers.join(", "));
        }
        Err(e) => report.fail(
            "library",
            e,
            "make setup (installs onnxruntime==1.31.1 into .venv)",
        ),
    }

    println!("Models ({})", model_sets::models_dir().display());
    // The sets some mode needs; the optional face mesh is not checked.
    for known in model_sets::ALL
        .iter()
        .filter(|set| set.need != Need::Optional)
    {
        let (set, needed, fix) = (known.name, known.need == Need::Always, known.how_to_get);
        let dir = known.dir();
        match Manifest::load(&dir) {
            Ok(manifest) => {
                // The same check the elements make when they start: checksums, a session, and
                // the graph's inputs and outputs against the manifest's contract.
                let options = ProviderOptions {
                    provider: Provider::Cpu,
                    ..ProviderOptions::default()
                };
                let broken: Vec<String> = manifest
                    .models
                    .keys()
                    .filter_map(|id| Model::load(&manifest, id, &options).err())
                    .map(|e| e.to_string())
                    .collect();
                if broken.is_empty() {
                    let graphs = format!(
                        "{} graph(s), checksums and contracts match",
                        manifest.models.len()
                    );
                    // The same verdict precision=int8 and auto reach when an element starts.
                    let precisions = match inspect_int8_set(&dir) {
                        Int8Set::Ready(int8) => Some(format!(
                            "fp32, and int8 in {} (used on the CPU)",
                            int8.dir.display()
                        )),
                        Int8Set::Absent if !known.has_int8 => Some(manifest.precision.to_string()),
                        Int8Set::Absent => Some(
                            "fp32; no int8 set (make int8-models: about twice as fast on CPUs)"
                                .to_owned(),
                        ),
                        Int8Set::Broken(broken) => {
                            report.fail(
                                set,
                                format!(
                                    "{graphs}; but {} (precision auto runs fp32)",
                                    broken.cause()
                                ),
                                &broken.remedy(),
                            );
                            None
                        }
                    };
                    if let Some(precisions) = precisions {
                        report.ok(set, format!("{graphs}; {precisions}"));
                    }
                } else {
                    report.fail(set, broken.join("; "), fix);
                }
            }
            Err(_) if !needed => report.note(set, format!("not converted ({fix})")),
            Err(e) => report.fail(set, e, fix),
        }
    }

    println!("Window (webcam mode)");
    match crate::window::display() {
        None => report.note(
            "display",
            "none (DISPLAY and WAYLAND_DISPLAY unset): webcam mode needs a desktop session; virtualcam, stream and clip do not",
        ),
        Some(display) => {
            report.ok("display", &display);
            match crate::window::choose() {
                Ok(sink) => report.ok("window sink", sink),
                Err(e) => report.fail(
                    "window sink",
                    e,
                    &format!("sudo apt-get install {}", crate::window::PACKAGES),
                ),
            }
        }
    }

    println!("Video devices");
    let devices: Vec<String> = std::fs::read_dir("/dev")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|name| name.starts_with("video"))
        .collect();
    if devices.is_empty() {
        report.fail(
            "cameras",
            "no /dev/video* device",
            "plug in a webcam, or check that your user is in the video group",
        );
    } else {
        report.ok("devices", devices.join(", "));
    }
    if v4l2loopback_loaded() {
        report.ok("v4l2loopback", "loaded");
    } else {
        report.fail(
            "v4l2loopback",
            "not loaded (needed for virtualcam)",
            V4L2LOOPBACK_FIX,
        );
    }
    println!();
    if report.failures == 0 {
        println!("everything animecam needs is here");
        0
    } else {
        println!(
            "{} problem(s); each line above says how to fix it",
            report.failures
        );
        1
    }
}
