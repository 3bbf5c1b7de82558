//! Synthetic imzML datasets for tests and benchmarks: spatial patterns, peaks, noise, every
//! dtype and both modes, written in a streaming way (any size in constant memory).
//!
//! The data are deterministic for a given seed, and noisy enough to be as hard to compress as
//! real data.

use std::path::Path;

use crate::dtype::{ArrayBytes, Compression, DataType};
use crate::error::Result;
use crate::model::{Mode, SpectrumType, Unit};
use crate::spectrum_terms::TermPlace;
use crate::term_xml::{SpectrumTermKind, format_term_number};
use crate::writer::{ImzmlWriter, OtherArrayKind, SpectrumArrays, WriterOptions, WrittenFiles};

/// Describes a synthetic dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticSpec {
    /// Grid width in pixels.
    pub width: u64,
    /// Grid height in pixels.
    pub height: u64,
    /// Continuous (profile, shared axis) or processed (centroid peak lists).
    pub mode: Mode,
    /// Channels of the shared axis (continuous) or mean peaks per spectrum (processed).
    pub points_per_spectrum: usize,
    /// m/z value type.
    pub mz_dtype: DataType,
    /// Intensity value type.
    pub intensity_dtype: DataType,
    /// Array compression in the `.ibd`.
    pub compression: Compression,
    /// Every n-th pixel is left without a spectrum (0: none left out).
    pub skip_every: u64,
    /// Random seed.
    pub seed: u64,
    /// Binary arrays every spectrum has besides m/z and intensity (random values between 0
    /// and 2, drawn from a random stream of their own so that m/z and intensities are the
    /// same with and without them).
    pub other_arrays: Vec<OtherArrayKind>,
    /// Terms the spectra give besides their position. Term `k` of the n-th spectrum written
    /// (from 0): for odd `k` the same text `value k` in every spectrum; for even `k` the number
    /// `n / 4 + k` (term 4 with three fraction digits, `4.250`), left out where
    /// `(n + k) % 5 == 4`.
    pub spectrum_terms: Vec<SpectrumTermKind>,
}

impl SyntheticSpec {
    /// A small processed centroid dataset.
    pub fn small_processed() -> Self {
        Self {
            width: 12,
            height: 9,
            mode: Mode::Processed,
            points_per_spectrum: 60,
            mz_dtype: DataType::F64,
            intensity_dtype: DataType::F32,
            compression: Compression::None,
            skip_every: 7,
            seed: 1,
            other_arrays: Vec::new(),
            spectrum_terms: Vec::new(),
        }
    }

    /// A small continuous profile dataset.
    pub fn small_continuous() -> Self {
        Self {
            mode: Mode::Continuous,
            points_per_spectrum: 300,
            mz_dtype: DataType::F32,
            ..Self::small_processed()
        }
    }

    /// The small dataset of `mode`: [`Self::small_processed`] or [`Self::small_continuous`].
    pub fn small(mode: Mode) -> Self {
        match mode {
            Mode::Processed => Self::small_processed(),
            Mode::Continuous => Self::small_continuous(),
        }
    }

    /// Approximate size of the `.ibd` this spec produces, in bytes.
    pub fn approximate_ibd_bytes(&self) -> u64 {
        let spectra = self.width * self.height;
        let points = self.points_per_spectrum as u64;
        match self.mode {
            Mode::Continuous => {
                points * self.mz_dtype.size() as u64 + spectra * points * self.intensity_dtype.size() as u64
            }
            Mode::Processed => spectra * points * (self.mz_dtype.size() + self.intensity_dtype.size()) as u64,
        }
    }
}

/// A small, fast, deterministic generator (SplitMix64).
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// Seeds the generator.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

const MZ_LOW: f64 = 100.0;
const MZ_HIGH: f64 = 1000.0;

/// Three kinds of other binary arrays in three types, for tests: a mean inverse reduced ion
/// mobility array (f32, in volt-second per square centimeter), a non-standard data array whose
/// name needs escaping in XML and replacing in a key (f64), and a charge array (i16).
pub fn sample_other_arrays() -> Vec<OtherArrayKind> {
    vec![
        OtherArrayKind {
            accession: "MS:1003006".into(),
            value: String::new(),
            dtype: DataType::F32,
            unit: Some(Unit {
                accession: "MS:1002814".into(),
                name: "volt-second per square centimeter".into(),
            }),
        },
        OtherArrayKind {
            accession: "MS:1000786".into(),
            value: "peak width (FWHM) & <n>".into(),
            dtype: DataType::F64,
            unit: None,
        },
        OtherArrayKind {
            accession: "MS:1000516".into(),
            value: String::new(),
            dtype: DataType::I16,
            unit: None,
        },
    ]
}

