//! `imzarr convert`.

use imzarr_convert::{ConvertOptions, convert};
use imzarr_format::Codec;
use imzarr_imzml::{Limits, ParseOptions};
use imzarr_store::StoreLocation;

use crate::cli::{CodecName, ConvertArgs};
use crate::exit::CommandError;

pub async fn run(args: ConvertArgs) -> Result<(), CommandError> {
    let codec = match args.codec {
        CodecName::Lz4 => Codec::BloscLz4 { level: args.level },
        CodecName::Zstd => Codec::BloscZstd { level: args.level },
    };
    let options = ConvertOptions {
        codec,
        mz_chunk_points: args.mz_chunk_points.max(1),
        verify_checksums: !args.no_verify,
        overwrite: args.overwrite,
        memory_bytes: args.memory << 20,
        parse: ParseOptions {
            limits: Limits::default(),
            strict: args.strict,
            allow_duplicate_pixels: args.allow_duplicate_pixels,
        },
        ..ConvertOptions::default()
    };
    let output = StoreLocation::from_url(&args.output, true)?;
    let report = convert(&args.input, output, &options).await?;
    let input_bytes = report.input_bytes[0] + report.input_bytes[1];
    let seconds = report.elapsed.as_secs_f64();
    for quirk in &report.quirks {
        eprintln!("repaired: {}: {}", quirk.kind, quirk.detail);
    }
    crate::output::outln!(
        "converted {} spectra, {} points: {:.1} MB in, {:.1} MB out (ratio {:.2}), {:.2} s, {:.1} MB/s; checksums verified: {}",
        report.spectra,
        report.points,
        input_bytes as f64 / 1e6,
        report.output_bytes as f64 / 1e6,
        report.output_bytes as f64 / input_bytes.max(1) as f64,
        seconds,
        input_bytes as f64 / 1e6 / seconds.max(1e-9),
        if report.verified_checksums.is_empty() {
            "none declared".to_string()
        } else {
            report.verified_checksums.join(", ")
        }
    );
    Ok(())
}
