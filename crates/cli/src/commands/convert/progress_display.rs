//! The progress of a conversion on standard error: a bar with throughput and ETA on a
//! terminal, a plain line every 10% otherwise (logs of batch jobs).

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::{Duration, Instant};

use imzarr_convert::{Progress, ProgressSnapshot};
use indicatif::{ProgressBar, ProgressStyle};

/// A display polling a conversion's [`Progress`] until dropped.
pub struct ProgressDisplay {
    ticker: tokio::task::JoinHandle<()>,
    bar: Option<ProgressBar>,
}

impl ProgressDisplay {
    /// Starts showing `progress` of the conversion of `name`.
    pub fn start(name: String, progress: Arc<Progress>) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(0);
            let style = ProgressStyle::with_template(
                "{prefix} {msg:18} [{bar:30}] {percent:>3}% {binary_bytes_per_sec} ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
            bar.set_style(style);
            bar.set_prefix(name.clone());
            bar
        });
        let shown = bar.clone();
        let ticker = tokio::spawn(async move {
            let started = Instant::now();
            let mut logged_tenth = 0;
            loop {
                tokio::time::sleep(Duration::from_millis(200)).await;
                let now = progress.snapshot();
                match &shown {
                    Some(bar) => {
                        bar.set_length(now.total);
                        bar.set_position(now.done);
                        bar.set_message(now.phase.label());
                    }
                    None => {
                        let tenth = (now.done * 10).checked_div(now.total).unwrap_or(0);
                        if tenth > logged_tenth && tenth < 10 {
                            logged_tenth = tenth;
                            eprintln!("{name}: {}", log_line(&now, started.elapsed()));
                        }
                    }
                }
            }
        });
        Self { ticker, bar }
    }
}

impl Drop for ProgressDisplay {
    fn drop(&mut self) {
        self.ticker.abort();
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// `40% (reading spectra), 52.0 MB/s, ETA 8 s`.
fn log_line(now: &ProgressSnapshot, elapsed: Duration) -> String {
    let seconds = elapsed.as_secs_f64().max(1e-3);
    let rate = now.done as f64 / seconds;
    let eta = if rate > 0.0 {
        format!("{:.0} s", (now.total - now.done.min(now.total)) as f64 / rate)
    } else {
        "unknown".into()
    };
    format!(
        "{}% ({}), {:.1} MB/s, ETA {eta}",
        (now.done * 100).checked_div(now.total).unwrap_or(0),
        now.phase.label(),
        rate / 1e6
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use imzarr_convert::Phase;

    #[test]
    fn log_lines_give_share_phase_rate_and_eta() {
        let now = ProgressSnapshot {
            phase: Phase::ReadingSpectra,
            done: 40_000_000,
            total: 100_000_000,
        };
        assert_eq!(
            log_line(&now, Duration::from_secs(2)),
            "40% (reading spectra), 20.0 MB/s, ETA 3 s"
        );
        let start = ProgressSnapshot {
            phase: Phase::Opening,
            done: 0,
            total: 0,
        };
        assert_eq!(
            log_line(&start, Duration::from_secs(1)),
            "0% (opening), 0.0 MB/s, ETA unknown"
        );
    }
}
