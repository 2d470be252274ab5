//! What the window tests share (webcam's window, the studio): the screen of an X server grabbed,
//! the portraits at rest to compare it with, and a face clip long enough to play as a camera.

use std::path::{Path, PathBuf};

use super::*;

/// Runs a one-frame pipeline and returns its frame as packed RGB.
pub fn one_frame(description: &str) -> Frame {
    gst::init().unwrap();
    gstanimecam::plugin_register_static().unwrap();
    let pipeline = launch(&format!(
        "{description} ! videoconvert ! video/x-raw,format=RGB ! appsink name=sink sync=false"
    ));
    let sink = appsink(&pipeline);
    pipeline.set_state(gst::State::Playing).unwrap();
    let sample = sink
        .try_pull_sample(gst::ClockTime::from_seconds(20))
        .expect("a frame");
    pipeline.set_state(gst::State::Null).unwrap();
    Frame::from_sample(&sample)
}

/// The top-left `width` x `height` pixels of the screen, where a window without a window manager
/// opens.
pub fn grab(display: &str, width: usize, height: usize) -> Frame {
    one_frame(&format!(
        "ximagesrc display-name={display} startx=0 starty=0 endx={} endy={} use-damage=false num-buffers=1",
        width - 1,
        height - 1
    ))
}

/// The portrait at rest, as fommanimate shows it before the face moves: a camera without a face.
pub fn at_rest(portrait: &Path, size: usize) -> Frame {
    one_frame(&format!(
        "videotestsrc num-buffers=1 ! video/x-raw,width=320,height=240 ! videoconvert ! facetrack ! \
         fommanimate engine=warp source=\"{}\" output-size={size}",
        portrait.display()
    ))
}

/// How different two pictures look, whatever moved where: the L1 distance of their colour
/// histograms (4 levels per channel), from 0 (the same colours) to 1 (no colour in common). A
/// moving avatar keeps its portrait's colours; another portrait has others. `a` is read from
/// column `x0` on, over `b`'s size.
pub fn difference(a: &Frame, b: &Frame, (x0, width): (usize, usize)) -> f64 {
    let histogram = |frame: &Frame, x0: usize| {
        let mut bins = [0f64; 64];
        for y in 0..b.height {
            for x in 0..width {
                let [r, g, b] = frame.rgb(x0 + x, y).map(|c| (c / 64) as usize);
                bins[r * 16 + g * 4 + b] += 1.0;
            }
        }
        bins.map(|count| count / (width * b.height) as f64)
    };
    let (p, q) = (histogram(a, x0), histogram(b, 0));
    p.iter().zip(q).map(|(u, v)| (u - v).abs()).sum::<f64>() / 2.0
}

/// A face clip long enough for a session: the carphone clip three times over (no re-encoding).
pub fn long_face_clip(dir: &Path) -> PathBuf {
    let output = dir.join("face.mp4");
    let clip = media("carphone_pristine.mp4");
    let part = format!(
        "filesrc location={} ! qtdemux ! h264parse ! c. ",
        clip.display()
    );
    let pipeline = launch(&format!(
        "concat name=c ! h264parse ! mp4mux ! filesink location={} {}",
        output.display(),
        part.repeat(3)
    ));
    pipeline.set_state(gst::State::Playing).unwrap();
    let message = pipeline.bus().unwrap().timed_pop_filtered(
        gst::ClockTime::from_seconds(30),
        &[gst::MessageType::Eos, gst::MessageType::Error],
    );
    pipeline.set_state(gst::State::Null).unwrap();
    assert!(matches!(
        message.as_ref().map(|m| m.view()),
        Some(gst::MessageView::Eos(..))
    ));
    output
}

pub fn camera(clip: &Path) -> String {
    format!(
        "filesrc location={} ! decodebin ! videoconvert ! clocksync",
        clip.display()
    )
}
