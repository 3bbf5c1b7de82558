//! `imzarr info`: what a store or an imzML file holds.

use imzarr_imzml::{Grid, XmlNode, parse_file};
use serde_json::{Value, json};

use crate::cli::InfoArgs;
use crate::exit::CommandError;

pub async fn run(args: InfoArgs) -> Result<(), CommandError> {
    let is_imzml = args.location.to_lowercase().ends_with(".imzml");
    let summary = if is_imzml {
        imzml_summary(&args.location)?
    } else {
        store_summary(&args.location).await?
    };
    if args.json {
        crate::output::outln!("{}", serde_json::to_string_pretty(&summary).unwrap_or_default());
    } else {
        print_summary(&summary);
    }
    Ok(())
}

async fn store_summary(location: &str) -> Result<Value, CommandError> {
    let dataset = super::open_store(location).await?;
    let a = dataset.attributes();
    // A header that is not an element tree describes no instrument or software here.
    let header = dataset.header_tree().ok().flatten().unwrap_or_default();
    Ok(json!({
        "kind": "imzarr store",
        "location": location,
        "format_version": a.version,
        "mode": a.mode,
        "spectrum_type": a.spectrum_type,
        "polarity": a.polarity,
        "grid": {"width": a.grid.width, "height": a.grid.height, "depth": a.grid.depth, "origin": a.grid.origin},
        "pixel_size_um": a.grid.pixel_size.as_ref().map(|p| [p.x, p.y]),
        "spectra": a.counts.spectra,
        "points": a.counts.points,
        "channels": a.counts.channels,
        "mz_range": a.mz_range,
        "dtypes": {"mz": a.dtypes.mz, "intensity": a.dtypes.intensity},
        "compression": a.conversion.options.get("codec"),
        "other_arrays": a.other_arrays.iter().map(|o| json!({"key": o.key, "accession": o.accession, "name": o.name, "value": o.value, "dtype": o.dtype, "unit": o.unit})).collect::<Vec<_>>(),
        "spectrum_terms": a.spectrum_terms,
        "instrument": instruments(&header),
        "software": software(&header),
        "source": {"imzml": a.source.imzml_name, "uuid": a.source.uuid, "checksums": a.source.checksums, "verified": a.source.verified_checksums, "quirks": a.source.quirks.len(), "spectrum_terms_not_kept": a.source.spectrum_terms_not_kept},
    }))
}

fn imzml_summary(path: &str) -> Result<Value, CommandError> {
    let imzml = parse_file(path)?;
    let grid = Grid::from_spectra(&imzml.spectra);
    let points: u64 = imzml.spectra.iter().map(|s| s.mz.length).sum();
    let header = &imzml.document;
    let first = &imzml.spectra[0];
    Ok(json!({
        "kind": "imzML file",
        "location": path,
        "mode": imzml.header.mode,
        "declared_mode": imzml.header.declared_mode,
        "spectrum_type": imzml.header.spectrum_type,
        "polarity": imzml.header.polarity,
        "grid": {"width": grid.width, "height": grid.height, "depth": grid.depth, "origin": grid.origin},
        "pixel_size_um": imzml.header.pixel_size.as_ref().map(|p| [p.x_um, p.y_um]),
        "spectra": imzml.spectra.len(),
        "points": points,
        "dtypes": {"mz": first.mz.dtype, "intensity": first.intensity.dtype},
        "other_arrays": first.other_arrays.iter().map(|o| json!({"accession": o.accession, "value": o.value, "dtype": o.array.dtype, "unit": o.unit})).collect::<Vec<_>>(),
        "spectrum_terms": imzml.spectrum_terms.iter().map(term_summary).collect::<Vec<_>>(),
        "instrument": instruments(header),
        "software": software(header),
        "source": {"uuid": imzml.header.uuid.as_ref().map(imzarr_imzml::numbers::format_uuid), "checksums": imzml.header.checksums, "quirks": imzml.quirks, "spectrum_terms_not_kept": imzml.spectrum_terms_not_kept},
    }))
}

/// A kept spectrum term of a parsed file, described as a store describes it: its value when
/// the same in every spectrum, none when it is a number per spectrum.
fn term_summary(term: &imzarr_imzml::SpectrumTermValues) -> Value {
    let value = match &term.values {
        imzarr_imzml::TermValues::Constant(value) => Some(value),
        imzarr_imzml::TermValues::Numbers(_) => None,
    };
    json!({"accession": term.accession, "name": term.name, "element": term.place.element_name(), "unit": term.unit, "value": value, "type": term.value_type, "decimals": term.decimals})
}

/// The instrument configurations of a header tree: each one's id, its own terms and those of
/// its source, analyzer and detector components, as people read them.
fn instruments(header: &XmlNode) -> Value {
    let configurations = header.descendants("instrumentConfiguration");
    Value::Array(
        configurations
            .into_iter()
            .map(|configuration| {
                let mut summary = json!({
                    "id": configuration.attribute("id"),
                    "terms": terms_of(configuration),
                });
                let components = configuration
                    .child("componentList")
                    .map(|list| list.children.as_slice());
                for component in components.unwrap_or_default() {
                    if let Some(terms) = summary[component.name.as_str()].as_array_mut() {
                        terms.extend(terms_of(component).into_iter().map(Value::from));
                    } else {
                        summary[component.name.as_str()] = Value::from(terms_of(component));
                    }
                }
                summary
            })
            .collect(),
    )
}

