//! How far a conversion is, for progress bars: updated by the converter, read by anyone
//! holding the same `Arc` (a display polls it; nothing is pushed to it).

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// What the conversion is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Phase {
    /// Parsing the imzML and checking the `.ibd`.
    #[default]
    Opening,
    /// Reading every spectrum and writing the spectrum-major layout.
    ReadingSpectra,
    /// Writing the m/z-major layout (the sorted or transposed points).
    WritingMzMajor,
    /// Writing the pixel table, the images and the metadata.
    Finishing,
}

impl Phase {
    /// A few words for a progress line.
    pub fn label(self) -> &'static str {
        match self {
            Phase::Opening => "opening",
            Phase::ReadingSpectra => "reading spectra",
            Phase::WritingMzMajor => "writing m/z-major",
            Phase::Finishing => "finishing",
        }
    }
}

/// Progress in bytes of point values: each point counts once when read and once when written
/// to the m/z-major layout, so `total` is twice the bytes of the source's arrays.
#[derive(Debug, Default)]
pub struct Progress {
    phase: Mutex<Phase>,
    done: AtomicU64,
    total: AtomicU64,
}

/// A reading of [`Progress`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProgressSnapshot {
    /// What the conversion is doing.
    pub phase: Phase,
    /// Work done, in bytes.
    pub done: u64,
    /// All the work, in bytes (0 until the input is open).
    pub total: u64,
}

impl Progress {
    /// The current state.
    pub fn snapshot(&self) -> ProgressSnapshot {
        ProgressSnapshot {
            phase: self.phase.lock().map(|p| *p).unwrap_or_default(),
            done: self.done.load(Ordering::Relaxed),
            total: self.total.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn set_total(&self, total: u64) {
        self.total.store(total, Ordering::Relaxed);
    }

    pub(crate) fn enter(&self, phase: Phase) {
        if let Ok(mut current) = self.phase.lock() {
            *current = phase;
        }
    }

    pub(crate) fn advance(&self, bytes: u64) {
        self.done.fetch_add(bytes, Ordering::Relaxed);
    }
}
