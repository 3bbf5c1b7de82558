//! Collects the terms of one `<binaryDataArray>` and resolves them into an [`ArrayRef`].

use std::path::Path;

use crate::cv;
use crate::dtype::{Compression, DataType};
use crate::error::{ImzmlError, Result};
use crate::limits::Limits;
use crate::model::{ArrayRef, Quirk, Unit};
use crate::numbers::{IntegerSpelling, parse_unsigned};

/// The kind of a binary array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ArrayKind {
    Mz,
    Intensity,
    /// Another kind: its accession, the value of its term (a non-standard data array's name)
    /// and the unit the term gives.
    Other {
        accession: String,
        value: String,
        unit: Option<Unit>,
    },
}

/// Terms seen so far inside one `<binaryDataArray>`.
#[derive(Debug, Default)]
pub(crate) struct ArrayBuilder {
    kind: Option<ArrayKind>,
    dtypes: Vec<DataType>,
    /// Precision terms whose name names another precision than their accession: the type
    /// the name gives.
    named_dtypes: Vec<DataType>,
    compressions: Vec<Compression>,
    unsupported_compression: Option<&'static str>,
    offset: Option<(u64, IntegerSpelling)>,
    length: Option<u64>,
    encoded_length: Option<u64>,
    /// `arrayLength` attribute of the element (mzML), a fallback for the length.
    attribute_length: Option<u64>,
}

impl ArrayBuilder {
    /// A builder for an element whose `arrayLength` attribute (mzML) is `attribute_length`.
    pub(crate) fn with_attribute_length(attribute_length: Option<u64>) -> Self {
        Self {
            attribute_length,
            ..Self::default()
        }
    }

    /// Applies one cvParam (direct or from a referenced group), its unit (`unitAccession`,
    /// `unitName`) and, for a precision term, its name: where the name names another precision
    /// than the accession, the byte lengths may show that the name is the right one.
    pub(crate) fn apply(
        &mut self,
        accession: &str,
        value: &str,
        unit: (Option<&str>, Option<&str>),
        precision_name: Option<&str>,
        path: &Path,
        context: &dyn Fn() -> String,
    ) -> Result<()> {
        match accession {
            cv::MZ_ARRAY => self.kind = Some(ArrayKind::Mz),
            cv::INTENSITY_ARRAY => self.kind = Some(ArrayKind::Intensity),
            cv::NO_COMPRESSION => self.compressions.push(Compression::None),
            cv::ZLIB_COMPRESSION => self.compressions.push(Compression::Zlib),
            cv::EXTERNAL_OFFSET => {
                let parsed = parse_unsigned(value).ok_or_else(|| {
                    ImzmlError::format(
                        path,
                        context(),
                        format!("external offset {value:?} is not a non-negative integer"),
                    )
                })?;
                self.offset = Some(parsed);
            }
            cv::EXTERNAL_ARRAY_LENGTH => {
                self.length = Some(parse_length(value, "external array length", path, context)?)
            }
            cv::EXTERNAL_ENCODED_LENGTH => {
                self.encoded_length = Some(parse_length(value, "external encoded length", path, context)?)
            }
            other => {
                if let Some(dtype) = DataType::from_accession(other) {
                    self.dtypes.push(dtype);
                    if let Some(named) = precision_name.and_then(DataType::from_cv_name)
                        && named != dtype
                    {
                        self.named_dtypes.push(named);
                    }
                } else if let Some((_, name)) = cv::UNSUPPORTED_COMPRESSIONS.iter().find(|(a, _)| *a == other) {
                    self.unsupported_compression = Some(name);
                } else if cv::other_array_name(other).is_some() {
                    self.kind = Some(ArrayKind::Other {
                        accession: other.to_string(),
                        value: value.to_string(),
                        unit: Unit::from_attributes(unit),
                    });
                }
            }
        }
        Ok(())
    }

