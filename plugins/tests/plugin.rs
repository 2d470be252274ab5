//! The plugin as a whole: what gst-inspect documents, and where the library's log records go.

mod common;

use std::sync::{mpsc, Mutex};

use animecam::fomm::KeypointDetector;
use animecam::inference::{Provider, ProviderOptions};
use common::init;
use gst::glib;
use gst::prelude::*;

#[test]
fn every_enum_property_type_is_marked_as_plugin_api() {
    init();
    let registry = gst::Registry::get();
    let mut enums = Vec::new();
    for feature in registry.features_by_plugin("animecam") {
        let Ok(factory) = feature.downcast::<gst::ElementFactory>() else {
            continue;
        };
        let element = factory.create().build().unwrap();
        for property in element.list_properties() {
            let value_type = property.value_type();
            if !(value_type.is_a(glib::Type::ENUM) || value_type.is_a(glib::Type::FLAGS)) {
                continue;
            }
            assert!(
                value_type.plugin_api_flags().is_some(),
                "{}'s property {} has the type {}, which is not marked as plugin API",
                factory.name(),
                property.name(),
                value_type.name()
            );
            enums.push(value_type.name());
        }
    }
    enums.sort_unstable();
    enums.dedup();
    assert_eq!(
        enums,
        [
            "GstAnimecamInbetweens",
            "GstAnimecamPrecision",
            "GstAnimecamProvider",
            "GstFaceTrackDetector",
            "GstFaceTrackLandmarks",
            "GstFommAnimateBackground",
            "GstFommAnimateEngine",
            "GstUgatitFrameOutput",
            "GstUgatitRegion",
            "GstUgatitVariant",
        ]
    );
}

/// A record of the library (its module path starts with `animecam::`) seen by GStreamer's debug
/// log: category, logged object, message.
type Record = (String, Option<String>, String);

#[test]
fn library_records_are_logged_under_the_calling_elements_category() {
    init();
    gst::log::set_threshold_for_name("facetrack", gst::DebugLevel::Info);
    gst::log::set_threshold_for_name("animecam", gst::DebugLevel::Info);
    let (sender, receiver) = mpsc::channel::<Record>();
    let sender = Mutex::new(sender);
    let function = gst::log::add_log_function(
        move |category, _level, _file, module, _line, object, message| {
            if !module.as_str().starts_with("animecam::") {
                return;
            }
            let _ = sender.lock().unwrap().send((
                category.name().to_owned(),
                object.map(|object| object.to_string()),
                message
                    .get()
                    .map(|text| text.to_string())
                    .unwrap_or_default(),
            ));
        },
    );

    // The library loads BlazeFace while facetrack starts: its "loaded ..." record is facetrack's.
    let pipeline = common::launch(
        "videotestsrc num-buffers=1 ! videoconvert ! facetrack name=tracker landmarks=blazeface ! fakesink",
    );
    pipeline.set_state(gst::State::Playing).unwrap();
    let bus = pipeline.bus().unwrap();
    let end = bus.timed_pop_filtered(
        gst::ClockTime::from_seconds(20),
        &[gst::MessageType::Eos, gst::MessageType::Error],
    );
    pipeline.set_state(gst::State::Null).unwrap();
    assert!(
        matches!(
            end.as_ref().map(|m| m.view()),
            Some(gst::MessageView::Eos(..))
        ),
        "{end:?}"
    );
    // No element calls the library here: the record goes to the "animecam" category.
    let options = ProviderOptions {
        provider: Provider::Cpu,
        intra_threads: 1,
        ..ProviderOptions::default()
    };
    KeypointDetector::load(&common::tiny(), &options).unwrap();
    gst::log::remove_log_function(function);

    let records: Vec<Record> = receiver.try_iter().collect();
    let loaded = |category: &str| {
        records
            .iter()
            .filter(|(name, _, message)| name == category && message.starts_with("loaded "))
            .collect::<Vec<_>>()
    };
    let by_facetrack = loaded("facetrack");
    assert!(
        !by_facetrack.is_empty(),
        "no library record under facetrack: {records:#?}"
    );
    assert!(
        by_facetrack
            .iter()
            .any(|(_, object, _)| object.as_deref().is_some_and(|o| o.contains("tracker"))),
        "facetrack's records are not logged against the element: {by_facetrack:#?}"
    );
    assert!(
        !loaded("animecam").is_empty(),
        "no library record under animecam: {records:#?}"
    );
}

#[test]
fn every_element_announces_its_model_loading_under_one_code() {
    let tiny = common::tiny();
    for element in [
        "facetrack landmarks=blazeface".to_owned(),
        format!("fommkeypoints model-dir=\"{}\"", tiny.display()),
        format!("ugatit model-dir=\"{}\"", tiny.display()),
    ] {
        let progress = common::progress_messages(&format!(
            "videotestsrc num-buffers=2 ! videoconvert ! {element} ! fakesink"
        ));
        assert_eq!(
            progress,
            vec![
                (gst::ProgressType::Start, "loading".to_owned()),
                (gst::ProgressType::Complete, "loading".to_owned()),
            ],
            "{element}"
        );
    }
}
