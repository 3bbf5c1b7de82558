//! `imzarr region`.

use futures::StreamExt;
use imzarr::Pixels;
use serde_json::json;

use crate::cli::RegionArgs;
use crate::exit::CommandError;
use crate::output::outln;

pub async fn run(args: RegionArgs) -> Result<(), CommandError> {
    let dataset = super::open_store(&args.store).await?;
    let pixels = Pixels::Rectangle { x: args.x, y: args.y };
    if args.mean {
        let mean = dataset.mean_spectrum(&pixels).await?;
        if args.json {
            outln!(
                "{}",
                json!({"spectra": mean.spectra, "mz": mean.mz, "intensity": mean.intensity})
            );
        } else {
            outln!("mz,mean_intensity");
            for (mz, intensity) in mean.mz.iter().zip(&mean.intensity) {
                outln!("{mz},{intensity}");
            }
        }
        return Ok(());
    }
    if !args.json {
        outln!("x,y,mz,intensity");
    }
    let mut spectra = std::pin::pin!(dataset.spectra(&pixels));
    while let Some(spectrum) = spectra.next().await {
        let spectrum = spectrum?;
        if args.json {
            outln!(
                "{}",
                json!({"x": spectrum.x, "y": spectrum.y, "z": spectrum.z, "source_index": spectrum.source_index, "mz": spectrum.mz, "intensity": spectrum.intensity})
            );
        } else {
            for (mz, intensity) in spectrum.mz.iter().zip(&spectrum.intensity) {
                outln!("{},{},{mz},{intensity}", spectrum.x, spectrum.y);
            }
        }
    }
    Ok(())
}
