//! `imzarr convert`: one file into one store, or an archive into many.

mod inputs;
mod progress_display;
mod remote_listing;

use std::sync::Arc;
use std::time::Instant;

use imzarr_convert::{ConversionReport, ConvertError, ConvertOptions, Input, Progress, convert};
use imzarr_format::Codec;
use imzarr_imzml::{Limits, ParseOptions};
use imzarr_store::StoreLocation;

use crate::cli::{CodecName, ConvertArgs};
use crate::exit::{CommandError, Failure};
use crate::output::outln;
use inputs::{Job, Plan};
use progress_display::ProgressDisplay;

pub async fn run(args: ConvertArgs) -> Result<(), CommandError> {
    let options = options(&args);
    let mut inputs = args
        .paths
        .split_last()
        .map_or(Vec::new(), |(_, inputs)| inputs.to_vec());
    if let Some(manifest) = &args.manifest {
        inputs.extend(inputs::manifest_lines(manifest)?);
    }
    let listed = remote_listing::list_prefixes(&inputs).await?;
    match inputs::plan(&args, &listed)? {
        Plan::Single(job) => match convert_one(&job, &options).await {
            Ok(report) => {
                print_report(&job, &report);
                Ok(())
            }
            Err(ConvertError::Exists { .. }) if args.resume => {
                outln!("{}: already complete", job.output);
                Ok(())
            }
            Err(error) => Err(error.into()),
        },
        Plan::Batch(jobs) => run_batch(&jobs, &options).await,
    }
}

fn options(args: &ConvertArgs) -> ConvertOptions {
    let codec = match args.codec {
        CodecName::Lz4 => Codec::BloscLz4 { level: args.level },
        CodecName::Zstd => Codec::BloscZstd { level: args.level },
        CodecName::Pcodec => Codec::Pcodec { level: args.level },
    };
    ConvertOptions {
        codec,
        mz_chunk_points: args.mz_chunk_points.max(1),
        shard_bytes: args.shard_mib.max(1) << 20,
        verify_checksums: !args.no_verify,
        overwrite: args.overwrite,
        resume: args.resume,
        memory_bytes: args.memory.max(16) << 20,
        temp_dir: args.temp_dir.clone(),
        parse: ParseOptions {
            limits: Limits::default(),
            strict: args.strict,
            allow_duplicate_pixels: args.allow_duplicate_pixels,
            allow_uuid_mismatch: args.allow_uuid_mismatch,
            drop_other_arrays: args.drop_other_arrays,
        },
        ..ConvertOptions::default()
    }
}

async fn convert_one(job: &Job, options: &ConvertOptions) -> Result<ConversionReport, ConvertError> {
    // Inputs with a URL scheme (s3://bucket/x.imzML) are read from object storage.
    let input = Input::from_url(&job.input.to_string_lossy())?;
    let output = StoreLocation::from_url(&job.output, true)?;
    let progress = Arc::new(Progress::default());
    let options = ConvertOptions {
        progress: Some(progress.clone()),
        ..options.clone()
    };
    let _display = ProgressDisplay::start(input.display(), progress);
    convert(input, output, &options).await
}

fn print_report(job: &Job, report: &ConversionReport) {
    let input_bytes = report.input_bytes[0] + report.input_bytes[1];
    let seconds = report.elapsed.as_secs_f64();
    for quirk in &report.quirks {
        eprintln!("{}: repaired: {}: {}", job.input.display(), quirk.kind, quirk.detail);
    }
    if !report.spectrum_terms_not_kept.is_empty() {
        let terms: Vec<String> = report
            .spectrum_terms_not_kept
            .iter()
            .map(|t| format!("{} {} ({}x)", t.accession, t.name, t.occurrences))
            .collect();
        eprintln!(
            "{}: per-spectrum terms not stored: {}",
            job.input.display(),
            terms.join(", ")
        );
    }
    let mut resumed = if report.resumed_shards > 0 {
        format!("; {} shards kept from the interrupted run", report.resumed_shards)
    } else {
        String::new()
    };
    if !report.quirks.is_empty() {
        resumed.push_str(&format!("; {} quirks repaired (listed above)", report.quirks.len()));
    }
    outln!(
        "converted {} spectra, {} points: {:.1} MB in, {:.1} MB out (ratio {:.2}), {:.2} s, {:.1} MB/s; checksums verified: {}{resumed}",
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
}

/// Converts every job, skipping complete stores; one failure does not stop the others.
async fn run_batch(jobs: &[Job], options: &ConvertOptions) -> Result<(), CommandError> {
    let started = Instant::now();
    let (mut converted, mut skipped, mut failed) = (0usize, 0usize, Vec::new());
    let (mut bytes_in, mut bytes_out, mut quirks) = (0u64, 0u64, 0usize);
    for (i, job) in jobs.iter().enumerate() {
        outln!("[{}/{}] {} -> {}", i + 1, jobs.len(), job.input.display(), job.output);
        match convert_one(job, options).await {
            Ok(report) => {
                print_report(job, &report);
                converted += 1;
                bytes_in += report.input_bytes.iter().sum::<u64>();
                bytes_out += report.output_bytes;
                quirks += report.quirks.len();
            }
            Err(ConvertError::Exists { .. }) => {
                outln!("skipped: the store is already complete");
                skipped += 1;
            }
            Err(error) => {
                eprintln!("failed: {error}");
                failed.push((job, error));
            }
        }
    }
    outln!(
        "summary: {converted} converted, {skipped} skipped (already complete), {} failed; {:.1} MB in, {:.1} MB out, {:.1} s; {quirks} quirks repaired",
        failed.len(),
        bytes_in as f64 / 1e6,
        bytes_out as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    for (job, error) in &failed {
        outln!("failed: {}: {error}", job.input.display());
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(CommandError::new(
            Failure::Partial,
            format!("{} of {} conversions failed (listed above)", failed.len(), jobs.len()),
        ))
    }
}
