//! Damaged cached files: a flipped byte in a stage's Parquet part and in the search's
//! result, a truncated proxy token stream, a deleted proxy run, a flipped byte in a shard.
//! The next run names each file, says its checksum differs (or that it is missing), and
//! recomputes it; what it produces equals the clean run. `blend shards verify` names a
//! damaged shard file.

use std::path::Path;
use std::process::Command;

use crate::job::{
    assert_same_results, clean_run, committed, first_named, name_of, new_job, run_job,
    sorted_entries,
};

#[test]
fn damaged_cached_files_are_named_and_recomputed() {
    let (clean, _) = clean_run();
    let dir = new_job("corrupted");
    copy_dir(&clean.join("work"), &dir.join("work"));
    copy_dir(&clean.join("output"), &dir.join("output"));
    let work = dir.join("work");
    let search = work.join("search");

    let part = first_named(&work, "fuzzy_dedup-").join("part-00000.parquet");
    flip_byte(&part);
    let stream = sorted_entries(&search.join("proxy-data"))
        .into_iter()
        .find(|p| name_of(p).ends_with(".train.bin"))
        .unwrap();
    let length = std::fs::metadata(&stream).unwrap().len();
    std::fs::File::options()
        .write(true)
        .open(&stream)
        .unwrap()
        .set_len(length / 2)
        .unwrap();
    let run = first_named(&search, "runs-").join("run_00003.json");
    std::fs::remove_file(&run).unwrap();
    let step = first_named(&search, "search-").join("step.json");
    change_a_digit(&step);
    let shard = dir.join("output/shards/train_00001.bin");
    flip_byte(&shard);

    let verify = Command::new(env!("CARGO_BIN_EXE_blend"))
        .args(["-q", "shards", "verify"])
        .arg(dir.join("output/shards"))
        .output()
        .unwrap();
    let verify_error = String::from_utf8_lossy(&verify.stderr);
    assert!(!verify.status.success(), "a damaged shard verified");
    assert!(
        verify_error.contains("train_00001.bin") && verify_error.contains("sha256"),
        "{verify_error}"
    );

    let downstream = first_named(&work, "gopher_words-").join("checksums.json");
    let before = committed(&dir);
    let (status, log) = run_job(&dir, 2, true);
    assert!(status.success(), "{log}");
    for (file, says) in [
        (&part, "checksum differs"),
        (&stream, "checksum differs"),
        (&run, "missing"),
        (&step, "checksum differs"),
        (&shard, "checksum differs"),
    ] {
        let named = format!("{}: {says}", file.display());
        assert!(log.contains(&named), "no `{named}` in:\n{log}");
    }
    assert_ne!(
        before[&part.parent().unwrap().join("checksums.json")],
        committed(&dir)[&part.parent().unwrap().join("checksums.json")],
        "the damaged stage was recomputed"
    );
    assert_eq!(
        before[&downstream],
        committed(&dir)[&downstream],
        "a stage after it was reused: the recomputed rows are the same rows"
    );
    assert_same_results(&dir, clean);
    let verify = Command::new(env!("CARGO_BIN_EXE_blend"))
        .args(["-q", "shards", "verify"])
        .arg(dir.join("output/shards"))
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
}

fn flip_byte(path: &Path) {
    let mut bytes = std::fs::read(path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(path, bytes).unwrap();
}

/// A change that keeps the JSON valid: only a checksum can tell.
fn change_a_digit(path: &Path) {
    let mut bytes = std::fs::read(path).unwrap();
    let digit = bytes
        .iter()
        .rposition(|b| (b'1'..=b'8').contains(b))
        .unwrap();
    bytes[digit] += 1;
    std::fs::write(path, bytes).unwrap();
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in sorted_entries(from) {
        let target = to.join(name_of(&entry));
        if entry.is_dir() {
            copy_dir(&entry, &target);
        } else {
            std::fs::copy(&entry, &target).unwrap();
        }
    }
}
