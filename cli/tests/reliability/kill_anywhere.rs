//! SIGKILL at 20 seeded-random moments of a whole job, re-running after each kill. A run
//! that finishes before its kill ends a generation: its results must equal the clean
//! run's, and the next generation starts in a fresh folder, so kills land all over the job.

use std::collections::BTreeSet;
use std::path::Path;

use crate::job::{
    PROXIES, Seeded, assert_not_recomputed, assert_same_results, clean_run, committed, leftovers,
    name_of, new_job, sorted_entries, spawn_run, wait_up_to,
};

const KILLS: usize = 20;

#[test]
fn a_job_killed_at_20_random_moments_resumes_to_the_clean_bytes() {
    let (clean, clean_time) = clean_run();
    let mut seeded = Seeded(2026);
    let mut landings: Vec<(f64, String)> = Vec::new();
    let mut generation = 0;
    let mut dir = new_job("killed-0");
    loop {
        let before = committed(&dir);
        let mut child = spawn_run(&dir, 2, false);
        let delay = clean_time.mul_f64(0.03 + 0.37 * seeded.unit());
        let killed = landings.len() < KILLS && wait_up_to(&mut child, delay).is_none();
        if killed {
            child.kill().unwrap();
            child.wait().unwrap();
            landings.push((delay.as_secs_f64(), landing(&dir)));
            assert_not_recomputed(&before, &dir, &format!("kill {}", landings.len()));
            continue;
        }
        let status = child.wait().unwrap();
        let log = std::fs::read_to_string(dir.join("stderr.txt")).unwrap();
        assert!(status.success(), "generation {generation}: {log}");
        assert_not_recomputed(
            &before,
            &dir,
            &format!("generation {generation}'s last run"),
        );
        assert_same_results(&dir, clean);
        assert_eq!(
            leftovers(&dir),
            Vec::<String>::new(),
            "temporary files left"
        );
        if landings.len() >= KILLS {
            break;
        }
        generation += 1;
        dir = new_job(&format!("killed-{generation}"));
    }
    for (i, (delay, at)) in landings.iter().enumerate() {
        eprintln!("kill {:2} after {delay:5.2} s: {at}", i + 1);
    }
    let kinds: BTreeSet<&str> = landings
        .iter()
        .map(|(_, at)| at.split(':').next().unwrap())
        .collect();
    eprintln!(
        "{} kills over {} generations (clean run {:.1} s), landing in {kinds:?}",
        landings.len(),
        generation + 1,
        clean_time.as_secs_f64()
    );
    assert!(
        kinds.contains("writing stage") && kinds.len() >= 3,
        "kills landed in too few kinds of step: {landings:?}"
    );
}

/// Where a kill landed, from what it left: a step's temporary folder, half-written proxy
/// data, or proxy runs partly recorded.
fn landing(dir: &Path) -> String {
    let search = dir.join("work/search");
    for folder in [dir.join("work"), search.clone(), dir.join("output")] {
        for entry in sorted_entries(&folder) {
            let name = name_of(&entry);
            if let Some(step) = name.strip_prefix(".tmp-") {
                let kind = if folder == dir.join("work") {
                    "writing stage"
                } else {
                    "writing step"
                };
                return format!("{kind}: {}", step_name(step));
            }
            if name.ends_with(".partial") {
                return format!("writing step: {name}");
            }
        }
    }
    let runs = sorted_entries(&search)
        .into_iter()
        .find(|p| name_of(p).starts_with("runs-"));
    if let Some(runs) = runs {
        let recorded = sorted_entries(&runs)
            .iter()
            .filter(|p| name_of(p).ends_with(".sha256"))
            .count();
        if recorded < PROXIES {
            return format!("training proxies: {recorded} of {PROXIES} recorded");
        }
    }
    "between steps".to_string()
}

/// `fuzzy_dedup-0123456789abcdef-4242` → `fuzzy_dedup`.
fn step_name(tmp: &str) -> String {
    let mut parts: Vec<&str> = tmp.split('-').collect();
    parts.pop(); // the pid
    if parts
        .last()
        .is_some_and(|h| h.len() == 16 && h.chars().all(|c| c.is_ascii_hexdigit()))
    {
        parts.pop();
    }
    parts.join("-")
}

#[test]
fn temporary_folder_names_give_the_step() {
    assert_eq!(
        step_name("fuzzy_dedup-0123456789abcdef-4242"),
        "fuzzy_dedup"
    );
    assert_eq!(step_name("shards-17"), "shards");
    assert_eq!(step_name("domain-sizes-0123456789abcdef-9"), "domain-sizes");
}
