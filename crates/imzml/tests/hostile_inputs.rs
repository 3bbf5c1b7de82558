//! Hand-made bad files: each yields its typed error naming the file and the place, never a
//! panic and never an allocation sized by the bad number.

use std::path::{Path, PathBuf};

mod common;

use common::{variant, write_good};
use imzarr_imzml::synthetic::SyntheticSpec;
use imzarr_imzml::{Ibd, ImzmlError, Limits, ParseOptions, parse_file, parse_file_with};

/// A small valid pair in `dir`, returned as (imzML path, its XML text).
fn valid_pair(dir: &Path) -> (PathBuf, String) {
    // Continuous, so that every array has exactly 4 values: m/z f64 (32 bytes), intensity f32.
    let spec = SyntheticSpec {
        width: 3,
        height: 2,
        skip_every: 0,
        points_per_spectrum: 4,
        mz_dtype: imzarr_imzml::DataType::F64,
        ..SyntheticSpec::small_continuous()
    };
    write_good(dir, &spec)
}

fn replace_first(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "{from} not in the file");
    text.replacen(from, to, 1)
}

#[test]
fn truncated_ibd_names_spectrum_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = valid_pair(dir.path());
    let ibd = path.with_extension("ibd");
    let len = std::fs::metadata(&ibd).unwrap().len();
    let file = std::fs::OpenOptions::new().write(true).open(&ibd).unwrap();
    file.set_len(len - 10).unwrap();
    let imzml = parse_file(&path).unwrap();
    match Ibd::open(&imzml).unwrap_err() {
        ImzmlError::Truncated {
            spectrum,
            array,
            file_len,
            ..
        } => {
            assert_eq!(spectrum, 5);
            assert_eq!(array, "intensity");
            assert_eq!(file_len, len - 10);
        }
        other => panic!("{other}"),
    }
}

#[test]
fn wrong_uuid_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = valid_pair(dir.path());
    let ibd = path.with_extension("ibd");
    let mut bytes = std::fs::read(&ibd).unwrap();
    bytes[0] ^= 0xFF;
    std::fs::write(&ibd, bytes).unwrap();
    let imzml = parse_file(&path).unwrap();
    let error = Ibd::open(&imzml).unwrap_err();
    assert!(matches!(error, ImzmlError::UuidMismatch { .. }), "{error}");
    assert!(error.to_string().contains("good.ibd"), "{error}");

    // Asked to, the file is read, and the mismatch is recorded.
    let allowing = ParseOptions {
        allow_uuid_mismatch: true,
        ..Default::default()
    };
    let ibd = Ibd::open_with(&imzml, &allowing).unwrap();
    assert_eq!(ibd.quirks().len(), 1);
    assert_eq!(ibd.quirks()[0].kind, "uuid-mismatch-allowed");
    assert!(ibd.read_spectrum(&imzml.spectra[0]).is_ok());
}

#[test]
fn offset_past_the_end_is_truncation() {
    let dir = tempfile::tempdir().unwrap();
    let (_, xml) = valid_pair(dir.path());
    let bad = replace_first(
        &xml,
        r#"name="external offset" value="16""#,
        r#"name="external offset" value="99999999""#,
    );
    let imzml = parse_file(variant(dir.path(), "far", &bad)).unwrap();
    assert!(matches!(
        Ibd::open(&imzml).unwrap_err(),
        ImzmlError::Truncated { spectrum: 0, .. }
    ));
}

#[test]
fn ten_gigabyte_array_length_hits_the_limit_before_any_allocation() {
    let dir = tempfile::tempdir().unwrap();
    let (_, xml) = valid_pair(dir.path());
    let bad = replace_first(
        &xml,
        r#"name="external array length" value="4""#,
        r#"name="external array length" value="1342177280""#,
    );
    let error = parse_file(variant(dir.path(), "huge", &bad)).unwrap_err();
    assert!(matches!(error, ImzmlError::LimitExceeded { .. }), "{error}");
    assert!(error.to_string().contains("spectrum 0"), "{error}");
}

#[test]
fn length_that_overflows_u64_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let (_, xml) = valid_pair(dir.path());
    let bad = replace_first(
        &xml,
        r#"name="external array length" value="4""#,
        r#"name="external array length" value="18446744073709551615""#,
    );
    assert!(matches!(
        parse_file(variant(dir.path(), "overflow", &bad)).unwrap_err(),
        ImzmlError::LimitExceeded { .. }
    ));
}

