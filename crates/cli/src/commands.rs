//! One module per subcommand.

mod convert;

use crate::cli::{Cli, Command};
use crate::exit::CommandError;

pub async fn run(cli: Cli) -> Result<(), CommandError> {
    match cli.command {
        Command::Convert(args) => convert::run(args).await,
        Command::Info(_) | Command::IonImage(_) | Command::Spectrum(_) => Err(CommandError::new(
            crate::exit::Failure::Internal,
            "not available in this build",
        )),
    }
}
