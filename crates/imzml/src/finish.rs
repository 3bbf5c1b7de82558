//! Checks and repairs that need every spectrum: the real mode, coordinates, duplicated pixels,
//! offsets that overflowed 32 bits, and the grid against its declaration.

use std::path::{Path, PathBuf};

use crate::error::{ImzmlError, Result};
use crate::grid::Grid;
use crate::header_terms::HeaderTerms;
use crate::limits::ParseOptions;
use crate::model::{Header, Imzml, Mode, Quirk, SpectrumEntry, SpectrumTerm, XmlNode};
use crate::spectrum_terms::SpectrumTermValues;

/// What the event loop produced.
pub(crate) struct Parsed<'p> {
    pub(crate) path: &'p Path,
    pub(crate) header: HeaderTerms,
    pub(crate) spectra: Vec<SpectrumEntry>,
    pub(crate) quirks: Vec<Quirk>,
    pub(crate) spectrum_terms: Vec<SpectrumTermValues>,
    pub(crate) spectrum_terms_not_kept: Vec<SpectrumTerm>,
}

pub(crate) fn finish(
    parsed: Parsed<'_>,
    document: XmlNode,
    ibd_path: PathBuf,
    ibd_len: u64,
    options: &ParseOptions,
) -> Result<Imzml> {
    let Parsed {
        path,
        header: terms,
        mut spectra,
        mut quirks,
        spectrum_terms,
        spectrum_terms_not_kept,
    } = parsed;
    if spectra.is_empty() {
        return Err(ImzmlError::format(path, "spectrumList", "the file holds no spectra"));
    }
    unwrap_32bit_offsets(&mut spectra, ibd_len, &mut quirks);
    check_coordinates(path, &spectra)?;
    remove_duplicate_pixels(path, &mut spectra, options.allow_duplicate_pixels, &mut quirks)?;
    if options.drop_other_arrays {
        drop_other_arrays(&mut spectra, &mut quirks);
    }
    let mode = actual_mode(&spectra);
    match terms.declared_mode {
        Some(declared) if declared != mode => Quirk::new(
            "mode-contradicts-offsets",
            format!("declared {declared:?}, but the m/z arrays say {mode:?}; read as {mode:?}"),
        )
        .record(&mut quirks),
        None => Quirk::new(
            "mode-missing",
            format!("no continuous/processed term; the m/z arrays say {mode:?}"),
        )
        .record(&mut quirks),
        _ => {}
    }
    let pixel_size = terms.pixel_size(&mut quirks);
    let header = Header {
        declared_mode: terms.declared_mode,
        mode,
        uuid: terms.uuid,
        checksums: terms.checksums.clone(),
        declared_grid: terms.grid.clone(),
        pixel_size,
        spectrum_type: terms.spectrum_type(),
        polarity: terms.polarity(),
    };
    if header.uuid.is_none() {
        let detail = if terms.uuid_without_value {
            "the header's UUID term (IMS:1000080) has no value; the .ibd cannot be matched to it"
        } else {
            "the header declares no UUID (IMS:1000080); the .ibd cannot be matched to it"
        };
        Quirk::new("uuid-missing", detail).record(&mut quirks);
    }
    let grid = Grid::from_spectra(&spectra);
    grid.compare_with_declaration(&header.declared_grid, &mut quirks);
    options.refuse_repairs(path, &quirks)?;
    Ok(Imzml {
        path: path.to_path_buf(),
        ibd_path,
        header,
        document,
        spectra,
        quirks,
        spectrum_terms,
        spectrum_terms_not_kept,
    })
}

/// Continuous when every spectrum points at the same m/z array, processed otherwise.
fn actual_mode(spectra: &[SpectrumEntry]) -> Mode {
    let first = spectra[0].mz;
    if spectra.iter().all(|s| s.mz == first) {
        Mode::Continuous
    } else {
        Mode::Processed
    }
}

fn check_coordinates(path: &Path, spectra: &[SpectrumEntry]) -> Result<()> {
    for spectrum in spectra {
        if spectrum.x < 0 || spectrum.y < 0 || spectrum.z < 0 {
            return Err(ImzmlError::format(
                path,
                format!("spectrum {}", spectrum.index),
                format!(
                    "negative coordinate (x={}, y={}, z={}); imzML positions start at 1",
                    spectrum.x, spectrum.y, spectrum.z
                ),
            ));
        }
        if spectrum.x > u32::MAX as i64 || spectrum.y > u32::MAX as i64 || spectrum.z > u32::MAX as i64 {
            return Err(ImzmlError::format(
                path,
                format!("spectrum {}", spectrum.index),
                "coordinate above 2^32",
            ));
        }
    }
    Ok(())
}

