//! Counters of the requests a store adapter sends, shared between clones.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Live counters; cheap to clone (shared).
#[derive(Debug, Clone, Default)]
pub struct RequestCounters(Arc<Inner>);

#[derive(Debug, Default)]
struct Inner {
    gets: AtomicU64,
    heads: AtomicU64,
    puts: AtomicU64,
    deletes: AtomicU64,
    bytes_read: AtomicU64,
    bytes_written: AtomicU64,
}

/// A snapshot of the counters, or the difference of two snapshots.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestStats {
    /// GET requests (whole or ranged).
    pub gets: u64,
    /// HEAD requests.
    pub heads: u64,
    /// PUT requests.
    pub puts: u64,
    /// DELETE requests.
    pub deletes: u64,
    /// Bytes received.
    pub bytes_read: u64,
    /// Bytes sent.
    pub bytes_written: u64,
}

impl RequestStats {
    /// Requests of every kind.
    pub fn requests(&self) -> u64 {
        self.gets + self.heads + self.puts + self.deletes
    }

    /// What happened between `earlier` and `self`.
    pub fn since(&self, earlier: &RequestStats) -> RequestStats {
        RequestStats {
            gets: self.gets - earlier.gets,
            heads: self.heads - earlier.heads,
            puts: self.puts - earlier.puts,
            deletes: self.deletes - earlier.deletes,
            bytes_read: self.bytes_read - earlier.bytes_read,
            bytes_written: self.bytes_written - earlier.bytes_written,
        }
    }
}

impl RequestCounters {
    /// The current totals.
    pub fn snapshot(&self) -> RequestStats {
        let c = &self.0;
        RequestStats {
            gets: c.gets.load(Ordering::Relaxed),
            heads: c.heads.load(Ordering::Relaxed),
            puts: c.puts.load(Ordering::Relaxed),
            deletes: c.deletes.load(Ordering::Relaxed),
            bytes_read: c.bytes_read.load(Ordering::Relaxed),
            bytes_written: c.bytes_written.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn get(&self, bytes: u64) {
        self.0.gets.fetch_add(1, Ordering::Relaxed);
        self.0.bytes_read.fetch_add(bytes, Ordering::Relaxed);
    }

    pub(crate) fn head(&self) {
        self.0.heads.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn put(&self, bytes: u64) {
        self.0.puts.fetch_add(1, Ordering::Relaxed);
        self.0.bytes_written.fetch_add(bytes, Ordering::Relaxed);
    }

    pub(crate) fn delete(&self) {
        self.0.deletes.fetch_add(1, Ordering::Relaxed);
    }
}
