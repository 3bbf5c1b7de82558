//! One module per subcommand.

mod convert;
mod export;
mod info;
mod ion_image;
mod region;
mod spectrum;
mod tic;
mod validate;

use imzarr::{Dataset, RequestStats};
use imzarr_format::FORMAT_VERSION;

use crate::cli::{Cli, Command};
use crate::exit::CommandError;

pub async fn run(cli: Cli) -> Result<(), CommandError> {
    match cli.command {
        Command::Convert(args) => convert::run(args).await,
        Command::Info(args) => info::run(args).await,
        Command::IonImage(args) => ion_image::run(args).await,
        Command::Tic(args) => tic::run(args).await,
        Command::Spectrum(args) => spectrum::run(args).await,
        Command::Validate(args) => validate::run(args).await,
        Command::Region(args) => region::run(args).await,
        Command::Export(args) => export::run(args).await,
    }
}

/// Opens the store at `location`, noting on standard error when it is of a newer minor version
/// of the format than this program reads in full.
async fn open_store(location: &str) -> Result<Dataset, CommandError> {
    let dataset = Dataset::open(location).await?;
    if dataset.is_newer_than_reader() {
        eprintln!(
            "imzarr: note: {location} is imzarr format {}, newer than the {FORMAT_VERSION} this program implements; what it does not know of the store is ignored",
            dataset.attributes().version
        );
    }
    Ok(dataset)
}

/// Prints what opening the store (`opened`) and the query (`query`) cost in requests and bytes.
fn print_request_stats(opened: &RequestStats, query: &RequestStats) {
    crate::output::outln!(
        "requests: open {} ({} bytes); query {} GETs, {} bytes",
        opened.requests(),
        opened.bytes_read,
        query.gets + query.heads,
        query.bytes_read
    );
}
