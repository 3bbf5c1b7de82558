//! Random datasets written by `ImzmlWriter` parse back bit-identical.

use imzarr_imzml::synthetic::{SyntheticSpec, sample_other_arrays, write_synthetic};
use imzarr_imzml::{
    ArrayBytes, Compression, DataType, Ibd, ImzmlWriter, Mode, SpectrumArrays, Unit, WriterOptions, parse_file,
};
use proptest::prelude::*;

fn dtype() -> impl Strategy<Value = DataType> {
    prop::sample::select(DataType::ALL.to_vec())
}

/// Raw bytes of `n` values of `dtype` (any bit pattern: NaNs and infinities included).
fn raw(dtype: DataType, n: usize) -> impl Strategy<Value = ArrayBytes> {
    prop::collection::vec(any::<u8>(), n * dtype.size()).prop_map(move |bytes| ArrayBytes { dtype, bytes })
}

#[derive(Debug, Clone)]
struct Dataset {
    mode: Mode,
    compression: Compression,
    mz_dtype: DataType,
    intensity_dtype: DataType,
    width: u64,
    spectra: Vec<(ArrayBytes, ArrayBytes)>,
}

fn dataset() -> impl Strategy<Value = Dataset> {
    (
        prop::sample::select(vec![Mode::Processed, Mode::Continuous]),
        prop::sample::select(vec![Compression::None, Compression::Zlib]),
        dtype(),
        dtype(),
        1u64..5,
        1usize..12,
        0usize..40,
    )
        .prop_flat_map(|(mode, compression, mz_dtype, intensity_dtype, width, count, points)| {
            let spectrum = (0usize..=points).prop_flat_map(move |n| (raw(mz_dtype, n), raw(intensity_dtype, n)));
            let shared = (
                raw(mz_dtype, points),
                prop::collection::vec(raw(intensity_dtype, points), count),
            );
            let spectra = match mode {
                Mode::Processed => prop::collection::vec(spectrum, count).boxed(),
                Mode::Continuous => shared
                    .prop_map(|(mz, intensities)| intensities.into_iter().map(|i| (mz.clone(), i)).collect())
                    .boxed(),
            };
            spectra.prop_map(move |spectra| Dataset {
                mode,
                compression,
                mz_dtype,
                intensity_dtype,
                width,
                spectra,
            })
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn written_files_read_back_bit_identical(data in dataset()) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("random.imzML");
        let options = WriterOptions { mode: data.mode, compression: data.compression, mz_dtype: data.mz_dtype, intensity_dtype: data.intensity_dtype, ..WriterOptions::default() };
        let mut writer = ImzmlWriter::create(&path, options).unwrap();
        for (i, (mz, intensity)) in data.spectra.iter().enumerate() {
            let i = i as u64;
            writer
                .write_spectrum(i % data.width + 1, i / data.width + 1, None, SpectrumArrays::new(mz, intensity))
                .unwrap();
        }
        let written = writer.finish().unwrap();

        let imzml = parse_file(&path).unwrap();
        prop_assert_eq!(imzml.header.uuid, Some(written.uuid));
        prop_assert_eq!(imzml.spectra.len(), data.spectra.len());
        let ibd = Ibd::open(&imzml).unwrap();
        prop_assert_eq!(ibd.verify_checksums(&imzml).unwrap().verified, vec!["SHA-1"]);
        for (entry, (mz, intensity)) in imzml.spectra.iter().zip(&data.spectra) {
            let i = entry.index as u64;
            prop_assert_eq!((entry.x, entry.y), ((i % data.width + 1) as i64, (i / data.width + 1) as i64));
            let (got_mz, got_intensity) = ibd.read_spectrum(entry).unwrap();
            prop_assert_eq!(&got_mz, mz);
            prop_assert_eq!(&got_intensity, intensity);
        }
    }
}

/// Spectra written out of order with `write_spectrum_at` are listed by index; indexes that are
/// not exactly `0..n` are refused at `finish`.
#[test]
fn spectra_written_out_of_order_are_listed_by_index() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shuffled.imzML");
    let mut writer = ImzmlWriter::create(&path, WriterOptions::default()).unwrap();
    let spectrum = |i: usize| {
        (
            ArrayBytes::from_f64(DataType::F64, &[100.0 + i as f64]),
            ArrayBytes::from_f64(DataType::F32, &[i as f64]),
        )
    };
    for index in [2usize, 0, 3, 1] {
        let (mz, intensity) = spectrum(index);
        writer
            .write_spectrum_at(index, index as u64 + 1, 1, None, arrays(&mz, &intensity))
            .unwrap();
    }
    writer.finish().unwrap();
    let imzml = parse_file(&path).unwrap();
    let ibd = Ibd::open(&imzml).unwrap();
    for (i, entry) in imzml.spectra.iter().enumerate() {
        assert_eq!((entry.index, entry.x), (i, i as i64 + 1));
        assert_eq!(ibd.read_spectrum(entry).unwrap(), spectrum(i));
    }

    let path = dir.path().join("gap.imzML");
    let mut writer = ImzmlWriter::create(&path, WriterOptions::default()).unwrap();
    for (index, x) in [(0usize, 1u64), (2, 2)] {
        let (mz, intensity) = spectrum(index);
        writer
            .write_spectrum_at(index, x, 1, None, arrays(&mz, &intensity))
            .unwrap();
    }
    let error = writer.finish().unwrap_err().to_string();
    assert!(error.contains("0..2 exactly once"), "{error}");
}

