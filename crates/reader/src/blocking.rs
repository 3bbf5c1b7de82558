//! A blocking facade for callers without an async runtime: the same [`Dataset`], driven by a
//! runtime of its own.

use imzarr_format::{ImzarrAttributes, MzWindow};
use imzarr_store::RequestStats;

use crate::dataset::Dataset;
use crate::error::{ReadError, Result};
use crate::other_arrays::OtherValues;
use crate::region::{MeanSpectrum, Pixels};
use crate::spectrum_terms::TermColumn;
use crate::types::{Aggregation, Image, IonImage, Spectrum};

/// A [`Dataset`] with blocking methods. Do not use it from inside an async runtime.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("example.imzarr");
/// # let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/imzml/cardinal1_example_continuous.imzML");
/// # let output = imzarr_store::StoreLocation::from_url(path.to_str().unwrap(), true)?;
/// # tokio::runtime::Runtime::new()?.block_on(imzarr_convert::convert(std::path::Path::new(fixture), output, &Default::default()))?;
/// # let url = path.to_str().unwrap();
/// use imzarr::{BlockingDataset, MzWindow};
///
/// let dataset = BlockingDataset::open(url)?;
/// let spectrum = dataset.spectrum(2, 2)?.expect("a spectrum at (2, 2)");
/// let ion = dataset.ion_image(MzWindow::da(spectrum.mz[100], 0.5))?;
/// assert_eq!(ion.image.values.len(), 9);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct BlockingDataset {
    runtime: tokio::runtime::Runtime,
    dataset: Dataset,
}

impl BlockingDataset {
    /// Opens the store at a path or URL.
    pub fn open(url: &str) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| ReadError::Usage(format!("cannot start an async runtime: {e}")))?;
        let dataset = runtime.block_on(Dataset::open(url))?;
        Ok(Self { runtime, dataset })
    }

    /// The async dataset underneath.
    pub fn inner(&self) -> &Dataset {
        &self.dataset
    }

    /// See [`Dataset::attributes`].
    pub fn attributes(&self) -> &ImzarrAttributes {
        self.dataset.attributes()
    }

    /// See [`Dataset::stats`].
    pub fn stats(&self) -> RequestStats {
        self.dataset.stats()
    }

    /// See [`Dataset::ion_image`].
    pub fn ion_image(&self, window: MzWindow) -> Result<IonImage> {
        self.runtime.block_on(self.dataset.ion_image(window))
    }

    /// See [`Dataset::ion_images`].
    pub fn ion_images(&self, windows: &[MzWindow], aggregation: Aggregation) -> Result<Vec<IonImage>> {
        self.runtime.block_on(self.dataset.ion_images(windows, aggregation))
    }

    /// See [`Dataset::spectrum`].
    pub fn spectrum(&self, x: i64, y: i64) -> Result<Option<Spectrum>> {
        self.runtime.block_on(self.dataset.spectrum(x, y))
    }

    /// The spectra of `pixels`, collected (see [`Dataset::spectra`] for the stream).
    pub fn spectra(&self, pixels: &Pixels) -> Result<Vec<Spectrum>> {
        use futures::TryStreamExt;
        self.runtime.block_on(self.dataset.spectra(pixels).try_collect())
    }

    /// See [`Dataset::mean_spectrum`].
    pub fn mean_spectrum(&self, pixels: &Pixels) -> Result<MeanSpectrum> {
        self.runtime.block_on(self.dataset.mean_spectrum(pixels))
    }

    /// See [`Dataset::tic`].
    pub fn tic(&self) -> Result<Image> {
        self.runtime.block_on(self.dataset.tic())
    }

    /// See [`Dataset::other_values`].
    pub fn other_values(&self, key: &str, numbers: std::ops::Range<u64>) -> Result<OtherValues> {
        self.runtime.block_on(self.dataset.other_values(key, numbers))
    }

    /// See [`Dataset::term_values`].
    pub fn term_values(&self, key: &str, numbers: std::ops::Range<u64>) -> Result<TermColumn> {
        self.runtime.block_on(self.dataset.term_values(key, numbers))
    }

    /// See [`Dataset::term_image`].
    pub fn term_image(&self, key: &str) -> Result<Image> {
        self.runtime.block_on(self.dataset.term_image(key))
    }
}
