//! The `imzarr` attribute block of the root group, from the source and what was written.

use imzarr_format::{
    AcquisitionMode, ConversionInfo, Counts, DtypeNames, FORMAT_NAME, FORMAT_VERSION, GridInfo, ImzarrAttributes,
    MzIndexBlocks, MzIndexInfo, PixelOrder, PixelSizeInfo, SourceInfo, SpectrumTermInfo, UnitInfo,
};
use imzarr_imzml::{Mode, Polarity, SpectrumType, Unit, numbers::format_uuid};
use serde_json::{Map, Value, json};

use crate::options::ConvertOptions;
use crate::source::Source;
use crate::spectrum_stats::SpectrumStats;
use crate::spectrum_terms;

pub(crate) fn build(
    source: &Source,
    stats: &SpectrumStats,
    channels: Option<u64>,
    mz_blocks: Option<MzIndexBlocks>,
    options: &ConvertOptions,
) -> ImzarrAttributes {
    let header = &source.imzml.header;
    let mode = match header.mode {
        Mode::Continuous => AcquisitionMode::Continuous,
        Mode::Processed => AcquisitionMode::Processed,
    };
    let file_name = |p: &std::path::Path| {
        p.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let mut checksums = Map::new();
    for (name, value) in [
        ("md5", &header.checksums.md5),
        ("sha1", &header.checksums.sha1),
        ("sha256", &header.checksums.sha256),
    ] {
        if let Some(value) = value {
            checksums.insert(name.into(), Value::String(value.clone()));
        }
    }
    ImzarrAttributes {
        format: FORMAT_NAME.into(),
        version: FORMAT_VERSION.into(),
        mode,
        spectrum_type: header.spectrum_type.map(|t| match t {
            SpectrumType::Centroid => "centroid".into(),
            SpectrumType::Profile => "profile".into(),
        }),
        polarity: header.polarity.map(|p| match p {
            Polarity::Positive => "positive".into(),
            Polarity::Negative => "negative".into(),
        }),
        grid: GridInfo {
            width: source.grid.width,
            height: source.grid.height,
            depth: source.grid.depth,
            origin: source.grid.origin,
            pixel_size: header.pixel_size.as_ref().map(|p| PixelSizeInfo {
                x: p.x_um,
                y: p.y_um,
                unit: "micrometer".into(),
            }),
        },
        pixel_order: PixelOrder {
            kind: "tile-major".into(),
            tile: [options.tile.tile_width, options.tile.tile_height],
        },
        counts: Counts {
            spectra: source.order.len() as u64,
            points: stats.point_count.iter().sum(),
            channels,
        },
        mz_range: stats.mz_range(),
        dtypes: DtypeNames {
            mz: source.mz_dtype.zarr_name().into(),
            intensity: source.intensity_dtype.zarr_name().into(),
        },
        mz_index: (mode == AcquisitionMode::Processed).then(|| MzIndexInfo {
            chunk_points: options.mz_chunk_points,
            order_in_chunk: "spectrum".into(),
            blocks: mz_blocks,
        }),
        source: SourceInfo {
            imzml_name: file_name(&source.imzml.path),
            ibd_name: file_name(&source.imzml.ibd_path),
            sizes: source.sizes,
            uuid: header.uuid.as_ref().map(format_uuid),
            checksums,
            verified_checksums: source.verified_checksums.iter().map(|s| s.to_string()).collect(),
            declared_mode: header.declared_mode.map(|m| format!("{m:?}").to_lowercase()),
            quirks: source
                .imzml
                .quirks
                .iter()
                .map(|q| json!({"kind": q.kind, "detail": q.detail}))
                .collect(),
            header: serde_json::to_value(&source.imzml.document).unwrap_or(Value::Null),
            spectrum_terms_not_kept: source
                .imzml
                .spectrum_terms_not_kept
                .iter()
                .map(|term| SpectrumTermInfo {
                    accession: term.accession.clone(),
                    name: term.name.clone(),
                    occurrences: term.occurrences,
                })
                .collect(),
        },
        conversion: ConversionInfo {
            software: format!("imzarr-convert {}", env!("CARGO_PKG_VERSION")),
            options: layout_options(options),
        },
        other_arrays: source.other_kinds.iter().map(|kind| kind.info.clone()).collect(),
        spectrum_terms: spectrum_terms::infos(&source.imzml),
    }
}

/// A unit of the source as the root attributes record it.
pub(crate) fn unit_info(unit: &Unit) -> UnitInfo {
    UnitInfo {
        accession: unit.accession.clone(),
        name: unit.name.clone(),
    }
}

/// The options that shape the stored bytes.
fn layout_options(options: &ConvertOptions) -> Value {
    json!({
        "codec": options.codec,
        "mz_chunk_points": options.mz_chunk_points,
        "spectrum_chunk_points": options.spectrum_chunk_points,
        "shard_bytes": options.shard_bytes,
    })
}

/// What identifies a conversion for `--resume`: the format version, the input (name, sizes,
/// UUID) and the options that shape the stored bytes.
pub(crate) fn fingerprint(source: &Source, options: &ConvertOptions) -> Value {
    json!({
        "format_version": FORMAT_VERSION,
        "software": format!("imzarr-convert {}", env!("CARGO_PKG_VERSION")),
        "input": source.imzml.path.file_name().map(|n| n.to_string_lossy().to_string()),
        "input_bytes": source.sizes,
        "uuid": source.imzml.header.uuid.as_ref().map(format_uuid),
        "tile": format!("{:?}", options.tile),
        "options": layout_options(options),
    })
}