    /// Resolves the collected terms. `default_length` is the spectrum's `defaultArrayLength`.
    pub(crate) fn finish(
        mut self,
        default_length: Option<u64>,
        limits: &Limits,
        path: &Path,
        context: &dyn Fn() -> String,
        quirks: &mut Vec<Quirk>,
    ) -> Result<(ArrayKind, ArrayRef)> {
        let kind = self.kind.take().ok_or_else(|| {
            ImzmlError::format(
                path,
                context(),
                "binaryDataArray declares no array kind (m/z array MS:1000514, intensity array MS:1000515, ...)",
            )
        })?;
        if let Some(name) = self.unsupported_compression {
            return Err(ImzmlError::Unsupported {
                path: path.to_path_buf(),
                context: context(),
                feature: format!("{name}: decompress the file with a tool that writes zlib or uncompressed imzML"),
            });
        }
        let compression = self.resolve_compression(path, context, quirks)?;
        let (offset, spelling) = self.offset.ok_or_else(|| ImzmlError::MissingTerm {
            path: path.to_path_buf(),
            context: context(),
            term: "IMS:1000102 external offset",
        })?;
        if spelling != IntegerSpelling::Plain {
            Quirk::new(
                match spelling {
                    IntegerSpelling::Wrapped32 => "wrapped-offset",
                    _ => "decimal-offset",
                },
                format!(
                    "{}: external offset written as {spelling:?}, read as {offset}",
                    context()
                ),
            )
            .record(quirks);
        }
        // A defaultArrayLength of 0 is what most writers put on every spectrum, next to the
        // real length in IMS:1000103: it does not say that the array is empty.
        let declared = self
            .length
            .or(self.attribute_length)
            .or(default_length.filter(|&d| d > 0));
        let length = match declared {
            Some(length) => length,
            None => self.length_from_encoded(compression, path, context, quirks)?,
        };
        let dtype = self.resolve_dtype(length, compression, path, context, quirks)?;
        let decoded_bytes = length
            .checked_mul(dtype.size() as u64)
            .filter(|&b| b <= limits.max_array_bytes)
            .ok_or_else(|| ImzmlError::LimitExceeded {
                path: path.to_path_buf(),
                context: context(),
                what: "decoded array size in bytes",
                value: length.saturating_mul(dtype.size() as u64),
                limit: limits.max_array_bytes,
            })?;
        let encoded_length = match (self.encoded_length, compression) {
            (Some(encoded), Compression::None) if encoded != decoded_bytes => {
                if encoded == 0 {
                    Quirk::new(
                        "zero-encoded-length",
                        format!(
                            "{}: encoded length 0 for {length} values; using {decoded_bytes}",
                            context()
                        ),
                    )
                    .record(quirks);
                    decoded_bytes
                } else {
                    return Err(ImzmlError::format(
                        path,
                        context(),
                        format!(
                            "external encoded length is {encoded} bytes, but {length} values of {} ({}) need {decoded_bytes}",
                            dtype.cv_name(),
                            dtype.accession()
                        ),
                    ));
                }
            }
            (Some(encoded), _) => encoded,
            (None, Compression::None) => decoded_bytes,
            (None, Compression::Zlib) => {
                return Err(ImzmlError::MissingTerm {
                    path: path.to_path_buf(),
                    context: context(),
                    term: "IMS:1000104 external encoded length (required for compressed arrays)",
                });
            }
        };
        if encoded_length > limits.max_array_bytes {
            return Err(ImzmlError::LimitExceeded {
                path: path.to_path_buf(),
                context: context(),
                what: "encoded array size in bytes",
                value: encoded_length,
                limit: limits.max_array_bytes,
            });
        }
        Ok((
            kind,
            ArrayRef {
                offset,
                length,
                encoded_length,
                dtype,
                compression,
            },
        ))
    }

    fn resolve_compression(
        &self,
        path: &Path,
        context: &dyn Fn() -> String,
        quirks: &mut Vec<Quirk>,
    ) -> Result<Compression> {
        let first = match self.compressions.first() {
            Some(&first) => first,
            None => {
                Quirk::new(
                    "no-compression-term",
                    format!("{}: no compression term; assuming no compression", context()),
                )
                .record(quirks);
                return Ok(Compression::None);
            }
        };
        if self.compressions.iter().any(|&c| c != first) {
            return Err(ImzmlError::format(
                path,
                context(),
                "both 'no compression' and 'zlib compression' are declared",
            ));
        }
        Ok(first)
    }

