//! Every real fixture parses, and what we read agrees with the facts an independent parser
//! (pyimzML 1.5.5, `fixtures/imzml/facts.json`) recorded, except where the header lies and the
//! byte lengths prove pyimzML wrong (checked explicitly below).

use std::path::PathBuf;

use imzarr_imzml::{Ibd, Mode, TermPlace, TermValues, parse_file};
use serde_json::Value;

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/imzml")
}

fn facts() -> serde_json::Map<String, Value> {
    let text = std::fs::read_to_string(fixtures_dir().join("facts.json")).unwrap();
    serde_json::from_str::<Value>(&text)
        .unwrap()
        .as_object()
        .unwrap()
        .clone()
}

#[test]
fn every_fixture_matches_the_independent_facts() {
    let facts = facts();
    assert!(facts.len() >= 16, "facts.json lists {} fixtures", facts.len());
    for (name, fact) in &facts {
        let imzml = parse_file(fixtures_dir().join(format!("{name}.imzML"))).unwrap_or_else(|e| panic!("{name}: {e}"));
        let ibd = Ibd::open(&imzml).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            imzml.spectra.len() as u64,
            fact["spectra"].as_u64().unwrap(),
            "{name}: spectra"
        );
        let xs: Vec<i64> = imzml.spectra.iter().map(|s| s.x).collect();
        let ys: Vec<i64> = imzml.spectra.iter().map(|s| s.y).collect();
        let range = |v: &Vec<i64>| vec![*v.iter().min().unwrap(), *v.iter().max().unwrap()];
        assert_eq!(range(&xs), as_i64s(&fact["x_range"]), "{name}: x range");
        assert_eq!(range(&ys), as_i64s(&fact["y_range"]), "{name}: y range");
        let declared = match fact["mode"].as_str().unwrap() {
            "continuous" => Mode::Continuous,
            _ => Mode::Processed,
        };
        assert_eq!(imzml.header.declared_mode, Some(declared), "{name}: mode");
        let uuid = imzarr_imzml::numbers::parse_uuid(fact["uuid"].as_str().unwrap()).unwrap();
        assert_eq!(imzml.header.uuid, Some(uuid), "{name}: uuid");

        let mut tic_sum = 0.0;
        let mut points = Vec::new();
        for spectrum in &imzml.spectra {
            let (mz, intensity) = ibd.read_spectrum(spectrum).unwrap();
            assert_eq!(mz.len(), intensity.len());
            points.push(mz.len());
            tic_sum += intensity.to_f64_vec().iter().sum::<f64>();
        }
        let stats = &fact["points_per_spectrum"];
        assert_eq!(
            *points.iter().min().unwrap() as u64,
            stats["min"].as_u64().unwrap(),
            "{name}: min points"
        );
        assert_eq!(
            *points.iter().max().unwrap() as u64,
            stats["max"].as_u64().unwrap(),
            "{name}: max points"
        );
        let expected = fact["tic_sum_pyimzml"].as_f64().unwrap();
        let pyimzml_misread = name == "thyra_two_precision_terms";
        if !pyimzml_misread {
            assert!(
                (tic_sum - expected).abs() <= 1e-9 * expected.abs().max(1.0),
                "{name}: intensity sum {tic_sum} vs {expected}"
            );
        }
    }
}

fn as_i64s(value: &Value) -> Vec<i64> {
    value.as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).collect()
}

/// The file declares both 32- and 64-bit floats for m/z; its encoded lengths (40 bytes for 5
/// values) prove 64-bit, and read that way the m/z values are the round numbers its author wrote.
#[test]
fn two_precision_terms_are_decided_by_byte_lengths() {
    let imzml = parse_file(fixtures_dir().join("thyra_two_precision_terms.imzML")).unwrap();
    assert_eq!(imzml.spectra[0].mz.dtype, imzarr_imzml::DataType::F64);
    assert!(imzml.quirks.iter().any(|q| q.kind == "several-precision-terms"));
    let ibd = Ibd::open(&imzml).unwrap();
    let (mz, _) = ibd.read_spectrum(&imzml.spectra[0]).unwrap();
    for value in mz.to_f64_vec() {
        assert!((100.0..2000.0).contains(&value) && value.fract() == 0.0, "m/z {value}");
    }
}

#[test]
fn declared_grid_smaller_than_coordinates_is_repaired() {
    let imzml = parse_file(fixtures_dir().join("cardinal2_combat_40pixel.imzML")).unwrap();
    let grid = imzarr_imzml::Grid::from_spectra(&imzml.spectra);
    assert_eq!(
        (grid.origin[0], grid.origin[1], grid.width, grid.height),
        (2, 3, 73, 54)
    );
    assert!(
        imzml.quirks.iter().any(|q| q.kind == "grid-from-coordinates"),
        "{:?}",
        imzml.quirks
    );
}

#[test]
fn stale_md5_is_reported_while_sha1_is_right() {
    let imzml = parse_file(fixtures_dir().join("cardinal2_combat_40pixel.imzML")).unwrap();
    let ibd = Ibd::open(&imzml).unwrap();
    let outcome = ibd.verify_checksums(&imzml).unwrap();
    assert_eq!(outcome.verified, vec!["SHA-1"]);
    assert_eq!(outcome.quirks.len(), 1);
    assert!(outcome.quirks[0].detail.contains("MD5"), "{:?}", outcome.quirks);

    // Alone, the stale MD5 is a mismatch: the file cannot be trusted.
    let mut only_md5 = imzml.clone();
    only_md5.header.checksums.sha1 = None;
    let error = ibd.verify_checksums(&only_md5).unwrap_err();
    assert!(error.to_string().contains("MD5 checksum mismatch"), "{error}");
}

