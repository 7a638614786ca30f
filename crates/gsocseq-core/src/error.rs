//! Typed errors of the core. The Python binding maps them to `ValueError`.

use thiserror::Error;

/// Result type of the core.
pub type Result<T> = std::result::Result<T, CoreError>;

/// What can go wrong when calling the core.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum CoreError {
    /// A finite value outside the range the model accepts.
    #[error("{argument}: value {value} at {location} is outside {expected}")]
    OutOfRange {
        /// Name of the argument, as in the public API.
        argument: &'static str,
        /// Human-readable position (pixel, month).
        location: String,
        /// The offending value.
        value: f64,
        /// The accepted range, in words.
        expected: &'static str,
    },
    /// Arrays whose lengths do not agree.
    #[error("{argument}: length {found}, expected {expected}")]
    Shape {
        /// Name of the argument.
        argument: &'static str,
        /// Length found.
        found: usize,
        /// Length expected.
        expected: usize,
    },
    /// An option that is not known.
    #[error("{argument}: unknown value {value:?} (expected one of {expected})")]
    UnknownOption {
        /// Name of the option.
        argument: &'static str,
        /// The value given.
        value: String,
        /// The accepted values.
        expected: &'static str,
    },
}
