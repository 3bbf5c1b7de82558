//! The input of a conversion: a parsed imzML, its verified `.ibd`, the grid and the stored
//! order of its spectra.

use std::io::BufReader;

use imzarr_format::tile_major_order;
use imzarr_imzml::{
    ArrayBytes, DataType, Grid, Ibd, IbdBytes, Imzml, Mode, Quirk, SequentialBytes, parse_file_with, parse_reader,
};

use crate::input::{Input, RemoteInput};

use crate::continuous::first_unsorted;
use crate::error::{ConvertError, Result};
use crate::options::ConvertOptions;
use crate::other_arrays::{self, OtherKind};

/// Converts a continuous input whose shared m/z axis is not sorted ascending as processed:
/// every spectrum keeps its m/z values as they are, and the m/z-major layout sorts them (an
/// m/z-major cube needs channels in m/z order). Recorded as a quirk.
fn store_unsorted_axis_as_processed(imzml: &mut Imzml, ibd: &Ibd, options: &ConvertOptions) -> Result<()> {
    let first = &imzml.spectra[0];
    let mut axis = ArrayBytes {
        dtype: first.mz.dtype,
        bytes: Vec::new(),
    };
    ibd.read_array_into(first.index, "m/z", &first.mz, &mut axis)?;
    let values = axis.to_f64_vec();
    let Some(i) = first_unsorted(&values) else {
        return Ok(());
    };
    let quirk = Quirk {
        kind: "unsorted-continuous-axis".into(),
        detail: format!(
            "the shared m/z axis is not sorted ascending at channel {i} ({} then {}); stored as processed, each spectrum with its m/z values",
            values[i],
            values[i + 1]
        ),
    };
    options
        .parse
        .refuse_repairs(&imzml.path, std::slice::from_ref(&quirk))?;
    imzml.header.mode = Mode::Processed;
    imzml.quirks.push(quirk);
    Ok(())
}

/// A checksum verification running on a blocking thread.
pub(crate) type Verification = tokio::task::JoinHandle<imzarr_imzml::Result<imzarr_imzml::ChecksumOutcome>>;

/// An opened, checked input.
pub(crate) struct Source {
    pub(crate) imzml: Imzml,
    pub(crate) ibd: Ibd,
    pub(crate) grid: Grid,
    /// Indices into `imzml.spectra`, in stored (tile-major) order.
    pub(crate) order: Vec<usize>,
    /// Grid position `[x, y, z]` of each spectrum of `imzml.spectra`.
    pub(crate) positions: Vec<[u64; 3]>,
    pub(crate) mz_dtype: DataType,
    pub(crate) intensity_dtype: DataType,
    /// Kinds of the binary arrays other than m/z and intensity, in the order every spectrum's
    /// `other_arrays` are in.
    pub(crate) other_kinds: Vec<OtherKind>,
    pub(crate) verified_checksums: Vec<&'static str>,
    pub(crate) sizes: [u64; 2],
    /// Whether the `.ibd` is a local file (cheap to read again) rather than a remote object.
    local: bool,
}

/// Bytes per spectrum of the conversion's own tables: stored order, grid position,
/// statistics (TIC, point count, m/z range) and the pixel table's columns.
const TABLE_BYTES_PER_SPECTRUM: u64 = 96;

/// About the bytes that a parsed input and the conversion's per-spectrum tables hold for the
/// whole run (~230 B per spectrum: 220 MiB for a million): the converter sets them aside from
/// the memory budget before planning the rest.
pub fn memory_held_by(imzml: &Imzml) -> u64 {
    let entry = std::mem::size_of::<imzarr_imzml::SpectrumEntry>() as u64 + TABLE_BYTES_PER_SPECTRUM;
    let other_arrays: usize = imzml
        .spectra
        .iter()
        .map(|s| {
            s.other_arrays.capacity() * std::mem::size_of::<imzarr_imzml::OtherArray>()
                + s.other_arrays
                    .iter()
                    .map(|o| o.accession.capacity() + o.value.capacity())
                    .sum::<usize>()
        })
        .sum();
    imzml.spectra.len() as u64 * entry + other_arrays as u64 + crate::spectrum_terms::held_bytes(imzml)
}

impl Source {
    /// What the parsed input holds for the whole run: [`memory_held_by`].
    pub(crate) fn held_bytes(&self) -> u64 {
        memory_held_by(&self.imzml)
    }

    /// Opens a local or remote input.
    pub(crate) async fn open(input: &Input, options: &ConvertOptions) -> Result<Self> {
        match input {
            Input::Local(path) => {
                let imzml = parse_file_with(path, &options.parse)?;
                let ibd = Ibd::open_with(&imzml, &options.parse)?;
                let imzml_size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
                // Local checksums are verified beside the conversion (`start_verification`).
                Self::checked(imzml, ibd, imzml_size, true, false, options)
            }
            Input::Object(location) => {
                let remote = RemoteInput::open(location, options.input_cache_bytes()).await?;
                let imzml_size = remote.imzml.len();
                let ibd_len = remote.ibd.len();
                let xml = BufReader::with_capacity(1 << 20, SequentialBytes::new(remote.imzml));
                let imzml = parse_reader(xml, &remote.imzml_name, remote.ibd_name, ibd_len, &options.parse)?;
                let ibd = Ibd::from_bytes(&imzml, Box::new(remote.ibd), &options.parse)?;
                // A remote .ibd is verified first: a second reader beside the conversion would
                // fetch every byte twice.
                Self::checked(imzml, ibd, imzml_size, false, options.verify_checksums, options)
            }
        }
    }

