//! Bus and pad helpers every running pipeline uses: starting one and saying why it could not,
//! errors and warnings in the user's words, buffers' running times, and the networks in use.

use std::time::{Duration, Instant};

use crossbeam_channel::{unbounded, Receiver};
use gst::prelude::*;

/// Sends the pipeline's bus messages to the returned channel and sets it playing; when it cannot
/// start, the error the failing element posted.
pub fn play(pipeline: &gst::Pipeline) -> Result<Receiver<gst::Message>, String> {
    let bus = pipeline.bus().expect("pipelines have a bus");
    let (sender, messages) = unbounded::<gst::Message>();
    bus.set_sync_handler(move |_, message| {
        let _ = sender.send(message.clone());
        gst::BusSyncReply::Drop
    });
    if pipeline.set_state(gst::State::Playing).is_err() {
        // The element that failed posts its error on the bus, possibly from another thread.
        let deadline = Instant::now() + Duration::from_secs(2);
        let error =
            std::iter::from_fn(|| messages.recv_deadline(deadline).ok()).find_map(|message| {
                match message.view() {
                    gst::MessageView::Error(error) => Some(describe_error(error)),
                    _ => None,
                }
            });
        return Err(error.unwrap_or_else(|| "the pipeline could not start".into()));
    }
    Ok(messages)
}

/// Lets every openh264enc's end of stream bypass the encoder's drain. The element drains by
/// encoding "no picture", which libopenh264 refuses with a line of its own on stderr
/// ("[OpenH264] this = ..., Error:CWelsH264SVCEncoder::EncodeFrame(), cmInitParaError.") at the
/// end of every file that was written well. The encoder holds no frame back (no B-frames, no
/// lookahead: each frame comes out as it goes in), so that drain has nothing to give: the end of
/// stream goes straight on from the encoder's output.
pub fn skip_openh264_drain(pipeline: &gst::Pipeline) {
    for encoder in pipeline.iterate_recurse().into_iter().flatten() {
        if encoder
            .factory()
            .is_none_or(|factory| factory.name() != "openh264enc")
        {
            continue;
        }
        let (Some(sink), Some(src)) = (encoder.static_pad("sink"), encoder.static_pad("src"))
        else {
            continue;
        };
        // Weak: the probe lives on the sink pad, which the source pad's element owns.
        let src = src.downgrade();
        sink.add_probe(gst::PadProbeType::EVENT_DOWNSTREAM, move |_, info| {
            let Some(gst::PadProbeData::Event(event)) = &info.data else {
                return gst::PadProbeReturn::Ok;
            };
            if event.type_() != gst::EventType::Eos {
                return gst::PadProbeReturn::Ok;
            }
            // Taken and handled here: the encoder never sees it.
            let Some(gst::PadProbeData::Event(event)) = info.data.take() else {
                unreachable!("matched above");
            };
            if let Some(src) = src.upgrade() {
                src.push_event(event);
            }
            gst::PadProbeReturn::Handled
        });
    }
}

/// A buffer's running time on `pad`.
pub fn running_time(pad: &gst::Pad, buffer: &gst::BufferRef) -> Option<gst::ClockTime> {
    pad.sticky_event::<gst::event::Segment>(0).and_then(|s| {
        s.segment()
            .downcast_ref::<gst::ClockTime>()
            .and_then(|s| s.to_running_time(buffer.pts()))
    })
}

/// A line per network element: where it runs and in which precision (read once the elements
/// have started, which loads their models). The warp, which runs no network, has none.
pub fn networks(pipeline: &gst::Pipeline) -> Vec<String> {
    let mut lines: Vec<String> = pipeline
        .iterate_recurse()
        .into_iter()
        .flatten()
        .filter(|element| element.has_property("precision-in-use"))
        .filter_map(|element| {
            let provider = element.property::<Option<String>>("provider-in-use")?;
            let precision = element.property::<Option<String>>("precision-in-use")?;
            (precision != "none")
                .then(|| format!("network {}: {provider}, {precision}", element.name()))
        })
        .collect();
    lines.sort();
    lines
}

/// A message's text with the element that posted it.
fn with_source(text: impl std::fmt::Display, message: &gst::MessageRef) -> String {
    let source = message.src().map(|s| s.path_string().to_string());
    format!("{text} (from {})", source.unwrap_or_default())
}

/// The warnings a run has printed: two elements that load the same broken set (fommkeypoints
/// and fommanimate share vox-256) each post the same warning, which the user needs once.
#[derive(Default)]
pub struct WarningsSaid(std::collections::HashSet<String>);

impl WarningsSaid {
    /// Whether `text` is new to this run (and so worth printing).
    pub fn first_time(&mut self, text: &str) -> bool {
        self.0.insert(text.to_owned())
    }
}

/// A warning with the element that gave it.
pub fn describe_warning(warning: &gst::message::Warning) -> String {
    with_source(warning.error(), warning.message())
}

/// An error message for the user: what failed, and which element said so.
pub fn describe_error(error: &gst::message::Error) -> String {
    with_source(error.error(), error.message())
}
