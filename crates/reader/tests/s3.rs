//! The same conversion and queries through an S3-compatible server as through local files.
//!
//! Needs a server: `.ci/run` starts moto on 127.0.0.1, sets `IMZARR_TEST_S3_BUCKET` and the
//! `AWS_*` variables, and runs this test again against s3s-fs, which checks request signatures.
//! Without `IMZARR_TEST_S3_BUCKET` the test says it is skipped and passes.

mod common;

use imzarr::{Aggregation, Dataset, MzWindow};
use imzarr_convert::{ConvertError, ConvertOptions, convert};
use imzarr_store::StoreLocation;
use object_store::ObjectStoreExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_store_equals_local_store() {
    let Ok(bucket) = std::env::var("IMZARR_TEST_S3_BUCKET") else {
        eprintln!("skipped: IMZARR_TEST_S3_BUCKET is not set (no S3 test server)");
        return;
    };
    let local_dir = tempfile::tempdir().unwrap();
    let run = format!(
        "run-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis()
    );
    for name in [
        "cardinal2_combat_40pixel",
        "pyimzml_example_processed",
        "maldiquant_picked",
    ] {
        let url = format!("s3://{bucket}/{run}/{name}.imzarr");
        let options = ConvertOptions {
            mz_chunk_points: 512,
            ..ConvertOptions::default()
        };
        convert(
            &common::fixture(name),
            StoreLocation::from_url(&url, true).unwrap(),
            &options,
        )
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        let again = convert(
            &common::fixture(name),
            StoreLocation::from_url(&url, true).unwrap(),
            &options,
        )
        .await;
        assert!(
            matches!(again, Err(ConvertError::Exists { .. })),
            "{name}: a complete store was replaced without --overwrite"
        );

        let local_path = local_dir.path().join(name);
        common::convert_into(&common::fixture(name), &local_path, &options).await;

        let remote = Dataset::open(&url).await.unwrap();
        assert_eq!(remote.stats().gets, 1, "{name}: open is one GET");
        assert_eq!(remote.stats().heads, 0, "{name}: no HEAD requests");
        let local = Dataset::open(local_path.to_str().unwrap()).await.unwrap();
        assert_eq!(remote.attributes(), local.attributes());

        let grid = &local.attributes().grid;
        for y in grid.origin[1]..grid.origin[1] + grid.height as i64 {
            for x in grid.origin[0]..grid.origin[0] + grid.width as i64 {
                assert_eq!(
                    remote.spectrum(x, y).await.unwrap(),
                    local.spectrum(x, y).await.unwrap(),
                    "{name}: ({x}, {y})"
                );
            }
        }
        let [low, high] = local.attributes().mz_range.unwrap();
        let windows = [
            MzWindow::da((low + high) / 2.0, 10.0),
            MzWindow::ppm(low, 50.0),
            MzWindow::da(high + 50.0, 1.0),
        ];
        let remote_images = remote.ion_images(&windows, Aggregation::Sum).await.unwrap();
        let local_images = local.ion_images(&windows, Aggregation::Sum).await.unwrap();
        for (r, l) in remote_images.iter().zip(&local_images) {
            assert_eq!(r.points, l.points);
            assert!(
                r.image
                    .values
                    .iter()
                    .zip(&l.image.values)
                    .all(|(a, b)| a == b || (a.is_nan() && b.is_nan())),
                "{name}"
            );
        }
        assert_eq!(remote.stats().heads, 0, "{name}: reads send no HEAD");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unfinished_s3_store_is_not_a_store() {
    let Ok(bucket) = std::env::var("IMZARR_TEST_S3_BUCKET") else {
        eprintln!("skipped: IMZARR_TEST_S3_BUCKET is not set (no S3 test server)");
        return;
    };
    let url = format!("s3://{bucket}/unfinished-{}/store.imzarr", std::process::id());
    let location = StoreLocation::from_url(&url, false).unwrap();
    let path = location.path_of("pixels/zarr.json");
    location
        .store
        .put(
            &path,
            bytes::Bytes::from_static(b"{\"zarr_format\":3,\"node_type\":\"group\"}").into(),
        )
        .await
        .unwrap();
    let error = Dataset::open(&url).await.unwrap_err();
    assert!(matches!(error, imzarr::ReadError::NotAStore { .. }), "{error}");
}