#[test]
fn encoded_length_that_contradicts_the_dtype_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let (_, xml) = valid_pair(dir.path());
    let bad = replace_first(
        &xml,
        r#"name="external encoded length" value="32""#,
        r#"name="external encoded length" value="24""#,
    );
    let error = parse_file(variant(dir.path(), "encoded", &bad)).unwrap_err();
    assert!(error.to_string().contains("need 32"), "{error}");
}

#[test]
fn negative_coordinates_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let (_, xml) = valid_pair(dir.path());
    let bad = replace_first(
        &xml,
        r#"name="position x" value="1""#,
        r#"name="position x" value="-4""#,
    );
    let error = parse_file(variant(dir.path(), "negative", &bad)).unwrap_err();
    assert!(error.to_string().contains("negative coordinate"), "{error}");
}

#[test]
fn missing_position_names_the_term() {
    let dir = tempfile::tempdir().unwrap();
    let (_, xml) = valid_pair(dir.path());
    let bad = replace_first(
        &xml,
        r#"<cvParam cvRef="IMS" accession="IMS:1000051" name="position y" value="1"/>"#,
        "",
    );
    match parse_file(variant(dir.path(), "nopos", &bad)).unwrap_err() {
        ImzmlError::MissingTerm { term, context, .. } => {
            assert!(term.contains("IMS:1000051"));
            assert_eq!(context, "spectrum 0");
        }
        other => panic!("{other}"),
    }
}

#[test]
fn duplicated_pixels_are_an_error_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let (_, xml) = valid_pair(dir.path());
    let bad = replace_first(&xml, r#"name="position x" value="2""#, r#"name="position x" value="1""#);
    let path = variant(dir.path(), "dup", &bad);
    assert!(matches!(
        parse_file(&path).unwrap_err(),
        ImzmlError::DuplicatePixel {
            first: 0,
            second: 1,
            x: 1,
            y: 1,
            ..
        }
    ));
    let options = ParseOptions {
        allow_duplicate_pixels: true,
        ..ParseOptions::default()
    };
    let imzml = parse_file_with(&path, &options).unwrap();
    assert_eq!(imzml.spectra.len(), 5);
    assert!(imzml.quirks.iter().any(|q| q.kind == "duplicate-pixels-dropped"));
}

#[test]
fn numpress_is_unsupported_not_misread() {
    let dir = tempfile::tempdir().unwrap();
    let (_, xml) = valid_pair(dir.path());
    let bad = replace_first(
        &xml,
        r#"accession="MS:1000576" name="no compression""#,
        r#"accession="MS:1002312" name="MS-Numpress linear prediction compression""#,
    );
    let error = parse_file(variant(dir.path(), "numpress", &bad)).unwrap_err();
    assert!(matches!(error, ImzmlError::Unsupported { .. }), "{error}");
}

#[test]
fn dtd_entity_bombs_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (_, xml) = valid_pair(dir.path());
    let bomb =
        r#"<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>"#;
    let bad = replace_first(&xml, "<mzML", &format!("{bomb}\n<mzML"));
    let error = parse_file(variant(dir.path(), "bomb", &bad)).unwrap_err();
    assert!(error.to_string().contains("DTD"), "{error}");
}

#[test]
fn a_document_type_declaration_without_an_internal_subset_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let (_, xml) = valid_pair(dir.path());
    let plain = parse_file(variant(dir.path(), "plain", &xml)).unwrap();
    for declaration in ["<!DOCTYPE mzML>", r#"<!DOCTYPE mzML SYSTEM "mzML1.1.0.dtd">"#] {
        let declared = replace_first(&xml, "<mzML", &format!("{declaration}\n<mzML"));
        let parsed = parse_file(variant(dir.path(), "declared", &declared)).unwrap();
        assert_eq!(parsed.spectra, plain.spectra, "{declaration}");
        assert_eq!(parsed.document, plain.document, "{declaration}");
    }
}

#[test]
fn deep_nesting_hits_the_depth_limit() {
    let dir = tempfile::tempdir().unwrap();
    let (_, xml) = valid_pair(dir.path());
    let deep = format!("{}{}", "<a>".repeat(10_000), "</a>".repeat(10_000));
    let bad = replace_first(&xml, "<fileDescription>", &format!("<fileDescription>{deep}"));
    let error = parse_file(variant(dir.path(), "deep", &bad)).unwrap_err();
    assert!(
        matches!(
            error,
            ImzmlError::LimitExceeded {
                what: "element nesting depth",
                ..
            }
        ),
        "{error}"
    );
}

