//! The error type of the reader.

/// Everything that can go wrong while opening or reading a store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// The location is not an imzarr store (no root `zarr.json`, or no `imzarr` block in it).
    #[error("{location}: not an imzarr store: {reason}")]
    NotAStore {
        /// The store.
        location: String,
        /// What is missing.
        reason: String,
    },
    /// The store follows a major version of the specification this reader does not know.
    #[error("{location}: imzarr format version {found} is not readable by this reader (it reads 1.x)")]
    IncompatibleVersion {
        /// The store.
        location: String,
        /// The version in the store.
        found: String,
    },
    /// The metadata of a node is missing or malformed.
    #[error("{location}: metadata of {node}: {message}")]
    Metadata {
        /// The store.
        location: String,
        /// The node (`zarr.json`, `pixels/index`, ...).
        node: String,
        /// What is wrong.
        message: String,
    },
    /// Reading or decoding array data failed (including a shard index checksum failure).
    #[error("{location}: reading {array}: {message}")]
    Data {
        /// The store.
        location: String,
        /// The array.
        array: String,
        /// What went wrong.
        message: String,
    },
    /// The location could not be resolved.
    #[error(transparent)]
    Location(#[from] imzarr_store::StoreError),
    /// The caller asked for something impossible (an invalid m/z window, ...).
    #[error("{0}")]
    Usage(String),
}

impl ReadError {
    /// Whether the error comes from reaching the storage rather than from its contents.
    pub fn is_io(&self) -> bool {
        match self {
            ReadError::Location(_) => true,
            ReadError::Data { message, .. } => message.contains("storage") || message.contains("connection"),
            _ => false,
        }
    }
}

/// Result alias of this crate.
pub type Result<T, E = ReadError> = std::result::Result<T, E>;
