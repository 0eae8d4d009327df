//! One writer per work folder: a second `blend run` on a folder in use refuses, naming the
//! holder; after the holder is killed, the next run takes the stale lock over and finishes.

use std::time::{Duration, Instant};

use crate::job::{assert_same_results, clean_run, new_job, run_job, spawn_run};

#[test]
fn a_second_run_refuses_and_a_killed_holders_lock_is_taken_over() {
    let (clean, _) = clean_run();
    let dir = new_job("locked");
    let mut holder = spawn_run(&dir, 2, false);
    let lock = dir.join("work/.lock");
    let pid = format!("\"pid\":{}", holder.id());
    let deadline = Instant::now() + Duration::from_secs(60);
    while !std::fs::read_to_string(&lock).is_ok_and(|text| text.contains(&pid)) {
        assert!(
            holder.try_wait().unwrap().is_none(),
            "the first run ended early"
        );
        assert!(
            Instant::now() < deadline,
            "the first run never took the lock"
        );
        std::thread::sleep(Duration::from_millis(5));
    }

    let second = std::process::Command::new(env!("CARGO_BIN_EXE_blend"))
        .current_dir(&dir)
        .args(["-q", "run", "pipeline.toml"])
        .output()
        .unwrap();
    let refused = String::from_utf8_lossy(&second.stderr);
    assert!(!second.status.success(), "two writers ran at once");
    assert!(
        refused.contains("another blend run is using this work folder")
            && refused.contains(&format!("pid {}", holder.id()))
            && refused.contains("started 20"),
        "{refused}"
    );

    holder.kill().unwrap();
    holder.wait().unwrap();
    let (status, log) = run_job(&dir, 2, false);
    assert!(status.success(), "the stale lock was not taken over: {log}");
    assert_same_results(&dir, clean);
}
