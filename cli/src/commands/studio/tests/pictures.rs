//! What the studio's test reads its pictures with: the avatar the window paints, the portrait
//! at rest, recorded files and the SRT stream decoded back by stock elements.

use std::path::Path;

use gst::prelude::*;
use gtk::gdk;
use gtk::prelude::*;

use super::super::Studio;

/// The avatar as the window paints it now: RGB rows of its texture.
pub(super) struct Shot {
    width: usize,
    height: usize,
    rgb: Vec<[u8; 3]>,
}

impl Shot {
    pub(super) fn of(studio: &Studio) -> Shot {
        let texture = studio
            .widgets()
            .avatar
            .paintable()
            .and_then(|p| p.downcast::<gdk::Texture>().ok())
            .expect("the avatar is painted");
        let (width, height) = (texture.width() as usize, texture.height() as usize);
        // GDK's default format: B8G8R8A8, premultiplied (the avatar is opaque).
        let mut bgra = vec![0u8; width * height * 4];
        texture.download(&mut bgra, width * 4);
        let rgb = bgra.chunks(4).map(|p| [p[2], p[1], p[0]]).collect();
        Shot { width, height, rgb }
    }

    pub(super) fn from_rgb(width: usize, height: usize, bytes: &[u8]) -> Shot {
        let rgb = bytes.chunks(3).map(|p| [p[0], p[1], p[2]]).collect();
        Shot { width, height, rgb }
    }

    /// Mean absolute difference per channel, 0 to 255.
    pub(super) fn change(&self, other: &Shot) -> f64 {
        let sum: u64 = self
            .rgb
            .iter()
            .zip(&other.rgb)
            .map(|(a, b)| (0..3).map(|c| a[c].abs_diff(b[c]) as u64).sum::<u64>())
            .sum();
        sum as f64 / (self.rgb.len() * 3) as f64
    }

    /// How different the colours are, whatever moved where: the L1 distance of the colour
    /// histograms (4 levels a channel), 0 (the same colours) to 1 (none in common).
    pub(super) fn colours_differ(&self, other: &Shot) -> f64 {
        let histogram = |shot: &Shot| {
            let mut bins = [0f64; 64];
            for [r, g, b] in &shot.rgb {
                bins[(r / 64) as usize * 16 + (g / 64) as usize * 4 + (b / 64) as usize] += 1.0;
            }
            bins.map(|count| count / shot.rgb.len() as f64)
        };
        let (p, q) = (histogram(self), histogram(other));
        p.iter().zip(q).map(|(u, v)| (u - v).abs()).sum::<f64>() / 2.0
    }

    /// The mean colour of a square patch at the top-left corner.
    pub(super) fn corner(&self, side: usize) -> [f64; 3] {
        let mut sum = [0f64; 3];
        for y in 0..side {
            for x in 0..side {
                let p = self.rgb[y * self.width + x];
                (0..3).for_each(|c| sum[c] += p[c] as f64);
            }
        }
        sum.map(|s| s / (side * side) as f64)
    }

    /// How much more the pixels in a box (fractions of the width and height) changed from
    /// `other` than the picture's as a whole.
    pub(super) fn change_in_box(
        &self,
        other: &Shot,
        (x0, x1): (f64, f64),
        (y0, y1): (f64, f64),
    ) -> f64 {
        let (mut inside, mut inside_n, mut all) = (0f64, 0usize, 0f64);
        for y in 0..self.height {
            for x in 0..self.width {
                let i = y * self.width + x;
                let d: f64 = (0..3)
                    .map(|c| self.rgb[i][c].abs_diff(other.rgb[i][c]) as f64)
                    .sum();
                all += d;
                let (fx, fy) = (x as f64 / self.width as f64, y as f64 / self.height as f64);
                if (x0..x1).contains(&fx) && (y0..y1).contains(&fy) {
                    inside += d;
                    inside_n += 1;
                }
            }
        }
        (inside / inside_n.max(1) as f64) / (all / self.rgb.len() as f64).max(1e-9)
    }
}

/// Sylvie's mouth in the warp's 512 square around her face (x, y fractions; measured on the
/// picture at rest: her mouth line at 0.44 to 0.52 across, 0.58 down).
pub(super) const MOUTH_BOX: ((f64, f64), (f64, f64)) = ((0.38, 0.58), (0.52, 0.68));

