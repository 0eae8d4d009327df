//! `cargo bench -p blend-kernels --bench kmeans -- [n=N dim=D k=K out=PATH]` (or the binary
//! with `--bench`): k-means++ + Lloyd (and mini-batch) on seeded Gaussian blobs; prints one
//! JSON line per mode with inertia, iterations and seconds. `out=PATH` also writes the points
//! as raw little-endian f32 (`n × dim`) so `bench/cluster/kmeans_peer.py` clusters the very
//! same data with scikit-learn. `points=PATH` clusters such a file instead (e.g. the
//! embeddings `cargo bench -p blend-pipeline --bench domains` writes); `n` then follows from
//! its size and `dim`.
#![allow(clippy::print_stdout)]

use std::collections::BTreeMap;
use std::time::Instant;

use blend_kernels::{KMeansConfig, SeededRng, kmeans};

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!(
            "kmeans benchmark: run `cargo bench -p blend-kernels --bench kmeans` (or this binary with --bench)"
        );
        return;
    }
    let args: BTreeMap<String, String> = std::env::args()
        .filter_map(|a| {
            a.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect();
    let number = |key: &str, default: usize| -> usize {
        args.get(key).map_or(default, |v| {
            v.parse().unwrap_or_else(|_| panic!("{key}: a number"))
        })
    };
    let (mut n, dim, k) = (number("n", 100_000), number("dim", 64), number("k", 100));
    let points = match args.get("points") {
        Some(path) => {
            let bytes = std::fs::read(path).expect("reading the points");
            assert!(
                bytes.len() % (4 * dim) == 0,
                "{path}: not a multiple of dim f32 values"
            );
            n = bytes.len() / (4 * dim);
            bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect()
        }
        None => blobs(n, dim, k),
    };
    if let Some(path) = args.get("out") {
        let bytes: Vec<u8> = points.iter().flat_map(|x| x.to_le_bytes()).collect();
        std::fs::write(path, bytes).expect("writing the points");
    }
    run(&points, n, dim, k);
}

/// `n` points around `k / 2` seeded centres.
fn blobs(n: usize, dim: usize, k: usize) -> Vec<f32> {
    // k/2 true centres in a unit cube, points spread around them with σ 0.15 (Box–Muller).
    let mut rng = SeededRng::new(42);
    let centres: Vec<f32> = (0..(k / 2).max(1) * dim)
        .map(|_| rng.next_f64() as f32)
        .collect();
    let mut points = Vec::with_capacity(n * dim);
    for _ in 0..n {
        let c = rng.below((k / 2).max(1) as u64) as usize;
        for j in 0..dim {
            let (u1, u2) = (rng.next_f64().max(1e-300), rng.next_f64());
            let normal = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
            points.push(centres[c * dim + j] + (0.15 * normal) as f32);
        }
    }
    points
}

fn run(points: &[f32], n: usize, dim: usize, k: usize) {
    for (mode, mini_batch) in [("lloyd", None), ("mini-batch 4096", Some(4096))] {
        let mut config = KMeansConfig::new(k, 0);
        config.mini_batch = mini_batch;
        if let Some(batch) = mini_batch {
            // Two passes over the data, as many as scikit-learn's MiniBatchKMeans took here
            // before its early stop.
            config.max_iterations = (2 * n).div_ceil(batch);
        }
        let started = Instant::now();
        let result = kmeans(points, dim, &config).expect("k-means runs");
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "{}",
            serde_json::json!({
                "impl": format!("blend {mode}"), "n": n, "dim": dim, "k": k,
                "threads": rayon::current_num_threads(),
                "inertia": result.inertia, "iterations": result.iterations,
                "seconds": seconds,
            })
        );
    }
}
