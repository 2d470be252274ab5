//! One module per subcommand, each taking its parsed options and giving a [`Failure`] the user
//! reads; `options` (options -> description variables, launching) and `live_common` hold what
//! several of them share.
//!
//! [`Failure`]: crate::failure::Failure

pub mod bench;
pub mod clip;
pub mod doctor;
pub mod import;
mod live_common;
pub mod models;
mod options;
pub mod portrait;
pub mod serve;
pub mod stream;
pub mod studio;
pub mod virtualcam;
pub mod webcam;
