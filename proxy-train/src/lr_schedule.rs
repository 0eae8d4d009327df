//! Linear warmup to the peak learning rate, then cosine decay to `min_ratio` × peak at the
//! last step.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LrSchedule {
    pub peak: f64,
    pub warmup_steps: usize,
    pub total_steps: usize,
    pub min_ratio: f64,
}

impl LrSchedule {
    /// The learning rate of `step` (0-based).
    pub fn at(&self, step: usize) -> f64 {
        if step < self.warmup_steps {
            return self.peak * (step + 1) as f64 / self.warmup_steps as f64;
        }
        let decay_steps = self.total_steps.saturating_sub(self.warmup_steps).max(1);
        let progress = ((step - self.warmup_steps) as f64 / decay_steps as f64).min(1.0);
        let cosine = 0.5 * (1.0 + (std::f64::consts::PI * progress).cos());
        self.peak * (self.min_ratio + (1.0 - self.min_ratio) * cosine)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warms_up_linearly_then_decays_to_the_floor() {
        let schedule = LrSchedule {
            peak: 1e-3,
            warmup_steps: 10,
            total_steps: 110,
            min_ratio: 0.1,
        };
        assert!((schedule.at(0) - 1e-4).abs() < 1e-12);
        assert!((schedule.at(9) - 1e-3).abs() < 1e-12);
        assert!((schedule.at(10) - 1e-3).abs() < 1e-12);
        assert!((schedule.at(60) - 0.55e-3).abs() < 1e-12, "half way");
        assert!((schedule.at(110) - 1e-4).abs() < 1e-12);
        assert!(
            (schedule.at(500) - 1e-4).abs() < 1e-12,
            "clamped after the end"
        );
        let mut previous = f64::INFINITY;
        for step in 10..110 {
            assert!(schedule.at(step) <= previous);
            previous = schedule.at(step);
        }
    }
}
