//! In-betweens, as fommanimate and ugatit offer them: the network on a thread of its own, and
//! every frame meanwhile its newest picture moved by the face's motion since. The property's
//! values and how they become a pace.

use animecam::worker::KeyframePace;
use gst::glib;
use gst::prelude::*;

/// Whether a network shows in-betweens while it is busy.
#[derive(Debug, Eq, PartialEq, Hash, Clone, Copy, glib::Enum, Default)]
#[repr(u32)]
#[enum_type(name = "GstAnimecamInbetweens")]
pub enum Inbetweens {
    #[default]
    #[enum_value(
        name = "On for a live source (a camera), off for a file (whose frames wait for the network)",
        nick = "auto"
    )]
    Auto = 0,
    #[enum_value(
        name = "The network on its own thread; each frame meanwhile its newest picture moved to the frame's face",
        nick = "on"
    )]
    On = 1,
    #[enum_value(name = "The network on every frame", nick = "off")]
    Off = 2,
}

/// Whether `element`'s source is live: upstream's answer to a latency query.
pub fn source_is_live(element: &gst::Element) -> bool {
    let mut query = gst::query::Latency::new();
    element
        .sink_pads()
        .first()
        .is_some_and(|pad| pad.peer_query(&mut query) && query.result().0)
}

/// How the network runs (`None`: on every frame, on the streaming thread): `auto` asks `live`;
/// `keyframe_every` 0 runs it whenever it is free, N on every Nth frame.
pub fn pace(
    setting: Inbetweens,
    keyframe_every: u32,
    live: impl FnOnce() -> bool,
) -> Option<KeyframePace> {
    let on = match setting {
        Inbetweens::Off => false,
        Inbetweens::On => true,
        Inbetweens::Auto => live(),
    };
    on.then_some(match keyframe_every {
        0 => KeyframePace::AsFastAsItCan,
        every => KeyframePace::Every(every),
    })
}
