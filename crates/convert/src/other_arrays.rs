//! Binary arrays other than m/z and intensity (ion mobility, signal to noise, ...): which
//! kinds the input has, checked to be the same in every spectrum, and the streams that write
//! them beside the spectrum-major intensities.

use imzarr_format::{ArraySpec, OtherArrayInfo, paths};
use imzarr_imzml::{ArrayBytes, DataType, Ibd, Imzml, SpectrumEntry, cv};

use crate::error::Result;
use crate::root_attributes::unit_info;
use crate::store_writer::{ShardStream, StoreWriter};

/// One kind of other array of the input.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OtherKind {
    /// What the root attributes say of it.
    pub(crate) info: OtherArrayInfo,
    /// Type of its values.
    pub(crate) dtype: DataType,
}

/// The other arrays of `imzml`, in the order of spectrum 0's; every spectrum's `other_arrays`
/// are put in that order. Every spectrum must have the same kinds, of the same type, each
/// with as many values as its intensity array: the message says which spectrum does not.
pub(crate) fn kinds(imzml: &mut Imzml) -> std::result::Result<Vec<OtherKind>, String> {
    let Some(first) = imzml.spectra.first() else {
        return Ok(Vec::new());
    };
    let kinds: Vec<OtherKind> = first
        .other_arrays
        .iter()
        .map(|other| OtherKind {
            info: OtherArrayInfo {
                key: OtherArrayInfo::key_for(&other.accession, &other.value),
                accession: other.accession.clone(),
                name: cv::other_array_name(&other.accession)
                    .unwrap_or("binary data array")
                    .to_string(),
                value: other.value.clone(),
                dtype: other.array.dtype.zarr_name().to_string(),
                unit: other.unit.as_ref().map(unit_info),
            },
            dtype: other.array.dtype,
        })
        .collect();
    if let Some(k) = (1..kinds.len()).find(|&k| kinds[..k].iter().any(|seen| seen.info.key == kinds[k].info.key)) {
        return Err(format!(
            "spectrum {} has two {} arrays ({})",
            first.index, kinds[k].info.accession, kinds[k].info.key
        ));
    }
    for spectrum in &mut imzml.spectra {
        order_like(spectrum, &kinds)?;
    }
    Ok(kinds)
}

/// Puts `spectrum`'s other arrays in the order of `kinds`, after checking that it has exactly
/// those, with the expected types and lengths.
fn order_like(spectrum: &mut SpectrumEntry, kinds: &[OtherKind]) -> std::result::Result<(), String> {
    let mut arrays = std::mem::take(&mut spectrum.other_arrays);
    let mut keys: Vec<String> = arrays
        .iter()
        .map(|o| OtherArrayInfo::key_for(&o.accession, &o.value))
        .collect();
    // The kinds have distinct keys: as many arrays, each kind among them, is a permutation.
    if keys.len() != kinds.len() || !kinds.iter().all(|kind| keys.contains(&kind.info.key)) {
        let expected: Vec<&str> = kinds.iter().map(|k| k.info.key.as_str()).collect();
        return Err(format!(
            "spectrum {} has the other binary arrays [{}] while the first spectrum has [{}]; every spectrum must have the same (--drop-other-arrays converts without them)",
            spectrum.index,
            keys.join(", "),
            expected.join(", ")
        ));
    }
    for kind in kinds {
        if let Some(at) = keys.iter().position(|key| *key == kind.info.key) {
            spectrum.other_arrays.push(arrays.remove(at));
            keys.remove(at);
        }
    }
    for (other, kind) in spectrum.other_arrays.iter().zip(kinds) {
        if other.array.dtype != kind.dtype {
            return Err(format!(
                "spectrum {}: its {} array holds {:?} values, the first spectrum's {:?}; mixed value types in one array are not supported",
                spectrum.index, kind.info.key, other.array.dtype, kind.dtype
            ));
        }
        let unit = other.unit.as_ref().map(|u| (u.accession.as_str(), u.name.as_str()));
        let expected = kind.info.unit.as_ref().map(|u| (u.accession.as_str(), u.name.as_str()));
        if unit != expected {
            return Err(format!(
                "spectrum {}: its {} array is in {}, the first spectrum's in {}; mixed units in one array are not supported",
                spectrum.index,
                kind.info.key,
                unit_text(unit),
                unit_text(expected)
            ));
        }
        if other.array.length != spectrum.intensity.length {
            return Err(format!(
                "spectrum {}: its {} array has {} values, its intensity array {}",
                spectrum.index, kind.info.key, other.array.length, spectrum.intensity.length
            ));
        }
    }
    Ok(())
}

/// A unit (accession, name) for messages, or "no unit".
fn unit_text(unit: Option<(&str, &str)>) -> String {
    unit.map_or_else(
        || "no unit".to_string(),
        |(accession, name)| format!("{accession} {name:?}"),
    )
}

/// The values of one spectrum's other arrays, read into buffers kept from one spectrum to the
/// next.
pub(crate) struct OtherValues {
    values: Vec<ArrayBytes>,
}

impl OtherValues {
    /// Empty buffers for `kinds`.
    pub(crate) fn new(kinds: &[OtherKind]) -> Self {
        let values = kinds
            .iter()
            .map(|kind| ArrayBytes {
                dtype: kind.dtype,
                bytes: Vec::new(),
            })
            .collect();
        Self { values }
    }

    /// Reads the other arrays of `spectrum` (in the order of the kinds, see [`kinds`]).
    pub(crate) fn read(&mut self, ibd: &Ibd, spectrum: &SpectrumEntry) -> imzarr_imzml::Result<()> {
        for (other, values) in spectrum.other_arrays.iter().zip(&mut self.values) {
            ibd.read_array_into(spectrum.index, "other binary", &other.array, values)?;
        }
        Ok(())
    }

    /// The bytes read last, a slice per kind.
    pub(crate) fn bytes(&self) -> impl Iterator<Item = &[u8]> {
        self.values.iter().map(|v| v.bytes.as_slice())
    }
}

/// Streams writing one array per kind, in the order of the kinds.
pub(crate) struct OtherStreams {
    streams: Vec<ShardStream>,
}

impl OtherStreams {
    /// Creates the array of every kind, with the spec `spec_for` gives its type.
    pub(crate) async fn create(
        store: &mut StoreWriter,
        kinds: &[OtherKind],
        spec_for: impl Fn(DataType) -> ArraySpec,
    ) -> Result<Self> {
        let mut streams = Vec::with_capacity(kinds.len());
        for kind in kinds {
            let array = store
                .create_array(&paths::other_array(&kind.info.key), spec_for(kind.dtype))
                .await?;
            streams.push(ShardStream::new(array));
        }
        Ok(Self { streams })
    }

    /// Appends `bytes` (a slice per kind) to the arrays.
    pub(crate) async fn push<'a>(
        &mut self,
        store: &mut StoreWriter,
        bytes: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<()> {
        for (stream, bytes) in self.streams.iter_mut().zip(bytes) {
            stream.push(store, bytes).await?;
        }
        Ok(())
    }

    /// Writes the last shards and checks the counts.
    pub(crate) async fn finish(self, store: &mut StoreWriter) -> Result<()> {
        for stream in self.streams {
            stream.finish(store).await?;
        }
        Ok(())
    }
}
