//! `imzarr tic`.

use crate::cli::TicArgs;
use crate::exit::CommandError;
use crate::render;

pub async fn run(args: TicArgs) -> Result<(), CommandError> {
    let dataset = super::open_store(&args.store).await?;
    let opened = dataset.stats();
    let image = dataset.tic().await?;
    let used = dataset.stats().since(&opened);
    render::write_image(&args.image.output, &image, args.image.percentile)?;
    let acquired = image.values.iter().filter(|v| !v.is_nan()).count();
    crate::output::outln!(
        "{}: total ion current of {acquired} pixels ({} x {} x {} grid)",
        args.image.output.display(),
        image.width,
        image.height,
        image.depth
    );
    if args.image.stats {
        super::print_request_stats(&opened, &used);
    }
    Ok(())
}
