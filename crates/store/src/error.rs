//! Errors of store resolution.

/// A URL or path that cannot be turned into a store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The text is neither a path nor a URL object_store supports.
    #[error("{url}: not a path or a supported URL: {message}")]
    InvalidUrl {
        /// What the user gave.
        url: String,
        /// Why it was refused.
        message: String,
    },
    /// The backend could not be configured (missing credentials, bad endpoint, ...).
    #[error("{url}: {source}")]
    Backend {
        /// What the user gave.
        url: String,
        /// The object_store error.
        #[source]
        source: object_store::Error,
    },
    /// A local directory could not be created or resolved.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}
