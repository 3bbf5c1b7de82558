//! Lazy, async random access to imzarr mass spectrometry imaging stores over any object store.
//!
//! ```no_run
//! # async fn run() -> Result<(), imzarr::ReadError> {
//! use imzarr::{Dataset, MzWindow};
//!
//! let dataset = Dataset::open("s3://bucket/sample.imzarr").await?; // one GET
//! let image = dataset.ion_image(MzWindow::ppm(885.55, 5.0)).await?;
//! println!("{} x {} pixels, {} points in the window", image.image.width, image.image.height, image.points);
//! if let Some(spectrum) = dataset.spectrum(10, 20).await? {
//!     println!("{} peaks", spectrum.mz.len());
//! }
//! println!("{} requests, {} bytes", dataset.stats().requests(), dataset.stats().bytes_read);
//! # Ok(()) }
//! ```
//!
//! Callers without an async runtime use [`BlockingDataset`], which drives the same code.

mod arrays;
mod blocking;
mod dataset;
mod error;
mod ion_image;
mod mz_chunk_index;
mod pixel_index;
mod region;
mod sharded;
mod stored_spectra;
mod types;
mod validate;

pub use blocking::BlockingDataset;
pub use dataset::Dataset;
pub use error::{ReadError, Result};
pub use imzarr_format::{ImzarrAttributes, MzWindow};
pub use imzarr_imzml::DataType;
pub use imzarr_store::RequestStats;
pub use region::{MeanSpectrum, Pixels};
pub use stored_spectra::StoredSpectra;
pub use types::{Aggregation, Image, IonImage, Spectrum};
pub use validate::{ValidationReport, validate};
