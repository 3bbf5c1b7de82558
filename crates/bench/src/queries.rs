//! The region and TIC queries of the suite, checked, shared by the local and the S3 rows.

use futures::TryStreamExt;
use imzarr::{Dataset, Image, Pixels, Spectrum};

/// Every spectrum of the 32x32 pixel rectangle the suite reads.
pub async fn region_spectra(dataset: &Dataset) -> anyhow::Result<Vec<Spectrum>> {
    let region = Pixels::Rectangle { x: 1..33, y: 1..33 };
    let spectra: Vec<Spectrum> = dataset.spectra(&region).try_collect().await?;
    anyhow::ensure!(
        spectra.len() == 32 * 32,
        "the 32x32 region has {} spectra",
        spectra.len()
    );
    Ok(spectra)
}

/// The TIC image, which must not be empty.
pub async fn tic(dataset: &Dataset) -> anyhow::Result<Image> {
    let tic = dataset.tic().await?;
    anyhow::ensure!(tic.values.iter().any(|v| *v > 0.0), "empty TIC");
    Ok(tic)
}
