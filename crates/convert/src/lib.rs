//! Converts imzML into imzarr stores (see `spec/imzarr-1.md`) on local disk or any object
//! store.
//!
//! ```no_run
//! # async fn run() -> Result<(), imzarr_convert::ConvertError> {
//! use imzarr_convert::{ConvertOptions, Input, convert};
//! use imzarr_store::StoreLocation;
//!
//! let output = StoreLocation::from_url("out/sample.imzarr", true)?;
//! let report = convert(std::path::Path::new("sample.imzML"), output, &ConvertOptions::default()).await?;
//! // Or from object storage, the .ibd beside the .imzML, read by range requests:
//! let remote = Input::from_url("s3://bucket/run/sample.imzML")?;
//! let output = StoreLocation::from_url("s3://bucket/stores/sample.imzarr", false)?;
//! convert(remote, output, &ConvertOptions::default()).await?;
//! println!("{} spectra, {} points", report.spectra, report.points);
//! # Ok(()) }
//! ```
//!
//! The store is written node by node; the root `zarr.json`, which carries the `imzarr` block
//! and the consolidated metadata, is written last, so that an interrupted conversion never
//! leaves a store that readers accept as complete.

mod blocks;
mod continuous;
mod error;
mod input;
mod layout;
mod mz_sort;
mod options;
mod other_arrays;
mod pixels;
mod processed;
mod progress;
mod root_attributes;
mod shard_encoder;
mod shard_pipeline;
mod shuffle_choice;
mod source;
mod spatial_shards;
mod spectrum_stats;
mod spectrum_terms;
mod spill;
mod store_writer;
mod tic_image;
mod transpose;

use std::sync::Arc;
use std::time::{Duration, Instant};

use imzarr_format::{SpectrumTermInfo, paths};
use imzarr_imzml::{Mode, Quirk};
use imzarr_store::{RequestStats, StoreLocation};
use serde_json::{Map, Value};

pub use error::{ConvertError, Result};
pub use input::Input;
pub use mz_sort::order_by_key;
pub use options::ConvertOptions;
pub use progress::{Phase, Progress, ProgressSnapshot};
pub use shard_encoder::ShardEncoder;
pub use source::memory_held_by;

use crate::source::Source;
use crate::store_writer::{Existing, StoreWriter};

/// What a conversion did.
#[derive(Debug, Clone)]
pub struct ConversionReport {
    /// Spectra stored.
    pub spectra: u64,
    /// Points stored.
    pub points: u64,
    /// Bytes of the input `[imzML, ibd]`.
    pub input_bytes: [u64; 2],
    /// Bytes written to the store.
    pub output_bytes: u64,
    /// Requests sent to the store.
    pub requests: RequestStats,
    /// Wall time.
    pub elapsed: Duration,
    /// Deviations from imzML that were repaired.
    pub quirks: Vec<Quirk>,
    /// Checksums verified against the `.ibd`.
    pub verified_checksums: Vec<String>,
    /// Shards kept from an interrupted conversion (`--resume`).
    pub resumed_shards: usize,
    /// Terms the spectra gave that the store does not keep (also in its root attributes).
    pub spectrum_terms_not_kept: Vec<SpectrumTermInfo>,
}

/// Converts the imzML `input` (a local file or an object, its `.ibd` beside it) into a store
/// at `output`.
pub async fn convert(
    input: impl Into<Input>,
    output: StoreLocation,
    options: &ConvertOptions,
) -> Result<ConversionReport> {
    let started = Instant::now();
    let input = input.into();
    let remote_input = matches!(input, Input::Object(_));
    options.check_memory(remote_input, 0)?;
    // One counter for the whole run, shared with whoever passed one in.
    let options = &ConvertOptions {
        progress: Some(options.progress()),
        ..options.clone()
    };
    let progress = options.progress();
    let source = Source::open(&input, options).await?;
    // The parsed input stays for the whole run: the plan hands out what is left.
    let held = source.held_bytes();
    options.check_memory(remote_input, held)?;
    let options = &options.without(held);
    let verification = source.start_verification(&input, options)?;
    // Shared with the thread that reads the spectra.
    let source = Arc::new(source);
    progress.set_total(2 * source.value_bytes());
    progress.enter(Phase::ReadingSpectra);
    let mut store = StoreWriter::new(output, options.shards_in_flight());
    let existing = match (options.resume, options.overwrite) {
        (true, _) => Existing::Resume,
        (false, true) => Existing::Overwrite,
        (false, false) => Existing::Refuse,
    };
    store
        .prepare_output(existing, &root_attributes::fingerprint(&source, options))
        .await?;

    let processed = source.imzml.header.mode == Mode::Processed;
    let (stats, channels, mz_blocks) = if processed {
        let (stats, blocks) = processed::write(&source, &mut store, options).await?;
        (stats, None, Some(blocks))
    } else {
        let (stats, channels) = continuous::write(&source, &mut store, options).await?;
        (stats, Some(channels), None)
    };
    progress.enter(Phase::Finishing);
    pixels::write(&source, &stats, processed, &mut store, options).await?;
    tic_image::write(&source, &stats, &mut store, options).await?;
    for group in [paths::PIXELS, paths::SPECTRA, paths::IMAGES] {
        store.write_group(group, Map::new()).await?;
    }
    if !source.other_kinds.is_empty() {
        store.write_group(paths::SPECTRA_OTHER, Map::new()).await?;
    }
    if !source.imzml.spectrum_terms.is_empty() {
        store.write_group(paths::PIXELS_TERMS, Map::new()).await?;
    }
    let mut mz_major = Map::new();
    if !processed {
        let pixel_size = source.imzml.header.pixel_size.as_ref().map(|p| (p.x_um, p.y_um));
        let array = paths::MZ_MAJOR_INTENSITY.trim_start_matches("mz_major/");
        mz_major.insert(
            "ome".into(),
            imzarr_format::ome_mz_cube(array, source.grid.depth > 1, pixel_size),
        );
    }
    store.write_group(paths::MZ_MAJOR, mz_major).await?;
    // The checksums must hold before the store is marked complete.
    let mut source = Arc::try_unwrap(source).map_err(|_| ConvertError::Input {
        input: input.display(),
        message: "the input is still in use by a reading thread".into(),
    })?;
    source.finish_verification(verification, options).await?;
    let attributes = root_attributes::build(&source, &stats, channels, mz_blocks, options);
    let mut root = Map::new();
    root.insert(
        "imzarr".into(),
        serde_json::to_value(&attributes).unwrap_or(Value::Null),
    );
    let counters = store.counters().clone();
    let resumed_shards = store.resumed_shards();
    store.finish(root).await?;
    let requests = counters.snapshot();
    Ok(ConversionReport {
        spectra: attributes.counts.spectra,
        points: attributes.counts.points,
        input_bytes: source.sizes,
        output_bytes: requests.bytes_written,
        requests,
        elapsed: started.elapsed(),
        quirks: source.imzml.quirks.clone(),
        verified_checksums: attributes.source.verified_checksums.clone(),
        resumed_shards,
        spectrum_terms_not_kept: attributes.source.spectrum_terms_not_kept.clone(),
    })
}
