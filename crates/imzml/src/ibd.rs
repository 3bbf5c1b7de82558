//! Access to the `.ibd` binary file: UUID check, bounds checks, reads by offset, decompression
//! and checksum verification.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use md5::Digest as _;

use crate::dtype::{ArrayBytes, Compression};
use crate::error::{ImzmlError, Result};
use crate::limits::ParseOptions;
use crate::model::{ArrayRef, Checksums, Digest, Imzml, Quirk, SpectrumEntry};
use crate::numbers::{format_uuid, to_hex};

/// An opened `.ibd` file whose UUID matches its imzML and whose arrays all lie inside it.
#[derive(Debug)]
pub struct Ibd {
    path: PathBuf,
    bytes: Box<dyn IbdBytes>,
    len: u64,
    quirks: Vec<Quirk>,
}

/// Random access to the bytes of an `.ibd`, wherever they are: a local file, or an object read
/// by range requests.
pub trait IbdBytes: Send + Sync + std::fmt::Debug {
    /// Length in bytes.
    fn len(&self) -> u64;
    /// Whether there are no bytes.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Fills `buf` with the bytes from `offset`.
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()>;
}

/// A local file as [`IbdBytes`].
#[derive(Debug)]
pub struct LocalBytes {
    file: File,
    len: u64,
}

impl LocalBytes {
    /// Opens `path`.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        let file = File::open(path)?;
        let len = file.metadata()?.len();
        Ok(Self { file, len })
    }
}

impl IbdBytes for LocalBytes {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        read_exact_at(&self.file, buf, offset)
    }
}

/// Reads any [`IbdBytes`] front to back, as a [`std::io::Read`] (for the XML of a remote imzML).
#[derive(Debug)]
pub struct SequentialBytes<B> {
    bytes: B,
    position: u64,
}

impl<B: IbdBytes> SequentialBytes<B> {
    /// Starts at byte 0.
    pub fn new(bytes: B) -> Self {
        Self { bytes, position: 0 }
    }
}

impl<B: IbdBytes> std::io::Read for SequentialBytes<B> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = (self.bytes.len().saturating_sub(self.position)).min(buf.len() as u64) as usize;
        self.bytes.read_exact_at(self.position, &mut buf[..n])?;
        self.position += n as u64;
        Ok(n)
    }
}

impl Ibd {
    /// Opens the `.ibd` of `imzml`, checks its UUID against the header and checks that every
    /// array of every spectrum lies inside the file.
    pub fn open(imzml: &Imzml) -> Result<Self> {
        Self::open_with(imzml, &ParseOptions::default())
    }

    /// [`Self::open`], tolerating what `options` allow (a UUID that does not match).
    pub fn open_with(imzml: &Imzml, options: &ParseOptions) -> Result<Self> {
        let path = imzml.ibd_path.clone();
        let bytes = LocalBytes::open(&path).map_err(|e| ImzmlError::io(&path, e))?;
        Self::from_bytes(imzml, Box::new(bytes), options)
    }

    /// Checks and opens the `.ibd` of `imzml` from any source of bytes, tolerating what
    /// `options` allow; errors name `imzml.ibd_path`.
    pub fn from_bytes(imzml: &Imzml, bytes: Box<dyn IbdBytes>, options: &ParseOptions) -> Result<Self> {
        let path = imzml.ibd_path.clone();
        let len = bytes.len();
        let mut ibd = Self {
            path,
            bytes,
            len,
            quirks: Vec::new(),
        };
        if let Some(declared) = imzml.header.uuid {
            ibd.check_uuid(&declared, options.allow_uuid_mismatch)?;
        }
        for spectrum in &imzml.spectra {
            ibd.check_bounds(spectrum.index, "m/z", &spectrum.mz)?;
            ibd.check_bounds(spectrum.index, "intensity", &spectrum.intensity)?;
        }
        Ok(ibd)
    }

    /// Path of the file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Length of the file in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the file is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Deviations from imzML that opening the file tolerated: a UUID in .NET's byte order, or a
    /// mismatch that the options allowed.
    pub fn quirks(&self) -> &[Quirk] {
        &self.quirks
    }

