//! `cargo bench -p blend-proxy-train --bench train_step -- [key=value …]` (or the binary with
//! `--bench`): tokens/s and peak resident memory of the proxy training step loop (forward,
//! backward, clipping, AdamW) on random Zipf-distributed tokens, for comparison with
//! `bench/proxy/torch_step.py` (the same model in PyTorch) on the same config.
//!
//! Keys: preset=tiny|regmix-1m vocab=N seq=T batch=B steps=S warmup=W device=cpu|cuda
//! proxies=K parallel=P. Prints one JSON line. Steps after the first W are timed.
#![allow(clippy::print_stdout)]

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Instant;

use blend_kernels::SeededRng;
use blend_proxy_train::parallel::{ProxyJob, train_proxies};
use blend_proxy_train::{DeviceChoice, DomainTokens, Preset, ProxyData, TrainSettings};

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!(
            "train_step benchmark: run `cargo bench -p blend-proxy-train --bench train_step -- preset=regmix-1m` (or this binary with --bench)"
        );
        return;
    }
    let args: BTreeMap<String, String> = std::env::args()
        .filter_map(|a| {
            a.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect();
    let get = |key: &str, default: &str| args.get(key).cloned().unwrap_or_else(|| default.into());
    let number = |key: &str, default: usize| -> usize {
        get(key, &default.to_string())
            .parse()
            .unwrap_or_else(|_| panic!("{key} must be a number"))
    };
    let preset: Preset = get("preset", "regmix-1m").parse().expect("preset");
    let device: DeviceChoice = get("device", "cpu").parse().expect("device");
    let (vocab, seq, batch) = (
        number("vocab", 4096),
        number("seq", 256),
        number("batch", 16),
    );
    let (steps, warmup) = (number("steps", 30), number("warmup", 3));
    let (proxies, parallel) = (number("proxies", 1), number("parallel", 1));

    let mut rng = SeededRng::new(1);
    let stream = |rng: &mut SeededRng, n: usize| DomainTokens {
        domain: "random".into(),
        tokens: (0..n).map(|_| rng.zipf(vocab, 1.1) as u32).collect(),
    };
    let data = ProxyData {
        domains: vec!["random".into()],
        vocab_size: vocab,
        train: vec![stream(&mut rng, 2_000_000)],
        valid: vec![stream(&mut rng, 20_000)],
    };
    let mut settings = TrainSettings::new(preset.config(vocab, seq), steps, 0);
    settings.batch_size = batch;
    settings.eval_windows = 1;
    settings.device = device;
    // Per proxy thread: the time its step `warmup - 1` ended, and when its last step ended.
    let marks: Mutex<HashMap<std::thread::ThreadId, (Option<Instant>, Instant)>> =
        Mutex::new(HashMap::new());
    let jobs: Vec<ProxyJob> = (0..proxies)
        .map(|run| ProxyJob {
            run,
            weights: vec![1.0],
        })
        .collect();
    let started = Instant::now();
    let outcomes = train_proxies(
        &data,
        &jobs,
        &settings,
        parallel,
        &|step| {
            let now = Instant::now();
            let mut marks = marks.lock().unwrap();
            let entry = marks
                .entry(std::thread::current().id())
                .or_insert((None, now));
            if step + 1 == warmup {
                entry.0 = Some(now);
            }
            entry.1 = now;
        },
        &|_, _| Ok(()),
    )
    .expect("training runs");
    let wall = started.elapsed().as_secs_f64();
    let timed_steps = (steps - warmup) * proxies;
    let timed_seconds = if proxies == 1 {
        let marks = marks.lock().unwrap();
        let (from, to) = marks.values().next().copied().expect("one proxy");
        (to - from.expect("warmup < steps")).as_secs_f64()
    } else {
        // Several proxies: whole wall time over all steps (start-up included).
        wall * timed_steps as f64 / (steps * proxies) as f64
    };
    let tokens_per_second = (timed_steps * batch * seq) as f64 / timed_seconds;
    let flops = settings.model.train_flops_per_token() * tokens_per_second;
    let value = serde_json::json!({
        "impl": "candle",
        "device": device.to_string(),
        "preset": preset.name(),
        "parameters": settings.model.parameters(),
        "vocab": vocab, "seq": seq, "batch": batch, "steps": steps, "warmup": warmup,
        "proxies": proxies, "parallel": parallel,
        "tokens_per_second": tokens_per_second,
        "ms_per_step": 1e3 * timed_seconds / timed_steps as f64,
        "gflops": flops / 1e9,
        "peak_rss_mib": peak_rss_mib(),
        "final_loss": outcomes[0].last_train_loss(),
    });
    println!("{value}");
}
