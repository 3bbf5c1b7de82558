//! Queries against an S3-compatible server with injected latency.
//!
//! moto (from `.venv`, as `.ci/run` installs it) serves a bucket on 127.0.0.1; two instances of
//! `tests/faults/fault_proxy.py` stand in front of it, one adding no latency and one adding
//! [`LATENCY_MS`] to every request. A query's sequential round trips are the difference of its
//! wall times through the two proxies divided by the injected latency: requests issued side by
//! side pay the latency once, requests that wait for each other pay it each time.

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use imzarr::{Dataset, MzWindow};
use object_store::aws::AmazonS3Builder;
use object_store::{ObjectStore, ObjectStoreExt};
use serde_json::{Value, json};

/// Latency the slow proxy adds to each request, in milliseconds.
pub const LATENCY_MS: f64 = 20.0;
const BUCKET: &str = "imzarr-bench";
const REPEATS: usize = 3;

/// moto and the two proxies, stopped when dropped.
pub struct S3Server {
    children: Vec<Child>,
    direct_port: u16,
    fast_port: u16,
    slow_port: u16,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn wait_for_port(port: u16) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    anyhow::bail!("nothing listens on 127.0.0.1:{port} after 30 s")
}

/// Creates the bucket with a plain `PUT /bucket` (moto does not check signatures).
fn create_bucket(port: u16) -> anyhow::Result<()> {
    use std::io::{Read, Write};
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    write!(
        stream,
        "PUT /{BUCKET} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    anyhow::ensure!(
        answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.0 200"),
        "creating bucket {BUCKET}: {}",
        answer.lines().next().unwrap_or_default()
    );
    Ok(())
}

