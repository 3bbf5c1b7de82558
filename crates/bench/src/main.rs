//! `imzarr-bench`: figures for imzarr, each next to a baseline measured in the same run.
//!
//! ```text
//! cargo run --release -p imzarr-bench -- all --size-mb 100
//! ```
//!
//! Datasets are generated with the imzML writer (processed centroid, ~1,000 peaks per spectrum,
//! f64 m/z + f32 intensity; continuous profile, 20,000 channels, f32) and cached under
//! `target/bench-data`. The pyimzML baselines and the S3 test server (moto) run from `.venv`,
//! made from `tests/requirements.txt` when missing.

mod datasets;
mod measure;
mod queries;
mod remote;
mod remote_convert;
mod venv;
mod window_sweep;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// The allocator of the `imzarr` CLI, so that conversions here perform as they do there.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
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
    Convert(measure::ConvertArgs),
    /// Everything.
    All(measure::ConvertArgs),
    /// Ion-image bytes read against bytes needed over many windows of an existing store.
    Windows {
        /// The store (a path or a URL).
        store: String,
    },
    /// One conversion, its figures printed as JSON (run by `convert` in a child process).
    #[command(hide = true)]
    ConvertOne {
        input: PathBuf,
        /// A path or a URL.
        output: String,
        #[command(flatten)]
        args: measure::ConvertArgs,
    },
}

/// Conversion and query figures for a processed and a continuous dataset: local first, for
/// both, then on the S3 test server, started only then, so that the gigabytes of objects the
/// server holds are not beside the local measurements.
async fn convert_both_modes(dir: &std::path::Path, args: &measure::ConvertArgs) -> anyhow::Result<Vec<Value>> {
    let mut results = Vec::new();
    let mut remote_queries = Vec::new();
    for mode in [imzarr_imzml::Mode::Processed, imzarr_imzml::Mode::Continuous] {
        let (rows, remote) = measure::convert_and_query(dir, mode, args).await?;
        results.extend(rows);
        remote_queries.push(remote);
    }
    if let Some(server) = remote::S3Server::start()? {
        for queries in &remote_queries {
            results.extend(measure::remote_rows(&server, queries, args).await?);
        }
    }
    Ok(results)
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    std::fs::create_dir_all(&cli.data_dir)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let mut results: Vec<Value> = Vec::new();
    match cli.command {
        Command::Parse { spectra } => results.extend(measure::parse(&cli.data_dir, spectra)?),
        Command::ConvertOne { input, output, args } => {
            let conversion = runtime.block_on(measure::convert_here(&input, &output, &args))?;
            println!("{}", serde_json::to_string(&conversion)?);
            return Ok(());
        }
        Command::Windows { store } => {
            results.extend(runtime.block_on(window_sweep::sweep(&store, &store))?);
        }
        Command::Convert(args) => {
            results.extend(runtime.block_on(convert_both_modes(&cli.data_dir, &args))?);
        }
        Command::All(args) => {
            results.extend(measure::parse(&cli.data_dir, 100_000)?);
            results.extend(runtime.block_on(convert_both_modes(&cli.data_dir, &args))?);
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
