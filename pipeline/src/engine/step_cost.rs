//! What a step cost when it was computed: its wall time and the process's peak resident
//! memory while it ran. The cache measures every step it writes and keeps the figures beside
//! the step's files (`.cost.json`), so a reused step still reports what it cost to make, and
//! the same run reports the same figures however often it is resumed.
//!
//! Peak memory is Linux's `VmHWM`, reset before each step through `/proc/self/clear_refs`;
//! where that is not available only the wall time is kept.

use std::path::Path;
use std::time::Instant;

use blend_datasets::files::write_atomic;
use serde::{Deserialize, Serialize};

use crate::Result;

/// The file a step's cost is kept in, inside the step's folder.
pub const COST_FILE: &str = ".cost.json";

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StepCost {
    pub seconds: f64,
    /// Peak resident memory of the process while the step ran (Linux only).
    pub peak_rss_bytes: Option<u64>,
}

impl StepCost {
    /// The cost kept in `dir`, if any.
    pub fn read_from(dir: &Path) -> Option<Self> {
        let bytes = std::fs::read(dir.join(COST_FILE)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Keeps this cost in `dir`.
    pub fn write_to(&self, dir: &Path) -> Result<()> {
        let json = serde_json::to_string(self).expect("costs serialize");
        write_atomic(&dir.join(COST_FILE), json.as_bytes())?;
        Ok(())
    }

    /// The sum of costs that ran one after the other: seconds add, the peak is the largest.
    pub fn sum(costs: impl IntoIterator<Item = Self>) -> Option<Self> {
        costs.into_iter().reduce(|a, b| Self {
            seconds: a.seconds + b.seconds,
            peak_rss_bytes: match (a.peak_rss_bytes, b.peak_rss_bytes) {
                (Some(x), Some(y)) => Some(x.max(y)),
                (x, y) => x.or(y),
            },
        })
    }
}

/// Measures one step from `start` to `finish`.
#[derive(Debug)]
pub struct CostMeter {
    started: Instant,
}

impl CostMeter {
    /// Returns freed heap to the system, resets the process's peak-memory mark and starts
    /// the clock: the peak is then what this step held, not what earlier steps freed.
    pub fn start() -> Self {
        super::heap::release_free_heap();
        // Writing 5 resets VmHWM to the current RSS (Linux ≥ 4.0); elsewhere this fails and
        // the peak is not reported.
        let _ = std::fs::write("/proc/self/clear_refs", "5");
        Self {
            started: Instant::now(),
        }
    }

    pub fn finish(&self) -> StepCost {
        StepCost {
            seconds: self.started.elapsed().as_secs_f64(),
            peak_rss_bytes: peak_rss_bytes(),
        }
    }
}

/// `VmHWM` of this process, in bytes.
fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_that_allocates_reports_at_least_that_much_peak_memory() {
        let meter = CostMeter::start();
        let block = vec![1u8; 64 << 20];
        std::hint::black_box(&block);
        let cost = meter.finish();
        drop(block);
        assert!(cost.seconds >= 0.0);
        if let Some(peak) = cost.peak_rss_bytes {
            assert!(peak >= 64 << 20, "{peak}");
        }
    }

    #[test]
    fn costs_round_trip_and_sum() {
        let dir = tempfile::tempdir().unwrap();
        let cost = StepCost {
            seconds: 1.5,
            peak_rss_bytes: Some(10),
        };
        cost.write_to(dir.path()).unwrap();
        assert_eq!(StepCost::read_from(dir.path()), Some(cost));
        let other = StepCost {
            seconds: 2.0,
            peak_rss_bytes: Some(30),
        };
        assert_eq!(
            StepCost::sum([cost, other]),
            Some(StepCost {
                seconds: 3.5,
                peak_rss_bytes: Some(30)
            })
        );
        assert_eq!(StepCost::sum([]), None);
    }
}
