//! Things swapped in while frames flow (a new portrait, another style network): each is prepared
//! on a thread of its own while the current one keeps playing; the newest request wins, and one
//! that fails leaves the current one in place.

use std::sync::{Arc, Mutex};

use crate::activity::Activity;

/// Requests for new `T`s and the prepared result waiting for the streaming thread. Cheap to
/// clone: clones share the requests.
pub struct Swap<T> {
    shared: Arc<Mutex<Requests<T>>>,
}

impl<T> Clone for Swap<T> {
    fn clone(&self) -> Self {
        Swap {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Default for Swap<T> {
    fn default() -> Self {
        Swap {
            shared: Arc::new(Mutex::new(Requests {
                requested: 0,
                ready: None,
            })),
        }
    }
}

struct Requests<T> {
    /// The request being prepared (or last prepared), by number.
    requested: u64,
    /// A prepared result waiting for the streaming thread, with its request number.
    ready: Option<(u64, Result<T, String>)>,
}

/// What to prepare: what it is (for the message should preparing it panic) and the work.
pub struct Preparation<T> {
    pub what: String,
    pub prepare: Box<dyn FnOnce() -> Result<T, String> + Send>,
}

impl<T: Send + 'static> Swap<T> {
    /// Runs the preparation `job` returns on a thread of its own; `activity` says something is
    /// loading until it is ready. `job` runs under the swap's lock: of two threads asking at
    /// once, the one that read the newer settings gets the newer request. A `job` that is an
    /// error (an unreadable setting, say) is that request's result at once. Returns whether a
    /// preparation started: not when `job` asks for nothing (`None`) or is an error.
    pub fn request<E: std::fmt::Display>(
        &self,
        activity: &Arc<Activity>,
        job: impl FnOnce() -> Option<Result<Preparation<T>, E>>,
    ) -> bool {
        let (preparation, number) = {
            let mut requests = self.shared.lock().unwrap();
            let Some(preparation) = job() else {
                return false;
            };
            requests.requested += 1;
            // An older result not yet taken is superseded.
            requests.ready = None;
            let number = requests.requested;
            match preparation {
                Ok(preparation) => {
                    // Under the lock: a newer request (whose job fails at once, say) sets the
                    // loading after this one, never before it.
                    activity.set_loading(true);
                    (preparation, number)
                }
                Err(error) => {
                    requests.ready = Some((number, Err(error.to_string())));
                    // A superseded preparation still running will not end the loading.
                    activity.set_loading(false);
                    return false;
                }
            }
        };
        let (shared, activity) = (self.shared.clone(), activity.clone());
        std::thread::spawn(move || {
            let Preparation { what, prepare } = preparation;
            // Even a panic in there ends the loading and says why.
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(prepare))
                .unwrap_or_else(|_| Err(format!("preparing {what} failed")));
            let mut requests = shared
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            // A newer request supersedes this one: its result is not wanted.
            if requests.requested == number {
                requests.ready = Some((number, result));
                activity.set_loading(false);
            }
        });
        true
    }

    /// Every request made so far is out of date (a new session, perhaps with another engine):
    /// their results will not be taken. A loading in progress is not ended here (its superseded
    /// preparation no longer ends it): whoever invalidates resets the activity too, as the
    /// elements do when they start (the loading of their first model or portrait ends before
    /// they invalidate).
    pub fn invalidate(&self) {
        let mut requests = self.shared.lock().unwrap();
        requests.requested += 1;
        requests.ready = None;
    }

    /// The newest request's result once it is ready; `None` while there is nothing new.
    pub fn take(&self) -> Option<Result<T, String>> {
        let mut requests = self.shared.lock().unwrap();
        match requests.ready.take() {
            Some((number, result)) if number == requests.requested => Some(result),
            _ => None,
        }
    }
}