/// The software of a header tree: each one's id and version.
fn software(header: &XmlNode) -> Value {
    let software = header.descendants("software").into_iter();
    Value::Array(
        software
            .map(|s| json!({"id": s.attribute("id"), "version": s.attribute("version")}))
            .collect(),
    )
}

/// The cvParams and userParams directly inside `node`, each as `name`, `name value` or
/// `name value unit`.
fn terms_of(node: &XmlNode) -> Vec<String> {
    let terms = node
        .children
        .iter()
        .filter(|c| c.name == "cvParam" || c.name == "userParam");
    terms
        .map(|term| {
            let parts = [
                term.attribute("name"),
                term.attribute("value"),
                term.attribute("unitName"),
            ];
            parts
                .into_iter()
                .flatten()
                .filter(|part| !part.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

/// A value for people: strings without quotes, `null` as "unknown".
fn plain(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => "unknown".into(),
        other => other.to_string(),
    }
}

/// Each member of the list `list` (none when it is not a list) as `describe` says it.
fn described(list: &Value, describe: impl Fn(&Value) -> String) -> Vec<String> {
    list.as_array().into_iter().flatten().map(describe).collect()
}

/// The name of the unit of an other array or a spectrum term, when it has a named one.
fn unit_name(item: &Value) -> Option<&str> {
    item["unit"]["name"].as_str().filter(|name| !name.is_empty())
}

fn print_summary(summary: &Value) {
    let grid = &summary["grid"];
    let source = &summary["source"];
    let software = described(&summary["software"], |entry| match entry["version"].as_str() {
        Some(version) => format!("{} {version}", plain(&entry["id"])),
        None => plain(&entry["id"]),
    });
    let instruments = described(&summary["instrument"], |entry| {
        let terms = |key: &str| described(&entry[key], plain).join(", ");
        let mut parts = vec![terms("terms")];
        parts.extend(
            ["source", "analyzer", "detector"]
                .into_iter()
                .filter(|key| entry.get(*key).is_some())
                .map(|key| format!("{key}: {}", terms(key))),
        );
        parts.retain(|part| !part.is_empty());
        match parts.is_empty() {
            true => format!("{} (no terms)", plain(&entry["id"])),
            false => parts.join("; "),
        }
    });
    let pixel_size = match summary["pixel_size_um"].as_array() {
        Some(size) => format!("{} x {} um", plain(&size[0]), plain(&size[1])),
        None => "unknown".into(),
    };
    crate::output::outln!("{}: {}", plain(&summary["kind"]), plain(&summary["location"]));
    crate::output::outln!(
        "  mode:          {} ({})",
        plain(&summary["mode"]),
        plain(&summary["spectrum_type"])
    );
    crate::output::outln!(
        "  grid:          {} x {} x {} pixels, origin {}",
        grid["width"],
        grid["height"],
        grid["depth"],
        grid["origin"]
    );
    crate::output::outln!("  pixel size:    {pixel_size}");
    crate::output::outln!("  spectra:       {}", summary["spectra"]);
    crate::output::outln!("  points:        {}", summary["points"]);
    if let Some(range) = summary.get("mz_range") {
        crate::output::outln!("  m/z range:     {}", plain(range));
    }
    crate::output::outln!(
        "  value types:   m/z {}, intensity {}",
        plain(&summary["dtypes"]["mz"]),
        plain(&summary["dtypes"]["intensity"])
    );
    if let Some((codec, settings)) = summary["compression"].as_object().and_then(|c| c.iter().next()) {
        crate::output::outln!("  compression:   {codec}, level {}", settings["level"]);
    }
    let others = described(&summary["other_arrays"], |o| {
        let unit = unit_name(o).map_or_else(String::new, |name| format!(", {name}"));
        match o["value"].as_str() {
            Some(value) if !value.is_empty() => {
                format!("{} {value:?} ({}{unit})", plain(&o["accession"]), plain(&o["dtype"]))
            }
            _ => format!("{} ({}{unit})", plain(&o["accession"]), plain(&o["dtype"])),
        }
    });
    if !others.is_empty() {
        crate::output::outln!("  other arrays:  {}", others.join(", "));
    }
    let terms = described(&summary["spectrum_terms"], |t| {
        let unit = unit_name(t).map_or_else(String::new, |name| format!(" [{name}]"));
        let values = match t["value"].as_str() {
            Some(value) => format!("= {value:?} in every spectrum"),
            None => "a number per spectrum".into(),
        };
        format!("{} {}{unit} {values}", plain(&t["accession"]), plain(&t["name"]))
    });
    if !terms.is_empty() {
        crate::output::outln!("  per-spectrum terms kept: {}", terms.join("; "));
    }
    for instrument in &instruments {
        crate::output::outln!("  instrument:    {instrument}");
    }
    crate::output::outln!("  software:      {}", software.join(", "));
    crate::output::outln!("  source UUID:   {}", plain(&source["uuid"]));
    crate::output::outln!(
        "  checksums:     {} (verified: {})",
        plain(&source["checksums"]),
        plain(source.get("verified").unwrap_or(&Value::Null))
    );
    crate::output::outln!(
        "  repaired:      {} quirks",
        source["quirks"]
            .as_array()
            .map_or_else(|| plain(&source["quirks"]), |q| q.len().to_string())
    );
    let not_kept = described(&source["spectrum_terms_not_kept"], |t| {
        format!(
            "{} {} ({}x)",
            plain(&t["accession"]),
            plain(&t["name"]),
            plain(&t["occurrences"])
        )
    });
    if !not_kept.is_empty() {
        crate::output::outln!("  per-spectrum terms not stored: {}", not_kept.join(", "));
    }
}
