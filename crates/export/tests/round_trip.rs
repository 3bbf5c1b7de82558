//! imzML → imzarr → imzML for every real fixture and generated data of every dtype and both
//! modes: the exported file lists the source's spectra in the source's order, at the source's
//! coordinates, with bit-identical arrays in the source's types, a new UUID and a correct SHA-1.

#[path = "../../convert/tests/common/mod.rs"]
mod common;

use std::path::Path;

use common::fixtures;
use imzarr::Dataset;
use imzarr_convert::{ConvertOptions, convert};
use imzarr_export::{ExportError, ExportOptions, export};
use imzarr_imzml::synthetic::{SyntheticSpec, sample_other_arrays, sample_spectrum_terms, write_synthetic};
use imzarr_imzml::{ArrayBytes, Compression, DataType, Ibd, Imzml, Mode, XmlNode, parse_file};
use imzarr_store::StoreLocation;

async fn convert_to_store(input: &Path, dir: &Path, options: &ConvertOptions) -> Dataset {
    let target = dir.join("store");
    let location = StoreLocation::from_url(target.to_str().unwrap(), true).unwrap();
    convert(input, location, options)
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", input.display()));
    Dataset::open(target.to_str().unwrap()).await.unwrap()
}

fn assert_same_spectra(name: &str, source: &Imzml, exported: &Imzml, shift: [i64; 3]) {
    let source_ibd = Ibd::open(source).unwrap();
    let exported_ibd = Ibd::open(exported).unwrap();
    assert_eq!(
        exported_ibd.verify_checksums(exported).unwrap().verified,
        vec!["SHA-1"],
        "{name}"
    );
    assert_ne!(source.header.uuid, exported.header.uuid, "{name}: the UUID must be new");
    assert_eq!(source.header.mode, exported.header.mode, "{name}: mode");
    assert_eq!(source.spectra.len(), exported.spectra.len(), "{name}: spectra");
    // Compared as text, where NaN (a spectrum without the term) equals NaN.
    assert_eq!(
        format!("{:?}", source.spectrum_terms),
        format!("{:?}", exported.spectrum_terms),
        "{name}: kept spectrum terms"
    );
    for (s, e) in source.spectra.iter().zip(&exported.spectra) {
        let at = format!("{name}: spectrum {}", s.index);
        assert_eq!([s.x + shift[0], s.y + shift[1]], [e.x, e.y], "{at}: position");
        let (source_mz, source_intensity) = source_ibd.read_spectrum(s).unwrap();
        let (mz, intensity) = exported_ibd.read_spectrum(e).unwrap();
        assert_eq!(source_mz, mz, "{at}: m/z");
        assert_eq!(source_intensity, intensity, "{at}: intensity");
        let kinds = |spectrum: &imzarr_imzml::SpectrumEntry| -> Vec<(String, String, Option<imzarr_imzml::Unit>)> {
            spectrum
                .other_arrays
                .iter()
                .map(|o| (o.accession.clone(), o.value.clone(), o.unit.clone()))
                .collect()
        };
        assert_eq!(kinds(s), kinds(e), "{at}: kinds and units of the other arrays");
        for (source_other, exported_other) in s.other_arrays.iter().zip(&e.other_arrays) {
            let read = |ibd: &Ibd, entry: &imzarr_imzml::SpectrumEntry, other: &imzarr_imzml::OtherArray| {
                let mut values = ArrayBytes {
                    dtype: other.array.dtype,
                    bytes: Vec::new(),
                };
                ibd.read_array_into(entry.index, "other", &other.array, &mut values)
                    .unwrap();
                values
            };
            assert_eq!(
                read(&source_ibd, s, source_other),
                read(&exported_ibd, e, exported_other),
                "{at}: {} values",
                source_other.accession
            );
        }
    }
}

