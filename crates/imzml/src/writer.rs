//! A streaming imzML writer: spectra go to the `.ibd` as they come, their XML to a spool file;
//! `finish` writes the header (which needs the grid and the SHA-1 of the `.ibd`) and the spool.

use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use sha1::{Digest, Sha1};

use crate::dtype::{ArrayBytes, Compression, DataType};
use crate::error::{ImzmlError, Result};
use crate::model::{Mode, Polarity, SpectrumType, Unit, XmlNode};
use crate::numbers::{format_uuid, to_hex};
use crate::source_header::{ScanSettings, SourceHeader, node_xml};
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

/// The ids of what the writer declares itself, none of them an id of a copied element of the
/// source header.
#[derive(Debug, Clone)]
struct Ids {
    mz_group: String,
    intensity_group: String,
    other_groups: Vec<String>,
    spectrum_group: String,
    software: String,
    processing: String,
    /// The instrument configuration the spectra refer to: the source's, or one the writer
    /// declares when it has none.
    instrument: String,
    instrument_is_own: bool,
    run: String,
}

impl Ids {
    fn new(options: &WriterOptions) -> Self {
        let source = options.source_header.as_ref().map(SourceHeader::new);
        let unique = |base: &str| source.as_ref().map_or_else(|| base.to_string(), |s| s.unique_id(base));
        let source_instrument = source.as_ref().and_then(|s| s.instrument_configuration_id());
        Self {
            mz_group: unique("mzArray"),
            intensity_group: unique("intensityArray"),
            other_groups: (0..options.other_arrays.len())
                .map(|k| unique(&format!("otherArray{k}")))
                .collect(),
            spectrum_group: unique("spectrum1"),
            software: unique("writer"),
            processing: unique("export"),
            instrument: source_instrument.map_or_else(|| unique("IC1"), str::to_string),
            instrument_is_own: source_instrument.is_none(),
            run: unique("run1"),
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

fn cv(cv_ref: &str, accession: &str, name: &str, value: &str) -> String {
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

fn header_xml(
    options: &WriterOptions,
    ids: &Ids,
    uuid: &[u8; 16],
    sha1: &str,
    max: [u64; 3],
    spectra: usize,
) -> String {
    let source = options.source_header.as_ref().map(SourceHeader::new);
    let (mode_accession, mode_name) = match options.mode {
        Mode::Continuous => ("IMS:1000030", "continuous"),
        Mode::Processed => ("IMS:1000031", "processed"),
    };
    let (type_accession, type_name) = match options.spectrum_type {
        SpectrumType::Centroid => ("MS:1000127", "centroid spectrum"),
        SpectrumType::Profile => ("MS:1000128", "profile spectrum"),
    };
    let (compression_accession, compression_name) = match options.compression {
        Compression::None => ("MS:1000576", "no compression"),
        Compression::Zlib => ("MS:1000574", "zlib compression"),
    };
    let polarity = match options.polarity {
        Some(Polarity::Positive) => cv("MS", "MS:1000130", "positive scan", ""),
        Some(Polarity::Negative) => cv("MS", "MS:1000129", "negative scan", ""),
        None => String::new(),
    };
    let pixel_size = match options.pixel_size_um {
        Some(size) => format!(
            "\n      {}\n      {}",
            cv("IMS", "IMS:1000046", "pixel size (x)", &size.to_string()),
            cv("IMS", "IMS:1000047", "pixel size y", &size.to_string())
        ),
        None => String::new(),
    };
    let ms1 = cv("MS", "MS:1000579", "MS1 spectrum", "");
    let type_cv = cv("MS", type_accession, type_name, "");
    let array_group = |id: &str, kind_term: String, dtype: DataType| {
        format!(
            "    <referenceableParamGroup id=\"{}\">\n      {}\n      {}\n      {}\n      {}\n    </referenceableParamGroup>\n",
            escape(id),
            kind_term,
            cv(
                if dtype.accession().starts_with("IMS") {
                    "IMS"
                } else {
                    "MS"
                },
                dtype.accession(),
                dtype.cv_name(),
                ""
            ),
            cv("MS", compression_accession, compression_name, ""),
            cv("IMS", "IMS:1000101", "external data", "true"),
        )
    };
    let other_groups: String = options
        .other_arrays
        .iter()
        .zip(&ids.other_groups)
        .map(|(kind, id)| {
            let name = crate::cv::other_array_name(&kind.accession).unwrap_or("binary data array");
            let term = cv_with_unit("MS", &kind.accession, name, &kind.value, kind.unit.as_ref());
            array_group(id, term, kind.dtype)
        })
        .collect();
    let copied =
        |nodes: Vec<&XmlNode>, indent: usize| -> String { nodes.into_iter().map(|n| node_xml(n, indent)).collect() };

    // Our vocabularies, after the source's and only where it lacks them.
    let own_cvs = [
        (
            "MS",
            r#"<cv id="MS" fullName="Proteomics Standards Initiative Mass Spectrometry Ontology" version="4.1.0" URI="http://purl.obolibrary.org/obo/ms.obo"/>"#,
        ),
        (
            "UO",
            r#"<cv id="UO" fullName="Unit Ontology" version="2020-03-10" URI="http://purl.obolibrary.org/obo/uo.obo"/>"#,
        ),
        (
            "IMS",
            r#"<cv id="IMS" fullName="Mass Spectrometry Imaging Ontology" version="1.1.0" URI="https://raw.githubusercontent.com/imzML/imzML/master/imagingMS.obo"/>"#,
        ),
    ];
    let source_cvs = source.as_ref().map(SourceHeader::cvs).unwrap_or_default();
    let missing_cvs: Vec<&str> = own_cvs
        .iter()
        .filter(|(id, _)| !source_cvs.iter().any(|cv| cv.attribute("id") == Some(id)))
        .map(|(_, xml)| *xml)
        .collect();
    let cv_count = source_cvs.len() + missing_cvs.len();
    let cvs = copied(source_cvs, 4) + &missing_cvs.iter().map(|xml| format!("    {xml}\n")).collect::<String>();

    let file_content_more = copied(
        source
            .as_ref()
            .map(SourceHeader::file_content_terms)
            .unwrap_or_default(),
        6,
    );
    let file_description_more = copied(
        source
            .as_ref()
            .map(SourceHeader::file_description_rest)
            .unwrap_or_default(),
        4,
    );
    let sample_list = source
        .as_ref()
        .and_then(SourceHeader::sample_list)
        .map_or_else(String::new, |list| node_xml(list, 2));

    let source_softwares = source.as_ref().map(SourceHeader::softwares).unwrap_or_default();
    let software_count = source_softwares.len() + 1;
    let softwares = copied(source_softwares, 4);

    let source_scan_settings = source.as_ref().and_then(SourceHeader::scan_settings);
    let scan_settings_count = source_scan_settings.as_ref().map_or(1, |s| 1 + s.others.len());
    let scan_settings = match source_scan_settings {
        Some(ScanSettings {
            first,
            has_pixel_size,
            others,
        }) => {
            let mut xml = node_xml(&first, 4);
            let own_terms = format!(
                "      {}\n      {}{}\n",
                cv("IMS", "IMS:1000042", "max count of pixels x", &max[0].to_string()),
                cv("IMS", "IMS:1000043", "max count of pixels y", &max[1].to_string()),
                if has_pixel_size { "" } else { pixel_size.as_str() },
            );
            match xml.rfind("    </scanSettings>") {
                Some(end) => xml.insert_str(end, &own_terms),
                None => {
                    // An empty element: open it to hold the terms.
                    let open = xml.trim_end().trim_end_matches("/>").to_string();
                    xml = format!("{open}>\n{own_terms}    </scanSettings>\n");
                }
            }
            xml + &copied(others, 4)
        }
        None => format!(
            "    <scanSettings id=\"{}\">\n      {}\n      {}{pixel_size}\n    </scanSettings>\n",
            source
                .as_ref()
                .map_or_else(|| "scansettings1".into(), |s| s.unique_id("scansettings1")),
            cv("IMS", "IMS:1000042", "max count of pixels x", &max[0].to_string()),
            cv("IMS", "IMS:1000043", "max count of pixels y", &max[1].to_string()),
        ),
    };

    let source_instruments = source
        .as_ref()
        .map(SourceHeader::instrument_configurations)
        .unwrap_or_default();
    let (instrument_count, instruments) = if ids.instrument_is_own {
        (
            1,
            format!("    <instrumentConfiguration id=\"{}\"/>\n", escape(&ids.instrument)),
        )
    } else {
        (source_instruments.len(), copied(source_instruments, 4))
    };

    let source_processings = source.as_ref().map(SourceHeader::data_processings).unwrap_or_default();
    let processing_count = source_processings.len() + 1;
    let processings = copied(source_processings, 4);
    let run_attributes: String = source
        .as_ref()
        .map(SourceHeader::run_attributes)
        .unwrap_or_default()
        .into_iter()
        .map(|(key, value)| format!(" {key}=\"{}\"", escape(value)))
        .collect();

    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<mzML xmlns="http://psi.hupo.org/ms/mzml" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" version="1.1">
  <cvList count="{cv_count}">
{cvs}  </cvList>
  <fileDescription>
    <fileContent>
      {ms1}
      {type_cv}
      {mode_cv}
      {uuid_cv}
      {sha1_cv}
{file_content_more}    </fileContent>
{file_description_more}  </fileDescription>
  <referenceableParamGroupList count="{groups}">
{mz_group}{int_group}{other_groups}    <referenceableParamGroup id="{spectrum_group}">
      {ms1}
      {type_cv}
      {polarity}
    </referenceableParamGroup>
  </referenceableParamGroupList>
{sample_list}  <softwareList count="{software_count}">
{softwares}    <software id="{software_id}" version="{version}">
      {software_cv}
    </software>
  </softwareList>
  <scanSettingsList count="{scan_settings_count}">
{scan_settings}  </scanSettingsList>
  <instrumentConfigurationList count="{instrument_count}">
{instruments}  </instrumentConfigurationList>
  <dataProcessingList count="{processing_count}">
{processings}    <dataProcessing id="{processing_id}">
      <processingMethod order="1" softwareRef="{software_id}">
        {conversion_cv}
      </processingMethod>
    </dataProcessing>
  </dataProcessingList>
  <run id="{run_id}" defaultInstrumentConfigurationRef="{instrument_id}"{run_attributes}>
    <spectrumList count="{spectra}" defaultDataProcessingRef="{processing_id}">
"#,
        mode_cv = cv("IMS", mode_accession, mode_name, ""),
        uuid_cv = cv(
            "IMS",
            "IMS:1000080",
            "universally unique identifier",
            &format!("{{{}}}", format_uuid(uuid).to_uppercase())
        ),
        sha1_cv = cv("IMS", "IMS:1000091", "ibd SHA-1", &sha1.to_uppercase()),
        groups = 3 + options.other_arrays.len(),
        mz_group = array_group(&ids.mz_group, cv("MS", "MS:1000514", "m/z array", ""), options.mz_dtype),
        int_group = array_group(
            &ids.intensity_group,
            cv("MS", "MS:1000515", "intensity array", ""),
            options.intensity_dtype
        ),
        spectrum_group = escape(&ids.spectrum_group),
        software_id = escape(&ids.software),
        processing_id = escape(&ids.processing),
        instrument_id = escape(&ids.instrument),
        run_id = escape(&ids.run),
        version = env!("CARGO_PKG_VERSION"),
        software_cv = cv("MS", "MS:1000799", "custom unreleased software tool", &options.software),
        conversion_cv = cv("MS", "MS:1000530", "file format conversion", "Output to imzML"),
    )
}
