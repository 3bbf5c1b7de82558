//! `imzarr validate`.

use serde_json::json;

use crate::cli::ValidateArgs;
use crate::exit::{CommandError, Failure};
use crate::output::outln;

pub async fn run(args: ValidateArgs) -> Result<(), CommandError> {
    let report = imzarr::validate(&args.store, args.full).await?;
    if args.json {
        outln!(
            "{}",
            json!({"valid": report.is_valid(), "problems": report.problems, "nodes_checked": report.nodes_checked, "arrays_read": report.arrays_read})
        );
    } else {
        for problem in &report.problems {
            outln!("problem: {problem}");
        }
        let read = if args.full {
            format!(", {} arrays read in full", report.arrays_read)
        } else {
            String::new()
        };
        outln!(
            "{}: {} problems, {} nodes checked{read}",
            args.store,
            report.problems.len(),
            report.nodes_checked
        );
    }
    if report.is_valid() {
        Ok(())
    } else {
        Err(CommandError::new(
            Failure::Input,
            format!("{} does not follow the imzarr specification", args.store),
        ))
    }
}
