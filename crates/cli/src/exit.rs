//! Exit codes that scripts can rely on, and the one-line error a user sees.

/// Kinds of failure, each with its own exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// 1: an unexpected internal error.
    Internal,
    /// 2: the command line is wrong (as clap's own usage errors).
    Usage,
    /// 3: the input (imzML or store) is invalid or unsupported.
    Input,
    /// 4: the output already exists (use `--overwrite`).
    Exists,
    /// 5: a file or object store could not be read or written.
    Io,
    /// 6: some conversions of a batch failed (the others were done).
    Partial,
}

impl Failure {
    pub fn code(self) -> std::process::ExitCode {
        std::process::ExitCode::from(match self {
            Failure::Internal => 1,
            Failure::Usage => 2,
            Failure::Input => 3,
            Failure::Exists => 4,
            Failure::Io => 5,
            Failure::Partial => 6,
        })
    }
}

/// A failed command: its kind and the message for the user.
#[derive(Debug)]
pub struct CommandError {
    pub kind: Failure,
    pub message: String,
}

impl CommandError {
    pub fn new(kind: Failure, message: impl std::fmt::Display) -> Self {
        Self {
            kind,
            message: message.to_string(),
        }
    }
}

impl From<imzarr_convert::ConvertError> for CommandError {
    fn from(error: imzarr_convert::ConvertError) -> Self {
        use imzarr_convert::ConvertError as E;
        let kind = match &error {
            E::Exists { .. } => Failure::Exists,
            E::MemoryTooSmall { .. } => Failure::Usage,
            E::Store { .. } | E::Location(_) | E::TempFile { .. } | E::Input { .. } => Failure::Io,
            E::Imzml(imzarr_imzml::ImzmlError::Io { .. }) => Failure::Io,
            _ => Failure::Input,
        };
        // The options that accept what some writers get wrong, named where they apply.
        let hint = match &error {
            E::Imzml(imzarr_imzml::ImzmlError::UuidMismatch { .. }) => {
                " (if its writer is known to write a wrong UUID, --allow-uuid-mismatch reads it anyway)"
            }
            E::Imzml(imzarr_imzml::ImzmlError::DuplicatePixel { .. }) => {
                " (--allow-duplicate-pixels keeps the first spectrum of each pixel)"
            }
            _ => "",
        };
        Self::new(kind, format!("{error}{hint}"))
    }
}

impl From<imzarr::ReadError> for CommandError {
    fn from(error: imzarr::ReadError) -> Self {
        let kind = if error.is_io() { Failure::Io } else { Failure::Input };
        Self::new(kind, error)
    }
}

impl From<imzarr_imzml::ImzmlError> for CommandError {
    fn from(error: imzarr_imzml::ImzmlError) -> Self {
        let kind = if matches!(error, imzarr_imzml::ImzmlError::Io { .. }) {
            Failure::Io
        } else {
            Failure::Input
        };
        Self::new(kind, error)
    }
}

impl From<imzarr_store::StoreError> for CommandError {
    fn from(error: imzarr_store::StoreError) -> Self {
        Self::new(Failure::Io, error)
    }
}

impl From<imzarr_export::ExportError> for CommandError {
    fn from(error: imzarr_export::ExportError) -> Self {
        use imzarr_export::ExportError as E;
        let kind = match &error {
            E::Read(read) if read.is_io() => Failure::Io,
            E::Exists { .. } => Failure::Exists,
            E::Io { .. } | E::Write(imzarr_imzml::ImzmlError::Io { .. }) => Failure::Io,
            E::BadOutput { .. } => Failure::Usage,
            _ => Failure::Input,
        };
        Self::new(kind, error)
    }
}
