//! Writes an imzarr store back to imzML: the arrays bit-identical, in their stored types, the
//! spectra listed in the source's order at the source's coordinates with the spectrum terms the
//! store kept, the source's header (samples, instrument configurations, software, scan
//! settings, data processing, source files) with the export added, and a fresh UUID and the
//! SHA-1 of the new `.ibd`.
//!
//! The store is read in runs of consecutive stored spectra (a few requests per run) while a
//! blocking thread writes the previous run, so memory stays within a few runs.

mod error;
mod plan;

use std::path::{Path, PathBuf};

use imzarr::{Dataset, OtherValues, StoredSpectra, TermColumn};
use imzarr_format::AcquisitionMode;
use imzarr_imzml::{
    ArrayBytes, Compression, ImzmlWriter, Mode, OtherArrayKind, Polarity, SpectrumArrays, SpectrumTermKind,
    SpectrumType, TermPlace, Unit, WriterOptions, format_term_number,
};

pub use error::{ExportError, Result};

/// How to export.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// Replace existing output files.
    pub overwrite: bool,
    /// Bytes of point data read from the store at once (at least one spectrum is).
    pub run_bytes: u64,
    /// Compression of the arrays in the `.ibd`.
    pub compression: Compression,
}

impl Default for ExportOptions {
    fn default() -> Self {
        Self {
            overwrite: false,
            run_bytes: 64 << 20,
            compression: Compression::None,
        }
    }
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportReport {
    /// The `.imzML` written.
    pub imzml: PathBuf,
    /// The `.ibd` written.
    pub ibd: PathBuf,
    /// Spectra written.
    pub spectra: u64,
    /// Points written.
    pub points: u64,
    /// Lower-case hex SHA-1 of the `.ibd`.
    pub sha1: String,
    /// The new UUID.
    pub uuid: [u8; 16],
    /// What was added to every coordinate to make it 1-based, when the source's were not.
    pub coordinate_shift: [i64; 3],
}

/// Exports `dataset` to `output` (an `.imzML` path; the `.ibd` goes beside it). The files
/// appear under their names only once complete.
pub async fn export(dataset: &Dataset, output: &Path, options: &ExportOptions) -> Result<ExportReport> {
    let targets = Targets::new(output, options.overwrite)?;
    let writer_options = writer_options(dataset, options)?;
    let origin = dataset.attributes().grid.origin;
    let coordinate_shift = origin.map(|o| if o < 1 { 1 - o } else { 0 });
    let depth = dataset.attributes().grid.depth;

    let offsets = dataset.point_offsets().await?;
    let item_bytes = (writer_options.mz_dtype.size() + writer_options.intensity_dtype.size()) as u64;
    let runs = plan::runs_by_points(&offsets, (options.run_bytes / item_bytes).max(1));
    let positions = list_positions(dataset, &runs).await?;

    let writer = ImzmlWriter::create(&targets.partial_imzml, writer_options)?;
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Run>(1);
    let partial_imzml = targets.partial_imzml.clone();
    let term_decimals: Vec<Option<u32>> = dataset.spectrum_terms().iter().map(|info| info.decimals).collect();
    let writing = tokio::task::spawn_blocking(move || -> Result<_> {
        let mut writer = writer;
        let mut points = 0u64;
        let mut others: Vec<ArrayBytes> = Vec::new();
        while let Some(values) = receiver.blocking_recv() {
            let run = &values.spectra;
            for i in 0..run.len() {
                let k = run.first as usize + i;
                let [x, y, z] = run.positions[i];
                let position = |value: i64, shift: i64| (value + shift) as u64;
                let mz = ArrayBytes {
                    dtype: run.mz_dtype(),
                    bytes: run.mz_bytes(i).to_vec(),
                };
                let intensity = ArrayBytes {
                    dtype: run.intensity_dtype(),
                    bytes: run.intensity_bytes(i).to_vec(),
                };
                points += intensity.len() as u64;
                others.clear();
                others.extend(values.others.iter().map(|values| ArrayBytes {
                    dtype: values.dtype,
                    bytes: values.bytes(i).to_vec(),
                }));
                let terms = values.term_values(i, &term_decimals);
                let arrays = SpectrumArrays {
                    mz: &mz,
                    intensity: &intensity,
                    others: &others,
                    terms: &terms,
                };
                writer.write_spectrum_at(
                    positions[k],
                    position(x, coordinate_shift[0]),
                    position(y, coordinate_shift[1]),
                    (depth > 1).then(|| position(z, coordinate_shift[2])),
                    arrays,
                )?;
            }
        }
        Ok((writer.finish()?, points))
    });
    let mut read_error = None;
    for run in runs {
        match read_run(dataset, run).await {
            Ok(spectra) => {
                if sender.send(spectra).await.is_err() {
                    break; // the writer failed; its error is reported below
                }
            }
            Err(e) => {
                read_error = Some(e);
                break;
            }
        }
    }
    drop(sender);
    let written = writing.await.map_err(|e| ExportError::Io {
        path: partial_imzml.clone(),
        source: std::io::Error::other(e.to_string()),
    })?;
    if let Some(e) = read_error {
        targets.discard();
        return Err(e.into());
    }
    let (files, points) = match written {
        Ok(written) => written,
        Err(e) => {
            targets.discard();
            return Err(e);
        }
    };
    targets.publish()?;
    Ok(ExportReport {
        imzml: targets.imzml,
        ibd: targets.ibd,
        spectra: files.spectra as u64,
        points,
        sha1: files.sha1,
        uuid: files.uuid,
        coordinate_shift,
    })
}

/// A run of stored spectra with everything the export writes of them.
struct Run {
    spectra: StoredSpectra,
    /// The values of every other binary array.
    others: Vec<OtherValues>,
    /// The values of every kept spectrum term.
    terms: Vec<TermColumn>,
}

impl Run {
    /// The value of every kept spectrum term for spectrum `i` of the run, as the writer
    /// takes them; `decimals` are the fraction digits of each term's numbers, if fixed.
    fn term_values(&self, i: usize, decimals: &[Option<u32>]) -> Vec<Option<String>> {
        self.terms
            .iter()
            .zip(decimals)
            .map(|(column, &decimals)| match column {
                TermColumn::Same(value) => Some(value.clone()),
                TermColumn::Numbers(numbers) => Some(numbers[i])
                    .filter(|n| !n.is_nan())
                    .map(|n| format_term_number(n, decimals)),
            })
            .collect()
    }
}

/// The stored spectra `run` with the values of every other binary array and spectrum term.
async fn read_run(dataset: &Dataset, run: std::ops::Range<u64>) -> imzarr::Result<Run> {
    let others = dataset
        .other_arrays()
        .iter()
        .map(|info| dataset.other_values(&info.key, run.clone()));
    let terms = dataset
        .spectrum_terms()
        .iter()
        .map(|info| dataset.term_values(&info.key, run.clone()));
    let (spectra, others, terms) = tokio::try_join!(
        dataset.stored_spectra(run.clone()),
        futures::future::try_join_all(others),
        futures::future::try_join_all(terms)
    )?;
    Ok(Run { spectra, others, terms })
}

/// The place of every stored spectrum in the exported list, read run by run.
async fn list_positions(dataset: &Dataset, runs: &[std::ops::Range<u64>]) -> Result<Vec<usize>> {
    let mut source_index = Vec::with_capacity(dataset.spectrum_count() as usize);
    for run in runs {
        source_index.extend(dataset.source_indexes(run.clone()).await?);
    }
    Ok(plan::list_positions(&source_index))
}

fn writer_options(dataset: &Dataset, options: &ExportOptions) -> Result<WriterOptions> {
    let attributes = dataset.attributes();
    let unexportable = |reason: String| ExportError::Unexportable {
        location: dataset.location().to_string(),
        reason,
    };
    let dtype = |name: &str| {
        imzarr::DataType::from_zarr_name(name).ok_or_else(|| unexportable(format!("type {name} has no imzML term")))
    };
    let pixel_size_um = match &attributes.grid.pixel_size {
        Some(size) => Some(match size.unit.as_str() {
            "micrometer" => size.x,
            "nanometer" => size.x / 1000.0,
            "millimeter" => size.x * 1000.0,
            other => return Err(unexportable(format!("pixel size unit {other} is not one imzML knows"))),
        }),
        None => None,
    };
    Ok(WriterOptions {
        mode: match attributes.mode {
            AcquisitionMode::Continuous => Mode::Continuous,
            AcquisitionMode::Processed => Mode::Processed,
        },
        spectrum_type: match attributes.spectrum_type.as_deref() {
            Some("centroid") => SpectrumType::Centroid,
            _ => SpectrumType::Profile,
        },
        mz_dtype: dtype(&attributes.dtypes.mz)?,
        intensity_dtype: dtype(&attributes.dtypes.intensity)?,
        compression: options.compression,
        pixel_size_um,
        polarity: match attributes.polarity.as_deref() {
            Some("positive") => Some(Polarity::Positive),
            Some("negative") => Some(Polarity::Negative),
            _ => None,
        },
        uuid: None,
        software: format!("imzarr-export {}", env!("CARGO_PKG_VERSION")),
        source_header: dataset.header_tree()?,
        other_arrays: attributes
            .other_arrays
            .iter()
            .map(|info| {
                Ok(OtherArrayKind {
                    accession: info.accession.clone(),
                    value: info.value.clone(),
                    dtype: dtype(&info.dtype)?,
                    unit: info.unit.as_ref().map(unit_of),
                })
            })
            .collect::<Result<_>>()?,
        spectrum_terms: attributes
            .spectrum_terms
            .iter()
            .map(|info| {
                let place = TermPlace::from_element_name(&info.element).ok_or_else(|| {
                    unexportable(format!(
                        "spectrum term {} is kept for element <{}>, which the exporter does not write",
                        info.key, info.element
                    ))
                })?;
                Ok(SpectrumTermKind {
                    accession: info.accession.clone(),
                    name: info.name.clone(),
                    unit: info.unit.as_ref().map(unit_of),
                    value_type: info.value_type.clone(),
                    place,
                })
            })
            .collect::<Result<_>>()?,
    })
}

/// A unit the store records, as the imzML writer takes it.
fn unit_of(info: &imzarr_format::UnitInfo) -> Unit {
    Unit {
        accession: info.accession.clone(),
        name: info.name.clone(),
    }
}

/// The final and the in-progress names of the two output files.
struct Targets {
    imzml: PathBuf,
    ibd: PathBuf,
    partial_imzml: PathBuf,
    partial_ibd: PathBuf,
}

impl Targets {
    fn new(output: &Path, overwrite: bool) -> Result<Self> {
        let bad = |reason: &str| ExportError::BadOutput {
            path: output.to_path_buf(),
            reason: reason.to_string(),
        };
        let extension = output.extension().and_then(|e| e.to_str()).unwrap_or("");
        if !extension.eq_ignore_ascii_case("imzml") {
            return Err(bad("the output must be an .imzML file"));
        }
        let name = output
            .file_stem()
            .and_then(|s| s.to_str())
            .ok_or_else(|| bad("no file name"))?;
        let imzml = output.to_path_buf();
        let ibd = output.with_extension("ibd");
        let partial_imzml = output.with_file_name(format!("{name}.partial.imzML"));
        let partial_ibd = partial_imzml.with_extension("ibd");
        if !overwrite {
            for path in [&imzml, &ibd] {
                if path.exists() {
                    return Err(ExportError::Exists { path: path.clone() });
                }
            }
        }
        Ok(Self {
            imzml,
            ibd,
            partial_imzml,
            partial_ibd,
        })
    }

    /// Gives the files their names, the `.imzML` (which makes the pair usable) last.
    fn publish(&self) -> Result<()> {
        for (from, to) in [(&self.partial_ibd, &self.ibd), (&self.partial_imzml, &self.imzml)] {
            std::fs::rename(from, to).map_err(|source| ExportError::Io {
                path: to.clone(),
                source,
            })?;
        }
        Ok(())
    }

    /// Removes what a failed export wrote.
    fn discard(&self) {
        let spool = self.partial_imzml.with_extension("imzML.spectra-spool");
        for path in [&self.partial_imzml, &self.partial_ibd, &spool] {
            let _ = std::fs::remove_file(path);
        }
    }
}
