//! The error type of the imzML reader and writer.

use std::path::PathBuf;

/// Everything that can go wrong while reading or writing imzML.
///
/// Every variant names the file it concerns and, where it applies, the spectrum index or byte
/// offset and what was expected, so that a message alone lets a user find the problem.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImzmlError {
    /// The operating system refused an operation on a file.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The XML is not well formed.
    #[error("{path}: malformed XML near byte {offset}: {message}")]
    Xml {
        /// The imzML file.
        path: PathBuf,
        /// Byte position in the (decoded) XML stream.
        offset: u64,
        /// What the XML parser reported.
        message: String,
    },
    /// The file is well-formed XML but not valid imzML.
    #[error("{path}: {context}: {message}")]
    Format {
        /// The file.
        path: PathBuf,
        /// Where in the file (`spectrum 12`, `fileContent`, `byte 4096`, ...).
        context: String,
        /// What was found and what was expected.
        message: String,
    },
    /// A term that imzML requires is absent.
    #[error("{path}: {context}: missing required term {term}")]
    MissingTerm {
        /// The imzML file.
        path: PathBuf,
        /// Where it was expected.
        context: String,
        /// The accession and name of the term.
        term: &'static str,
    },
    /// Valid imzML that uses a feature this version does not implement.
    #[error("{path}: {context}: unsupported: {feature}")]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// Where the feature is used.
        context: String,
        /// What is not supported.
        feature: String,
    },
    /// A size read from the file exceeds a configured limit.
    #[error("{path}: {context}: {what} is {value}, above the limit of {limit}")]
    LimitExceeded {
        /// The file.
        path: PathBuf,
        /// Where the size was declared.
        context: String,
        /// What was too large.
        what: &'static str,
        /// The declared value.
        value: u64,
        /// The limit in force.
        limit: u64,
    },
    /// Two spectra claim the same pixel.
    #[error("{path}: spectra {first} and {second} both claim pixel (x={x}, y={y}, z={z})")]
    DuplicatePixel {
        /// The imzML file.
        path: PathBuf,
        /// Index of the first spectrum at that pixel.
        first: usize,
        /// Index of the second spectrum at that pixel.
        second: usize,
        /// x coordinate as written in the file.
        x: i64,
        /// y coordinate as written in the file.
        y: i64,
        /// z coordinate as written in the file.
        z: i64,
    },
    /// An array reaches past the end of the `.ibd` file.
    #[error(
        "{path}: spectrum {spectrum}: {array} array at byte {offset} with {length} bytes ends past the end of the file ({file_len} bytes): the .ibd is truncated or the offsets are wrong"
    )]
    Truncated {
        /// The `.ibd` file.
        path: PathBuf,
        /// Spectrum index (0-based, in file order).
        spectrum: usize,
        /// Which array (`m/z`, `intensity`).
        array: &'static str,
        /// Declared byte offset.
        offset: u64,
        /// Declared encoded length in bytes.
        length: u64,
        /// Actual length of the file.
        file_len: u64,
    },
    /// The `.ibd` file does not belong to the imzML file.
    #[error("{path}: UUID mismatch: the imzML declares {declared}, the .ibd starts with {found}")]
    UuidMismatch {
        /// The `.ibd` file.
        path: PathBuf,
        /// UUID from the imzML header, canonical form.
        declared: String,
        /// First 16 bytes of the `.ibd`, canonical form.
        found: String,
    },
    /// A declared checksum does not match the `.ibd` contents.
    #[error("{path}: {algorithm} checksum mismatch: the imzML declares {declared}, the .ibd hashes to {computed}")]
    ChecksumMismatch {
        /// The `.ibd` file.
        path: PathBuf,
        /// `MD5`, `SHA-1` or `SHA-256`.
        algorithm: &'static str,
        /// Hex digest from the imzML header.
        declared: String,
        /// Hex digest computed from the file.
        computed: String,
    },
    /// The caller used the API wrongly (for example, a writer fed arrays of unequal length).
    #[error("usage: {0}")]
    Usage(String),
}

impl ImzmlError {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn format(path: &std::path::Path, context: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Format {
            path: path.to_path_buf(),
            context: context.into(),
            message: message.into(),
        }
    }
}

/// Result alias for this crate.
pub type Result<T, E = ImzmlError> = std::result::Result<T, E>;
