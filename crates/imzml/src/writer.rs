//! A streaming imzML writer: spectra go to the `.ibd` as they come, their XML to a spool file;
//! `finish` writes the header (which needs the grid and the SHA-1 of the `.ibd`) and the spool.

use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use sha1::{Digest, Sha1};

use crate::dtype::{ArrayBytes, Compression, DataType};
use crate::error::{ImzmlError, Result};
use crate::header_xml::{Ids, header_xml};
use crate::model::{Mode, Polarity, SpectrumType, Unit, XmlNode};
use crate::numbers::to_hex;
use crate::term_xml::{SpectrumTermKind, TermXml};

/// What the writer declares for every spectrum.
#[derive(Debug, Clone, PartialEq)]
pub struct WriterOptions {
    /// Continuous (one shared m/z array) or processed.
    pub mode: Mode,
    /// Centroid or profile.
    pub spectrum_type: SpectrumType,
    /// Type of the m/z values.
    pub mz_dtype: DataType,
    /// Type of the intensity values.
    pub intensity_dtype: DataType,
    /// Compression of the arrays in the `.ibd`.
    pub compression: Compression,
    /// Pixel size in micrometres.
    pub pixel_size_um: Option<f64>,
    /// Scan polarity.
    pub polarity: Option<Polarity>,
    /// UUID of the `.ibd`; a random one when `None`.
    pub uuid: Option<[u8; 16]>,
    /// Written as the software that produced the file.
    pub software: String,
    /// Kinds of the binary arrays every spectrum has besides m/z and intensity, in the order
    /// [`SpectrumArrays::others`] gives their values.
    pub other_arrays: Vec<OtherArrayKind>,
    /// Terms the spectra may give besides their position, in the order
    /// [`SpectrumArrays::terms`] gives their values.
    pub spectrum_terms: Vec<SpectrumTermKind>,
    /// The header of the file the spectra came from (its `mzML` element, as
    /// [`Imzml::document`](crate::Imzml::document) holds it): the written header carries over its
    /// vocabularies, source files and contacts, samples, software, scan settings, instrument
    /// configurations and data processing.
    pub source_header: Option<XmlNode>,
}

/// A kind of binary array other than m/z and intensity, as the writer declares it.
#[derive(Debug, Clone, PartialEq)]
pub struct OtherArrayKind {
    /// Accession of its kind, one of [`crate::cv::OTHER_ARRAY_KINDS`].
    pub accession: String,
    /// Value of that term (the name of a non-standard data array; usually empty).
    pub value: String,
    /// Type of its values.
    pub dtype: DataType,
    /// Unit of its values, written on the kind's term.
    pub unit: Option<Unit>,
}

/// The arrays of one spectrum.
#[derive(Debug, Clone, Copy)]
pub struct SpectrumArrays<'a> {
    /// Its m/z values.
    pub mz: &'a ArrayBytes,
    /// Its intensities, as many as m/z values.
    pub intensity: &'a ArrayBytes,
    /// One array per [`WriterOptions::other_arrays`], each with as many values.
    pub others: &'a [ArrayBytes],
    /// One value per [`WriterOptions::spectrum_terms`]; `None` where the spectrum does not
    /// give the term.
    pub terms: &'a [Option<String>],
}

impl<'a> SpectrumArrays<'a> {
    /// The m/z and intensity arrays of a spectrum without other arrays.
    pub fn new(mz: &'a ArrayBytes, intensity: &'a ArrayBytes) -> Self {
        Self {
            mz,
            intensity,
            others: &[],
            terms: &[],
        }
    }
}

impl Default for WriterOptions {
    fn default() -> Self {
        Self {
            mode: Mode::Processed,
            spectrum_type: SpectrumType::Centroid,
            mz_dtype: DataType::F64,
            intensity_dtype: DataType::F32,
            compression: Compression::None,
            pixel_size_um: None,
            polarity: None,
            uuid: None,
            software: format!("imzarr {}", env!("CARGO_PKG_VERSION")),
            other_arrays: Vec::new(),
            spectrum_terms: Vec::new(),
            source_header: None,
        }
    }
}

/// Paths and identity of a finished pair of files.
#[derive(Debug, Clone, PartialEq)]
pub struct WrittenFiles {
    /// The `.imzML`.
    pub imzml: PathBuf,
    /// The `.ibd`.
    pub ibd: PathBuf,
    /// The UUID written to both.
    pub uuid: [u8; 16],
    /// Lower-case hex SHA-1 of the `.ibd`.
    pub sha1: String,
    /// Spectra written.
    pub spectra: usize,
}

