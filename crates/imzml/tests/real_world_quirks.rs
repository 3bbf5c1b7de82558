//! The habits of real writers, each repaired (and recorded) rather than rejected or misread.

mod common;

use common::{variant, write_good};
use imzarr_imzml::synthetic::SyntheticSpec;
use imzarr_imzml::{DataType, Grid, Ibd, Imzml, Mode, parse_file};

/// Every spectrum of `a` and `b` holds the same values.
fn same_values(a: &Imzml, b: &Imzml) {
    let (ia, ib) = (Ibd::open(a).unwrap(), Ibd::open(b).unwrap());
    assert_eq!(a.spectra.len(), b.spectra.len());
    for (sa, sb) in a.spectra.iter().zip(&b.spectra) {
        assert_eq!(ia.read_spectrum(sa).unwrap(), ib.read_spectrum(sb).unwrap());
    }
}

fn small() -> SyntheticSpec {
    SyntheticSpec {
        width: 3,
        height: 2,
        skip_every: 0,
        points_per_spectrum: 4,
        mz_dtype: DataType::F64,
        ..SyntheticSpec::small_continuous()
    }
}

#[test]
fn zero_based_coordinates_give_origin_zero() {
    let dir = tempfile::tempdir().unwrap();
    let (good, xml) = write_good(dir.path(), &small());
    let shifted = xml
        .replace(r#"name="position x" value="1""#, r#"name="position x" value="0""#)
        .replace(r#"name="position x" value="2""#, r#"name="position x" value="1""#)
        .replace(r#"name="position x" value="3""#, r#"name="position x" value="2""#);
    let imzml = parse_file(variant(dir.path(), "zero", &shifted)).unwrap();
    let grid = Grid::from_spectra(&imzml.spectra);
    assert_eq!((grid.origin[0], grid.width, grid.height), (0, 3, 2));
    same_values(&imzml, &parse_file(good).unwrap());
}

#[test]
fn z_on_two_dimensional_data_gives_depth_one() {
    let dir = tempfile::tempdir().unwrap();
    let (_, xml) = write_good(dir.path(), &small());
    let with_z = xml.replace(
        r#"<cvParam cvRef="IMS" accession="IMS:1000051" name="position y" value="1"/>"#,
        r#"<cvParam cvRef="IMS" accession="IMS:1000051" name="position y" value="1"/><cvParam cvRef="IMS" accession="IMS:1000052" name="position z" value="1"/>"#,
    );
    assert_ne!(with_z, xml);
    let imzml = parse_file(variant(dir.path(), "z", &with_z)).unwrap();
    assert_eq!(Grid::from_spectra(&imzml.spectra).depth, 1);
}

#[test]
fn the_accession_wins_over_a_wrong_name() {
    let dir = tempfile::tempdir().unwrap();
    let (good, xml) = write_good(dir.path(), &small());
    // The name says 32-bit, the accession says 64-bit; the byte lengths agree with the accession.
    let lying = xml.replacen(
        r#"accession="MS:1000523" name="64-bit float""#,
        r#"accession="MS:1000523" name="32-bit float""#,
        1,
    );
    assert_ne!(lying, xml);
    let imzml = parse_file(variant(dir.path(), "names", &lying)).unwrap();
    assert_eq!(imzml.spectra[0].mz.dtype, DataType::F64);
    same_values(&imzml, &parse_file(good).unwrap());
}

#[test]
fn offsets_in_scientific_notation_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let (good, xml) = write_good(dir.path(), &small());
    let scientific = xml.replace(
        r#"name="external offset" value="16""#,
        r#"name="external offset" value="1.6E1""#,
    );
    assert_ne!(scientific, xml);
    let imzml = parse_file(variant(dir.path(), "sci", &scientific)).unwrap();
    assert!(imzml.quirks.iter().any(|q| q.kind == "decimal-offset"));
    same_values(&imzml, &parse_file(good).unwrap());
}

#[test]
fn a_mode_label_that_contradicts_the_offsets_is_overruled() {
    let dir = tempfile::tempdir().unwrap();
    let spec = SyntheticSpec {
        width: 3,
        height: 2,
        skip_every: 0,
        points_per_spectrum: 6,
        ..SyntheticSpec::small_processed()
    };
    let (good, xml) = write_good(dir.path(), &spec);
    let mislabelled = xml.replace(
        r#"accession="IMS:1000031" name="processed""#,
        r#"accession="IMS:1000030" name="continuous""#,
    );
    assert_ne!(mislabelled, xml);
    let imzml = parse_file(variant(dir.path(), "mode", &mislabelled)).unwrap();
    assert_eq!(imzml.header.declared_mode, Some(Mode::Continuous));
    assert_eq!(imzml.header.mode, Mode::Processed);
    assert!(imzml.quirks.iter().any(|q| q.kind == "mode-contradicts-offsets"));
    same_values(&imzml, &parse_file(good).unwrap());
}

#[test]
fn strict_mode_turns_a_repair_into_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let (_, xml) = write_good(dir.path(), &small());
    let scientific = xml.replace(
        r#"name="external offset" value="16""#,
        r#"name="external offset" value="1.6E1""#,
    );
    let path = variant(dir.path(), "strict", &scientific);
    let options = imzarr_imzml::ParseOptions {
        strict: true,
        ..Default::default()
    };
    let error = imzarr_imzml::parse_file_with(&path, &options).unwrap_err();
    assert!(error.to_string().contains("decimal-offset"), "{error}");
}
