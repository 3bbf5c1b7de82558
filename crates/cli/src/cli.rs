//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Cloud-optimized mass spectrometry imaging: convert imzML to imzarr stores and read them.
#[derive(Debug, Parser)]
#[command(name = "imzarr", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Worker threads for decoding, encoding and I/O (default: one per core).
    #[arg(long, global = true, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub threads: Option<u16>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Convert imzML files (each with its .ibd beside it) into imzarr stores.
    #[command(
        after_help = "One input file gives one store at OUTPUT. Several inputs, a directory (searched recursively), a quoted glob or a --manifest give one store per input below OUTPUT, named after the input (a/b.imzML -> OUTPUT/a/b.imzarr); complete stores are skipped, and --shard i/n takes every n-th input starting at the i-th (0-based), for SLURM arrays or Kubernetes indexed Jobs.\n\nExamples:\n  imzarr convert sample.imzML sample.imzarr\n  imzarr convert sample.imzML s3://bucket/sample.imzarr --codec zstd\n  imzarr convert archive/ s3://bucket/stores --shard 3/16 --resume\n  imzarr convert 'runs/*.imzML' stores/ --memory 4096"
    )]
    Convert(ConvertArgs),
    /// Show what an imzarr store or an imzML file holds.
    #[command(after_help = "Examples:\n  imzarr info sample.imzarr\n  imzarr info sample.imzML --json")]
    Info(InfoArgs),
    /// Render the ion image of an m/z window.
    #[command(
        after_help = "Examples:\n  imzarr ion-image sample.imzarr --mz 885.55 --ppm 5 -o ion.png\n  imzarr ion-image s3://bucket/sample.imzarr --mz 885.55 --da 0.01 -o ion.csv --stats"
    )]
    IonImage(IonImageArgs),
    /// Render the total ion current image.
    #[command(
        after_help = "Pixels without a spectrum are transparent in a PNG and NaN in the other formats.\n\nExamples:\n  imzarr tic sample.imzarr -o tic.png\n  imzarr tic s3://bucket/sample.imzarr -o tic.npy --stats"
    )]
    Tic(TicArgs),
    /// Check a store against the imzarr specification and report every problem.
    #[command(
        after_help = "Examples:\n  imzarr validate sample.imzarr\n  imzarr validate s3://bucket/sample.imzarr --full --json"
    )]
    Validate(ValidateArgs),
    /// Print the spectrum at one pixel.
    #[command(
        after_help = "Examples:\n  imzarr spectrum sample.imzarr --x 10 --y 20\n  imzarr spectrum sample.imzarr --x 10 --y 20 --json\n  imzarr spectrum sample.imzarr --x 10 --y 20 -o spectrum.png"
    )]
    Spectrum(SpectrumArgs),
    /// Print the spectra of a rectangle of pixels, or their mean spectrum.
    #[command(
        after_help = "Ranges are half-open, in imzML coordinates: --x 1..17 is x = 1 to 16.\n\nExamples:\n  imzarr region sample.imzarr --x 1..17 --y 1..17 > region.csv\n  imzarr region sample.imzarr --x 1..17 --y 1..17 --mean --json"
    )]
    Region(RegionArgs),
    /// Write a store back to imzML (arrays bit-identical, new UUID and SHA-1).
    #[command(
        after_help = "The .ibd is written beside the .imzML; both appear only once complete.\n\nExamples:\n  imzarr export sample.imzarr sample.imzML\n  imzarr export s3://bucket/sample.imzarr restored/sample.imzML --overwrite"
    )]
    Export(ExportArgs),
}

#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// imzML files, directories or quoted glob patterns, then the output: a directory or an
    /// object-store URL (s3://bucket/prefix).
    #[arg(required = true, num_args = 1.., value_name = "INPUT... OUTPUT")]
    pub paths: Vec<String>,
    /// A file listing one input per line (blank lines and lines starting with # are skipped).
    #[arg(long)]
    pub manifest: Option<PathBuf>,
    /// Convert only the inputs of share i of n (0 <= i < n) of the sorted input list.
    #[arg(long, value_name = "i/n")]
    pub shard: Option<String>,
    /// Replace complete stores at the output.
    #[arg(long, conflicts_with = "resume")]
    pub overwrite: bool,
    /// Continue interrupted conversions, keeping the shards they finished.
    #[arg(long)]
    pub resume: bool,
    /// Inner-chunk compression.
    #[arg(long, value_enum, default_value_t = CodecName::Lz4)]
    pub codec: CodecName,
    /// Compression level (0-9 for blosc, 0-12 for pcodec).
    #[arg(long, default_value_t = 5)]
    pub level: u8,
    /// Points per inner chunk of the m/z-major layout (processed data).
    #[arg(long, default_value_t = imzarr_convert::ConvertOptions::default().mz_chunk_points)]
    pub mz_chunk_points: u64,
    /// Target size of a shard (one stored object) before compression, in MiB.
    #[arg(long, default_value_t = 32)]
    pub shard_mib: u64,
    /// Memory budget, in MiB; the m/z sort spills to temporary files beyond it.
    #[arg(long, default_value_t = 1024)]
    pub memory: u64,
    /// Directory for the temporary files of the sort (default: the system's).
    #[arg(long)]
    pub temp_dir: Option<PathBuf>,
    /// Skip the verification of the .ibd checksums that the header declares.
    #[arg(long)]
    pub no_verify: bool,
    /// Treat every repairable deviation from imzML as an error.
    #[arg(long)]
    pub strict: bool,
    /// Keep the first spectrum at a pixel that several spectra claim, instead of failing.
    #[arg(long)]
    pub allow_duplicate_pixels: bool,
    /// Read an .ibd that does not start with the UUID the imzML declares, instead of failing
    /// (for writers known to get the UUID wrong; recorded in the store).
    #[arg(long)]
    pub allow_uuid_mismatch: bool,
    /// Leave out binary arrays other than m/z and intensity (ion mobility, signal to noise,
    /// ...), which are otherwise stored beside the intensities (and must then be the same
    /// kinds in every spectrum); recorded as a quirk.
    #[arg(long)]
    pub drop_other_arrays: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CodecName {
    /// blosc-lz4: fast (intensities byte- or bit-shuffled, whichever compresses the file better).
    Lz4,
    /// blosc-zstd: smaller, slower.
    Zstd,
    /// pcodec: smallest, slowest (format 1.4; zarr-python reads it with the `pcodec` package
    /// installed). The TIC images stay blosc-lz4, for viewers.
    Pcodec,
}

