//! Binary arrays other than m/z and intensity (ion mobility, signal to noise, named
//! non-standard arrays): converted in both modes, read back bit-identical to the source's,
//! checked by a full validation; inputs whose spectra disagree on them are refused.

mod common;

use std::path::Path;

use common::convert_into;
use imzarr::{Dataset, validate};
use imzarr_convert::{ConvertOptions, convert};
use imzarr_imzml::synthetic::{SyntheticSpec, sample_other_arrays, write_synthetic};
use imzarr_imzml::{ArrayBytes, DataType, Ibd, Mode, OtherArrayKind, Unit, parse_file};
use imzarr_store::StoreLocation;

/// Small shards, so that the arrays span several and runs cross their bounds.
fn small_shards() -> ConvertOptions {
    ConvertOptions {
        mz_chunk_points: 256,
        shard_bytes: 16384,
        ..ConvertOptions::default()
    }
}

fn write_input(dir: &Path, mode: Mode, other_arrays: Vec<OtherArrayKind>) -> std::path::PathBuf {
    let spec = SyntheticSpec {
        width: 30,
        height: 20,
        other_arrays,
        ..SyntheticSpec::small(mode)
    };
    let input = dir.join("input.imzML");
    write_synthetic(&input, &spec).unwrap();
    input
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_arrays_read_back_bit_identical_in_both_modes() {
    for mode in [Mode::Processed, Mode::Continuous] {
        let dir = tempfile::tempdir().unwrap();
        let input = write_input(dir.path(), mode, sample_other_arrays());
        let store = dir.path().join("store");
        convert_into(&input, &store, &small_shards()).await;
        let url = store.to_str().unwrap();
        let dataset = Dataset::open(url).await.unwrap();

        let listed: Vec<(&str, &str, &str, &str, &str)> = dataset
            .other_arrays()
            .iter()
            .map(|i| {
                (
                    i.key.as_str(),
                    i.accession.as_str(),
                    i.name.as_str(),
                    i.value.as_str(),
                    i.dtype.as_str(),
                )
            })
            .collect();
        assert_eq!(
            listed,
            vec![
                (
                    "MS_1003006",
                    "MS:1003006",
                    "mean inverse reduced ion mobility array",
                    "",
                    "float32"
                ),
                (
                    "MS_1000786_peak_width__FWHM_____n_",
                    "MS:1000786",
                    "non-standard data array",
                    "peak width (FWHM) & <n>",
                    "float64"
                ),
                ("MS_1000516", "MS:1000516", "charge array", "", "int16"),
            ],
            "{mode:?}"
        );

        let source = parse_file(&input).unwrap();
        let ibd = Ibd::open(&source).unwrap();
        let count = dataset.spectrum_count();
        assert_eq!(count as usize, source.spectra.len());
        let mut compared = 0;
        for (k, info) in dataset.other_arrays().iter().enumerate() {
            // Runs of 37 spectra: not aligned with chunks, shards or tiles.
            for start in (0..count).step_by(37) {
                let run = start..(start + 37).min(count);
                let values = dataset.other_values(&info.key, run.clone()).await.unwrap();
                let spectra = dataset.stored_spectra(run.clone()).await.unwrap();
                assert_eq!(values.len(), spectra.len());
                for i in 0..values.len() {
                    let entry = &source.spectra[spectra.source_index[i] as usize];
                    let other = &entry.other_arrays[k];
                    let mut expected = ArrayBytes {
                        dtype: other.array.dtype,
                        bytes: Vec::new(),
                    };
                    ibd.read_array_into(entry.index, "other", &other.array, &mut expected)
                        .unwrap();
                    assert_eq!(values.dtype, expected.dtype, "{mode:?} {}", info.key);
                    assert_eq!(
                        values.bytes(i),
                        expected.bytes,
                        "{mode:?} {} spectrum {}",
                        info.key,
                        entry.index
                    );
                    assert_eq!(
                        values.values(i).len(),
                        spectra.intensity_bytes(i).len() / spectra.intensity_dtype().size()
                    );
                    compared += 1;
                }
            }
        }
        assert_eq!(compared, 3 * source.spectra.len());
        let error = dataset.other_values("MS_1000517", 0..1).await.unwrap_err().to_string();
        assert!(
            error.contains("no other binary array") && error.contains("MS_1003006"),
            "{error}"
        );
        let error = dataset
            .other_values("MS_1003006", 0..count + 1)
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains("outside"), "{error}");

        let report = validate(url, true).await.unwrap();
        assert!(report.is_valid(), "{mode:?}: {:?}", report.problems);
        // A changed byte in a shard of an other array is found by the full validation.
        let shard = common::entries(&store.join("spectra/other/MS_1003006/c"))
            .into_iter()
            .find(|path| path.is_file())
            .unwrap();
        let mut bytes = std::fs::read(&shard).unwrap();
        bytes[20] ^= 0x40;
        std::fs::write(&shard, bytes).unwrap();
        let report = validate(url, true).await.unwrap();
        assert!(
            report.problems.iter().any(|p| p.contains("spectra/other/MS_1003006")),
            "{mode:?}: {:?}",
            report.problems
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spectra_that_disagree_on_their_other_arrays_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let same_type = vec![
        OtherArrayKind {
            accession: "MS:1002816".into(),
            value: String::new(),
            dtype: DataType::F32,
            unit: None,
        },
        OtherArrayKind {
            accession: "MS:1000517".into(),
            value: String::new(),
            dtype: DataType::F32,
            unit: None,
        },
    ];
    let input = write_input(dir.path(), Mode::Processed, same_type);
    let xml = std::fs::read_to_string(&input).unwrap();
    // The third spectrum's first other array becomes a second signal-to-noise array.
    std::fs::write(&input, third_spectrum_refers_to(&xml, "otherArray1")).unwrap();
    let error = conversion_error(&input, &dir.path().join("store")).await;
    assert!(
        error.contains("input.imzML")
            && error.contains("spectrum 2 has the other binary arrays [MS_1000517, MS_1000517]")
            && error.contains("[MS_1002816, MS_1000517]"),
        "{error}"
    );
    assert!(
        !dir.path().join("store/zarr.json").exists(),
        "a refused input leaves no complete store"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn units_are_kept_and_spectra_that_disagree_on_one_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let millisecond = Unit {
        accession: "UO:0000028".into(),
        name: "millisecond".into(),
    };
    let drift_time = OtherArrayKind {
        accession: "MS:1002893".into(),
        value: String::new(),
        dtype: DataType::F32,
        unit: Some(millisecond.clone()),
    };
    let input = write_input(dir.path(), Mode::Processed, vec![drift_time]);
    let store = dir.path().join("kept");
    convert_into(&input, &store, &ConvertOptions::default()).await;
    let dataset = Dataset::open(store.to_str().unwrap()).await.unwrap();
    let unit = dataset.other_arrays()[0].unit.clone().unwrap();
    assert_eq!(
        (unit.accession.as_str(), unit.name.as_str()),
        ("UO:0000028", "millisecond")
    );

    // The third spectrum's drift times in microseconds, through a group of its own.
    let xml = std::fs::read_to_string(&input).unwrap();
    let start = xml.find(r#"<referenceableParamGroup id="otherArray0">"#).unwrap();
    let end = start + xml[start..].find("</referenceableParamGroup>").unwrap() + "</referenceableParamGroup>".len();
    let microseconds = xml[start..end]
        .replace(r#"id="otherArray0""#, r#"id="otherArrayMicro""#)
        .replace(
            r#"unitAccession="UO:0000028" unitName="millisecond""#,
            r#"unitAccession="UO:0000029" unitName="microsecond""#,
        );
    assert!(microseconds.contains("microsecond"));
    let with_group = format!("{}\n{microseconds}{}", &xml[..end], &xml[end..]);
    std::fs::write(&input, third_spectrum_refers_to(&with_group, "otherArrayMicro")).unwrap();
    let error = conversion_error(&input, &dir.path().join("refused")).await;
    assert!(
        error.contains("spectrum 2: its MS_1002893 array is in UO:0000029 \"microsecond\", the first spectrum's in UO:0000028 \"millisecond\""),
        "{error}"
    );
}

/// `xml` with the third spectrum's first other array taken from the group `group` instead of
/// `otherArray0`.
fn third_spectrum_refers_to(xml: &str, group: &str) -> String {
    let reference = r#"<referenceableParamGroupRef ref="otherArray0"/>"#;
    let third = xml.match_indices(reference).nth(2).unwrap().0;
    format!(
        "{}<referenceableParamGroupRef ref=\"{group}\"/>{}",
        &xml[..third],
        &xml[third + reference.len()..]
    )
}

/// The error of converting `input` into `store`, which must fail.
async fn conversion_error(input: &Path, store: &Path) -> String {
    let location = StoreLocation::from_url(store.to_str().unwrap(), true).unwrap();
    convert(input, location, &ConvertOptions::default())
        .await
        .unwrap_err()
        .to_string()
}
