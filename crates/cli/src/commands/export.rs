//! `imzarr export`.

use std::time::Instant;

use imzarr_export::{ExportOptions, export};
use imzarr_imzml::Compression;

use crate::cli::ExportArgs;
use crate::exit::CommandError;

pub async fn run(args: ExportArgs) -> Result<(), CommandError> {
    let started = Instant::now();
    let dataset = super::open_store(&args.store).await?;
    let options = ExportOptions {
        overwrite: args.overwrite,
        compression: if args.zlib {
            Compression::Zlib
        } else {
            Compression::None
        },
        ..ExportOptions::default()
    };
    let report = export(&dataset, &args.output, &options).await?;
    let shift = if report.coordinate_shift == [0; 3] {
        String::new()
    } else {
        format!("; coordinates shifted by {:?} to be 1-based", report.coordinate_shift)
    };
    crate::output::outln!(
        "exported {} spectra, {} points to {} and {} in {:.2} s; SHA-1 {}{shift}",
        report.spectra,
        report.points,
        report.imzml.display(),
        report.ibd.display(),
        started.elapsed().as_secs_f64(),
        report.sha1.to_uppercase()
    );
    Ok(())
}
