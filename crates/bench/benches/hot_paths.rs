//! Criterion micro-benchmarks of the hot paths. Each checks its result, so that a benchmark
//! cannot measure a broken path: `cargo bench -p imzarr-bench`.

// criterion_group! defines an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;
use std::io::Cursor;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use imzarr::{Dataset, MzWindow};
use imzarr_convert::{ConvertOptions, ShardEncoder, convert};
use imzarr_format::{ArraySpec, Codec};
use imzarr_imzml::synthetic::{SyntheticSpec, write_synthetic};
use imzarr_imzml::{ArrayBytes, DataType, ParseOptions, parse_reader};
use imzarr_store::StoreLocation;

/// A pseudo-random generator, so that the data resist compression as real noise does.
fn noise(n: usize) -> impl Iterator<Item = u64> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    (0..n).map(move |_| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    })
}

fn xml_parse(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("header.imzML");
    let spec = SyntheticSpec {
        width: 100,
        height: 100,
        points_per_spectrum: 2,
        skip_every: 0,
        ..SyntheticSpec::small_processed()
    };
    write_synthetic(&path, &spec).unwrap();
    let xml = std::fs::read(&path).unwrap();
    let mut group = c.benchmark_group("xml parse");
    group.throughput(Throughput::Bytes(xml.len() as u64));
    group.bench_function("10,000 spectra", |b| {
        b.iter(|| {
            let imzml = parse_reader(
                Cursor::new(black_box(&xml)),
                &path,
                path.with_extension("ibd"),
                u64::MAX,
                &ParseOptions::default(),
            )
            .unwrap();
            assert_eq!(imzml.spectra.len(), 10_000);
        })
    });
    group.finish();
}

fn dtype_decode(c: &mut Criterion) {
    let values: Vec<f64> = (0..1_000_000).map(|i| (i % 1000) as f64).collect();
    let expected: f64 = values.iter().sum();
    let mut group = c.benchmark_group("dtype decode");
    for dtype in [DataType::F32, DataType::F64, DataType::I32] {
        let bytes = ArrayBytes::from_f64(dtype, &values);
        group.throughput(Throughput::Bytes(bytes.bytes.len() as u64));
        group.bench_function(format!("{dtype:?} x 1M"), |b| {
            b.iter(|| {
                let decoded = black_box(&bytes).to_f64_vec();
                assert_eq!(decoded.iter().sum::<f64>(), expected);
            })
        });
    }
    group.finish();
}

fn bucket_sort(c: &mut Criterion) {
    // Keys as the m/z sort makes them (order-preserving bits of m/z values in 100..2000, and the
    // arrival), for 1,024 spectra of 1,024 peaks each, every spectrum an ascending run.
    let mut random = noise(1 << 20);
    let mut keys: Vec<u64> = Vec::with_capacity(1 << 20);
    for _ in 0..1024 {
        let mut spectrum: Vec<f64> = random
            .by_ref()
            .take(1 << 10)
            .map(|r| 100.0 + (r % 1_900_000_000) as f64 * 1e-6)
            .collect();
        spectrum.sort_by(f64::total_cmp);
        keys.extend(spectrum.into_iter().map(|mz| mz.to_bits() | 1 << 63));
    }
    let mut group = c.benchmark_group("bucket sort");
    group.throughput(Throughput::Elements(keys.len() as u64));
    group.bench_function("1,024 spectra x 1,024 peaks", |b| {
        b.iter(|| {
            let order = imzarr_convert::order_by_key(black_box(&keys));
            assert!(
                order
                    .windows(2)
                    .all(|w| (keys[w[0] as usize], w[0]) < (keys[w[1] as usize], w[1]))
            );
        })
    });
    group.finish();
}

fn shard_encode(c: &mut Criterion) {
    let points = 1u64 << 20;
    let values: Vec<u8> = noise(points as usize)
        .flat_map(|r| (100.0 + (r % 1_000_000) as f32 * 1e-3).to_le_bytes())
        .collect();
    let mut group = c.benchmark_group("shard encode");
    group.throughput(Throughput::Bytes(values.len() as u64));
    for codec in [Codec::BloscLz4 { level: 5 }, Codec::BloscZstd { level: 5 }] {
        let spec = ArraySpec::new(
            vec![points],
            "float32",
            vec![8192],
            vec![points / 8192],
            serde_json::json!(0.0),
            vec!["point"],
            codec,
        );
        let encoder = ShardEncoder::from_spec(&spec).unwrap();
        group.bench_function(format!("{codec:?}, 4 MiB of f32"), |b| {
            b.iter(|| {
                let encoded = encoder.encode(black_box(&values)).unwrap();
                assert!(encoded.len() > 1000 && encoded.len() < values.len() + values.len() / 8);
            })
        });
    }
    group.finish();
}

fn ion_image(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let stores: Vec<(String, Dataset)> = [SyntheticSpec::small_processed(), SyntheticSpec::small_continuous()]
        .into_iter()
        .enumerate()
        .map(|(i, spec)| {
            let spec = SyntheticSpec {
                width: 60,
                height: 60,
                ..spec
            };
            let input = dir.path().join(format!("in{i}.imzML"));
            write_synthetic(&input, &spec).unwrap();
            let store = dir.path().join(format!("store{i}"));
            runtime.block_on(async {
                let location = StoreLocation::from_url(store.to_str().unwrap(), true).unwrap();
                convert(Path::new(&input), location, &ConvertOptions::default())
                    .await
                    .unwrap();
                (
                    format!("{:?}", spec.mode),
                    Dataset::open(store.to_str().unwrap()).await.unwrap(),
                )
            })
        })
        .collect();
    let mut group = c.benchmark_group("ion image accumulation");
    for (mode, dataset) in &stores {
        let probe = runtime.block_on(dataset.spectrum(2, 2)).unwrap().unwrap();
        let window = MzWindow::ppm(probe.mz[probe.mz.len() / 2], 50.0);
        group.bench_function(format!("{mode}, 3600 pixels, 50 ppm"), |b| {
            b.iter(|| {
                let image = runtime.block_on(dataset.ion_image(window)).unwrap();
                assert!(image.points > 0);
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = hot_paths;
    config = Criterion::default().sample_size(20);
    targets = xml_parse, dtype_decode, bucket_sort, shard_encode, ion_image
}
criterion_main!(hot_paths);
