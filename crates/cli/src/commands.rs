//! One module per subcommand.

mod convert;
mod export;
mod info;
mod ion_image;
mod region;
mod spectrum;
mod validate;

use crate::cli::{Cli, Command};
use crate::exit::CommandError;

pub async fn run(cli: Cli) -> Result<(), CommandError> {
    match cli.command {
        Command::Convert(args) => convert::run(args).await,
        Command::Info(args) => info::run(args).await,
        Command::IonImage(args) => ion_image::run(args).await,
        Command::Spectrum(args) => spectrum::run(args).await,
        Command::Validate(args) => validate::run(args).await,
        Command::Region(args) => region::run(args).await,
        Command::Export(args) => export::run(args).await,
    }
}
