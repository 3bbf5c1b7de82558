//! `imzarr ion-image`.

use std::path::{Path, PathBuf};

use imzarr::{Aggregation, MzWindow};

use crate::cli::{AggregationName, IonImageArgs};
use crate::exit::{CommandError, Failure};
use crate::render;

pub async fn run(args: IonImageArgs) -> Result<(), CommandError> {
    let windows: Vec<MzWindow> = match (args.ppm, args.da) {
        (Some(ppm), None) => args.mz.iter().map(|&mz| MzWindow::ppm(mz, ppm)).collect(),
        (None, Some(da)) => args.mz.iter().map(|&mz| MzWindow::da(mz, da)).collect(),
        _ => {
            return Err(CommandError::new(
                Failure::Input,
                "give the window half-width with --ppm or --da",
            ));
        }
    };
    let dataset = super::open_store(&args.store).await?;
    let opened = dataset.stats();
    let aggregation = match args.aggregation {
        AggregationName::Sum => Aggregation::Sum,
        AggregationName::Max => Aggregation::Max,
    };
    let images = dataset.ion_images(&windows, aggregation).await?;
    let used = dataset.stats().since(&opened);
    for (image, &mz) in images.iter().zip(&args.mz) {
        let path = if images.len() > 1 {
            with_mz_suffix(&args.image.output, mz)
        } else {
            args.image.output.clone()
        };
        render::write_image(&path, &image.image, args.image.percentile)?;
        let covered = image.mz_covered.map_or("no points".to_string(), |[low, high]| {
            format!("points at m/z {low:.6}..{high:.6}")
        });
        crate::output::outln!(
            "{}: m/z {:.6}..{:.6}, {} points ({covered})",
            path.display(),
            image.window.low,
            image.window.high,
            image.points
        );
    }
    if args.image.stats {
        super::print_request_stats(&opened, &used);
    }
    Ok(())
}

fn with_mz_suffix(path: &Path, mz: f64) -> PathBuf {
    let stem = path.file_stem().unwrap_or_default().to_string_lossy();
    let extension = path
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    path.with_file_name(format!("{stem}_{mz}{extension}"))
}
