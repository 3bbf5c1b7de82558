//! Lazy, async random access to imzarr mass spectrometry imaging stores over any object store.
//!
//! A store opens with one GET of its root metadata, wherever it is (a local path, `file://`,
//! `s3://bucket/prefix` with the standard AWS environment variables, or any
//! [`object_store::ObjectStore`] through [`Dataset::open_store`]); each query then reads only
//! what it needs, and [`Dataset::stats`] counts the requests and bytes.
//!
//! This example runs (`cargo test -p imzarr --doc`) over a store converted from a bundled
//! fixture, pyimzML's `Example_Processed.imzML` (3 x 3 pixels):
//!
//! ```
//! # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! # let path = dir.path().join("example.imzarr");
//! # let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/imzml/pyimzml_example_processed.imzML");
//! # let output = imzarr_store::StoreLocation::from_url(path.to_str().unwrap(), true)?;
//! # imzarr_convert::convert(std::path::Path::new(fixture), output, &Default::default()).await?;
//! # let url = path.to_str().unwrap();
//! use imzarr::{Dataset, MzWindow, Pixels};
//!
//! let dataset = Dataset::open(url).await?; // one GET; "s3://bucket/sample.imzarr" works alike
//! let grid = &dataset.attributes().grid;
//! assert_eq!((grid.width, grid.height), (3, 3));
//!
//! // One spectrum, by imzML coordinates (None where no spectrum was acquired).
//! let spectrum = dataset.spectrum(1, 1).await?.expect("a spectrum at (1, 1)");
//! assert_eq!(spectrum.mz.len(), spectrum.intensity.len());
//!
//! // The ion image of a peak of it, ± 5 ppm: one value per pixel, NaN where no spectrum.
//! let peak = spectrum.mz[spectrum.mz.len() / 2];
//! let ion = dataset.ion_image(MzWindow::ppm(peak, 5.0)).await?;
//! assert_eq!(ion.image.values.len(), 9);
//! assert!(ion.points >= 1);
//!
//! // The mean spectrum of a rectangle, and the TIC image.
//! let region = Pixels::Rectangle { x: 1..3, y: 1..3 };
//! let mean = dataset.mean_spectrum(&region).await?;
//! assert_eq!(mean.spectra, 4);
//! let tic = dataset.tic().await?;
//! assert_eq!(tic.values.len(), 9);
//!
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
mod other_arrays;
mod pixel_index;
mod region;
mod sharded;
mod spectrum_terms;
mod stored_spectra;
mod types;
mod validate;

pub use blocking::BlockingDataset;
pub use dataset::Dataset;
pub use error::{ReadError, Result};
pub use imzarr_format::{ImzarrAttributes, MzWindow, OtherArrayInfo, SpectrumTermInfo, StoredTermInfo};
pub use imzarr_imzml::DataType;
pub use imzarr_store::RequestStats;
pub use other_arrays::OtherValues;
pub use region::{MeanSpectrum, Pixels};
pub use spectrum_terms::TermColumn;
pub use stored_spectra::StoredSpectra;
pub use types::{Aggregation, Image, IonImage, Spectrum};
pub use validate::{ValidationReport, validate};
