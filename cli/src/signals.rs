//! Ctrl-C, termination requests and a closed terminal as messages, so that a run stops the way the user expects: a
//! clip is finished into a playable file, a live pipeline goes to NULL before the process exits.

use std::sync::OnceLock;

use crossbeam_channel::{never, unbounded, Receiver};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

/// SIGINT, SIGTERM and SIGHUP (the terminal closed) from now on, one message each. Installed once per process; where the
/// handlers cannot be installed the receiver never yields and the signals keep their default.
pub fn interrupts() -> Receiver<i32> {
    static RECEIVER: OnceLock<Receiver<i32>> = OnceLock::new();
    RECEIVER
        .get_or_init(|| {
            let Ok(mut signals) = Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
                return never();
            };
            let (sender, receiver) = unbounded();
            std::thread::spawn(move || {
                for signal in signals.forever() {
                    if sender.send(signal).is_err() {
                        break;
                    }
                }
            });
            receiver
        })
        .clone()
}
