//! Object-store access for imzarr.
//!
//! - [`StoreLocation::from_url`] turns a local path, `file://`, `s3://` (credentials and
//!   endpoint from the standard `AWS_*` environment variables, plain-HTTP endpoints allowed with
//!   `AWS_ALLOW_HTTP=true`) or any other URL object_store understands into a store and a prefix.
//!   Local directories on a local disk's file system (Linux) write objects of 1 MiB and more
//!   past the page cache (`O_DIRECT`), which made the first conversion on a virtual machine
//!   1.2-3.7x faster; network file systems and tmpfs are written through it as before.
//! - [`ZarrsObjectStore`] lets zarrs read and write through object_store without the HEAD
//!   request that the stock adapter sends before every ranged read, counts every request, and
//!   sends identical reads in flight at the same time once.
//! - [`direct_io`] writes and reads files in aligned blocks, past the page cache where the file
//!   system is a local disk's: the local stores' large objects, and the converter's spill files.

mod adapter;
mod counters;
pub mod direct_io;
#[cfg(target_os = "linux")]
mod direct_local;
mod error;
mod location;
#[cfg(target_os = "linux")]
mod mountinfo;
mod retry;
mod single_flight;

pub use adapter::{ReadRange, ZarrsObjectStore, read_object_range};
pub use counters::{RequestCounters, RequestStats};
pub use error::StoreError;
pub use location::{StoreLocation, retry_config};
pub use object_store;
pub use retry::retry_idempotent;
