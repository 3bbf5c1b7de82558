//! `imzarr-bench`: figures for imzarr, each next to a baseline measured in the same run.
//!
//! ```text
//! cargo run --release -p imzarr-bench -- all --size-mb 100
//! ```
//!
//! Datasets are generated with the imzML writer (processed centroid, ~1,000 peaks per spectrum,
//! f64 m/z + f32 intensity; continuous profile, 20,000 channels, f32) and cached under
//! `target/bench-data`.

mod datasets;
mod measure;
mod remote;

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use serde_json::{Value, json};

#[derive(Debug, Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Where generated datasets are cached.
    #[arg(long, global = true, default_value = "target/bench-data")]
    data_dir: PathBuf,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// imzML XML parse throughput on a header of many spectra.
    Parse {
        /// Spectra in the generated header.
        #[arg(long, default_value_t = 100_000)]
        spectra: u64,
    },
    /// Conversion of generated data, next to `cp` of the same files, then queries on the store.
    Convert {
        /// Approximate input size in MB.
        #[arg(long, default_value_t = 100)]
        size_mb: u64,
        /// Memory budget of the converter in MiB.
        #[arg(long, default_value_t = 1024)]
        memory_mib: u64,
    },
    /// Everything.
    All {
        /// Approximate input size in MB of the conversion datasets.
        #[arg(long, default_value_t = 100)]
        size_mb: u64,
        /// Memory budget of the converter in MiB.
        #[arg(long, default_value_t = 1024)]
        memory_mib: u64,
    },
}

/// Conversion and query figures for a processed and a continuous dataset.
async fn convert_both_modes(dir: &std::path::Path, size_mb: u64, memory_mib: u64) -> anyhow::Result<Vec<Value>> {
    let mut results = Vec::new();
    let s3 = remote::S3Server::start()?;
    for mode in [imzarr_imzml::Mode::Processed, imzarr_imzml::Mode::Continuous] {
        results.extend(measure::convert_and_query(dir, mode, size_mb, memory_mib, s3.as_ref()).await?);
    }
    Ok(results)
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    std::fs::create_dir_all(&cli.data_dir)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let mut results: Vec<Value> = Vec::new();
    match cli.command {
        Command::Parse { spectra } => results.push(measure::parse(&cli.data_dir, spectra)?),
        Command::Convert { size_mb, memory_mib } => {
            results.extend(runtime.block_on(convert_both_modes(&cli.data_dir, size_mb, memory_mib))?);
        }
        Command::All { size_mb, memory_mib } => {
            results.push(measure::parse(&cli.data_dir, 100_000)?);
            results.extend(runtime.block_on(convert_both_modes(&cli.data_dir, size_mb, memory_mib))?);
        }
    }
    println!("| benchmark | figure | baseline | ratio |");
    println!("|---|---|---|---|");
    for r in &results {
        println!(
            "| {} | {} | {} | {} |",
            r["name"].as_str().unwrap_or_default(),
            r["figure"].as_str().unwrap_or_default(),
            r["baseline"].as_str().unwrap_or_default(),
            r["ratio"].as_str().unwrap_or_default()
        );
    }
    let json_path = cli.data_dir.join("results.json");
    std::fs::write(&json_path, serde_json::to_vec_pretty(&json!(results))?)?;
    println!("\nfigures as JSON: {}", json_path.display());
    Ok(())
}