/// Spectrum terms in every element a store keeps them from, with and without units, as
/// cvParams and userParams (with and without a `type`): numbers with gaps, one of them in
/// fixed-point notation, and constants (see [`SyntheticSpec::spectrum_terms`]).
pub fn sample_spectrum_terms() -> Vec<SpectrumTermKind> {
    let term = |accession: &str, name: &str, unit: Option<(&str, &str)>, place| SpectrumTermKind {
        accession: accession.into(),
        name: name.into(),
        unit: unit.map(|(accession, name)| Unit {
            accession: accession.into(),
            name: name.into(),
        }),
        value_type: None,
        place,
    };
    let typed = |kind: SpectrumTermKind, value_type: &str| SpectrumTermKind {
        value_type: Some(value_type.into()),
        ..kind
    };
    vec![
        term(
            "MS:1000016",
            "scan start time",
            Some(("UO:0000031", "minute")),
            TermPlace::Scan,
        ),
        typed(
            term("userParam", "laser & <shots>", None, TermPlace::Scan),
            "xsd:string",
        ),
        term(
            "MS:1000501",
            "scan window lower limit",
            Some(("MS:1000040", "m/z")),
            TermPlace::ScanWindow,
        ),
        term("MS:1000512", "filter string", None, TermPlace::Spectrum),
        typed(
            term(
                "userParam",
                "stage temperature",
                Some(("UO:0000027", "degree Celsius")),
                TermPlace::ScanList,
            ),
            "xsd:float",
        ),
    ]
}

/// The value of term `k` of the `n`-th spectrum written ([`SyntheticSpec::spectrum_terms`]):
/// term 4 has its numbers with three fraction digits (`4.250`), as some writers give them.
fn synthetic_term_value(k: usize, n: usize) -> Option<String> {
    if k % 2 == 1 {
        Some(format!("value {k}"))
    } else if (n + k) % 5 == 4 {
        None
    } else {
        let decimals = (k == 4).then_some(3);
        Some(format_term_number(n as f64 / 4.0 + k as f64, decimals))
    }
}

/// Writes the dataset to `path` (an `.imzML`; the `.ibd` goes beside it).
pub fn write_synthetic(path: impl AsRef<Path>, spec: &SyntheticSpec) -> Result<WrittenFiles> {
    let spectrum_type = match spec.mode {
        Mode::Continuous => SpectrumType::Profile,
        Mode::Processed => SpectrumType::Centroid,
    };
    let options = WriterOptions {
        mode: spec.mode,
        spectrum_type,
        mz_dtype: spec.mz_dtype,
        intensity_dtype: spec.intensity_dtype,
        compression: spec.compression,
        pixel_size_um: Some(20.0),
        other_arrays: spec.other_arrays.clone(),
        spectrum_terms: spec.spectrum_terms.clone(),
        ..WriterOptions::default()
    };
    let mut writer = ImzmlWriter::create(path, options)?;
    let mut rng = SplitMix64::new(spec.seed);
    let mut other_rng = SplitMix64::new(spec.seed ^ 0x5eed_0f07_4e55);
    let mut others: Vec<ArrayBytes> = Vec::with_capacity(spec.other_arrays.len());
    let species: Vec<f64> = (0..64).map(|_| MZ_LOW + rng.next_f64() * (MZ_HIGH - MZ_LOW)).collect();
    let shared_axis = continuous_axis(spec);
    let mut mz = Vec::with_capacity(spec.points_per_spectrum * 2);
    let mut intensity = Vec::with_capacity(spec.points_per_spectrum * 2);
    let mut pixel = 0u64;
    let mut written = 0usize;
    for y in 1..=spec.height {
        for x in 1..=spec.width {
            pixel += 1;
            if spec.skip_every > 0 && pixel.is_multiple_of(spec.skip_every) {
                continue;
            }
            let weight = spatial_weight(x, y, spec);
            mz.clear();
            intensity.clear();
            match spec.mode {
                Mode::Continuous => {
                    for &m in &shared_axis {
                        let signal: f64 = species
                            .iter()
                            .take(8)
                            .map(|&s| gaussian(m, s, 0.05) * 500.0 * weight)
                            .sum();
                        intensity.push(quantize(signal + rng.next_f64() * 20.0, spec.intensity_dtype));
                    }
                    mz.extend_from_slice(&shared_axis);
                }
                Mode::Processed => {
                    let jitter = (rng.next_u64() % 5) as usize;
                    let count = spec.points_per_spectrum.saturating_sub(2) + jitter;
                    for i in 0..count {
                        let value = match species.get(i) {
                            Some(&s) if i < 16 => s + (rng.next_f64() - 0.5) * 1e-4,
                            _ => MZ_LOW + rng.next_f64() * (MZ_HIGH - MZ_LOW),
                        };
                        mz.push(quantize(value, spec.mz_dtype));
                    }
                    mz.sort_by(f64::total_cmp);
                    for _ in 0..count {
                        intensity.push(quantize(1.0 + rng.next_f64() * 1000.0 * weight, spec.intensity_dtype));
                    }
                }
            }
            let mz_bytes = ArrayBytes::from_f64(spec.mz_dtype, &mz);
            let intensity_bytes = ArrayBytes::from_f64(spec.intensity_dtype, &intensity);
            others.clear();
            for kind in &spec.other_arrays {
                let values: Vec<f64> = (0..mz.len())
                    .map(|_| quantize(other_rng.next_f64() * 2.0, kind.dtype))
                    .collect();
                others.push(ArrayBytes::from_f64(kind.dtype, &values));
            }
            let terms: Vec<Option<String>> = (0..spec.spectrum_terms.len())
                .map(|k| synthetic_term_value(k, written))
                .collect();
            written += 1;
            let arrays = SpectrumArrays {
                mz: &mz_bytes,
                intensity: &intensity_bytes,
                others: &others,
                terms: &terms,
            };
            writer.write_spectrum(x, y, None, arrays)?;
        }
    }
    writer.finish()
}

