//! Executors killed (SIGKILL) while a job runs. Losing one of two: Ballista's scheduler
//! drops it (a failed task launch or a missed heartbeat), resets its tasks and the job
//! completes on the other. Losing every executor: the job fails with an error naming the
//! stage on the cluster, and a re-run on a new executor resumes from the stages finished
//! before, recomputing none of them. Both end with the local run's result.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant, SystemTime};

use crate::processes::{Cluster, assert_same_as_local, corpus_root, new_job, run, spawn_run};

/// Longer than the scheduler's executor timeout (5 s) plus Ballista's task retries.
const JOB_LIMIT: Duration = Duration::from_secs(240);

/// Waits until the job in `job` sends its `stage`-th stage (counting from 1) to the cluster.
fn wait_for_cluster_stage(client: &mut Child, job: &Path, stage: usize) {
    let started = Instant::now();
    loop {
        let log = std::fs::read_to_string(job.join("stderr.txt")).unwrap_or_default();
        if log.matches("on the cluster at").count() >= stage {
            return;
        }
        assert!(
            client.try_wait().unwrap().is_none(),
            "the client ended before stage {stage} reached the cluster: {log}"
        );
        assert!(
            started.elapsed() < JOB_LIMIT,
            "stage {stage} never reached the cluster: {log}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Waits for the client to end, within `JOB_LIMIT`; returns its status and stderr.
fn wait_for_end(client: &mut Child, job: &Path) -> (ExitStatus, String) {
    let deadline = Instant::now() + JOB_LIMIT;
    let status = loop {
        if let Some(status) = client.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = client.kill();
            panic!(
                "the job neither finished nor failed within {JOB_LIMIT:?} after losing executors: {}",
                std::fs::read_to_string(job.join("stderr.txt")).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let log = std::fs::read_to_string(job.join("stderr.txt")).unwrap();
    std::fs::write(job.join("stderr-killed.txt"), &log).unwrap();
    (status, log)
}

/// Every finished stage folder of `job` and when its checksum list was written.
fn finished_stages(job: &Path) -> BTreeMap<String, SystemTime> {
    std::fs::read_dir(job.join("work"))
        .unwrap()
        .filter_map(|entry| {
            let path = entry.unwrap().path();
            let list = std::fs::metadata(path.join("checksums.json")).ok()?;
            Some((
                path.file_name().unwrap().to_string_lossy().into_owned(),
                list.modified().unwrap(),
            ))
        })
        .collect()
}

/// Re-runs `job` on `cluster`: it must finish without recomputing a finished stage.
fn rerun_resumes(job: &Path, cluster: &Cluster) {
    let finished = finished_stages(job);
    let (status, log) = run(job, Some(&cluster.url));
    assert!(status.success(), "the re-run: {log}");
    let after = finished_stages(job);
    for (stage, written) in &finished {
        assert_eq!(
            after.get(stage),
            Some(written),
            "the re-run recomputed `{stage}`, which the first run finished"
        );
    }
}

/// A local run of the job, a two-executor cluster, and the same job started on it.
struct KilledJob {
    local: PathBuf,
    cluster: Cluster,
    job: PathBuf,
    client: Child,
}

impl KilledJob {
    /// Starts the job and returns once its `stage`-th stage has gone to the cluster.
    fn start(name: &str, stage: usize) -> KilledJob {
        let root = corpus_root(name);
        let local = new_job(&root, "local");
        let (status, log) = run(&local, None);
        assert!(status.success(), "local run: {log}");
        let cluster = Cluster::start(&root.join("cluster-processes"), 2);
        let job = new_job(&root, "remote");
        let mut client = spawn_run(&job, Some(&cluster.url));
        wait_for_cluster_stage(&mut client, &job, stage);
        KilledJob {
            local,
            cluster,
            job,
            client,
        }
    }
}

#[test]
fn losing_one_of_two_executors_the_job_completes_on_the_other() {
    let mut run = KilledJob::start("lose_one", 1);
    run.cluster.kill_executor(1);
    let (status, log) = wait_for_end(&mut run.client, &run.job);
    let scheduler = run.cluster.scheduler_log();
    assert!(
        status.success(),
        "Ballista re-runs a lost executor's tasks on the other: {log}\n{scheduler}"
    );
    assert!(
        scheduler.contains("Removing executor"),
        "the scheduler dropped the killed executor: {scheduler}"
    );
    assert_same_as_local(&run.job, &run.local);
    rerun_resumes(&run.job, &run.cluster);
}

#[test]
fn losing_every_executor_fails_clearly_and_a_rerun_resumes() {
    let mut run = KilledJob::start("lose_all", 3);
    run.cluster.kill_executor(0);
    run.cluster.kill_executor(1);
    let (status, log) = wait_for_end(&mut run.client, &run.job);
    assert!(!status.success(), "no executor is left: {log}");
    assert!(
        log.contains("error: stage `") && log.contains("on the cluster"),
        "the error names the stage on the cluster: {log}"
    );
    let cached = finished_stages(&run.job);
    assert!(
        cached.len() >= 3,
        "the stages before the loss are cached: {cached:?}"
    );

    run.cluster.add_executor();
    rerun_resumes(&run.job, &run.cluster);
    assert_same_as_local(&run.job, &run.local);
}