#[test]
fn nanometre_pixel_size_is_converted() {
    let imzml = parse_file(fixtures_dir().join("thyra_unit_nanometre.imzML")).unwrap();
    let size = imzml.header.pixel_size.unwrap();
    assert!((size.x_um - 4.40625).abs() < 1e-12);
    assert_eq!(size.declared_unit, "nanometer");
}

/// The fixture whose pixel size is in nanometres, its XML edited by `edit`, parsed.
fn nanometre_fixture_edited(dir: &std::path::Path, edit: impl FnOnce(String) -> String) -> imzarr_imzml::Imzml {
    let source = fixtures_dir().join("thyra_unit_nanometre.imzML");
    let path = dir.join("edited.imzML");
    std::fs::write(&path, edit(std::fs::read_to_string(&source).unwrap())).unwrap();
    std::fs::copy(source.with_extension("ibd"), path.with_extension("ibd")).unwrap();
    parse_file(&path).unwrap()
}

#[test]
fn a_pixel_size_unit_whose_accession_and_name_disagree_is_read_in_the_plausible_one() {
    // Writers copy UO:0000015 (centimetre) beside the name "micrometer": 100 cm is no pixel.
    let dir = tempfile::tempdir().unwrap();
    let imzml = nanometre_fixture_edited(dir.path(), |xml| {
        xml.replace(r#"value="4406.25""#, r#"value="100""#).replace(
            r#"unitAccession="UO:0000018" unitName="nanometer""#,
            r#"unitAccession="UO:0000015" unitName="micrometer""#,
        )
    });
    let size = imzml.header.pixel_size.unwrap();
    assert_eq!(
        (size.x_um, size.y_um, size.declared_unit.as_str()),
        (100.0, 100.0, "micrometer")
    );
    let quirks: Vec<_> = imzml
        .quirks
        .iter()
        .filter(|q| q.kind == "pixel-size-unit-disagrees")
        .collect();
    assert_eq!(quirks.len(), 1, "x and y are declared alike: {quirks:?}");
    assert!(
        quirks[0].detail.contains("UO:0000015 (centimeter)"),
        "{}",
        quirks[0].detail
    );
}

#[test]
fn a_pixel_size_with_a_decimal_comma_is_read() {
    // Writers that format numbers in a German or French locale write 4406,25.
    let dir = tempfile::tempdir().unwrap();
    let imzml = nanometre_fixture_edited(dir.path(), |xml| {
        xml.replace(r#"value="4406.25""#, r#"value="4406,25""#)
    });
    let size = imzml.header.pixel_size.unwrap();
    assert_eq!((size.x_um, size.y_um), (4.40625, 4.40625));
    let commas = imzml.quirks.iter().filter(|q| q.kind == "decimal-comma").count();
    assert_eq!(commas, 2, "{:?}", imzml.quirks);
}

#[test]
fn shared_mz_arrays_in_processed_mode_stay_processed() {
    let imzml = parse_file(fixtures_dir().join("imzy_simple.imzML")).unwrap();
    assert_eq!(imzml.header.mode, Mode::Processed);
    let offsets: std::collections::BTreeSet<u64> = imzml.spectra.iter().map(|s| s.mz.offset).collect();
    assert_eq!(offsets.len(), 3);
}

#[test]
fn header_tree_keeps_instrument_and_software() {
    let imzml = parse_file(fixtures_dir().join("pyimzml_example_continuous.imzML")).unwrap();
    assert_eq!(imzml.document.name, "mzML");
    assert!(imzml.document.child("softwareList").is_some());
    assert!(!imzml.document.descendants("cvParam").is_empty());
    let run = imzml.document.child("run").unwrap();
    let list = run.child("spectrumList").unwrap();
    assert!(list.children.is_empty(), "spectra are not part of the header tree");
}

#[test]
fn spectrum_terms_are_kept_or_listed() {
    let parse = |name: &str| parse_file(fixtures_dir().join(format!("{name}.imzML"))).unwrap();
    // Cardinal writes each pixel's position again as user parameters: numbers, kept.
    let cardinal = parse("cardinal2_combat_40pixel");
    assert_eq!(cardinal.spectrum_terms_not_kept, vec![]);
    let kept: Vec<(&str, &str, TermPlace)> = cardinal
        .spectrum_terms
        .iter()
        .map(|t| (t.accession.as_str(), t.name.as_str(), t.place))
        .collect();
    assert_eq!(
        kept,
        [
            ("userParam", "3DPositionX", TermPlace::Scan),
            ("userParam", "3DPositionY", TermPlace::Scan)
        ]
    );
    for (term, coordinate) in cardinal.spectrum_terms.iter().zip([0, 1]) {
        let TermValues::Numbers(numbers) = &term.values else {
            panic!("{} should be a number per spectrum: {:?}", term.name, term.values);
        };
        let positions: Vec<f64> = cardinal.spectra.iter().map(|s| [s.x, s.y][coordinate] as f64).collect();
        assert_eq!(numbers, &positions, "{}", term.name);
        // Written `23.000000`: six fraction digits, which an export writes back.
        assert_eq!(term.decimals, Some(6), "{}", term.name);
        assert_eq!(term.value_type, None, "{}", term.name);
    }
    // Positions, kinds and values derived from the arrays (base peak, TIC, ...) are kept
    // otherwise, not as spectrum terms.
    for name in ["metaspace_untreated_tiny", "maldiquant_picked"] {
        let imzml = parse(name);
        assert_eq!(imzml.spectrum_terms, vec![], "{name}");
        assert_eq!(imzml.spectrum_terms_not_kept, vec![], "{name}");
    }
}