/// Writes a few small spectra (f64 m/z, f32 intensities) at the given `(x, y)` positions
/// only, in that order: grids that are mostly empty, as when spectra lie far apart.
pub fn write_at_positions(path: impl AsRef<Path>, mode: Mode, positions: &[(u64, u64)]) -> Result<WrittenFiles> {
    let (spectrum_type, channels) = match mode {
        Mode::Continuous => (SpectrumType::Profile, 24),
        Mode::Processed => (SpectrumType::Centroid, 0),
    };
    let options = WriterOptions {
        mode,
        spectrum_type,
        ..WriterOptions::default()
    };
    let mut writer = ImzmlWriter::create(path, options)?;
    let mut rng = SplitMix64::new(positions.len() as u64);
    let axis: Vec<f64> = (0..channels).map(|i| MZ_LOW + i as f64 * 7.5).collect();
    for &(x, y) in positions {
        let mut mz = axis.clone();
        if mode == Mode::Processed {
            let count = 3 + rng.next_u64() % 20;
            mz = (0..count)
                .map(|_| MZ_LOW + rng.next_f64() * (MZ_HIGH - MZ_LOW))
                .collect();
            mz.sort_by(f64::total_cmp);
        }
        let intensity: Vec<f64> = mz
            .iter()
            .map(|_| quantize(rng.next_f64() * 1000.0, DataType::F32))
            .collect();
        let mz_bytes = ArrayBytes::from_f64(DataType::F64, &mz);
        let intensity_bytes = ArrayBytes::from_f64(DataType::F32, &intensity);
        writer.write_spectrum(x, y, None, SpectrumArrays::new(&mz_bytes, &intensity_bytes))?;
    }
    writer.finish()
}

fn continuous_axis(spec: &SyntheticSpec) -> Vec<f64> {
    if spec.mode != Mode::Continuous {
        return Vec::new();
    }
    let n = spec.points_per_spectrum.max(1);
    let step = (MZ_HIGH - MZ_LOW) / n as f64;
    (0..n)
        .map(|i| quantize(MZ_LOW + i as f64 * step, spec.mz_dtype))
        .collect()
}

/// A blob in the middle and a gradient, so that ion images have structure.
fn spatial_weight(x: u64, y: u64, spec: &SyntheticSpec) -> f64 {
    let cx = spec.width as f64 / 2.0;
    let cy = spec.height as f64 / 2.0;
    let r2 = ((x as f64 - cx).powi(2) + (y as f64 - cy).powi(2)) / (cx * cx + cy * cy).max(1.0);
    0.2 + (-4.0 * r2).exp() + x as f64 / spec.width as f64 * 0.3
}

fn gaussian(x: f64, mean: f64, sigma: f64) -> f64 {
    (-((x - mean) / sigma).powi(2) / 2.0).exp()
}

/// Rounds to what `dtype` can hold, so that the written values are exactly the generated ones.
fn quantize(value: f64, dtype: DataType) -> f64 {
    let mut bytes = Vec::with_capacity(8);
    dtype.write_f64(value, &mut bytes);
    dtype.read_f64(&bytes)
}