fn arrays<'a>(mz: &'a ArrayBytes, intensity: &'a ArrayBytes) -> SpectrumArrays<'a> {
    SpectrumArrays {
        mz,
        intensity,
        others: &[],
        terms: &[],
    }
}

/// Arrays other than m/z and intensity are written with their kinds (a named non-standard
/// array included) and read back with the same kinds and values, in both modes.
#[test]
fn other_arrays_are_written_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let kinds = sample_other_arrays();
    for base in [SyntheticSpec::small_processed(), SyntheticSpec::small_continuous()] {
        let spec = SyntheticSpec {
            other_arrays: kinds.clone(),
            ..base
        };
        let path = dir.path().join(format!("{:?}.imzML", spec.mode));
        write_synthetic(&path, &spec).unwrap();
        let imzml = parse_file(&path).unwrap();
        let ibd = Ibd::open(&imzml).unwrap();
        let mut seen = std::collections::HashSet::new();
        for entry in &imzml.spectra {
            let found: Vec<(&str, &str, DataType, Option<&str>)> = entry
                .other_arrays
                .iter()
                .map(|o| {
                    let unit = o.unit.as_ref().map(|u| u.name.as_str());
                    (o.accession.as_str(), o.value.as_str(), o.array.dtype, unit)
                })
                .collect();
            assert_eq!(
                found,
                vec![
                    (
                        "MS:1003006",
                        "",
                        DataType::F32,
                        Some("volt-second per square centimeter")
                    ),
                    ("MS:1000786", "peak width (FWHM) & <n>", DataType::F64, None),
                    ("MS:1000516", "", DataType::I16, None)
                ]
            );
            let units: Vec<Option<Unit>> = entry.other_arrays.iter().map(|o| o.unit.clone()).collect();
            let declared: Vec<Option<Unit>> = kinds.iter().map(|k| k.unit.clone()).collect();
            assert_eq!(units, declared);
            for other in &entry.other_arrays {
                assert_eq!(other.array.length, entry.mz.length);
                let mut values = ArrayBytes {
                    dtype: other.array.dtype,
                    bytes: Vec::new(),
                };
                ibd.read_array_into(entry.index, "other", &other.array, &mut values)
                    .unwrap();
                let decoded = values.to_f64_vec();
                assert!(decoded.iter().all(|v| (0.0..2.0).contains(v)), "{decoded:?}");
                seen.extend(decoded.iter().map(|v| v.to_bits()));
            }
        }
        assert!(seen.len() > 1000, "random values, not one repeated: {}", seen.len());
    }
    let mut writer = ImzmlWriter::create(
        dir.path().join("wrong.imzML"),
        WriterOptions {
            other_arrays: kinds,
            ..WriterOptions::default()
        },
    )
    .unwrap();
    let mz = ArrayBytes::from_f64(DataType::F64, &[100.0]);
    let intensity = ArrayBytes::from_f64(DataType::F32, &[1.0]);
    let error = writer
        .write_spectrum(1, 1, None, SpectrumArrays::new(&mz, &intensity))
        .unwrap_err()
        .to_string();
    assert!(error.contains("do not match"), "{error}");
}

