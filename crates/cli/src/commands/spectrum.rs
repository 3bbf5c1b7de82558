//! `imzarr spectrum`.

use imzarr::Dataset;
use serde_json::json;

use crate::cli::SpectrumArgs;
use crate::exit::{CommandError, Failure};

pub async fn run(args: SpectrumArgs) -> Result<(), CommandError> {
    let dataset = Dataset::open(&args.store).await?;
    let spectrum = dataset.spectrum(args.x, args.y).await?.ok_or_else(|| {
        CommandError::new(
            Failure::Input,
            format!("no spectrum was acquired at x={}, y={}", args.x, args.y),
        )
    })?;
    if args.json {
        let document = json!({"x": spectrum.x, "y": spectrum.y, "z": spectrum.z, "source_index": spectrum.source_index, "mz": spectrum.mz, "intensity": spectrum.intensity});
        crate::output::outln!("{document}");
    } else {
        crate::output::outln!("mz,intensity");
        for (mz, intensity) in spectrum.mz.iter().zip(&spectrum.intensity) {
            crate::output::outln!("{mz},{intensity}");
        }
    }
    Ok(())
}
