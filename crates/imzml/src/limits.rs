//! Caps on sizes read from untrusted files, checked before anything is allocated from them.

/// Limits that protect against hostile or corrupt files. The defaults admit every real dataset
/// we know of with a wide margin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Deepest element nesting accepted (imzML needs about 8).
    pub max_depth: usize,
    /// Most elements kept in the header tree (everything outside the spectra).
    pub max_header_elements: usize,
    /// Longest text or attribute value kept in the header tree, in bytes.
    pub max_text_bytes: usize,
    /// Most spectra in one file.
    pub max_spectra: usize,
    /// Largest decoded array, in bytes.
    pub max_array_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: 64,
            max_header_elements: 1_000_000,
            max_text_bytes: 16 << 20,
            max_spectra: 100_000_000,
            max_array_bytes: 1 << 30,
        }
    }
}

/// How strictly to treat deviations from imzML.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ParseOptions {
    /// Size limits.
    pub limits: Limits,
    /// When true, every repairable deviation (see [`crate::Quirk`]) is an error instead.
    pub strict: bool,
    /// When true, a second spectrum at an already-used pixel is dropped (recorded as a quirk)
    /// instead of failing the parse.
    pub allow_duplicate_pixels: bool,
    /// When true, an `.ibd` that does not start with the UUID the header declares is read
    /// anyway (recorded as a quirk) instead of refused as another file's.
    pub allow_uuid_mismatch: bool,
    /// When true, binary arrays other than m/z and intensity (noise, resolution, ...) are left
    /// out (recorded as a quirk) instead of being kept in `other_arrays` for the caller to refuse.
    pub drop_other_arrays: bool,
}

impl ParseOptions {
    /// In strict mode, the first of `quirks` (repairs made to the file at `path`) as an error;
    /// otherwise nothing.
    pub fn refuse_repairs(&self, path: &std::path::Path, quirks: &[crate::Quirk]) -> crate::error::Result<()> {
        match quirks.first() {
            Some(quirk) if self.strict => Err(crate::ImzmlError::format(
                path,
                "strict mode",
                format!("{}: {}", quirk.kind, quirk.detail),
            )),
            _ => Ok(()),
        }
    }
}
