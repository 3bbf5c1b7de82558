//! Standard output that behaves like a Unix tool when the reader goes away (`| head`).

use std::io::Write;

/// Writes one line to standard output; exits quietly with status 0 if the pipe is closed.
pub fn write_line(args: std::fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    if let Err(error) = writeln!(out, "{args}") {
        if error.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("imzarr: cannot write to standard output: {error}");
        std::process::exit(5);
    }
}

/// `println!` through [`write_line`].
macro_rules! outln {
    ($($arg:tt)*) => { $crate::output::write_line(format_args!($($arg)*)) };
}
pub(crate) use outln;
