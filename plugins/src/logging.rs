//! The library's `log` records in GStreamer's debug log, under the debug category of the element
//! whose call into the library logged them: `GST_DEBUG=fommkeypoints:5` shows that element's
//! model loading and provider choice too, with the element as the logged object.
//!
//! Routed by the calling thread, not by the record's module path: the library's modules do not
//! map to elements (`animecam::inference` loads the networks of every element, `animecam::fomm`
//! serves fommkeypoints and fommanimate), whereas a record is logged on the thread of the element
//! call that caused it. An element holds a [`Calling`] guard while it calls into the library;
//! records logged with none held (a thread of the library's own, an application's direct use of
//! the library) go to the "animecam" category.

use std::cell::RefCell;
use std::sync::LazyLock;

use gst::glib;
use gst::prelude::*;

/// Records logged while no element calls the library: `GST_DEBUG=animecam:5`.
static LIBRARY: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "animecam",
        gst::DebugColorFlags::empty(),
        Some("animecam library: models, execution providers, face tracking"),
    )
});

#[derive(Clone)]
struct Caller {
    category: gst::DebugCategory,
    element: gst::Element,
}

thread_local! {
    static CALLER: RefCell<Option<Caller>> = const { RefCell::new(None) };
}

/// While it lives, the library's records on this thread go to one element's category; dropping
/// it restores the caller before (guards nest).
#[must_use = "the routing ends when the guard is dropped"]
pub struct Calling {
    previous: Option<Caller>,
}

/// Routes the library's records on this thread to `category`, logged against `element`, until
/// the returned guard is dropped.
pub fn calling(category: gst::DebugCategory, element: &impl IsA<gst::Element>) -> Calling {
    let caller = Caller {
        category,
        element: element.clone().upcast(),
    };
    Calling {
        previous: CALLER.with(|current| current.replace(Some(caller))),
    }
}

impl Drop for Calling {
    fn drop(&mut self) {
        let previous = self.previous.take();
        // A thread being torn down has no caller left to restore.
        let _ = CALLER.try_with(|current| current.replace(previous));
    }
}

/// The `log` implementation the plugin installs (see the module's documentation).
pub struct ElementLogger;

impl ElementLogger {
    /// The caller on this thread, if an element is calling the library.
    fn caller() -> Option<Caller> {
        CALLER
            .try_with(|current| current.try_borrow().ok().and_then(|c| c.clone()))
            .ok()
            .flatten()
    }

    fn level(level: log::Level) -> gst::DebugLevel {
        match level {
            log::Level::Error => gst::DebugLevel::Error,
            log::Level::Warn => gst::DebugLevel::Warning,
            log::Level::Info => gst::DebugLevel::Info,
            log::Level::Debug => gst::DebugLevel::Debug,
            log::Level::Trace => gst::DebugLevel::Trace,
        }
    }
}

impl log::Log for ElementLogger {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        let category = Self::caller().map_or(*LIBRARY, |caller| caller.category);
        category.above_threshold(Self::level(metadata.level()))
    }

    fn log(&self, record: &log::Record) {
        let caller = Self::caller();
        let (category, element) = match &caller {
            Some(caller) => (caller.category, Some(&caller.element)),
            None => (*LIBRARY, None),
        };
        let level = Self::level(record.level());
        if !category.above_threshold(level) {
            return;
        }
        let file = glib::GString::from(record.file().unwrap_or(""));
        category.log(
            element,
            level,
            file.as_gstr(),
            record.module_path().unwrap_or(""),
            record.line().unwrap_or(0),
            *record.args(),
        );
    }

    fn flush(&self) {}
}

/// Installs [`ElementLogger`] as the process's `log` logger, unless the application installed
/// one of its own, which it keeps.
pub fn install() {
    static LOGGER: ElementLogger = ElementLogger;
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(log::LevelFilter::Debug);
    }
}
