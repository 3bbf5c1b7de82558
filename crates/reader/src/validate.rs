//! Checks a store against the specification and reports every problem found.

use std::ops::Range;

use imzarr_format::region::grid_indices;
use imzarr_format::schema::{NodeKind, validate_node};
use imzarr_format::{AcquisitionMode, paths};
use imzarr_store::{ReadRange, StoreLocation, ZarrsObjectStore};
use serde_json::Value;

use crate::arrays::decode_u64;
use crate::dataset::Dataset;
use crate::error::Result;

mod fingerprint;
mod layouts;
mod mz_major;
mod per_spectrum;
mod spatial;
mod values;

/// What [`validate`] found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ValidationReport {
    /// Every problem, each naming the node it concerns.
    pub problems: Vec<String>,
    /// Nodes whose metadata was checked.
    pub nodes_checked: usize,
    /// Arrays read in full (with `full`), every chunk's crc32c checked.
    pub arrays_read: usize,
}

impl ValidationReport {
    /// Whether the store passed.
    pub fn is_valid(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Validates the store at `url`: the root and every node's metadata against the JSON Schemas,
/// each node's own `zarr.json` against its consolidated copy, the arrays the mode requires and
/// their shapes. With `full`, also reads every array (checking every chunk's crc32c), checks
/// the consistency of the pixel index, the point offsets and the m/z chunk index, and that
/// the two layouts hold the same values (each point of one once in the other, nothing more),
/// and that the point counts, the TICs and the TIC image's full-resolution level agree with
/// the spectra.
pub async fn validate(url: &str, full: bool) -> Result<ValidationReport> {
    let location = StoreLocation::from_url(url, false)?;
    let store = ZarrsObjectStore::new(location);
    let mut report = ValidationReport::default();
    let root = match store.read("zarr.json", ReadRange::All).await {
        Ok(Some(bytes)) => match serde_json::from_slice::<Value>(&bytes) {
            Ok(root) => root,
            Err(e) => return Ok(problem(report, format!("zarr.json: not JSON: {e}"))),
        },
        Ok(None) => {
            return Ok(problem(
                report,
                "zarr.json: missing: not a store, or the conversion did not finish".into(),
            ));
        }
        Err(e) => return Ok(problem(report, format!("zarr.json: cannot be read: {e}"))),
    };
    check_schema(&mut report, "zarr.json", NodeKind::Root, &root);
    let Some(consolidated) = root
        .pointer("/consolidated_metadata/metadata")
        .and_then(Value::as_object)
    else {
        return Ok(problem(report, "zarr.json: no consolidated metadata".into()));
    };
    for (path, document) in consolidated {
        let kind = if document["node_type"] == "array" {
            NodeKind::Array
        } else {
            NodeKind::Group
        };
        // Nodes the specification does not define are extensions: only their consolidated
        // copy is checked.
        if paths::is_defined_node(path) {
            check_schema(&mut report, path, kind, document);
        }
        match store.read(&format!("{path}/zarr.json"), ReadRange::All).await {
            Ok(Some(bytes)) => {
                let own = serde_json::from_slice::<Value>(&bytes).ok();
                if own.map(comparable) != Some(comparable(document.clone())) {
                    report
                        .problems
                        .push(format!("{path}/zarr.json differs from its consolidated copy"));
                }
            }
            Ok(None) => report.problems.push(format!("{path}/zarr.json is missing")),
            Err(e) => report.problems.push(format!("{path}/zarr.json cannot be read: {e}")),
        }
    }
    if !report.problems.is_empty() {
        return Ok(report);
    }
    let dataset = match Dataset::open(url).await {
        Ok(dataset) => dataset,
        Err(e) => return Ok(problem(report, e.to_string())),
    };
    check_shapes(&dataset, &mut report);
    if full && report.problems.is_empty() {
        check_contents(&dataset, consolidated, &mut report).await;
    }
    Ok(report)
}

/// The subset of each shard of an array of `shape` cut in shards of `shard_shape`, in C order.
fn shard_ranges<'a>(shape: &'a [u64], shard_shape: &'a [u64]) -> impl Iterator<Item = Vec<Range<u64>>> + 'a {
    let shard_grid: Vec<u64> = shape
        .iter()
        .zip(shard_shape)
        .map(|(&s, &c)| s.div_ceil(c.max(1)))
        .collect();
    let shards: Vec<Vec<u64>> = grid_indices(&shard_grid).collect();
    shards.into_iter().map(move |shard| {
        shard
            .iter()
            .zip(shard_shape)
            .zip(shape)
            .map(|((&i, &c), &s)| i * c..((i + 1) * c).min(s))
            .collect()
    })
}

/// A node's metadata without what consolidation may add or leave out with no change of
/// meaning: zarr-python's consolidated copies hold `"storage_transformers": []` for arrays and
/// an empty `consolidated_metadata` for groups, where the nodes' own documents hold neither.
fn comparable(mut document: Value) -> Value {
    if let Some(fields) = document.as_object_mut() {
        if fields
            .get("storage_transformers")
            .and_then(Value::as_array)
            .is_some_and(Vec::is_empty)
        {
            fields.remove("storage_transformers");
        }
        if fields
            .get("consolidated_metadata")
            .is_some_and(|c| c.is_null() || c["metadata"].as_object().is_some_and(|m| m.is_empty()))
        {
            fields.remove("consolidated_metadata");
        }
    }
    document
}

fn problem(mut report: ValidationReport, text: String) -> ValidationReport {
    report.problems.push(text);
    report
}

fn check_schema(report: &mut ValidationReport, node: &str, kind: NodeKind, document: &Value) {
    report.nodes_checked += 1;
    if let Err(problems) = validate_node(kind, document) {
        report
            .problems
            .extend(problems.into_iter().map(|p| format!("{node}: {p}")));
    }
}

/// The shape each array must have, given the `imzarr` block.
fn expected_shapes(dataset: &Dataset) -> Vec<(String, Vec<u64>)> {
    let a = &dataset.attributes;
    let (n, points) = (a.counts.spectra, a.counts.points);
    let mut spatial = vec![a.grid.height, a.grid.width];
    if a.grid.depth > 1 {
        spatial.insert(0, a.grid.depth);
    }
    let mut shapes = vec![
        (paths::PIXELS_X, vec![n]),
        (paths::PIXELS_Y, vec![n]),
        (paths::PIXELS_SOURCE_INDEX, vec![n]),
        (paths::PIXELS_TIC, vec![n]),
        (paths::PIXELS_POINT_COUNT, vec![n]),
        (paths::PIXELS_INDEX, spatial.clone()),
    ];
    if a.grid.depth > 1 {
        shapes.push((paths::PIXELS_Z, vec![n]));
    }
    let channels = a.counts.channels.unwrap_or(0);
    // Other binary arrays have one value per point, like the spectrum-major intensities.
    let intensity = match a.mode {
        AcquisitionMode::Processed => vec![points],
        AcquisitionMode::Continuous => vec![n, channels],
    };
    match a.mode {
        AcquisitionMode::Processed => {
            let chunk = a.mz_chunk_points();
            shapes.extend([
                (paths::PIXELS_POINT_OFFSET, vec![n + 1]),
                (paths::SPECTRA_MZ, vec![points]),
                (paths::SPECTRA_INTENSITY, intensity.clone()),
                (paths::MZ_MAJOR_MZ, vec![points]),
                (paths::MZ_MAJOR_INTENSITY, vec![points]),
                (paths::MZ_MAJOR_SPECTRUM, vec![points]),
                (paths::MZ_MAJOR_CHUNK_MZ_RANGE, vec![points.div_ceil(chunk), 2]),
            ]);
        }
        AcquisitionMode::Continuous => {
            let mut cube = vec![channels];
            cube.extend(&spatial);
            shapes.extend([
                (paths::SPECTRA_MZ, vec![channels]),
                (paths::SPECTRA_INTENSITY, intensity.clone()),
                (paths::MZ_MAJOR_INTENSITY, cube),
            ]);
        }
    }
    let mut shapes: Vec<(String, Vec<u64>)> = shapes.into_iter().map(|(p, s)| (p.to_string(), s)).collect();
    shapes.extend(
        a.other_arrays
            .iter()
            .map(|info| (paths::other_array(&info.key), intensity.clone())),
    );
    // Spectrum terms without a single value have a number per stored spectrum.
    shapes.extend(
        a.spectrum_terms
            .iter()
            .filter(|info| info.value.is_none())
            .map(|info| (paths::term_array(&info.key), vec![n])),
    );
    shapes
}

fn check_shapes(dataset: &Dataset, report: &mut ValidationReport) {
    for (path, expected) in expected_shapes(dataset) {
        match dataset.arrays.shape(&path) {
            Ok(shape) if shape == expected => {}
            Ok(shape) => report.problems.push(format!(
                "{path}: shape {shape:?}, the imzarr block implies {expected:?}"
            )),
            Err(_) => report.problems.push(format!("{path}: required array is missing")),
        }
    }
}

async fn check_contents(
    dataset: &Dataset,
    consolidated: &serde_json::Map<String, Value>,
    report: &mut ValidationReport,
) {
    let processed = dataset.attributes.mode == AcquisitionMode::Processed;
    // The arrays of the two layouts are read once, by the check that compares them.
    let read_by_layouts: &[&str] = if processed {
        &layouts::PROCESSED_ARRAYS
    } else {
        &layouts::CONTINUOUS_ARRAYS
    };
    for (path, document) in consolidated {
        if document["node_type"] != "array" || read_by_layouts.contains(&path.as_str()) {
            continue;
        }
        let (Ok(shape), Ok(shard_shape)) = (dataset.arrays.shape(path), dataset.arrays.shard_shape(path)) else {
            continue;
        };
        // One shard at a time, so that memory stays at a shard whatever the array's size.
        let mut failed = false;
        for ranges in shard_ranges(&shape, &shard_shape) {
            if let Err(e) = dataset.arrays.read_raw(path, &ranges).await {
                report.problems.push(e.to_string());
                failed = true;
                break;
            }
        }
        if !failed {
            report.arrays_read += 1;
        }
    }
    let n = dataset.attributes.counts.spectra;
    if let Ok(index) = dataset.pixel_index().await {
        let mut seen = vec![false; n as usize];
        for (_, s) in index.occupied() {
            match seen.get_mut(s as usize) {
                Some(slot) if !*slot => *slot = true,
                Some(_) => report
                    .problems
                    .push(format!("{}: spectrum {s} appears at two pixels", paths::PIXELS_INDEX)),
                None => report.problems.push(format!(
                    "{}: spectrum {s} is beyond the {n} stored spectra",
                    paths::PIXELS_INDEX
                )),
            }
        }
        if let Some(missing) = seen.iter().position(|s| !s) {
            report
                .problems
                .push(format!("{}: spectrum {missing} is at no pixel", paths::PIXELS_INDEX));
        }
    }
    let layouts_read = if processed {
        let offsets = match dataset.arrays.read_raw(paths::PIXELS_POINT_OFFSET, &[0..n + 1]).await {
            Ok((bytes, _)) => Some(decode_u64(&bytes)),
            Err(_) => None, // reported with the arrays above
        };
        let offsets = offsets.filter(|offsets| {
            let valid = offsets.windows(2).all(|w| w[0] <= w[1])
                && offsets.last() == Some(&dataset.attributes.counts.points)
                && offsets.first() == Some(&0);
            if !valid {
                report.problems.push(format!(
                    "{}: offsets are not non-decreasing from 0 to the point count",
                    paths::PIXELS_POINT_OFFSET
                ));
            }
            valid
        });
        layouts::check_processed(dataset, offsets.as_deref(), report).await
    } else {
        layouts::check_continuous(dataset, report).await
    };
    if layouts_read {
        report.arrays_read += read_by_layouts.len();
    }
}