/// A source header is carried over: the writer's own software, processing and groups take ids
/// no copied element uses, an empty first scan settings element gets the pixel counts and
/// size, and the spectra refer to the run's default instrument configuration.
#[test]
fn a_source_header_is_carried_over_with_ids_of_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source.imzML");
    let (mz, intensity) = (
        ArrayBytes::from_f64(DataType::F64, &[100.0, 200.0]),
        ArrayBytes::from_f64(DataType::F32, &[1.0, 2.0]),
    );
    let mut writer = ImzmlWriter::create(&source, WriterOptions::default()).unwrap();
    writer.write_spectrum(1, 1, None, arrays(&mz, &intensity)).unwrap();
    writer.finish().unwrap();
    let xml = std::fs::read_to_string(&source).unwrap();
    // Ids the writer would take, given to copied elements; an empty scan settings element;
    // two instrument configurations, the run's default the second.
    let xml = xml
        .replace(
            r#"<software id="writer""#,
            r#"<software id="mzArray" version="1"><cvParam cvRef="MS" accession="MS:1000532" name="Xcalibur" value=""/></software>
    <software id="writer""#,
        )
        .replace(r#"<dataProcessing id="export">"#, r#"<dataProcessing id="writer">"#)
        .replace(r#"defaultDataProcessingRef="export""#, r#"defaultDataProcessingRef="writer""#);
    let start = xml.find("<scanSettings ").unwrap();
    let end = xml.find("</scanSettings>").unwrap() + "</scanSettings>".len();
    let xml = format!("{}<scanSettings id=\"run1\"/>{}", &xml[..start], &xml[end..])
        .replace(
            r#"<instrumentConfiguration id="IC1"/>"#,
            r#"<instrumentConfiguration id="first"/><instrumentConfiguration id="second"><referenceableParamGroupRef ref="common"/><softwareRef ref="mzArray"/></instrumentConfiguration>"#,
        )
        .replace(r#"instrumentConfigurationList count="1""#, r#"instrumentConfigurationList count="2""#)
        .replace(
            r#"defaultInstrumentConfigurationRef="IC1""#,
            r#"defaultInstrumentConfigurationRef="second""#,
        );
    // A group the second configuration refers to, and one nothing copied refers to.
    let xml = xml.replace(
        "</referenceableParamGroupList>",
        r#"<referenceableParamGroup id="common"><cvParam cvRef="MS" accession="MS:1000557" name="LTQ FT Ultra" value=""/></referenceableParamGroup>
    <referenceableParamGroup id="unused"/>
  </referenceableParamGroupList>"#,
    );
    std::fs::write(&source, xml).unwrap();
    let parsed = parse_file(&source).unwrap();

    let copy = dir.path().join("copy.imzML");
    let options = WriterOptions {
        pixel_size_um: Some(20.0),
        source_header: Some(parsed.document.clone()),
        ..WriterOptions::default()
    };
    let mut writer = ImzmlWriter::create(&copy, options).unwrap();
    writer.write_spectrum(3, 2, None, arrays(&mz, &intensity)).unwrap();
    writer.finish().unwrap();
    let copied = parse_file(&copy).unwrap();
    let text = std::fs::read_to_string(&copy).unwrap();

    let ids = |section: &str| -> Vec<String> {
        copied
            .document
            .child(section)
            .unwrap()
            .children
            .iter()
            .map(|c| c.attribute("id").unwrap().to_string())
            .collect()
    };
    assert_eq!(ids("softwareList"), ["mzArray", "writer", "writer_2"]);
    assert_eq!(ids("dataProcessingList"), ["writer", "export"]);
    assert_eq!(ids("instrumentConfigurationList"), ["first", "second"]);
    assert_eq!(
        ids("referenceableParamGroupList"),
        ["mzArray_2", "intensityArray", "spectrum1", "common"]
    );
    assert!(text.contains(r#"<referenceableParamGroupList count="4">"#), "{text}");
    assert!(text.contains(r#"<referenceableParamGroup id="mzArray_2">"#), "{text}");
    assert!(
        text.contains(r#"<referenceableParamGroupRef ref="mzArray_2"/>"#),
        "{text}"
    );
    assert!(text.contains(r#"<scan instrumentConfigurationRef="second">"#), "{text}");
    assert!(
        text.contains(r#"<run id="run1_2" defaultInstrumentConfigurationRef="second""#),
        "{text}"
    );
    assert_eq!(copied.header.declared_grid.max_count_x, Some(3));
    assert_eq!(copied.header.pixel_size.as_ref().map(|p| p.x_um), Some(20.0));
    let ibd = Ibd::open(&copied).unwrap();
    assert_eq!(ibd.read_spectrum(&copied.spectra[0]).unwrap(), (mz, intensity));
}
