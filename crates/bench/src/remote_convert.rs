//! Conversion straight to the S3 test server, next to an upload of the same input files.

use std::path::Path;
use std::time::Instant;

use serde_json::{Value, json};

use crate::measure::{ConvertArgs, convert_in_child};
use crate::remote::S3Server;

/// Converts `input` (its `.ibd` beside it) into the bucket in a child process, after uploading
/// the input files themselves (the baseline: what moving the bytes to the server costs).
pub async fn convert_to_s3(server: &S3Server, input: &Path, label: &str, args: &ConvertArgs) -> anyhow::Result<Value> {
    let ibd = input.with_extension("ibd");
    let input_bytes = std::fs::metadata(input)?.len() + std::fs::metadata(&ibd)?.len();
    let baseline_prefix = "upload-baseline";
    let started = Instant::now();
    for file in [input, ibd.as_path()] {
        let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("input");
        server.upload_file(file, &format!("{baseline_prefix}/{name}")).await?;
    }
    let upload_seconds = started.elapsed().as_secs_f64();
    server.delete(baseline_prefix).await?;

    let prefix = "convert-to-s3.imzarr";
    let conversion = convert_in_child(input, &server.url(prefix), &server.environment(), args)?;
    server.delete(prefix).await?;
    let mbps = |seconds: f64| input_bytes as f64 / 1e6 / seconds;
    Ok(json!({
        "name": format!("convert {label} to S3 (moto on 127.0.0.1, same cores)"),
        "figure": format!("{:.0} MB/s ({:.2} s), peak RSS {:.0} MiB", mbps(conversion.seconds), conversion.seconds, conversion.peak_rss_mib),
        "baseline": format!("multipart upload of the input files: {:.0} MB/s ({upload_seconds:.2} s)", mbps(upload_seconds)),
        "ratio": format!("{:.1}x upload time", conversion.seconds / upload_seconds),
        "data": {"input_bytes": input_bytes, "seconds": conversion.seconds, "upload_seconds": upload_seconds,
                 "peak_rss_mib": conversion.peak_rss_mib, "memory_budget_mib": args.memory_mib},
    }))
}
