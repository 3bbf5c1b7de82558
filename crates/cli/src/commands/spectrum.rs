//! `imzarr spectrum`.

use serde_json::json;

use crate::cli::SpectrumArgs;
use crate::exit::{CommandError, Failure};

pub async fn run(args: SpectrumArgs) -> Result<(), CommandError> {
    let dataset = super::open_store(&args.store).await?;
    let spectrum = dataset.spectrum(args.x, args.y).await?.ok_or_else(|| {
        CommandError::new(
            Failure::Input,
            format!("no spectrum was acquired at x={}, y={}", args.x, args.y),
        )
    })?;
    if let Some(path) = &args.output {
        crate::render::write_spectrum_png(path, &spectrum.mz, &spectrum.intensity)
            .map_err(|e| CommandError::new(Failure::Io, format!("{}: {e}", path.display())))?;
        crate::output::outln!(
            "{}: spectrum at x={}, y={}, {} points",
            path.display(),
            spectrum.x,
            spectrum.y,
            spectrum.mz.len()
        );
    } else if args.json {
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
