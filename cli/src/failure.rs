//! What a command that fails gives `main`: the message for the user and the exit code.

/// A user-facing failure: the message (empty when it was printed already) and the exit code.
pub struct Failure {
    pub message: String,
    pub code: u8,
}

impl Failure {
    /// Ctrl-C: the shell's convention for a run ended by SIGINT.
    pub const INTERRUPTED: u8 = 130;

    pub fn with_code(message: impl Into<String>, code: u8) -> Self {
        Failure {
            message: message.into(),
            code,
        }
    }
}

impl<T: std::fmt::Display> From<T> for Failure {
    fn from(value: T) -> Self {
        Failure::with_code(value.to_string(), 1)
    }
}
