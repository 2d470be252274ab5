//! Portraits swapped in while frames flow: a new portrait is prepared (decoded, its face found,
//! encoded or its warp built) on a thread of its own while the current avatar keeps playing; the
//! newest request wins, and one that fails leaves the current avatar in place.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use super::{Animator, Avatar, AvatarMaker, AvatarSpec};
use crate::activity::Activity;

/// Requests for new portraits and the prepared result waiting for the streaming thread. Cheap to
/// clone: clones share the requests.
#[derive(Clone, Default)]
pub struct PortraitSwap {
    shared: Arc<Mutex<Requests>>,
}

#[derive(Default)]
struct Requests {
    /// The request being prepared (or last prepared), by number.
    requested: u64,
    /// A prepared result waiting for the streaming thread, with its request number.
    ready: Option<(u64, Result<Avatar, String>)>,
}

/// What taking a prepared portrait did.
pub enum Swapped<'a> {
    /// The new avatar plays now.
    In(&'a Avatar),
    /// The portrait could not be prepared (why): the current avatar keeps playing.
    Failed(String),
}

impl PortraitSwap {
    /// Prepares the portrait `spec` names on a thread of its own, with `maker`; `activity` says
    /// a portrait is loading until it is ready. `spec` is read under the swap's lock: of two
    /// threads asking at once, the one that read the newer settings gets the newer request. A
    /// spec that is an error (an unreadable crop, say) is that request's result at once.
    /// Returns the path of the portrait now being prepared: `None` when `spec` names none
    /// (nothing is requested) or is an error.
    pub fn request<E: std::fmt::Display>(
        &self,
        maker: AvatarMaker,
        activity: &Arc<Activity>,
        spec: impl FnOnce() -> Option<Result<AvatarSpec, E>>,
    ) -> Option<PathBuf> {
        let (spec, number) = {
            let mut requests = self.shared.lock().unwrap();
            let spec = spec()?;
            requests.requested += 1;
            // An older result not yet shown is superseded.
            requests.ready = None;
            let number = requests.requested;
            match spec {
                Ok(spec) => {
                    // Under the lock: a newer request (whose spec fails at once, say) sets the
                    // loading after this one, never before it.
                    activity.set_loading(true);
                    (spec, number)
                }
                Err(error) => {
                    requests.ready = Some((number, Err(error.to_string())));
                    // A superseded preparation still running will not end the loading.
                    activity.set_loading(false);
                    return None;
                }
            }
        };
        let (shared, activity) = (self.shared.clone(), activity.clone());
        let path = spec.path.clone();
        std::thread::spawn(move || {
            // Even a panic in there ends the loading and says why.
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                maker.make(&spec).map_err(|e| e.to_string())
            }))
            .unwrap_or_else(|_| Err(format!("preparing {} failed", spec.path.display())));
            let mut requests = shared
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            // A newer request supersedes this one: its result is not wanted.
            if requests.requested == number {
                requests.ready = Some((number, result));
                activity.set_loading(false);
            }
        });
        Some(path)
    }

    /// Every request made so far is out of date (a new session, perhaps with another engine):
    /// their results will not be shown. A loading in progress is not ended here (its superseded
    /// preparation no longer ends it): whoever invalidates resets the activity too, as the
    /// element does when it starts (the loading of its first portrait ends before it
    /// invalidates).
    pub fn invalidate(&self) {
        let mut requests = self.shared.lock().unwrap();
        requests.requested += 1;
        requests.ready = None;
    }

    /// Swaps the newest request's avatar into `animator` when it is ready; `None` while there is
    /// nothing new. A portrait that failed keeps the current avatar.
    pub fn take_into<'a>(&self, animator: &'a mut Animator) -> Option<Swapped<'a>> {
        let result = {
            let mut requests = self.shared.lock().unwrap();
            match requests.ready.take() {
                Some((number, result)) if number == requests.requested => result,
                _ => return None,
            }
        };
        Some(match result {
            Ok(avatar) => {
                animator.swap(avatar);
                Swapped::In(animator.avatar())
            }
            Err(error) => Swapped::Failed(error),
        })
    }
}
