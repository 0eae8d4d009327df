//! The same pipeline file on 1 thread in another folder gives the clean run's bytes: the
//! kept rows, the mixture and every shard file depend on content, never on thread count,
//! folder, or when files were written.

use crate::job::{assert_same_results, clean_run, new_job, run_job};

#[test]
fn one_thread_in_another_folder_gives_the_same_bytes_as_two_threads() {
    let (clean, _) = clean_run();
    let dir = new_job("one-thread");
    let (status, log) = run_job(&dir, 1, false);
    assert!(status.success(), "{log}");
    assert_same_results(&dir, clean);
}
