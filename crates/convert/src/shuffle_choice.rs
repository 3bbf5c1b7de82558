//! The byte or bit shuffle of the intensity arrays, chosen on a sample of the input. Neither
//! wins everywhere: on the real fixtures bit shuffle stores the intensities of some files
//! 6-18% smaller (noisy values whose high bits repeat) and those of others up to 50% larger
//! (runs of zeros, which byte shuffle keeps as runs). So each file gets the one that
//! compresses a sample of its own intensities better, as blosc-lz4 would store them.

use imzarr_format::{ArraySpec, Codec, Shuffle};
use imzarr_imzml::{ArrayBytes, DataType};

use crate::error::Result;
use crate::layout;
use crate::shard_encoder::ShardEncoder;
use crate::source::Source;

/// Bytes of intensities compressed both ways.
const SAMPLE_BYTES: usize = 1 << 20;

/// Runs of consecutive spectra (in file order) that make the sample, spread over the file: a
/// few contiguous reads, cheap from object storage too, and not only the first pixels (often
/// off the tissue).
const SAMPLE_RUNS: usize = 4;

/// Bit shuffle is chosen only when it compresses the sample at least this much smaller.
const BIT_SHUFFLE_MARGIN: f64 = 0.02;

/// The shuffle for the intensity arrays of `source`, inner chunks of `chunk_elements` values
/// (none to choose, and nothing read, when `codec` is not blosc).
pub(crate) fn intensity_shuffle(source: &Source, chunk_elements: u64, codec: Codec) -> Result<Shuffle> {
    if !codec.is_blosc() {
        return Ok(Shuffle::default());
    }
    let sample = intensity_sample(source)?;
    Ok(better_shuffle(&sample, source.intensity_dtype, chunk_elements, codec))
}

/// Up to [`SAMPLE_BYTES`] of intensities: all of them, in stored order, when they fit (the
/// choice is then exact for the spectrum-major array); else [`SAMPLE_RUNS`] runs of spectra
/// spread over the file.
fn intensity_sample(source: &Source) -> Result<Vec<u8>> {
    let spectra = &source.imzml.spectra;
    let mut sample = Vec::with_capacity(SAMPLE_BYTES);
    let mut values = ArrayBytes {
        dtype: source.intensity_dtype,
        bytes: Vec::new(),
    };
    let size = source.intensity_dtype.size() as u64;
    let total: u64 = spectra.iter().map(|s| s.intensity.length.saturating_mul(size)).sum();
    if total <= SAMPLE_BYTES as u64 {
        for &index in &source.order {
            let entry = &spectra[index];
            source
                .ibd
                .read_array_into(entry.index, "intensity", &entry.intensity, &mut values)?;
            sample.extend_from_slice(&values.bytes);
        }
        return Ok(sample);
    }
    let per_run = SAMPLE_BYTES / SAMPLE_RUNS;
    let mut next = 0;
    for run in 0..SAMPLE_RUNS {
        next = next.max(spectra.len() * (2 * run + 1) / (2 * SAMPLE_RUNS));
        let goal = sample.len() + per_run;
        while sample.len() < goal && next < spectra.len() {
            let entry = &spectra[next];
            source
                .ibd
                .read_array_into(entry.index, "intensity", &entry.intensity, &mut values)?;
            let take = values.bytes.len().min(goal - sample.len());
            sample.extend_from_slice(&values.bytes[..take]);
            next += 1;
        }
    }
    Ok(sample)
}

/// The shuffle that stores `sample` (little-endian values of `dtype`) smaller in inner
/// chunks of `chunk_elements` values with `codec`; byte shuffle unless bit shuffle is at least
/// [`BIT_SHUFFLE_MARGIN`] smaller, or when the sample is empty.
pub(crate) fn better_shuffle(sample: &[u8], dtype: DataType, chunk_elements: u64, codec: Codec) -> Shuffle {
    let element = dtype.size();
    let elements = (sample.len() / element) as u64;
    let chunk = chunk_elements.clamp(1, elements.max(1));
    let whole = elements / chunk * chunk;
    if whole == 0 {
        return Shuffle::Byte;
    }
    let name = dtype.zarr_name();
    let compressed = |shuffle: Shuffle| -> std::result::Result<usize, String> {
        let spec = ArraySpec::new(
            vec![whole],
            name,
            vec![chunk],
            vec![whole / chunk],
            layout::zero(name),
            vec!["point"],
            codec,
        )
        .with_shuffle(shuffle);
        let encoded = ShardEncoder::from_spec(&spec)?.encode(&sample[..whole as usize * element])?;
        Ok(encoded.len())
    };
    match (compressed(Shuffle::Byte), compressed(Shuffle::Bit)) {
        (Ok(byte), Ok(bit)) if (bit as f64) < byte as f64 * (1.0 - BIT_SHUFFLE_MARGIN) => Shuffle::Bit,
        _ => Shuffle::Byte,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use imzarr_imzml::synthetic::SplitMix64;

    fn f32_bytes(values: impl Iterator<Item = f32>) -> Vec<u8> {
        values.flat_map(f32::to_le_bytes).collect()
    }

    #[test]
    fn noisy_values_get_bit_shuffle_and_runs_of_zeros_byte_shuffle() {
        let codec = Codec::default();
        let mut rng = SplitMix64::new(7);
        let noisy = f32_bytes((0..100_000).map(|_| 1.0 + rng.next_f64() as f32 * 999.0));
        assert_eq!(better_shuffle(&noisy, DataType::F32, 8192, codec), Shuffle::Bit);
        // A sparse profile: mostly zeros, a peak of a few channels now and then.
        let sparse = f32_bytes((0..100_000).map(|i| if i % 97 < 3 { (i % 1013) as f32 * 3.5 } else { 0.0 }));
        assert_eq!(better_shuffle(&sparse, DataType::F32, 8192, codec), Shuffle::Byte);
    }

    #[test]
    fn samples_too_small_for_a_choice_keep_byte_shuffle() {
        assert_eq!(
            better_shuffle(&[], DataType::F32, 8192, Codec::default()),
            Shuffle::Byte
        );
        assert_eq!(
            better_shuffle(&[1, 2, 3], DataType::F32, 8192, Codec::default()),
            Shuffle::Byte
        );
    }
}