/// Writes one imzML + `.ibd` pair, one spectrum at a time.
pub struct ImzmlWriter {
    imzml_path: PathBuf,
    ibd_path: PathBuf,
    spool_path: PathBuf,
    options: WriterOptions,
    uuid: [u8; 16],
    ibd: BufWriter<File>,
    spool: BufWriter<File>,
    sha1: Sha1,
    ibd_offset: u64,
    shared_mz: Option<(ArrayBytes, u64, u64)>,
    spool_offset: u64,
    spool_entries: Vec<SpoolEntry>,
    spectra: usize,
    max: [u64; 3],
    ids: Ids,
}

/// Where the XML of one spectrum is in the spool.
struct SpoolEntry {
    index: usize,
    offset: u64,
    len: u64,
}

enum SpoolError {
    Io(std::io::Error),
    Indexes(String),
}

/// Copies the spooled spectra to `out` ordered by index, after checking the indexes are `0..n`.
fn copy_in_index_order(
    spool: &mut File,
    entries: &mut [SpoolEntry],
    out: &mut impl Write,
    spool_path: &Path,
) -> std::result::Result<(), SpoolError> {
    let in_order = entries.iter().enumerate().all(|(i, e)| e.index == i);
    if in_order {
        std::io::copy(&mut spool.take(u64::MAX), out).map_err(SpoolError::Io)?;
        return Ok(());
    }
    entries.sort_unstable_by_key(|e| e.index);
    if let Some((position, entry)) = entries.iter().enumerate().find(|(i, e)| e.index != *i) {
        return Err(SpoolError::Indexes(format!(
            "{}: spectrum indexes must be 0..{} exactly once; found {} at position {position}",
            spool_path.display(),
            entries.len(),
            entry.index
        )));
    }
    let mut buffer = Vec::new();
    for entry in entries.iter() {
        spool.seek(SeekFrom::Start(entry.offset)).map_err(SpoolError::Io)?;
        buffer.resize(entry.len as usize, 0);
        spool.read_exact(&mut buffer).map_err(SpoolError::Io)?;
        out.write_all(&buffer).map_err(SpoolError::Io)?;
    }
    Ok(())
}

impl ImzmlWriter {
    /// Creates `path` (an `.imzML`) and the `.ibd` beside it.
    pub fn create(path: impl AsRef<Path>, options: WriterOptions) -> Result<Self> {
        let imzml_path = path.as_ref().to_path_buf();
        let ibd_path = imzml_path.with_extension("ibd");
        let spool_path = imzml_path.with_extension("imzML.spectra-spool");
        let uuid = options.uuid.unwrap_or_else(|| *uuid::Uuid::new_v4().as_bytes());
        let ibd = File::create(&ibd_path).map_err(|e| ImzmlError::io(&ibd_path, e))?;
        let spool = File::options()
            .create(true)
            .truncate(true)
            .read(true)
            .write(true)
            .open(&spool_path)
            .map_err(|e| ImzmlError::io(&spool_path, e))?;
        let ids = Ids::new(&options);
        let mut writer = Self {
            ids,
            imzml_path,
            ibd_path,
            spool_path,
            options,
            uuid,
            ibd: BufWriter::with_capacity(1 << 20, ibd),
            spool: BufWriter::with_capacity(1 << 16, spool),
            sha1: Sha1::new(),
            ibd_offset: 0,
            shared_mz: None,
            spool_offset: 0,
            spool_entries: Vec::new(),
            spectra: 0,
            max: [0; 3],
        };
        writer.write_ibd(&uuid)?;
        Ok(writer)
    }

    fn write_ibd(&mut self, bytes: &[u8]) -> Result<u64> {
        let offset = self.ibd_offset;
        self.ibd
            .write_all(bytes)
            .map_err(|e| ImzmlError::io(&self.ibd_path, e))?;
        self.sha1.update(bytes);
        self.ibd_offset += bytes.len() as u64;
        Ok(offset)
    }

    /// Writes an array and returns its offset and encoded length.
    fn write_array(&mut self, array: &ArrayBytes) -> Result<(u64, u64)> {
        match self.options.compression {
            Compression::None => Ok((self.write_ibd(&array.bytes)?, array.bytes.len() as u64)),
            Compression::Zlib => {
                let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
                encoder
                    .write_all(&array.bytes)
                    .map_err(|e| ImzmlError::io(&self.ibd_path, e))?;
                let compressed = encoder.finish().map_err(|e| ImzmlError::io(&self.ibd_path, e))?;
                Ok((self.write_ibd(&compressed)?, compressed.len() as u64))
            }
        }
    }