    /// Checks what the converter needs of a parsed input.
    fn checked(
        mut imzml: Imzml,
        ibd: Ibd,
        imzml_size: u64,
        local: bool,
        verify: bool,
        options: &ConvertOptions,
    ) -> Result<Self> {
        let input = imzml.path.clone();
        options.parse.refuse_repairs(ibd.path(), ibd.quirks())?;
        imzml.quirks.extend_from_slice(ibd.quirks());
        let verified_checksums = if verify {
            let outcome = ibd.verify_checksums(&imzml)?;
            options.parse.refuse_repairs(ibd.path(), &outcome.quirks)?;
            imzml.quirks.extend(outcome.quirks);
            outcome.verified
        } else {
            Vec::new()
        };
        let unsupported = |message: String| ConvertError::Unsupported {
            input: input.display().to_string(),
            message,
        };
        let first = &imzml.spectra[0];
        let (mz_dtype, intensity_dtype) = (first.mz.dtype, first.intensity.dtype);
        if let Some(other) = imzml
            .spectra
            .iter()
            .find(|s| s.mz.dtype != mz_dtype || s.intensity.dtype != intensity_dtype)
        {
            return Err(unsupported(format!(
                "spectrum {} stores {:?}/{:?} while spectrum 0 stores {:?}/{:?}; mixed value types in one file are not supported",
                other.index, other.mz.dtype, other.intensity.dtype, mz_dtype, intensity_dtype
            )));
        }
        if imzml.header.mode == Mode::Continuous {
            store_unsorted_axis_as_processed(&mut imzml, &ibd, options)?;
        }
        let other_kinds = other_arrays::kinds(&mut imzml).map_err(unsupported)?;
        let grid = Grid::from_spectra(&imzml.spectra);
        if grid.width > u32::MAX as u64 || grid.height > u32::MAX as u64 || grid.depth > u32::MAX as u64 {
            return Err(unsupported("grid larger than 2^32 pixels along an axis".into()));
        }
        if imzml.spectra.len() as u64 >= u32::MAX as u64 {
            return Err(unsupported("more than 2^32 - 1 spectra".into()));
        }
        let positions: Vec<[u64; 3]> = imzml.spectra.iter().map(|s| grid.position(s)).collect();
        let order = tile_major_order(&positions, grid.width, options.tile);
        let sizes = [imzml_size, ibd.len()];
        Ok(Self {
            imzml,
            ibd,
            grid,
            order,
            positions,
            mz_dtype,
            intensity_dtype,
            other_kinds,
            verified_checksums,
            sizes,
            local,
        })
    }

    /// `[depth, height, width]` without depth for 2-D data.
    pub(crate) fn spatial_shape(&self) -> Vec<u64> {
        if self.grid.depth > 1 {
            vec![self.grid.depth, self.grid.height, self.grid.width]
        } else {
            vec![self.grid.height, self.grid.width]
        }
    }

    /// Starts verifying the checksums of a local `.ibd` on a blocking thread of its own, to run
    /// beside the conversion; `None` when there is nothing to verify now (not asked for, or a
    /// remote input verified when opened).
    pub(crate) fn start_verification(&self, input: &Input, options: &ConvertOptions) -> Result<Option<Verification>> {
        if !options.verify_checksums || !matches!(input, Input::Local(_)) {
            return Ok(None);
        }
        let ibd = Ibd::open_with(&self.imzml, &options.parse)?;
        let declared = self.imzml.header.checksums.clone();
        Ok(Some(tokio::task::spawn_blocking(move || {
            ibd.verify_declared(&declared)
        })))
    }

    /// Waits for a verification: a mismatch is an error, stale weaker checksums become quirks
    /// (errors in strict mode).
    pub(crate) async fn finish_verification(
        &mut self,
        verification: Option<Verification>,
        options: &ConvertOptions,
    ) -> Result<()> {
        let Some(verification) = verification else {
            return Ok(());
        };
        let outcome = verification.await.map_err(|e| ConvertError::Input {
            input: self.input_name(),
            message: format!("the checksum verification stopped: {e}"),
        })??;
        options.parse.refuse_repairs(self.ibd.path(), &outcome.quirks)?;
        self.imzml.quirks.extend(outcome.quirks);
        self.verified_checksums = outcome.verified;
        Ok(())
    }

    /// Whether every intensity array can be read again in parts, cheaply: the `.ibd` is a
    /// local file and the arrays are stored uncompressed.
    pub(crate) fn reads_values_in_parts(&self) -> bool {
        self.local
            && self
                .imzml
                .spectra
                .iter()
                .all(|s| s.intensity.compression == imzarr_imzml::Compression::None)
    }

    /// Bytes of the point values of every spectrum (decoded, in the source's types).
    pub(crate) fn value_bytes(&self) -> u64 {
        let point = (self.mz_dtype.size() + self.intensity_dtype.size()) as u64;
        self.imzml.spectra.iter().map(|s| s.intensity.length * point).sum()
    }

    pub(crate) fn input_name(&self) -> String {
        self.imzml.path.display().to_string()
    }
}
