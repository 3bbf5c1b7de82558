//! One module per subcommand.

mod convert;
mod info;
mod ion_image;
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
    }
}
