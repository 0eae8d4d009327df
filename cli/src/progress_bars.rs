//! Progress bars for long steps, drawn on stderr with indicatif (hidden when stderr is not
//! a terminal or with `--quiet`).

use blend_pipeline::{Progress, StageProgress};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

#[derive(Debug)]
pub struct BarProgress {
    bars: MultiProgress,
}

impl BarProgress {
    pub fn new(quiet: bool) -> Self {
        let target = if quiet {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        };
        Self {
            bars: MultiProgress::with_draw_target(target),
        }
    }
}

struct Bar(ProgressBar);

impl Progress for BarProgress {
    fn start(&self, label: &str, total: Option<u64>, unit: &str) -> Box<dyn StageProgress> {
        let bar = match total {
            Some(total) => {
                let bar = ProgressBar::new(total);
                bar.set_style(
                    ProgressStyle::with_template(&format!(
                        "{{prefix:>18}} [{{bar:30}}] {{pos}}/{{len}} {unit} ({{per_sec}}, eta {{eta}})"
                    ))
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
                );
                bar
            }
            None => {
                let bar = ProgressBar::new_spinner();
                bar.set_style(
                    ProgressStyle::with_template(&format!(
                        "{{prefix:>18}} {{spinner}} {{pos}} {unit} ({{per_sec}}, {{elapsed}})"
                    ))
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                bar.enable_steady_tick(std::time::Duration::from_millis(120));
                bar
            }
        };
        let bar = self.bars.add(bar);
        bar.set_prefix(label.to_string());
        Box::new(Bar(bar))
    }
}

impl StageProgress for Bar {
    fn advance(&self, units: u64) {
        self.0.inc(units);
    }

    fn finish(&self, message: &str) {
        self.0.set_style(
            ProgressStyle::with_template("{prefix:>18} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        self.0.finish_with_message(message.to_string());
    }
}