impl S3Server {
    /// Starts moto and the proxies; `None` when `.venv` (made by `bash .ci/run`) is missing.
    pub fn start() -> anyhow::Result<Option<Self>> {
        let Some(python) = crate::venv::python()? else {
            return Ok(None);
        };
        let moto = python.with_file_name("moto_server");
        let proxy = Path::new("tests/faults/fault_proxy.py");
        if !moto.exists() || !proxy.exists() {
            eprintln!("no moto_server in the venv (or not at the repository root): S3 rows skipped");
            return Ok(None);
        }
        let (direct_port, fast_port, slow_port) = (free_port()?, free_port()?, free_port()?);
        let mut server = S3Server {
            children: Vec::new(),
            direct_port,
            fast_port,
            slow_port,
        };
        server.children.push(
            Command::new(&moto)
                .args(["-H", "127.0.0.1", "-p", &direct_port.to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()?,
        );
        for (port, latency) in [(fast_port, 0.0), (slow_port, LATENCY_MS)] {
            server.children.push(
                Command::new(&python)
                    .arg(proxy)
                    .args(["--listen", &format!("127.0.0.1:{port}")])
                    .args(["--upstream", &format!("http://127.0.0.1:{direct_port}")])
                    .args(["--latency-ms", &latency.to_string()])
                    .stdout(Stdio::null())
                    .spawn()?,
            );
        }
        for port in [direct_port, fast_port, slow_port] {
            wait_for_port(port)?;
        }
        create_bucket(direct_port)?;
        Ok(Some(server))
    }

    fn store(&self, port: u16) -> anyhow::Result<Arc<dyn ObjectStore>> {
        Ok(Arc::new(
            AmazonS3Builder::new()
                .with_bucket_name(BUCKET)
                .with_endpoint(format!("http://127.0.0.1:{port}"))
                .with_allow_http(true)
                .with_region("us-east-1")
                .with_access_key_id("imzarr-bench")
                .with_secret_access_key("imzarr-bench")
                .with_retry(imzarr_store::retry_config())
                .build()?,
        ))
    }

    /// The standard AWS variables that point a child process at the server (without a proxy).
    pub fn environment(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{}", self.direct_port)),
            ("AWS_ALLOW_HTTP", "true".into()),
            ("AWS_ACCESS_KEY_ID", "imzarr-bench".into()),
            ("AWS_SECRET_ACCESS_KEY", "imzarr-bench".into()),
            ("AWS_REGION", "us-east-1".into()),
        ]
    }

    /// The `s3://` URL of `prefix` in the bucket.
    pub fn url(&self, prefix: &str) -> String {
        format!("s3://{BUCKET}/{prefix}")
    }

    /// Uploads the local `file` to `key`, streamed in multipart parts (several in flight), as
    /// an S3 client uploads a large file.
    pub async fn upload_file(&self, file: &Path, key: &str) -> anyhow::Result<()> {
        use tokio::io::AsyncWriteExt;
        let target = self.store(self.direct_port)?;
        let mut writer = object_store::buffered::BufWriter::new(target, object_store::path::Path::parse(key)?);
        tokio::io::copy(&mut tokio::fs::File::open(file).await?, &mut writer).await?;
        writer.shutdown().await?;
        Ok(())
    }

    /// Deletes every object under `prefix` (moto keeps objects in memory).
    pub async fn delete(&self, prefix: &str) -> anyhow::Result<()> {
        let target = self.store(self.direct_port)?;
        let prefix = object_store::path::Path::parse(prefix)?;
        let locations = target.list(Some(&prefix)).map_ok(|meta| meta.location).boxed();
        target.delete_stream(locations).try_collect::<Vec<_>>().await?;
        Ok(())
    }

    /// Copies the local store directory `store` to `prefix` in the bucket.
    pub async fn upload(&self, store: &Path, prefix: &str) -> anyhow::Result<()> {
        let target = self.store(self.direct_port)?;
        let files = crate::datasets::store_files(store)?;
        futures::stream::iter(files)
            .map(|(path, key)| {
                let target = target.clone();
                async move {
                    let bytes = tokio::fs::read(&path).await?;
                    let key = object_store::path::Path::parse(format!("{prefix}/{key}"))?;
                    target.put(&key, bytes.into()).await?;
                    anyhow::Ok(())
                }
            })
            .buffer_unordered(4)
            .try_collect::<Vec<()>>()
            .await?;
        Ok(())
    }
}

/// A query on a freshly opened dataset: what a user pays after `open`.
#[derive(Debug, Clone, Copy)]
pub enum Query {
    /// The first ion image (cold: m/z chunk index, pixel index, shard indexes, chunks).
    IonImage { mz: f64 },
    /// The same ion image asked a second time (indexes and shard indexes cached).
    IonImageAgain { mz: f64 },
    /// The first spectrum at a pixel (cold).
    Spectrum { x: i64, y: i64 },
    /// Every spectrum of a 32x32 pixel rectangle (cold).
    Region,
    /// The TIC image (cold).
    Tic,
}

/// Wall time, GETs and bytes of `query` right after a fresh open through `store`.
async fn timed(store: Arc<dyn ObjectStore>, prefix: &str, query: Query) -> anyhow::Result<(f64, u64, u64)> {
    let dataset = Dataset::open_store(store, prefix).await?;
    if let Query::IonImageAgain { mz } = query {
        dataset.ion_image(MzWindow::ppm(mz, 5.0)).await?;
    }
    let before = dataset.stats();
    let started = Instant::now();
    match query {
        Query::IonImage { mz } | Query::IonImageAgain { mz } => {
            let image = dataset.ion_image(MzWindow::ppm(mz, 5.0)).await?;
            anyhow::ensure!(image.points > 0, "the 5 ppm window around {mz} is empty");
        }
        Query::Spectrum { x, y } => {
            dataset
                .spectrum(x, y)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no spectrum at ({x}, {y})"))?;
        }
        Query::Region => {
            crate::queries::region_spectra(&dataset).await?;
        }
        Query::Tic => {
            crate::queries::tic(&dataset).await?;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let used = dataset.stats().since(&before);
    Ok((seconds, used.gets, used.bytes_read))
}

/// Runs `query` through the plain and the slow proxy (best of [`REPEATS`] each) and reports its
/// sequential round trips.
pub async fn round_trips(server: &S3Server, prefix: &str, name: &str, query: Query) -> anyhow::Result<Value> {
    let mut fast = f64::INFINITY;
    let mut slow = f64::INFINITY;
    let mut gets = 0;
    let mut bytes = 0;
    for _ in 0..REPEATS {
        let (seconds, g, b) = timed(server.store(server.fast_port)?, prefix, query).await?;
        fast = fast.min(seconds);
        (gets, bytes) = (g, b);
        let (seconds, _, _) = timed(server.store(server.slow_port)?, prefix, query).await?;
        slow = slow.min(seconds);
    }
    let trips = (slow - fast) * 1e3 / LATENCY_MS;
    Ok(json!({
        "name": name,
        "figure": format!("{:.1} ms at {LATENCY_MS} ms per request, {gets} GETs, {:.1} KB read", slow * 1e3, bytes as f64 / 1e3),
        "baseline": format!("same query without added latency: {:.1} ms", fast * 1e3),
        "ratio": format!("{trips:.1} sequential round trips"),
        "data": {"seconds_with_latency": slow, "seconds_without": fast, "latency_ms": LATENCY_MS,
                 "round_trips": trips, "gets": gets, "bytes_read": bytes},
    }))
}
