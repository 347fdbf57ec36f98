//! The error of the stream parser: what was wrong and at which byte.

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A stream that cannot be read: what, and the byte offset where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("byte {offset}: {message}")]
pub struct Error {
    /// Offset in the stream.
    pub offset: usize,
    /// What is wrong there, naming the section and field when known.
    pub message: String,
}

impl Error {
    pub(crate) fn at(offset: usize, message: impl Into<String>) -> Error {
        Error {
            offset,
            message: message.into(),
        }
    }

    /// The same error, its message prefixed with `context` (a section or
    /// field name).
    pub(crate) fn context(mut self, context: &str) -> Error {
        self.message = format!("{context}: {}", self.message);
        self
    }
}