    /// Appends a spectrum at 1-based position (x, y, z). `z` of `None` writes no z term.
    pub fn write_spectrum(&mut self, x: u64, y: u64, z: Option<u64>, arrays: SpectrumArrays) -> Result<()> {
        self.write_spectrum_at(self.spectra, x, y, z, arrays)
    }

    /// Writes a spectrum that takes place `index` in the spectrum list, whatever the order of
    /// the calls: the `.ibd` holds the arrays in call order, `finish` lists the spectra by index
    /// and checks that the indexes are exactly `0..n`.
    pub fn write_spectrum_at(
        &mut self,
        index: usize,
        x: u64,
        y: u64,
        z: Option<u64>,
        arrays: SpectrumArrays,
    ) -> Result<()> {
        let SpectrumArrays {
            mz,
            intensity,
            others,
            terms,
        } = arrays;
        self.check_others(others, mz.len())?;
        if terms.len() != self.options.spectrum_terms.len() {
            return Err(ImzmlError::Usage(format!(
                "spectrum {}: {} term values for the {} terms declared",
                self.spectra,
                terms.len(),
                self.options.spectrum_terms.len()
            )));
        }
        let term_xml = TermXml::new(&self.options.spectrum_terms, terms);
        if mz.dtype != self.options.mz_dtype || intensity.dtype != self.options.intensity_dtype {
            return Err(ImzmlError::Usage(format!(
                "spectrum {}: arrays are {:?}/{:?}, the writer was set up for {:?}/{:?}",
                self.spectra, mz.dtype, intensity.dtype, self.options.mz_dtype, self.options.intensity_dtype
            )));
        }
        if mz.len() != intensity.len() {
            return Err(ImzmlError::Usage(format!(
                "spectrum {}: {} m/z values but {} intensities",
                self.spectra,
                mz.len(),
                intensity.len()
            )));
        }
        if x == 0 || y == 0 || z == Some(0) {
            return Err(ImzmlError::Usage(format!(
                "spectrum {}: positions are 1-based",
                self.spectra
            )));
        }
        let (mz_offset, mz_encoded) = match (self.options.mode, &self.shared_mz) {
            (Mode::Continuous, Some((shared, offset, encoded))) => {
                if shared != mz {
                    return Err(ImzmlError::Usage(format!(
                        "spectrum {}: continuous mode needs the same m/z array for every spectrum",
                        self.spectra
                    )));
                }
                (*offset, *encoded)
            }
            (Mode::Continuous, None) => {
                let (offset, encoded) = self.write_array(mz)?;
                self.shared_mz = Some((mz.clone(), offset, encoded));
                (offset, encoded)
            }
            (Mode::Processed, _) => self.write_array(mz)?,
        };
        let (int_offset, int_encoded) = self.write_array(intensity)?;
        let mut other_xml = String::new();
        for (k, other) in others.iter().enumerate() {
            let (offset, encoded) = self.write_array(other)?;
            other_xml.push_str(&array_xml(&self.ids.other_groups[k], other.len(), encoded, offset));
        }
        let z_term = match z {
            Some(z) => {
                format!(
                    "\n            <cvParam cvRef=\"IMS\" accession=\"IMS:1000052\" name=\"position z\" value=\"{z}\"/>"
                )
            }
            None => String::new(),
        };
        self.max = [self.max[0].max(x), self.max[1].max(y), self.max[2].max(z.unwrap_or(1))];
        let length = mz.len();
        let xml = format!(
            r#"      <spectrum id="Scan={id}" defaultArrayLength="0" index="{index}">
        <referenceableParamGroupRef ref="{spectrum_group}"/>{spectrum_terms}
        <scanList count="1">
          <cvParam cvRef="MS" accession="MS:1000795" name="no combination" value=""/>{scan_list_terms}
          <scan instrumentConfigurationRef="{instrument}">
            <cvParam cvRef="IMS" accession="IMS:1000050" name="position x" value="{x}"/>
            <cvParam cvRef="IMS" accession="IMS:1000051" name="position y" value="{y}"/>{z_term}{scan_terms}{scan_windows}
          </scan>
        </scanList>
        <binaryDataArrayList count="{count}">
{mz_array}{int_array}{other_xml}        </binaryDataArrayList>
      </spectrum>
"#,
            id = index + 1,
            count = 2 + others.len(),
            mz_array = array_xml(&self.ids.mz_group, length, mz_encoded, mz_offset),
            int_array = array_xml(&self.ids.intensity_group, length, int_encoded, int_offset),
            spectrum_group = escape(&self.ids.spectrum_group),
            instrument = escape(&self.ids.instrument),
            spectrum_terms = term_xml.spectrum,
            scan_list_terms = term_xml.scan_list,
            scan_terms = term_xml.scan,
            scan_windows = term_xml.scan_window_list,
        );
        self.spool
            .write_all(xml.as_bytes())
            .map_err(|e| ImzmlError::io(&self.spool_path, e))?;
        self.spool_entries.push(SpoolEntry {
            index,
            offset: self.spool_offset,
            len: xml.len() as u64,
        });
        self.spool_offset += xml.len() as u64;
        self.spectra += 1;
        Ok(())
    }

