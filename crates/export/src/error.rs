//! What can go wrong in an export.

use std::path::PathBuf;

/// An export failure, naming the store or the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// The store could not be read.
    #[error(transparent)]
    Read(#[from] imzarr::ReadError),
    /// The imzML or `.ibd` could not be written.
    #[error(transparent)]
    Write(#[from] imzarr_imzml::ImzmlError),
    /// The output exists and overwriting was not asked for.
    #[error("{path}: already exists (use --overwrite to replace it)")]
    Exists {
        /// The existing file.
        path: PathBuf,
    },
    /// The output path cannot name an imzML file.
    #[error("{path}: {reason}")]
    BadOutput {
        /// The path given.
        path: PathBuf,
        /// Why it was refused.
        reason: String,
    },
    /// A file operation on the output failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error of the operating system.
        source: std::io::Error,
    },
    /// The store holds something imzML cannot express.
    #[error("{location}: {reason}")]
    Unexportable {
        /// The store.
        location: String,
        /// What cannot be written.
        reason: String,
    },
}

/// Result of this crate.
pub type Result<T, E = ExportError> = std::result::Result<T, E>;
