//! The error type of the lazy restore.
//!
//! An error says which of three things failed: the host (userfaultfd not
//! to be had, a system call refused), the image (a section or working set
//! that is not what a restore needs), or one chunk's fill while the guest
//! runs, named by section and chunk. The image crate's and the operating
//! system's errors are kept as sources.

use std::io;

use snapshot_nvlist::text::shown;

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error of the lazy restore: see [`Error::kind`] for what went wrong.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct Error(Box<ErrorKind>);

/// What went wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// No userfaultfd can be had on this host: neither the system call
    /// nor `/dev/userfaultfd` gave one.
    #[error("userfaultfd is not available here: {}", unavailable(.syscall, .device))]
    Unavailable {
        /// The `userfaultfd(2)` system call's error.
        #[source]
        syscall: io::Error,
        /// Why `/dev/userfaultfd` did not give one either.
        device: io::Error,
    },
    /// Something this crate does not do on this host or for this image.
    #[error("{0}")]
    Unsupported(String),
    /// A system call of the restore failed.
    #[error("{what}")]
    System {
        /// What was being done (`registering guest memory with userfaultfd`).
        what: String,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// The image could not be read, or its memory section not used.
    #[error(transparent)]
    Image(#[from] snapshot_image::Error),
    /// Filling one chunk on a fault or a prefetch failed: its bytes did
    /// not check, could not be read, or could not be placed.
    #[error("cannot fill chunk {chunk} of section `{}` of guest memory", shown(.section))]
    Fill {
        /// The memory section.
        section: String,
        /// The chunk's number, from 0.
        chunk: u64,
        /// Why: an [`ErrorKind::Image`] or an [`ErrorKind::System`].
        #[source]
        source: Error,
    },
    /// A page to prefetch is past the end of guest memory.
    #[error("page {page} to prefetch is past the end of guest memory ({pages} pages)")]
    PrefetchPage {
        /// The page number.
        page: u64,
        /// The pages of guest memory.
        pages: u64,
    },
    /// The working set section is not one this crate reads.
    #[error("section `{}`: {why}", shown(.section))]
    BadWorkingSet {
        /// The section's name.
        section: String,
        /// What is wrong.
        why: String,
        /// The nvlist error, where one is behind it.
        #[source]
        source: Option<snapshot_nvlist::Error>,
    },
}

fn unavailable(syscall: &io::Error, device: &io::Error) -> String {
    let advice = match syscall.raw_os_error() {
        Some(libc::ENOSYS) => {
            "the kernel was built without userfaultfd (CONFIG_USERFAULTFD); restore eagerly instead"
        }
        _ => {
            "allow it with `sysctl vm.unprivileged_userfaultfd=1`, run with CAP_SYS_PTRACE, \
             or give read-write access to /dev/userfaultfd (Linux 6.1 and later); or restore \
             eagerly instead"
        }
    };
    format!("the userfaultfd system call failed ({syscall}) and /dev/userfaultfd gave none ({device}): {advice}")
}

impl Error {
    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.0
    }

    /// The section and chunk of a fill that failed.
    pub fn chunk(&self) -> Option<(&str, u64)> {
        match &*self.0 {
            ErrorKind::Fill { section, chunk, .. } => Some((section, *chunk)),
            _ => None,
        }
    }

    /// Whether userfaultfd itself is missing here (so an eager restore
    /// is the way).
    pub fn is_unavailable(&self) -> bool {
        matches!(
            &*self.0,
            ErrorKind::Unavailable { .. } | ErrorKind::Unsupported(_)
        )
    }

    pub(crate) fn system(what: impl Into<String>, source: io::Error) -> Error {
        ErrorKind::System {
            what: what.into(),
            source,
        }
        .into()
    }

    pub(crate) fn fill(section: &str, chunk: u64, source: Error) -> Error {
        ErrorKind::Fill {
            section: section.into(),
            chunk,
            source,
        }
        .into()
    }

    pub(crate) fn bad_working_set(
        section: &str,
        why: impl Into<String>,
        source: Option<snapshot_nvlist::Error>,
    ) -> Error {
        ErrorKind::BadWorkingSet {
            section: section.into(),
            why: why.into(),
            source,
        }
        .into()
    }
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Error {
        Error(Box::new(kind))
    }
}

impl From<snapshot_image::Error> for Error {
    fn from(e: snapshot_image::Error) -> Error {
        ErrorKind::Image(e).into()
    }
}
