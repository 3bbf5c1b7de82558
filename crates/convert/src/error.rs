//! The error type of the converter.

/// Everything that can stop a conversion.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConvertError {
    /// The imzML input is unreadable or invalid.
    #[error(transparent)]
    Imzml(#[from] imzarr_imzml::ImzmlError),
    /// The output location cannot be resolved.
    #[error(transparent)]
    Location(#[from] imzarr_store::StoreError),
    /// Writing an object of the store failed.
    #[error("{store}: writing {key}: {message}")]
    Store {
        /// The store, as the user named it.
        store: String,
        /// The object or array.
        key: String,
        /// What went wrong.
        message: String,
    },
    /// A remote input could not be read.
    #[error("{input}: {message}")]
    Input {
        /// The input object.
        input: String,
        /// What went wrong.
        message: String,
    },
    /// Valid input that this converter cannot store yet.
    #[error("{input}: unsupported: {message}")]
    Unsupported {
        /// The input file.
        input: String,
        /// What is not supported and what to do.
        message: String,
    },
    /// A temporary file of the out-of-core sort could not be written or read.
    #[error("temporary file in {dir}: {message}; free space there or choose another directory (--temp-dir)")]
    TempFile {
        /// The directory of the temporary files.
        dir: String,
        /// What went wrong.
        message: String,
    },
    /// `--resume` was asked for, but the output holds no interrupted conversion of this input
    /// with these options.
    #[error("{store}: cannot resume: {reason}; convert again with --overwrite")]
    CannotResume {
        /// The store.
        store: String,
        /// Why not.
        reason: String,
    },
    /// The memory budget cannot hold the shards being filled and encoded.
    #[error(
        "a memory budget of {memory_mib} MiB is too small for shards of {shard_mib} MiB{}{}: give at least {minimum_mib} MiB (--memory), or smaller shards (--shard-mib)",
        if *remote_input { " and the cache of a remote input" } else { "" },
        if *held_mib > 0 { format!(" beside the {held_mib} MiB that the parsed imzML and its per-spectrum tables hold") } else { String::new() }
    )]
    MemoryTooSmall {
        /// The budget given.
        memory_mib: u64,
        /// The shard size given.
        shard_mib: f64,
        /// Whether the input is remote (its cache counted too).
        remote_input: bool,
        /// What the parsed input holds for the whole conversion (0 before it is parsed).
        held_mib: u64,
        /// The smallest budget that holds them.
        minimum_mib: u64,
    },
    /// The output already holds a complete store and overwriting was not asked for.
    #[error("{store}: a complete imzarr store is already there; pass --overwrite to replace it")]
    Exists {
        /// The store.
        store: String,
    },
}

/// Result alias of this crate.
pub type Result<T, E = ConvertError> = std::result::Result<T, E>;
