//! The read-only `stats` property of the animecam elements: the library's counters as a
//! `gst::Structure`, and back for applications (the animecam CLI reads them once a second).

use animecam::activity::ActivitySnapshot;
use gst::glib;
use gst::prelude::*;

/// Structure name of an animation element's stats (fommanimate, ugatit).
pub const ACTIVITY: &str = "animecam-activity";
/// Structure name of facetrack's stats.
pub const FACES: &str = "animecam-faces";

/// The `stats` property: a structure the element fills when it is read.
pub fn property(blurb: &'static str) -> glib::ParamSpec {
    glib::ParamSpecBoxed::builder::<gst::Structure>("stats")
        .nick("Statistics")
        .blurb(blurb)
        .read_only()
        .build()
}

/// Documentation of the animation elements' `stats` property.
pub const ACTIVITY_BLURB: &str = "What the element did since it was created: animecam-activity with engine (string), \
     frames (frames received), generated (new pictures made), in-betweens (frames shown as FOMM's newest picture moved to \
     the frame's face while the generator was busy), repeated-without-face (frames where the last picture \
     was shown again because no face was seen), calibrations, generate-ns (time spent making the pictures) and \
     loading (a portrait is loading). Frames a leaky queue dropped upstream never reach the element";

/// Documentation of facetrack's `stats` property.
pub const FACES_BLURB: &str =
    "animecam-faces with frames (frames seen) and faces (frames with a face found, tracked or held)";

pub fn activity_to_structure(engine: &str, activity: &ActivitySnapshot) -> gst::Structure {
    gst::Structure::builder(ACTIVITY)
        .field("engine", engine)
        .field("frames", activity.frames)
        .field("generated", activity.generated)
        .field("in-betweens", activity.inbetweens)
        .field("repeated-without-face", activity.repeated_without_face)
        .field("calibrations", activity.calibrations)
        .field("generate-ns", activity.generate_time.as_nanos() as u64)
        .field("loading", activity.loading)
        .build()
}

/// The engine's name and its counters, from an animation element's `stats`.
pub fn activity_from_structure(
    structure: &gst::StructureRef,
) -> Result<(String, ActivitySnapshot), glib::BoolError> {
    if structure.name() != ACTIVITY {
        return Err(glib::bool_error!(
            "expected {ACTIVITY}, got {}",
            structure.name()
        ));
    }
    let count = |name: &str| {
        structure
            .get::<u64>(name)
            .map_err(|e| glib::bool_error!("{name}: {e}"))
    };
    Ok((
        structure
            .get::<String>("engine")
            .map_err(|e| glib::bool_error!("engine: {e}"))?,
        ActivitySnapshot {
            frames: count("frames")?,
            generated: count("generated")?,
            // Absent from a ugatit's stats (it makes no in-betweens).
            inbetweens: structure.get::<u64>("in-betweens").unwrap_or(0),
            repeated_without_face: count("repeated-without-face")?,
            calibrations: count("calibrations")?,
            generate_time: std::time::Duration::from_nanos(count("generate-ns")?),
            loading: structure
                .get::<bool>("loading")
                .map_err(|e| glib::bool_error!("loading: {e}"))?,
        },
    ))
}

pub fn faces_to_structure(frames: u64, faces: u64) -> gst::Structure {
    gst::Structure::builder(FACES)
        .field("frames", frames)
        .field("faces", faces)
        .build()
}

/// Frames seen and frames with a face, from facetrack's `stats`.
pub fn faces_from_structure(structure: &gst::StructureRef) -> Result<(u64, u64), glib::BoolError> {
    if structure.name() != FACES {
        return Err(glib::bool_error!(
            "expected {FACES}, got {}",
            structure.name()
        ));
    }
    let count = |name: &str| {
        structure
            .get::<u64>(name)
            .map_err(|e| glib::bool_error!("{name}: {e}"))
    };
    Ok((count("frames")?, count("faces")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activity_round_trips() {
        gst::init().unwrap();
        let activity = ActivitySnapshot {
            frames: 30,
            generated: 2,
            inbetweens: 20,
            repeated_without_face: 5,
            calibrations: 1,
            generate_time: std::time::Duration::from_millis(1100),
            loading: true,
        };
        let structure = activity_to_structure("FOMM", &activity);
        assert_eq!(
            activity_from_structure(&structure).unwrap(),
            ("FOMM".to_owned(), activity)
        );
        assert_eq!(
            faces_from_structure(&faces_to_structure(30, 12)).unwrap(),
            (30, 12)
        );
        assert!(activity_from_structure(&faces_to_structure(1, 1)).is_err());
    }
}