/// The exported header holds the source's samples, instrument configurations, source files
/// and contacts as the source wrote them, and its software and data processing followed by
/// the exporter's own.
fn assert_header_carried_over(name: &str, source: &XmlNode, exported: &XmlNode) {
    let children = |root: &XmlNode, section: &str| root.child(section).map(|s| s.children.clone()).unwrap_or_default();
    for section in ["sampleList", "instrumentConfigurationList"] {
        if source.child(section).is_some() {
            assert_eq!(
                children(exported, section),
                children(source, section),
                "{name}: {section}"
            );
        }
    }
    for section in ["softwareList", "dataProcessingList"] {
        let (ours, theirs) = (children(exported, section), children(source, section));
        assert_eq!(ours.len(), theirs.len() + 1, "{name}: {section}");
        assert_eq!(ours[..theirs.len()], theirs[..], "{name}: {section}");
    }
    let description_rest = |root: &XmlNode| {
        let mut rest = children(root, "fileDescription");
        rest.retain(|c| c.name != "fileContent");
        rest
    };
    assert_eq!(
        description_rest(exported),
        description_rest(source),
        "{name}: fileDescription"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_real_fixture_exports_bit_identical() {
    for input in fixtures() {
        let name = input.file_stem().unwrap().to_string_lossy().to_string();
        let dir = tempfile::tempdir().unwrap();
        let dataset = convert_to_store(&input, dir.path(), &ConvertOptions::default()).await;
        let output = dir.path().join("exported.imzML");
        // A small run size so that every store is read in several runs.
        let options = ExportOptions {
            run_bytes: 4096,
            ..ExportOptions::default()
        };
        let report = export(&dataset, &output, &options)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let source = parse_file(&input).unwrap();
        let exported = parse_file(&output).unwrap();
        assert_eq!(report.spectra as usize, source.spectra.len(), "{name}");
        assert_same_spectra(&name, &source, &exported, report.coordinate_shift);
        assert_header_carried_over(&name, &source.document, &exported.document);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .filter(|n| n.contains("partial") || n.contains("spool"))
            .collect();
        assert!(leftovers.is_empty(), "{name}: {leftovers:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_data_of_every_dtype_and_mode_exports_bit_identical() {
    let options = ConvertOptions {
        mz_chunk_points: 256,
        shard_bytes: 16384,
        ..ConvertOptions::default()
    };
    let mut cases = Vec::new();
    for mode in [Mode::Processed, Mode::Continuous] {
        for (mz_dtype, intensity_dtype) in [
            (DataType::F64, DataType::F32),
            (DataType::F32, DataType::I32),
            (DataType::F64, DataType::I64),
            (DataType::F32, DataType::F16),
            (DataType::F64, DataType::I16),
            (DataType::F64, DataType::I8),
        ] {
            let base = SyntheticSpec::small(mode);
            cases.push(SyntheticSpec {
                mode,
                mz_dtype,
                intensity_dtype,
                skip_every: 7,
                ..base
            });
        }
    }
    cases.push(SyntheticSpec {
        compression: Compression::Zlib,
        ..SyntheticSpec::small_processed()
    });
    // Binary arrays other than m/z and intensity, in both modes and in types of their own.
    for base in [SyntheticSpec::small_processed(), SyntheticSpec::small_continuous()] {
        cases.push(SyntheticSpec {
            other_arrays: sample_other_arrays(),
            ..base
        });
    }
    // Spectrum terms: numbers with gaps and constants, in every element a store keeps them from.
    for base in [SyntheticSpec::small_processed(), SyntheticSpec::small_continuous()] {
        cases.push(SyntheticSpec {
            spectrum_terms: sample_spectrum_terms(),
            ..base
        });
    }
    for (i, spec) in cases.iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join(format!("case{i}.imzML"));
        write_synthetic(&input, spec).unwrap();
        let dataset = convert_to_store(&input, dir.path(), &options).await;
        let output = dir.path().join("out").join(format!("case{i}.imzML"));
        std::fs::create_dir_all(output.parent().unwrap()).unwrap();
        let report = export(&dataset, &output, &ExportOptions::default()).await.unwrap();
        let name = format!("case {i} {spec:?}");
        assert_same_spectra(
            &name,
            &parse_file(&input).unwrap(),
            &parse_file(&output).unwrap(),
            report.coordinate_shift,
        );
    }
}

/// `xml` with the terms of its file content moved into a group that the file content references
/// (before the group list, which defines it).
fn file_content_in_a_group(xml: &str) -> String {
    let (start, end) = (xml.find("<fileContent>").unwrap(), xml.find("</fileContent>").unwrap());
    let terms = &xml[start + "<fileContent>".len()..end];
    let group = format!(r#"<referenceableParamGroup id="fileContentTerms">{terms}</referenceableParamGroup>"#);
    let moved = format!(
        r#"{}<fileContent><referenceableParamGroupRef ref="fileContentTerms"/>{}"#,
        &xml[..start],
        &xml[end..]
    );
    let list = moved.find("<referenceableParamGroupList").unwrap();
    let list_open = list + moved[list..].find('>').unwrap() + 1;
    format!("{}{group}{}", &moved[..list_open], &moved[list_open..])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_content_terms_in_a_group_do_not_carry_the_old_uuid_and_checksums_over() {
    // This source declares a UUID, an MD5 and a SHA-1; in a group they would reach the exported
    // file beside its new UUID and SHA-1 if the group were copied as it is.
    let source = fixtures()
        .into_iter()
        .find(|f| f.ends_with("cardinal2_combat_40pixel.imzML"))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("grouped.imzML");
    let xml = std::fs::read_to_string(&source).unwrap();
    std::fs::write(&input, file_content_in_a_group(&xml)).unwrap();
    std::fs::copy(source.with_extension("ibd"), input.with_extension("ibd")).unwrap();
    let grouped = parse_file(&input).unwrap();
    assert_eq!(grouped.header, parse_file(&source).unwrap().header);

    let dataset = convert_to_store(&input, dir.path(), &ConvertOptions::default()).await;
    let output = dir.path().join("exported.imzML");
    let report = export(&dataset, &output, &ExportOptions::default()).await.unwrap();
    let exported = parse_file(&output).unwrap();
    assert_same_spectra("grouped", &grouped, &exported, report.coordinate_shift);
    assert_eq!(exported.header.checksums.md5, None);
    let file_content = exported.document.descendants("fileContent");
    let uuids: Vec<_> = file_content[0]
        .children
        .iter()
        .filter(|term| term.attribute("accession") == Some("IMS:1000080"))
        .collect();
    assert_eq!(uuids.len(), 1);
    assert!(
        exported
            .document
            .descendants("referenceableParamGroupRef")
            .iter()
            .all(|r| r.attribute("ref") != Some("fileContentTerms"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn existing_output_is_refused_unless_overwrite() {
    let input = fixtures().into_iter().next().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let dataset = convert_to_store(&input, dir.path(), &ConvertOptions::default()).await;
    let output = dir.path().join("x.imzML");
    std::fs::write(&output, b"keep me").unwrap();
    let error = export(&dataset, &output, &ExportOptions::default()).await.unwrap_err();
    assert!(matches!(error, ExportError::Exists { .. }), "{error}");
    assert_eq!(std::fs::read(&output).unwrap(), b"keep me");
    let overwrite = ExportOptions {
        overwrite: true,
        ..ExportOptions::default()
    };
    export(&dataset, &output, &overwrite).await.unwrap();
    assert!(parse_file(&output).is_ok());
    let wrong = dir.path().join("x.txt");
    let error = export(&dataset, &wrong, &ExportOptions::default()).await.unwrap_err();
    assert!(matches!(error, ExportError::BadOutput { .. }), "{error}");
}
