//! Progress messages for an element's slow steps, as gst-plugins-rs's whisper transcriber posts
//! them: one stable code per step, a Start, then exactly one of Complete, Error or Canceled. An
//! application waits for a code, not for a text written for people.

use gst::prelude::*;

/// The code of loading a network (a TensorRT engine build takes minutes the first time).
pub const LOADING: &str = "loading";

/// One slow step under way: Start is posted when it begins, and dropping it unfinished (a panic,
/// a start abandoned half-way) posts Canceled, so that a waiting application never waits forever.
#[must_use = "dropping the step at once posts Canceled"]
pub struct Step {
    element: gst::Element,
    code: &'static str,
    finished: bool,
}

impl Step {
    pub fn start(element: &impl IsA<gst::Element>, code: &'static str, text: &str) -> Step {
        let step = Step {
            element: element.clone().upcast(),
            code,
            finished: false,
        };
        step.post(gst::ProgressType::Start, text);
        step
    }

    pub fn complete(mut self, text: &str) {
        self.finish(gst::ProgressType::Complete, text);
    }

    /// The step failed; the element posts the error that says why.
    pub fn fail(mut self, text: &str) {
        self.finish(gst::ProgressType::Error, text);
    }

    /// Complete or Error, as `outcome` went.
    pub fn end<T, E>(self, outcome: &Result<T, E>, complete: &str, failed: &str) {
        match outcome {
            Ok(_) => self.complete(complete),
            Err(_) => self.fail(failed),
        }
    }

    fn finish(&mut self, kind: gst::ProgressType, text: &str) {
        self.finished = true;
        self.post(kind, text);
    }

    fn post(&self, kind: gst::ProgressType, text: &str) {
        let _ = self.element.post_message(
            gst::message::Progress::builder(kind, self.code, text)
                .src(&self.element)
                .build(),
        );
    }
}

impl Drop for Step {
    fn drop(&mut self) {
        if !self.finished {
            self.post(gst::ProgressType::Canceled, "interrupted");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_ends_once_and_a_dropped_one_is_canceled() {
        gst::init().unwrap();
        let pipeline = gst::Pipeline::new();
        let element = gst::ElementFactory::make("identity").build().unwrap();
        pipeline.add(&element).unwrap();
        drop(Step::start(&element, LOADING, "loading"));
        Step::start(&element, LOADING, "loading").complete("loaded");
        let failed: Result<(), ()> = Err(());
        Step::start(&element, LOADING, "loading").end(&failed, "loaded", "failed");
        let progress: Vec<(gst::ProgressType, String)> = pipeline
            .bus()
            .unwrap()
            .iter()
            .filter_map(|message| match message.view() {
                gst::MessageView::Progress(progress) => {
                    let (kind, code, _) = progress.get();
                    Some((kind, code.to_string()))
                }
                _ => None,
            })
            .collect();
        use gst::ProgressType::{Canceled, Complete, Error, Start};
        let expected =
            [Start, Canceled, Start, Complete, Start, Error].map(|kind| (kind, LOADING.to_owned()));
        assert_eq!(progress, expected);
    }
}