    fn check_uuid(&mut self, declared: &[u8; 16], allow_mismatch: bool) -> Result<()> {
        let mut found = [0u8; 16];
        if self.len < 16 {
            return Err(ImzmlError::format(
                &self.path,
                "byte 0",
                format!("the file has {} bytes, fewer than the 16 of its UUID", self.len),
            ));
        }
        self.read_at(0, &mut found)?;
        if found == dotnet_byte_order(declared) && &found != declared {
            let detail = format!(
                "the .ibd starts with the UUID {} in .NET's byte order (Guid.ToByteArray: the first three fields little-endian)",
                format_uuid(declared)
            );
            Quirk::new("uuid-dotnet-byte-order", detail).record(&mut self.quirks);
        } else if &found != declared && allow_mismatch {
            let detail = format!(
                "the imzML declares the UUID {}, the .ibd starts with {}; read anyway, as asked",
                format_uuid(declared),
                format_uuid(&found)
            );
            Quirk::new("uuid-mismatch-allowed", detail).record(&mut self.quirks);
        } else if &found != declared {
            return Err(ImzmlError::UuidMismatch {
                path: self.path.clone(),
                declared: format_uuid(declared),
                found: format_uuid(&found),
            });
        }
        Ok(())
    }

    fn check_bounds(&self, spectrum: usize, array: &'static str, r: &ArrayRef) -> Result<()> {
        let end = r.offset.checked_add(r.encoded_length);
        if end.is_none_or(|end| end > self.len) {
            return Err(ImzmlError::Truncated {
                path: self.path.clone(),
                spectrum,
                array,
                offset: r.offset,
                length: r.encoded_length,
                file_len: self.len,
            });
        }
        Ok(())
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        self.bytes
            .read_exact_at(offset, buf)
            .map_err(|e| ImzmlError::io(&self.path, e))
    }

