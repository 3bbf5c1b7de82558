//! `imzarr`: convert imzML to imzarr stores, inspect them, render ion images.

mod cli;
mod commands;
mod exit;
mod output;
mod render;

use clap::Parser;

/// The conversion allocates and frees buffers of tens of MiB all the time (buckets, keys,
/// chunk columns, shards); the system allocator hands each back to the kernel and faults it in
/// zeroed again, which cost ~8 s of system time per GB converted. mimalloc keeps and reuses them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(threads) = cli.threads {
        // Async workers, and as many threads for the blocking work (shard encoding), plus
        // one so that a worker stepping out to block (remote input reads) always finds one.
        builder
            .worker_threads(threads.into())
            .max_blocking_threads(usize::from(threads) + 1);
    }
    let runtime = match builder.enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("imzarr: cannot start the async runtime: {error}");
            return exit::Failure::Internal.code();
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(failure) => {
            // One line, whatever the error's sources put in their messages (servers answer XML).
            let message: Vec<&str> = failure.message.split_whitespace().collect();
            eprintln!("imzarr: {}", message.join(" "));
            failure.kind.code()
        }
    }
}