    /// Checks that `others` are the arrays [`WriterOptions::other_arrays`] declares, each of
    /// `length` values.
    fn check_others(&self, others: &[ArrayBytes], length: usize) -> Result<()> {
        let declared = &self.options.other_arrays;
        let fits = others.len() == declared.len()
            && others
                .iter()
                .zip(declared)
                .all(|(array, kind)| array.dtype == kind.dtype && array.len() == length);
        if fits {
            return Ok(());
        }
        Err(ImzmlError::Usage(format!(
            "spectrum {}: other arrays of {:?} do not match the {:?} declared, each of {length} values",
            self.spectra,
            others.iter().map(|a| (a.dtype, a.len())).collect::<Vec<_>>(),
            declared.iter().map(|k| (&k.accession, k.dtype)).collect::<Vec<_>>(),
        )))
    }

    /// Writes the header and the spectrum list, and closes both files.
    pub fn finish(mut self) -> Result<WrittenFiles> {
        if self.spectra == 0 {
            return Err(ImzmlError::Usage("an imzML file needs at least one spectrum".into()));
        }
        self.ibd.flush().map_err(|e| ImzmlError::io(&self.ibd_path, e))?;
        let sha1 = to_hex(&self.sha1.clone().finalize());
        let mut spool = self
            .spool
            .into_inner()
            .map_err(|e| ImzmlError::io(&self.spool_path, e.into_error()))?;
        spool
            .seek(SeekFrom::Start(0))
            .map_err(|e| ImzmlError::io(&self.spool_path, e))?;
        let file = File::create(&self.imzml_path).map_err(|e| ImzmlError::io(&self.imzml_path, e))?;
        let mut out = BufWriter::with_capacity(1 << 16, file);
        let header = header_xml(&self.options, &self.ids, &self.uuid, &sha1, self.max, self.spectra);
        let io = |e| ImzmlError::io(&self.imzml_path, e);
        out.write_all(header.as_bytes()).map_err(io)?;
        copy_in_index_order(&mut spool, &mut self.spool_entries, &mut out, &self.spool_path).map_err(|e| match e {
            SpoolError::Io(e) => io(e),
            SpoolError::Indexes(message) => ImzmlError::Usage(message),
        })?;
        out.write_all(b"    </spectrumList>\n  </run>\n</mzML>\n").map_err(io)?;
        out.flush().map_err(io)?;
        drop(spool);
        std::fs::remove_file(&self.spool_path).map_err(|e| ImzmlError::io(&self.spool_path, e))?;
        Ok(WrittenFiles {
            imzml: self.imzml_path,
            ibd: self.ibd_path,
            uuid: self.uuid,
            sha1,
            spectra: self.spectra,
        })
    }
}

fn array_xml(group: &str, length: usize, encoded: u64, offset: u64) -> String {
    let group = escape(group);
    format!(
        r#"          <binaryDataArray encodedLength="0">
            <referenceableParamGroupRef ref="{group}"/>
            <cvParam cvRef="IMS" accession="IMS:1000103" name="external array length" value="{length}"/>
            <cvParam cvRef="IMS" accession="IMS:1000104" name="external encoded length" value="{encoded}"/>
            <cvParam cvRef="IMS" accession="IMS:1000102" name="external offset" value="{offset}"/>
            <binary/>
          </binaryDataArray>
"#
    )
}

pub(crate) fn cv(cv_ref: &str, accession: &str, name: &str, value: &str) -> String {
    cv_with_unit(cv_ref, accession, name, value, None)
}

/// A cvParam, with the unit of its value when it has one (`unitCvRef` is the unit accession's
/// prefix).
pub(crate) fn cv_with_unit(cv_ref: &str, accession: &str, name: &str, value: &str, unit: Option<&Unit>) -> String {
    let unit = unit.map_or_else(String::new, |unit| {
        let unit_cv = unit.accession.split(':').next().unwrap_or_default();
        format!(
            r#" unitCvRef="{}" unitAccession="{}" unitName="{}""#,
            escape(unit_cv),
            escape(&unit.accession),
            escape(&unit.name)
        )
    });
    format!(
        r#"<cvParam cvRef="{cv_ref}" accession="{accession}" name="{name}" value="{}"{unit}/>"#,
        escape(value)
    )
}

pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