    /// Reads and decodes one array into `out` (cleared first), reusing its allocation.
    pub fn read_array_into(
        &self,
        spectrum: usize,
        array: &'static str,
        r: &ArrayRef,
        out: &mut ArrayBytes,
    ) -> Result<()> {
        self.check_bounds(spectrum, array, r)?;
        out.dtype = r.dtype;
        out.bytes.clear();
        let decoded_len = (r.length as usize) * r.dtype.size();
        match r.compression {
            Compression::None => {
                out.bytes.resize(decoded_len, 0);
                self.read_at(r.offset, &mut out.bytes)?;
            }
            Compression::Zlib => {
                let mut encoded = vec![0u8; r.encoded_length as usize];
                self.read_at(r.offset, &mut encoded)?;
                out.bytes.reserve(decoded_len);
                let mut decoder = flate2::read::ZlibDecoder::new(encoded.as_slice()).take(decoded_len as u64 + 1);
                decoder.read_to_end(&mut out.bytes).map_err(|e| {
                    ImzmlError::format(
                        &self.path,
                        format!("spectrum {spectrum} {array} array at byte {}", r.offset),
                        format!("zlib data is corrupt: {e}"),
                    )
                })?;
                if out.bytes.len() != decoded_len {
                    return Err(ImzmlError::format(
                        &self.path,
                        format!("spectrum {spectrum} {array} array at byte {}", r.offset),
                        format!(
                            "zlib data decompresses to more or fewer than the {decoded_len} bytes of {} values",
                            r.length
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Reads the little-endian bytes of values `values` of an uncompressed array into `out`,
    /// which must be exactly their size: a part of an array without reading the rest.
    pub fn read_values_into(
        &self,
        spectrum: usize,
        array: &'static str,
        r: &ArrayRef,
        values: std::ops::Range<u64>,
        out: &mut [u8],
    ) -> Result<()> {
        let place = || format!("spectrum {spectrum} {array} array at byte {}", r.offset);
        if r.compression != Compression::None {
            return Err(ImzmlError::format(
                &self.path,
                place(),
                "a compressed array is read whole, not in parts",
            ));
        }
        let size = r.dtype.size() as u64;
        if values.start > values.end || values.end > r.length || out.len() as u64 != (values.end - values.start) * size
        {
            return Err(ImzmlError::format(
                &self.path,
                place(),
                format!(
                    "values {values:?} ({} bytes asked) are not a part of its {} values",
                    out.len(),
                    r.length
                ),
            ));
        }
        self.check_bounds(spectrum, array, r)?;
        self.read_at(r.offset + values.start * size, out)
    }

    /// Reads the m/z and intensity arrays of one spectrum.
    pub fn read_spectrum(&self, spectrum: &SpectrumEntry) -> Result<(ArrayBytes, ArrayBytes)> {
        let mut mz = ArrayBytes {
            dtype: spectrum.mz.dtype,
            bytes: Vec::new(),
        };
        let mut intensity = ArrayBytes {
            dtype: spectrum.intensity.dtype,
            bytes: Vec::new(),
        };
        self.read_array_into(spectrum.index, "m/z", &spectrum.mz, &mut mz)?;
        self.read_array_into(spectrum.index, "intensity", &spectrum.intensity, &mut intensity)?;
        Ok((mz, intensity))
    }

    /// Hashes the whole file and compares with every checksum the header declares.
    ///
    /// The strongest declared checksum (SHA-256, then SHA-1, then MD5) decides: if it does not
    /// match, the file is corrupt or not the one the header describes, and that is an error.
    /// A weaker checksum that does not match while a stronger one does is stale (some writers
    /// forget to update it) and is reported as a quirk.
    pub fn verify_checksums(&self, imzml: &Imzml) -> Result<ChecksumOutcome> {
        self.verify_declared(&imzml.header.checksums)
    }

    /// [`Self::verify_checksums`] against checksums given on their own (for a verification
    /// running beside other work, with an `Ibd` of its own).
    pub fn verify_declared(&self, declared: &Checksums) -> Result<ChecksumOutcome> {
        let mut outcome = ChecksumOutcome::default();
        let mut md5 = declared.md5.as_ref().map(|_| md5::Md5::new());
        let mut sha1 = declared.sha1.as_ref().map(|_| sha1::Sha1::new());
        let mut sha256 = declared.sha256.as_ref().map(|_| sha2::Sha256::new());
        if md5.is_none() && sha1.is_none() && sha256.is_none() {
            return Ok(outcome);
        }
        let mut buf = vec![0u8; 1 << 20];
        let mut offset = 0u64;
        while offset < self.len {
            let n = (self.len - offset).min(buf.len() as u64) as usize;
            self.read_at(offset, &mut buf[..n])?;
            md5.iter_mut().for_each(|h| h.update(&buf[..n]));
            sha1.iter_mut().for_each(|h| h.update(&buf[..n]));
            sha256.iter_mut().for_each(|h| h.update(&buf[..n]));
            offset += n as u64;
        }
        // Strongest first.
        let computed = [
            (
                Digest::Sha256,
                declared.sha256.as_ref(),
                sha256.map(|h| to_hex(&h.finalize())),
            ),
            (
                Digest::Sha1,
                declared.sha1.as_ref(),
                sha1.map(|h| to_hex(&h.finalize())),
            ),
            (Digest::Md5, declared.md5.as_ref(), md5.map(|h| to_hex(&h.finalize()))),
        ];
        for (digest, declared, computed) in computed {
            let algorithm = digest.name();
            let (Some(declared), Some(computed)) = (declared, computed) else {
                continue;
            };
            if declared.eq_ignore_ascii_case(&computed) {
                outcome.verified.push(algorithm);
            } else if matches_without_leading_zeros(declared, &computed) {
                outcome.verified.push(algorithm);
                outcome.quirks.push(Quirk::new(
                    "checksum-without-leading-zeros",
                    format!(
                        "the declared {algorithm} {declared} is {computed} without its leading zeros (written as a number); it matches"
                    ),
                ));
            } else if outcome.verified.is_empty() {
                return Err(ImzmlError::ChecksumMismatch {
                    path: self.path.clone(),
                    algorithm,
                    declared: declared.clone(),
                    computed,
                });
            } else {
                outcome.quirks.push(Quirk::new(
                    "stale-checksum",
                    format!(
                        "the declared {algorithm} {declared} does not match ({computed}), but the stronger {} does",
                        outcome.verified[0]
                    ),
                ));
            }
        }
        Ok(outcome)
    }
}

/// `uuid` as .NET's `Guid.ToByteArray` lays it out: its first three fields (4, 2 and 2 bytes)
/// little-endian, the last 8 bytes as they are.
fn dotnet_byte_order(uuid: &[u8; 16]) -> [u8; 16] {
    let mut bytes = *uuid;
    bytes[0..4].reverse();
    bytes[4..6].reverse();
    bytes[6..8].reverse();
    bytes
}

/// What [`Ibd::verify_checksums`] found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChecksumOutcome {
    /// Algorithms whose declared checksum matches.
    pub verified: Vec<&'static str>,
    /// What the checksums needed repaired: weaker checksums that did not match while a
    /// stronger one did, digests written without their leading zeros.
    pub quirks: Vec<Quirk>,
}

/// Whether `declared` is the hex digest `computed` with some of its leading zeros left out.
fn matches_without_leading_zeros(declared: &str, computed: &str) -> bool {
    declared.len() < computed.len()
        && computed[..computed.len() - declared.len()].bytes().all(|b| b == b'0')
        && computed[computed.len() - declared.len()..].eq_ignore_ascii_case(declared)
}

#[cfg(unix)]
fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(windows)]
fn read_exact_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> std::io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        match file.seek_read(buf, offset)? {
            0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            n => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
        }
    }
    Ok(())
}