/// Leaves out every binary array other than m/z and intensity, naming their kinds.
fn drop_other_arrays(spectra: &mut [SpectrumEntry], quirks: &mut Vec<Quirk>) {
    let mut kinds = std::collections::BTreeSet::new();
    let mut arrays = 0usize;
    for spectrum in spectra.iter_mut() {
        arrays += spectrum.other_arrays.len();
        kinds.extend(spectrum.other_arrays.drain(..).map(|other| other.accession));
    }
    if arrays > 0 {
        Quirk::new(
            "other-arrays-dropped",
            format!(
                "{arrays} arrays other than m/z and intensity were left out ({})",
                kinds.into_iter().collect::<Vec<_>>().join(", ")
            ),
        )
        .record(quirks);
    }
}

fn remove_duplicate_pixels(
    path: &Path,
    spectra: &mut Vec<SpectrumEntry>,
    allow: bool,
    quirks: &mut Vec<Quirk>,
) -> Result<()> {
    let mut order: Vec<usize> = (0..spectra.len()).collect();
    order.sort_unstable_by_key(|&i| (spectra[i].z, spectra[i].y, spectra[i].x, i));
    let mut dropped = Vec::new();
    for pair in order.windows(2) {
        let (a, b) = (&spectra[pair[0]], &spectra[pair[1]]);
        if (a.x, a.y, a.z) == (b.x, b.y, b.z) {
            if !allow {
                return Err(ImzmlError::DuplicatePixel {
                    path: path.to_path_buf(),
                    first: a.index,
                    second: b.index,
                    x: a.x,
                    y: a.y,
                    z: a.z,
                });
            }
            dropped.push(pair[1]);
        }
    }
    if !dropped.is_empty() {
        Quirk::new(
            "duplicate-pixels-dropped",
            format!(
                "{} spectra at already-used pixels were dropped (the first one at each pixel is kept)",
                dropped.len()
            ),
        )
        .record(quirks);
        dropped.sort_unstable();
        for i in dropped.into_iter().rev() {
            spectra.remove(i);
        }
    }
    Ok(())
}

/// Some writers store 64-bit offsets in 32-bit integers, so that in files above 4 GiB the
/// offsets fall back to small numbers. Arrays are written in order, so an offset far below the
/// end of the previous array, in a file large enough, is lifted by multiples of 2^32.
fn unwrap_32bit_offsets(spectra: &mut [SpectrumEntry], ibd_len: u64, quirks: &mut Vec<Quirk>) {
    const WRAP: u64 = 1 << 32;
    if ibd_len <= WRAP {
        return;
    }
    // In continuous files every spectrum points back at the one m/z array: only the
    // intensities follow each other.
    let continuous = actual_mode(spectra) == Mode::Continuous;
    let mut high_water = 0u64;
    let mut repaired = 0usize;
    for spectrum in spectra.iter_mut() {
        for (array, shared) in [(&mut spectrum.mz, continuous), (&mut spectrum.intensity, false)] {
            if shared {
                continue;
            }
            let mut offset = array.offset;
            while offset + WRAP / 2 < high_water && offset + WRAP + array.encoded_length <= ibd_len {
                offset += WRAP;
            }
            if offset != array.offset {
                array.offset = offset;
                repaired += 1;
            }
            high_water = high_water.max(offset + array.encoded_length);
        }
    }
    if repaired > 0 {
        Quirk::new(
            "offsets-wrapped-at-32-bits",
            format!("{repaired} array offsets had overflowed 32 bits and were lifted by multiples of 2^32"),
        )
        .record(quirks);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtype::{Compression, DataType};
    use crate::model::ArrayRef;

    fn array(offset: u64, length: u64) -> ArrayRef {
        ArrayRef {
            offset,
            length,
            encoded_length: length * 4,
            dtype: DataType::F32,
            compression: Compression::None,
        }
    }

    #[test]
    fn offsets_that_wrapped_at_4_gib_are_lifted() {
        let gib = 1u64 << 30;
        let spectra_at = |offsets: &[u64]| -> Vec<SpectrumEntry> {
            offsets
                .iter()
                .enumerate()
                .map(|(i, &o)| SpectrumEntry {
                    index: i,
                    x: i as i64 + 1,
                    y: 1,
                    z: 1,
                    mz: array(o, gib / 8),
                    intensity: array(o + gib / 2, gib / 8),
                    other_arrays: vec![],
                })
                .collect()
        };
        // Real offsets: 16, 2 GiB, 4 GiB + 16 (written wrapped, as 16).
        let mut spectra = spectra_at(&[16, 2 * gib, 16]);
        let mut quirks = Vec::new();
        unwrap_32bit_offsets(&mut spectra, 6 * gib, &mut quirks);
        assert_eq!(spectra[2].mz.offset, 4 * gib + 16);
        assert_eq!(spectra[2].intensity.offset, 4 * gib + gib / 2 + 16);
        assert_eq!(spectra[1].mz.offset, 2 * gib);
        assert_eq!(spectra[0].mz.offset, 16);
        assert_eq!(quirks.len(), 1);

        // Small files are never touched.
        let mut small = spectra_at(&[16, 8, 4]);
        unwrap_32bit_offsets(&mut small, 1 << 20, &mut quirks);
        assert_eq!(small[2].mz.offset, 4);
    }
}
