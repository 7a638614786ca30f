//! Typed errors of the core, every one built here; the Python binding maps each variant to an
//! exception of `gsocseq.errors` in one place.

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
    /// A pixel whose decomposition rate is 0 in every month: no equilibrium exists (the input
    /// is out of the model's range as a whole, not one value).
    #[error("{location}: {cause}: no equilibrium exists")]
    NoEquilibrium {
        /// Human-readable position (pixel).
        location: String,
        /// Why the rate is 0 ([`crate::rothc::equilibrium::ZERO_RATE`], ...).
        cause: &'static str,
    },
    /// Arrays whose shapes, lengths or indices do not agree.
    #[error("{argument}: {message}")]
    Shape {
        /// Name of the argument.
        argument: String,
        /// What was found and what was expected.
        message: String,
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
    /// An option whose value cannot be used.
    #[error("{argument}: {message}")]
    InvalidOption {
        /// Name of the option.
        argument: &'static str,
        /// The value and what was expected.
        message: String,
    },
}

impl CoreError {
    /// A [`CoreError::Shape`] of `argument`.
    pub fn shape(argument: impl Into<String>, message: impl Into<String>) -> Self {
        CoreError::Shape {
            argument: argument.into(),
            message: message.into(),
        }
    }
}

/// Defines `NAMES` (the spelling of each variant in a configuration, in order), `name()` and
/// `FromStr` (an [`CoreError::UnknownOption`] naming `$argument` for any other text).
macro_rules! spelled {
    ($ty:ident, $argument:literal, $expected:literal, [$($variant:ident = $name:literal),+ $(,)?]) => {
        impl $ty {
            /// The spelling of each variant, as in a configuration.
            pub const NAMES: &'static [&'static str] = &[$($name),+];

            /// The spelling of this variant.
            pub fn name(self) -> &'static str {
                match self {
                    $($ty::$variant => $name),+
                }
            }
        }

        impl std::str::FromStr for $ty {
            type Err = $crate::error::CoreError;

            fn from_str(s: &str) -> $crate::error::Result<Self> {
                match s {
                    $($name => Ok($ty::$variant),)+
                    other => Err($crate::error::CoreError::UnknownOption {
                        argument: $argument,
                        value: other.to_string(),
                        expected: $expected,
                    }),
                }
            }
        }
    };
}