#[derive(Debug, Args)]
pub struct InfoArgs {
    /// An imzarr store (path or URL) or an imzML file.
    pub location: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct IonImageArgs {
    /// An imzarr store (path or URL).
    pub store: String,
    /// Centre of the m/z window; repeat for several images.
    #[arg(long, required = true)]
    pub mz: Vec<f64>,
    /// Half-width of the window in ppm of the m/z.
    #[arg(long, conflicts_with = "da")]
    pub ppm: Option<f64>,
    /// Half-width of the window in daltons.
    #[arg(long)]
    pub da: Option<f64>,
    /// How the intensities of a pixel's points inside the window combine.
    #[arg(long, value_enum, default_value_t = AggregationName::Sum)]
    pub aggregation: AggregationName,
    #[command(flatten)]
    pub image: ImageOutputArgs,
}

/// Where and how an image command writes its image.
#[derive(Debug, Args)]
pub struct ImageOutputArgs {
    /// Output file: .png, .tiff (float64), .csv or .npy (ion-image with several --mz adds the
    /// m/z to the name).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Clip the colour scale at this upper percentile (PNG only).
    #[arg(long, default_value_t = 99.0)]
    pub percentile: f64,
    /// Print the requests and bytes the query used.
    #[arg(long)]
    pub stats: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AggregationName {
    /// Sum of the intensities (the usual ion image).
    Sum,
    /// Largest intensity.
    Max,
}

#[derive(Debug, Args)]
pub struct TicArgs {
    /// An imzarr store (path or URL).
    pub store: String,
    #[command(flatten)]
    pub image: ImageOutputArgs,
}

#[derive(Debug, Args)]
pub struct SpectrumArgs {
    /// An imzarr store (path or URL).
    pub store: String,
    /// x as in the imzML (1-based unless the source said otherwise).
    #[arg(long)]
    pub x: i64,
    /// y as in the imzML.
    #[arg(long)]
    pub y: i64,
    /// Print JSON instead of CSV.
    #[arg(long)]
    pub json: bool,
    /// Write a PNG plot of the spectrum to this file instead of printing it.
    #[arg(short, long, conflicts_with = "json")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// An imzarr store (path or URL).
    pub store: String,
    /// Also read every array in full, checking every chunk's checksum, the indexes, that both
    /// layouts hold the same values, and the point counts, TICs and TIC image against the spectra.
    #[arg(long)]
    pub full: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RegionArgs {
    /// An imzarr store (path or URL).
    pub store: String,
    /// Columns, half-open: START..END in imzML coordinates.
    #[arg(long, value_parser = parse_range)]
    pub x: std::ops::Range<i64>,
    /// Rows, half-open: START..END in imzML coordinates.
    #[arg(long, value_parser = parse_range)]
    pub y: std::ops::Range<i64>,
    /// Print the mean spectrum of the region instead of every spectrum.
    #[arg(long)]
    pub mean: bool,
    /// Print JSON (one document per line for spectra) instead of CSV.
    #[arg(long)]
    pub json: bool,
}

/// Parses `START..END`.
fn parse_range(text: &str) -> Result<std::ops::Range<i64>, String> {
    let (start, end) = text
        .split_once("..")
        .ok_or_else(|| format!("{text:?} is not a range START..END"))?;
    let number = |s: &str| s.trim().parse::<i64>().map_err(|e| format!("{s:?}: {e}"));
    let (start, end) = (number(start)?, number(end)?);
    if start >= end {
        return Err(format!("{text:?} is empty: START must be below END"));
    }
    Ok(start..end)
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// An imzarr store (path or URL).
    pub store: String,
    /// The .imzML file to write.
    pub output: PathBuf,
    /// Replace existing files.
    #[arg(long)]
    pub overwrite: bool,
    /// Compress the arrays in the .ibd with zlib.
    #[arg(long)]
    pub zlib: bool,
}