/// A pipeline ending in an appsink named `sink`, with a file set on the element named `named`
/// (a property, not text in the description), playing.
pub(super) fn playing(
    description: &str,
    named: &str,
    property: &str,
    file: &Path,
) -> (gst::Pipeline, gst_app::AppSink) {
    let pipeline = gst::parse::launch(description)
        .unwrap()
        .downcast::<gst::Pipeline>()
        .unwrap();
    pipeline
        .by_name(named)
        .unwrap()
        .set_property(property, file.to_string_lossy().to_string());
    let sink = pipeline
        .by_name("sink")
        .unwrap()
        .downcast::<gst_app::AppSink>()
        .unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    (pipeline, sink)
}

/// The portrait at rest as the warp shows it: a camera without a face.
pub(super) fn at_rest(portrait: &Path) -> Shot {
    let (pipeline, sink) = playing(
        "videotestsrc num-buffers=1 ! video/x-raw,width=320,height=240 ! videoconvert ! facetrack ! \
         fommanimate name=animate engine=warp output-size=512 ! videoconvert ! \
         video/x-raw,format=RGB ! appsink name=sink sync=false",
        "animate",
        "source",
        portrait,
    );
    let sample = sink
        .try_pull_sample(gst::ClockTime::from_seconds(30))
        .expect("a frame at rest");
    pipeline.set_state(gst::State::Null).unwrap();
    let buffer = sample.buffer().unwrap().map_readable().unwrap();
    Shot::from_rgb(512, 512, buffer.as_slice())
}

/// A recorded file's frames, counted, and its first as RGBA.
pub(super) fn decoded(file: &Path) -> (usize, Rgba) {
    let (pipeline, sink) = playing(
        "filesrc name=file ! decodebin ! videoconvert ! video/x-raw,format=RGBA ! \
         appsink name=sink sync=false",
        "file",
        "location",
        file,
    );
    let mut first = None;
    let mut frames = 0;
    while let Some(sample) = sink.try_pull_sample(gst::ClockTime::from_seconds(10)) {
        frames += 1;
        if first.is_none() {
            let structure = sample.caps().unwrap().structure(0).unwrap().to_owned();
            let width = structure.get::<i32>("width").unwrap() as usize;
            let map = sample.buffer().unwrap().map_readable().unwrap();
            let rgba = map
                .as_slice()
                .chunks(4)
                .map(|p| [p[0], p[1], p[2], p[3]])
                .collect();
            first = Some(Rgba { width, rgba });
        }
    }
    pipeline.set_state(gst::State::Null).unwrap();
    (
        frames,
        first.unwrap_or_else(|| panic!("{} has no frames", file.display())),
    )
}

/// A decoded frame with its alpha.
pub(super) struct Rgba {
    width: usize,
    pub rgba: Vec<[u8; 4]>,
}

impl Rgba {
    /// The mean of each channel over a square patch at the top-left corner.
    pub(super) fn corner(&self, side: usize) -> [f64; 4] {
        let mut sum = [0f64; 4];
        for y in 0..side {
            for x in 0..side {
                let p = self.rgba[y * self.width + x];
                (0..4).for_each(|c| sum[c] += p[c] as f64);
            }
        }
        sum.map(|s| s / (side * side) as f64)
    }
}

/// The first frame a stock SRT receiver decodes from the studio's stream.
pub(super) fn receive_stream(port: u16) -> std::thread::JoinHandle<Option<(i32, i32, f64)>> {
    std::thread::spawn(move || {
        let pipeline = gst::parse::launch(&format!(
            "srtsrc uri=srt://127.0.0.1:{port}?mode=caller ! tsdemux ! decodebin ! videoconvert ! \
             video/x-raw,format=RGB ! appsink name=sink sync=false"
        ))
        .ok()?
        .downcast::<gst::Pipeline>()
        .ok()?;
        let sink = pipeline
            .by_name("sink")?
            .downcast::<gst_app::AppSink>()
            .ok()?;
        pipeline.set_state(gst::State::Playing).ok()?;
        let sample = sink.try_pull_sample(gst::ClockTime::from_seconds(20));
        pipeline.set_state(gst::State::Null).ok()?;
        let sample = sample?;
        let structure = sample.caps()?.structure(0)?.to_owned();
        let map = sample.buffer()?.map_readable().ok()?;
        let mean = map.as_slice().iter().map(|&v| v as f64).sum::<f64>() / map.len() as f64;
        Some((
            structure.get("width").ok()?,
            structure.get("height").ok()?,
            mean,
        ))
    })
}
