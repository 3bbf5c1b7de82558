//! The habits of real writers, each repaired (and recorded) rather than rejected or misread.

mod common;

use common::{variant, write_good};
use imzarr_imzml::synthetic::SyntheticSpec;
use imzarr_imzml::{DataType, Grid, Ibd, Imzml, ImzmlError, Mode, TermPlace, TermValues, Unit, parse_file};

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

/// `xml` with the m/z precision term (64-bit floats, the first such term) written as
/// `accession` named `name`.
fn with_mz_precision_term(xml: &str, accession: &str, name: &str) -> String {
    let term = r#"accession="MS:1000523" name="64-bit float""#;
    assert!(xml.contains(term));
    xml.replacen(term, &format!(r#"accession="{accession}" name="{name}""#), 1)
}

#[test]
fn the_accession_wins_over_a_wrong_name() {
    let dir = tempfile::tempdir().unwrap();
    let (good, xml) = write_good(dir.path(), &small());
    // The name says 32-bit, the accession says 64-bit; the byte lengths agree with the accession.
    let lying = with_mz_precision_term(&xml, "MS:1000523", "32-bit float");
    let imzml = parse_file(variant(dir.path(), "names", &lying)).unwrap();
    assert_eq!(imzml.spectra[0].mz.dtype, DataType::F64);
    same_values(&imzml, &parse_file(good).unwrap());
}

#[test]
fn a_wrong_precision_accession_gives_way_to_its_name_only_where_the_lengths_fit_the_name() {
    // One writer declares 32-bit floats (MS:1000521) named "64-bit float" and writes 64-bit ones.
    let dir = tempfile::tempdir().unwrap();
    let (good, xml) = write_good(dir.path(), &small());
    let misnamed = with_mz_precision_term(&xml, "MS:1000521", "64-bit float");
    let imzml = parse_file(variant(dir.path(), "misnamed", &misnamed)).unwrap();
    assert_eq!(imzml.spectra[0].mz.dtype, DataType::F64);
    let quirk = imzml.quirks.iter().find(|q| q.kind == "precision-from-name").unwrap();
    assert!(
        quirk
            .detail
            .contains(r#"MS:1000521 (32-bit float) is named "64-bit float""#),
        "{quirk:?}"
    );
    same_values(&imzml, &parse_file(good).unwrap());

    // Without the name to tell, the lengths alone do not choose a type: the error stays.
    let unnamed = with_mz_precision_term(&xml, "MS:1000521", "32-bit float");
    let error = parse_file(variant(dir.path(), "unnamed", &unnamed)).unwrap_err();
    assert!(error.to_string().contains("need"), "{error}");
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
fn character_references_in_attribute_values_are_resolved() {
    let dir = tempfile::tempdir().unwrap();
    let (good, xml) = write_good(dir.path(), &small());
    // XML lets any attribute value spell characters as references: a file run through an
    // XML library may come back with them, and pyimzML (through ElementTree) reads them.
    let referenced = xml
        .replace(
            r#"name="external offset" value="16""#,
            r#"name="external offset" value="&#49;&#x36;""#,
        )
        .replace(r#"name="position x" value="2""#, r#"name="position x" value="&#x32;""#)
        .replace(r#"id="spectrum1""#, r#"id="spectrum&amp;1""#)
        .replace(r#"ref="spectrum1""#, r#"ref="spectrum&#38;1""#);
    assert_ne!(referenced, xml);
    let imzml = parse_file(variant(dir.path(), "references", &referenced)).unwrap();
    let good = parse_file(good).unwrap();
    let positions = |imzml: &Imzml| imzml.spectra.iter().map(|s| (s.x, s.y)).collect::<Vec<_>>();
    assert_eq!(positions(&imzml), positions(&good));
    same_values(&imzml, &good);
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

/// `xml` with the value of the term `accession` (which must be there) replaced by `value`.
fn with_value(xml: &str, accession: &str, value: &str) -> String {
    let start = xml.find(&format!(r#"accession="{accession}""#)).unwrap();
    let value_at = start + xml[start..].find(r#"value=""#).unwrap() + r#"value=""#.len();
    let value_end = value_at + xml[value_at..].find('"').unwrap();
    format!("{}{value}{}", &xml[..value_at], &xml[value_end..])
}

#[test]
fn placeholders_for_the_uuid_and_the_checksums_declare_nothing() {
    // Writers that leave these to be filled in later and never do: a UUID term without a value
    // (one writer names it "mass spectrum"), an MD5 of zeros, an empty SHA-1.
    let dir = tempfile::tempdir().unwrap();
    let (good, xml) = write_good(dir.path(), &small());
    let no_uuid = with_value(&xml, "IMS:1000080", "");
    let zeros = with_value(&no_uuid, "IMS:1000091", &"0".repeat(40));
    let md5_line = r#"<cvParam cvRef="IMS" accession="IMS:1000090" name="ibd MD5" value=""/>"#;
    let empty_md5 = zeros.replacen("<fileContent>", &format!("<fileContent>{md5_line}"), 1);
    let imzml = parse_file(variant(dir.path(), "placeholders", &empty_md5)).unwrap();

    assert_eq!(imzml.header.uuid, None);
    assert_eq!(imzml.header.checksums, Default::default());
    let kinds: Vec<_> = imzml
        .quirks
        .iter()
        .map(|q| (q.kind.as_str(), q.detail.as_str()))
        .collect();
    assert!(
        kinds.contains(&(
            "uuid-missing",
            "the header's UUID term (IMS:1000080) has no value; the .ibd cannot be matched to it"
        )),
        "{kinds:?}"
    );
    let placeholders: Vec<_> = kinds
        .iter()
        .filter(|(kind, _)| *kind == "checksum-placeholder")
        .collect();
    assert_eq!(placeholders.len(), 2, "{kinds:?}");
    assert!(placeholders[0].1.contains("MD5 \"\""), "{placeholders:?}");
    assert!(
        placeholders[1]
            .1
            .contains("SHA-1 \"0000000000000000000000000000000000000000\""),
        "{placeholders:?}"
    );
    let ibd = Ibd::open(&imzml).unwrap();
    assert!(ibd.verify_checksums(&imzml).unwrap().verified.is_empty());
    same_values(&imzml, &parse_file(good).unwrap());

    // A checksum that is wrong but not a placeholder is still refused.
    let wrong = with_value(&xml, "IMS:1000091", &format!("{}0", "1".repeat(39)));
    let imzml = parse_file(variant(dir.path(), "wrong", &wrong)).unwrap();
    let error = Ibd::open(&imzml).unwrap().verify_checksums(&imzml).unwrap_err();
    assert!(error.to_string().contains("SHA-1 checksum mismatch"), "{error}");
}

#[test]
fn a_checksum_that_is_not_hex_digits_declares_nothing() {
    // "N/A" where a writer had no checksum to give.
    let dir = tempfile::tempdir().unwrap();
    let (good, xml) = write_good(dir.path(), &small());
    let imzml = parse_file(variant(dir.path(), "na", &with_value(&xml, "IMS:1000091", "N/A"))).unwrap();
    assert_eq!(imzml.header.checksums, Default::default());
    let quirk = imzml.quirks.iter().find(|q| q.kind == "checksum-placeholder").unwrap();
    assert_eq!(
        quirk.detail,
        "the declared SHA-1 \"N/A\" is not hex digits, not a checksum; the .ibd is not checked against it"
    );
    assert!(
        Ibd::open(&imzml)
            .unwrap()
            .verify_checksums(&imzml)
            .unwrap()
            .verified
            .is_empty()
    );
    same_values(&imzml, &parse_file(good).unwrap());
}

#[test]
fn a_digest_written_without_its_leading_zeros_matches() {
    use sha1::Digest as _;
    // A writer that prints the digest as a number (Java's BigInteger.toString(16)) drops its
    // leading zeros. Bytes after the last array change the .ibd's SHA-1 until it starts with
    // a zero, as one digest in sixteen does.
    let dir = tempfile::tempdir().unwrap();
    let (good, xml) = write_good(dir.path(), &small());
    let ibd_path = good.with_extension("ibd");
    let mut ibd = std::fs::read(&ibd_path).unwrap();
    let mut sha1 = format!("{:x}", sha1::Sha1::digest(&ibd));
    while !sha1.starts_with('0') {
        ibd.push(0xAB);
        sha1 = format!("{:x}", sha1::Sha1::digest(&ibd));
    }
    std::fs::write(&ibd_path, &ibd).unwrap();
    let short = sha1.trim_start_matches('0');
    let imzml = parse_file(variant(dir.path(), "short", &with_value(&xml, "IMS:1000091", short))).unwrap();
    let outcome = Ibd::open(&imzml).unwrap().verify_checksums(&imzml).unwrap();
    assert_eq!(outcome.verified, vec!["SHA-1"]);
    assert_eq!(outcome.quirks.len(), 1);
    assert_eq!(outcome.quirks[0].kind, "checksum-without-leading-zeros");
    assert!(outcome.quirks[0].detail.contains(&sha1), "{:?}", outcome.quirks);

    // Another digest of that length does not match.
    let last = if short.ends_with('0') { '1' } else { '0' };
    let wrong = format!("{}{last}", &short[..short.len() - 1]);
    let imzml = parse_file(variant(
        dir.path(),
        "short_wrong",
        &with_value(&xml, "IMS:1000091", &wrong),
    ))
    .unwrap();
    let error = Ibd::open(&imzml).unwrap().verify_checksums(&imzml).unwrap_err();
    assert!(error.to_string().contains("SHA-1 checksum mismatch"), "{error}");
}

#[test]
fn a_digest_under_another_algorithms_term_is_checked_as_what_its_length_says() {
    use md5::Digest as _;
    // One writer computes an MD5 and writes it as the SHA-1.
    let dir = tempfile::tempdir().unwrap();
    let (good, xml) = write_good(dir.path(), &small());
    let ibd = std::fs::read(good.with_extension("ibd")).unwrap();
    let md5 = format!("{:x}", md5::Md5::digest(&ibd));
    let misfiled = with_value(&xml, "IMS:1000091", &md5);
    let imzml = parse_file(variant(dir.path(), "misfiled", &misfiled)).unwrap();
    assert_eq!(imzml.header.checksums.md5.as_deref(), Some(md5.as_str()));
    assert_eq!(imzml.header.checksums.sha1, None);
    let quirk = imzml
        .quirks
        .iter()
        .find(|q| q.kind == "checksum-of-another-algorithm")
        .unwrap();
    assert_eq!(
        quirk.detail,
        "the SHA-1 term holds 32 hex digits, the length of an MD5; checked as one"
    );
    let outcome = Ibd::open(&imzml).unwrap().verify_checksums(&imzml).unwrap();
    assert_eq!(outcome.verified, vec!["MD5"]);

    // A wrong digest stays wrong under its new name.
    let wrong = with_value(&xml, "IMS:1000091", &"1".repeat(32));
    let imzml = parse_file(variant(dir.path(), "misfiled_wrong", &wrong)).unwrap();
    let error = Ibd::open(&imzml).unwrap().verify_checksums(&imzml).unwrap_err();
    assert!(error.to_string().contains("MD5 checksum mismatch"), "{error}");
}

#[test]
fn a_uuid_in_dotnet_byte_order_matches_and_any_other_order_does_not() {
    // .NET's Guid.ToByteArray stores the first three fields little-endian; a writer that puts
    // those bytes in the .ibd and Guid.ToString in the header wrote the same UUID.
    let dir = tempfile::tempdir().unwrap();
    let (good, _) = write_good(dir.path(), &small());
    let imzml = parse_file(&good).unwrap();
    let uuid = imzml.header.uuid.unwrap();
    let ibd_path = good.with_extension("ibd");
    let original = std::fs::read(&ibd_path).unwrap();
    let with_first_bytes = |first: &[u8]| {
        let mut bytes = original.clone();
        bytes[..16].copy_from_slice(first);
        std::fs::write(&ibd_path, bytes).unwrap();
    };

    let mut dotnet = uuid;
    dotnet[0..4].reverse();
    dotnet[4..6].reverse();
    dotnet[6..8].reverse();
    with_first_bytes(&dotnet);
    let ibd = Ibd::open(&imzml).unwrap();
    assert_eq!(ibd.quirks().len(), 1);
    assert_eq!(ibd.quirks()[0].kind, "uuid-dotnet-byte-order");
    for spectrum in &imzml.spectra {
        assert!(ibd.read_spectrum(spectrum).is_ok());
    }

    let mut reversed = uuid;
    reversed.reverse();
    with_first_bytes(&reversed);
    assert!(matches!(
        Ibd::open(&imzml).unwrap_err(),
        ImzmlError::UuidMismatch { .. }
    ));

    with_first_bytes(&uuid);
    assert!(Ibd::open(&imzml).unwrap().quirks().is_empty());
}

/// Adds to every spectrum a third binary array (a noise array, at the intensities' place).
fn with_noise_arrays(xml: &str) -> String {
    let noise_params = concat!(
        r#"<cvParam cvRef="MS" accession="MS:1000786" name="non-standard data array" value="noise"/>"#,
        r#"<cvParam cvRef="MS" accession="MS:1000521" name="32-bit float" value=""/>"#,
        r#"<cvParam cvRef="MS" accession="MS:1000576" name="no compression" value=""/>"#,
        r#"<cvParam cvRef="IMS" accession="IMS:1000101" name="external data" value="true"/>"#,
    );
    let mut parts: Vec<String> = xml.split("</binaryDataArrayList>").map(str::to_string).collect();
    let last = parts.len() - 1;
    for part in &mut parts[..last] {
        let start = part.rfind("<binaryDataArray ").unwrap();
        let intensity = part[start..].to_string();
        assert!(intensity.contains(r#"ref="intensityArray""#));
        part.push_str(&intensity.replace(r#"<referenceableParamGroupRef ref="intensityArray"/>"#, noise_params));
    }
    parts.join("</binaryDataArrayList>")
}

#[test]
fn every_binary_array_kind_of_the_vocabulary_is_kept() {
    // Thermo-derived files carry noise, baseline and resolution arrays, for one.
    let dir = tempfile::tempdir().unwrap();
    let (_, xml) = write_good(dir.path(), &small());
    let noise = with_noise_arrays(&xml);
    for (accession, name) in imzarr_imzml::cv::OTHER_ARRAY_KINDS {
        let term = format!(r#"accession="{accession}" name="{name}""#);
        let variant_xml = noise.replace(r#"accession="MS:1000786" name="non-standard data array""#, &term);
        let path = variant(dir.path(), &accession.replace(':', "_"), &variant_xml);
        let imzml = parse_file(&path).unwrap_or_else(|e| panic!("{accession}: {e}"));
        assert!(
            imzml
                .spectra
                .iter()
                .all(|s| s.other_arrays.len() == 1 && s.other_arrays[0].accession == accession),
            "{accession}"
        );
    }
}

#[test]
fn other_arrays_are_kept_for_the_caller_or_dropped_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let (good, xml) = write_good(dir.path(), &small());
    let path = variant(dir.path(), "noise", &with_noise_arrays(&xml));
    let kept = parse_file(&path).unwrap();
    assert!(
        kept.spectra.iter().all(|s| s.other_arrays.len() == 1),
        "a noise array per spectrum"
    );
    assert_eq!(kept.spectra[0].other_arrays[0].accession, "MS:1000786");
    let options = imzarr_imzml::ParseOptions {
        drop_other_arrays: true,
        ..Default::default()
    };
    let dropped = imzarr_imzml::parse_file_with(&path, &options).unwrap();
    assert!(dropped.spectra.iter().all(|s| s.other_arrays.is_empty()));
    let quirk = dropped
        .quirks
        .iter()
        .find(|q| q.kind == "other-arrays-dropped")
        .unwrap();
    assert!(
        quirk.detail.starts_with("6 arrays") && quirk.detail.contains("MS:1000786"),
        "{}",
        quirk.detail
    );
    same_values(&dropped, &parse_file(good).unwrap());
}

/// Removes every cvParam with `accession` from `xml`.
fn without_term(xml: &str, accession: &str) -> String {
    xml.lines()
        .filter(|line| !line.contains(&format!(r#"accession="{accession}""#)))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_missing_array_length_comes_from_the_encoded_length_and_never_reads_as_empty() {
    let dir = tempfile::tempdir().unwrap();
    let (good, xml) = write_good(dir.path(), &small());
    let no_length = without_term(&xml, "IMS:1000103");
    assert_ne!(no_length, xml);
    let imzml = parse_file(variant(dir.path(), "no_length", &no_length)).unwrap();
    assert!(
        imzml
            .quirks
            .iter()
            .any(|q| q.kind == "array-length-from-encoded-length")
    );
    same_values(&imzml, &parse_file(good).unwrap());
    // Without either length, the spectrum's defaultArrayLength="0" must not make it empty.
    let neither = without_term(&no_length, "IMS:1000104");
    let error = parse_file(variant(dir.path(), "neither", &neither)).unwrap_err();
    assert!(
        error.to_string().contains("IMS:1000103 external array length"),
        "{error}"
    );
}

#[test]
fn spectrum_terms_are_kept_when_constant_or_numbers_and_counted_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let (_, xml) = write_good(dir.path(), &small());
    let position_x = r#"accession="IMS:1000050""#;
    assert!(xml.contains(position_x));
    let mut with_terms = String::new();
    let mut spectrum = 0;
    for line in xml.lines() {
        if line.contains(position_x) {
            with_terms.push_str(&format!(
                r#"<cvParam cvRef="MS" accession="MS:1000016" name="scan start time" value="{}" unitCvRef="UO" unitAccession="UO:0000031" unitName="minute"/>"#,
                spectrum as f64 / 4.0
            ));
            with_terms.push_str(r#"<userParam name="laser shots" value="200"/>"#);
            with_terms.push_str(&format!(r#"<userParam name="title" value="spot {spectrum}"/>"#));
            spectrum += 1;
        }
        with_terms.push_str(line);
        with_terms.push('\n');
    }
    let imzml = parse_file(variant(dir.path(), "terms", &with_terms)).unwrap();
    let spectra = imzml.spectra.len();
    assert_eq!(spectrum, spectra);
    let start_times: Vec<f64> = (0..spectra).map(|i| i as f64 / 4.0).collect();
    let minute = Unit {
        accession: "UO:0000031".into(),
        name: "minute".into(),
    };
    let kept: Vec<(&str, &str, Option<&Unit>, TermPlace, &TermValues)> = imzml
        .spectrum_terms
        .iter()
        .map(|t| {
            (
                t.accession.as_str(),
                t.name.as_str(),
                t.unit.as_ref(),
                t.place,
                &t.values,
            )
        })
        .collect();
    assert_eq!(
        kept,
        vec![
            (
                "MS:1000016",
                "scan start time",
                Some(&minute),
                TermPlace::Scan,
                &TermValues::Numbers(start_times)
            ),
            (
                "userParam",
                "laser shots",
                None,
                TermPlace::Scan,
                &TermValues::Constant("200".into())
            ),
        ]
    );
    let listed: Vec<(&str, &str, u64)> = imzml
        .spectrum_terms_not_kept
        .iter()
        .map(|t| (t.accession.as_str(), t.name.as_str(), t.occurrences))
        .collect();
    assert_eq!(listed, vec![("userParam", "title", spectra as u64)]);
    // The writer's spectra refer to a group of terms, kept with the header: none listed.
    assert!(xml.contains("referenceableParamGroupRef"));
    let plain = parse_file(variant(dir.path(), "plain", &xml)).unwrap();
    assert_eq!((plain.spectrum_terms, plain.spectrum_terms_not_kept), (vec![], vec![]));
}
