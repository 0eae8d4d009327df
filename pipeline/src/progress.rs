//! How the pipeline reports progress without drawing anything: the CLI passes an
//! implementation that draws progress bars; tests pass `NoProgress`.

/// Starts one progress task per long step.
pub trait Progress: Send + Sync {
    /// A task named `label` with `total` units (`None` when unknown) of `unit`.
    fn start(&self, label: &str, total: Option<u64>, unit: &str) -> Box<dyn StageProgress>;
}

/// One running task.
pub trait StageProgress: Send + Sync {
    fn advance(&self, units: u64);
    fn finish(&self, message: &str);
}

/// Draws nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _label: &str, _total: Option<u64>, _unit: &str) -> Box<dyn StageProgress> {
        Box::new(NoProgress)
    }
}

impl StageProgress for NoProgress {
    fn advance(&self, _units: u64) {}
    fn finish(&self, _message: &str) {}
}