#[test]
fn too_many_spectra_hit_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = valid_pair(dir.path());
    let options = ParseOptions {
        limits: Limits {
            max_spectra: 3,
            ..Limits::default()
        },
        ..ParseOptions::default()
    };
    assert!(matches!(
        parse_file_with(&path, &options).unwrap_err(),
        ImzmlError::LimitExceeded {
            what: "number of spectra",
            ..
        }
    ));
}

#[test]
fn malformed_xml_names_the_byte_offset() {
    let dir = tempfile::tempdir().unwrap();
    let (_, xml) = valid_pair(dir.path());
    let cut = &xml[..xml.len() / 2];
    let bad = format!("{cut}</wrong>");
    let error = parse_file(variant(dir.path(), "broken", &bad)).unwrap_err();
    assert!(
        matches!(error, ImzmlError::Xml { .. } | ImzmlError::Format { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("broken.imzML"), "{error}");
}

#[test]
fn every_prefix_of_a_valid_file_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let (_, xml) = valid_pair(dir.path());
    for cut in (0..xml.len()).step_by(97) {
        let path = variant(dir.path(), "prefix", &xml[..cut]);
        assert!(parse_file(&path).is_err(), "a prefix of {cut} bytes parsed");
    }
}

#[test]
fn missing_ibd_is_an_io_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = valid_pair(dir.path());
    std::fs::remove_file(path.with_extension("ibd")).unwrap();
    let error = parse_file(&path).unwrap_err();
    assert!(
        matches!(error, ImzmlError::Io { .. }) && error.to_string().contains(".ibd"),
        "{error}"
    );
}

#[test]
fn upper_case_ibd_extension_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = valid_pair(dir.path());
    std::fs::rename(path.with_extension("ibd"), path.with_extension("IBD")).unwrap();
    let imzml = parse_file(&path).unwrap();
    Ibd::open(&imzml).unwrap();
}

#[test]
fn parts_of_an_array_equal_the_whole_and_bad_parts_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = valid_pair(dir.path());
    let imzml = parse_file(&path).unwrap();
    let ibd = Ibd::open(&imzml).unwrap();
    let spectrum = &imzml.spectra[3];
    let (_, whole) = ibd.read_spectrum(spectrum).unwrap();
    let mut part = vec![0u8; 2 * 4];
    ibd.read_values_into(3, "intensity", &spectrum.intensity, 1..3, &mut part)
        .unwrap();
    assert_eq!(part, whole.bytes[4..12]);
    #[allow(clippy::reversed_empty_ranges)] // a reversed range is one of the bad parts
    let bad_parts = [(3..5, 8), (0..2, 4), (2..1, 0)];
    for (values, bytes) in bad_parts {
        let mut out = vec![0u8; bytes];
        let error = ibd
            .read_values_into(3, "intensity", &spectrum.intensity, values.clone(), &mut out)
            .unwrap_err();
        assert!(
            error.to_string().contains("spectrum 3 intensity array"),
            "{values:?}: {error}"
        );
    }
}

#[test]
fn a_reference_to_a_group_is_an_error_where_it_cannot_be_defined_later() {
    let dir = tempfile::tempdir().unwrap();
    let (_, xml) = valid_pair(dir.path());
    let reference = r#"<referenceableParamGroupRef ref="nowhere"/>"#;

    // fileContent comes before the group list: the group may follow, but it must exist.
    let in_file_content = replace_first(&xml, "<fileContent>", &format!("<fileContent>{reference}"));
    let error = parse_file(variant(dir.path(), "file_content", &in_file_content)).unwrap_err();
    assert!(
        error
            .to_string()
            .contains(r#"FileContent: referenceableParamGroupRef to "nowhere", which is never defined"#),
        "{error}"
    );

    // A spectrum comes after the group list: the group should have been defined already.
    let in_spectrum = replace_first(&xml, "<scanList", &format!("{reference}<scanList"));
    assert_ne!(in_spectrum, xml);
    let error = parse_file(variant(dir.path(), "spectrum", &in_spectrum)).unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("spectrum 0") && message.contains("not defined before it"),
        "{message}"
    );
}
