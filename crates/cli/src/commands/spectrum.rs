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
    let number = dataset
        .spectrum_number(spectrum.x, spectrum.y, spectrum.z)
        .await?
        .map(u64::from)
        .ok_or_else(|| {
            CommandError::new(
                Failure::Internal,
                "the pixel index no longer has the spectrum it gave".to_string(),
            )
        })?;
    let others = other_values(&dataset, number).await?;
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
        let other: serde_json::Map<String, serde_json::Value> = others
            .iter()
            .map(|(key, values)| (key.clone(), json!(values)))
            .collect();
        let terms = term_values(&dataset, number).await?;
        let document = json!({"x": spectrum.x, "y": spectrum.y, "z": spectrum.z, "source_index": spectrum.source_index, "mz": spectrum.mz, "intensity": spectrum.intensity, "other": other, "terms": terms});
        crate::output::outln!("{document}");
    } else {
        let mut header = String::from("mz,intensity");
        for (key, _) in &others {
            header.push(',');
            header.push_str(key);
        }
        crate::output::outln!("{header}");
        for (i, (mz, intensity)) in spectrum.mz.iter().zip(&spectrum.intensity).enumerate() {
            let mut line = format!("{mz},{intensity}");
            for (_, values) in &others {
                line.push_str(&format!(",{}", values[i]));
            }
            crate::output::outln!("{line}");
        }
    }
    Ok(())
}

/// The values of every other binary array of the store (none for most) at the stored spectrum
/// `number`, by key, read side by side.
async fn other_values(dataset: &imzarr::Dataset, number: u64) -> Result<Vec<(String, Vec<f64>)>, CommandError> {
    let reads = dataset.other_arrays().iter().map(|info| async move {
        let values = dataset.other_values(&info.key, number..number + 1).await?;
        Ok::<_, imzarr::ReadError>((info.key.clone(), values.values(0)))
    });
    Ok(futures::future::try_join_all(reads).await?)
}

/// The value of every kept spectrum term at the stored spectrum `number`, by key: the text of
/// a term every spectrum gives alike, the number of a term with numbers (`null` where the
/// spectrum gives none).
async fn term_values(
    dataset: &imzarr::Dataset,
    number: u64,
) -> Result<serde_json::Map<String, serde_json::Value>, CommandError> {
    let reads = dataset.spectrum_terms().iter().map(|info| async move {
        let value = match dataset.term_values(&info.key, number..number + 1).await? {
            imzarr::TermColumn::Same(text) => json!(text),
            imzarr::TermColumn::Numbers(numbers) => json!(numbers.first().filter(|n| !n.is_nan())),
        };
        Ok::<_, imzarr::ReadError>((info.key.clone(), value))
    });
    Ok(futures::future::try_join_all(reads).await?.into_iter().collect())
}
