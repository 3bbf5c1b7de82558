//! A blocking facade for callers without an async runtime: the same [`Dataset`], driven by a
//! runtime of its own.

use imzarr_format::{ImzarrAttributes, MzWindow};
use imzarr_store::RequestStats;

use crate::dataset::Dataset;
use crate::error::{ReadError, Result};
use crate::region::{MeanSpectrum, Pixels};
use crate::types::{Aggregation, Image, IonImage, Spectrum};

/// A [`Dataset`] with blocking methods. Do not use it from inside an async runtime.
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
}