    /// Picks the one precision term; where a writer declared several, the byte lengths decide.
    /// The length of an array that declares none (no IMS:1000103, no `arrayLength`, a
    /// `defaultArrayLength` absent or 0): the encoded length of an uncompressed array over the
    /// size of its one precision, or 0 where the encoded length is 0 too. Anything else is the
    /// missing term, never a silently empty array.
    fn length_from_encoded(
        &self,
        compression: Compression,
        path: &Path,
        context: &dyn Fn() -> String,
        quirks: &mut Vec<Quirk>,
    ) -> Result<u64> {
        let missing = || ImzmlError::MissingTerm {
            path: path.to_path_buf(),
            context: context(),
            term: "IMS:1000103 external array length",
        };
        let mut dtypes = self.dtypes.clone();
        dtypes.sort_by_key(|d| d.accession());
        dtypes.dedup();
        match (compression, self.encoded_length, dtypes.as_slice()) {
            (_, Some(0), _) => Ok(0),
            (Compression::None, Some(encoded), [dtype]) => {
                let size = dtype.size() as u64;
                if !encoded.is_multiple_of(size) {
                    return Err(ImzmlError::format(
                        path,
                        context(),
                        format!(
                            "no array length (IMS:1000103), and the encoded length of {encoded} bytes is not a whole number of {} values",
                            dtype.cv_name()
                        ),
                    ));
                }
                Quirk::new(
                    "array-length-from-encoded-length",
                    format!(
                        "{}: no array length (IMS:1000103); {encoded} bytes of {} give {}",
                        context(),
                        dtype.cv_name(),
                        encoded / size
                    ),
                )
                .record(quirks);
                Ok(encoded / size)
            }
            _ => Err(missing()),
        }
    }

    fn resolve_dtype(
        &self,
        length: u64,
        compression: Compression,
        path: &Path,
        context: &dyn Fn() -> String,
        quirks: &mut Vec<Quirk>,
    ) -> Result<DataType> {
        let mut candidates = self.dtypes.clone();
        candidates.dedup();
        candidates.sort_by_key(|d| d.accession());
        candidates.dedup();
        match candidates.as_slice() {
            [] => Err(ImzmlError::MissingTerm {
                path: path.to_path_buf(),
                context: context(),
                term: "a precision term (MS:1000521 32-bit float, MS:1000523 64-bit float, ...)",
            }),
            [only] => Ok(self.named_if_only_the_name_fits(*only, length, compression, context, quirks)),
            several => {
                let fitting: Vec<DataType> = match (compression, self.encoded_length) {
                    (Compression::None, Some(encoded)) if length > 0 => several
                        .iter()
                        .copied()
                        .filter(|d| d.size() as u64 * length == encoded)
                        .collect(),
                    _ => Vec::new(),
                };
                let names: Vec<&str> = several.iter().map(|d| d.cv_name()).collect();
                match fitting.as_slice() {
                    [chosen] => {
                        Quirk::new(
                            "several-precision-terms",
                            format!(
                                "{}: precision terms {names:?} declared together; the encoded length fits {} only",
                                context(),
                                chosen.cv_name()
                            ),
                        )
                        .record(quirks);
                        Ok(*chosen)
                    }
                    _ => Err(ImzmlError::format(
                        path,
                        context(),
                        format!(
                            "conflicting precision terms {names:?} and the byte lengths do not tell which is right"
                        ),
                    )),
                }
            }
        }
    }

    /// `declared`, unless the byte lengths rule it out and fit the precision that the term's
    /// name gives (an accession of 32-bit floats named, and written as, 64-bit floats).
    fn named_if_only_the_name_fits(
        &self,
        declared: DataType,
        length: u64,
        compression: Compression,
        context: &dyn Fn() -> String,
        quirks: &mut Vec<Quirk>,
    ) -> DataType {
        let (Compression::None, Some(encoded)) = (compression, self.encoded_length) else {
            return declared;
        };
        let fits = |dtype: DataType| length > 0 && (dtype.size() as u64).checked_mul(length) == Some(encoded);
        match self.named_dtypes.iter().copied().find(|&named| fits(named)) {
            Some(named) if !fits(declared) => {
                Quirk::new(
                    "precision-from-name",
                    format!(
                        "{}: the precision term {} ({}) is named {:?}; the encoded length of {encoded} bytes for {length} values fits the name",
                        context(),
                        declared.accession(),
                        declared.cv_name(),
                        named.cv_name()
                    ),
                )
                .record(quirks);
                named
            }
            _ => declared,
        }
    }
}

fn parse_length(value: &str, what: &str, path: &Path, context: &dyn Fn() -> String) -> Result<u64> {
    match parse_unsigned(value) {
        Some((length, IntegerSpelling::Plain | IntegerSpelling::Decimal)) => Ok(length),
        _ => Err(ImzmlError::format(
            path,
            context(),
            format!("{what} {value:?} is not a non-negative integer"),
        )),
    }
}
