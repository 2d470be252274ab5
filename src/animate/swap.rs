//! Portraits swapped in while frames flow: a new portrait is prepared (decoded, its face found,
//! encoded or its warp built) on a thread of its own while the current avatar keeps playing
//! ([`crate::swap::Swap`]); the newest request wins, and one that fails leaves the current avatar
//! in place.

use std::path::PathBuf;
use std::sync::Arc;

use super::{Animator, Avatar, AvatarMaker, AvatarSpec};
use crate::activity::Activity;
use crate::swap::{Preparation, Swap};

/// Requests for new portraits and the prepared avatar waiting for the streaming thread. Cheap to
/// clone: clones share the requests.
#[derive(Clone, Default)]
pub struct PortraitSwap {
    swap: Swap<Avatar>,
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
        let mut path = None;
        let started = self.swap.request(activity, || {
            Some(spec()?.map(|spec: AvatarSpec| {
                path = Some(spec.path.clone());
                Preparation {
                    what: spec.path.display().to_string(),
                    prepare: Box::new(move || maker.make(&spec).map_err(|e| e.to_string())),
                }
            }))
        });
        path.filter(|_| started)
    }

    /// Every request made so far is out of date (a new session, perhaps with another engine):
    /// see [`Swap::invalidate`].
    pub fn invalidate(&self) {
        self.swap.invalidate()
    }

    /// Swaps the newest request's avatar into `animator` when it is ready; `None` while there is
    /// nothing new. A portrait that failed keeps the current avatar.
    pub fn take_into<'a>(&self, animator: &'a mut Animator) -> Option<Swapped<'a>> {
        Some(match self.swap.take()? {
            Ok(avatar) => {
                animator.swap(avatar);
                Swapped::In(animator.avatar())
            }
            Err(error) => Swapped::Failed(error),
        })
    }
}
