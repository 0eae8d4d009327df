//! `cargo bench -p blend-operators --bench quality_parity -- datatrove=VERDICTS.jsonl corpora=DIR`:
//! blend's Gopher quality, Gopher repetition, C4 and FineWeb rules against datatrove's on the
//! same documents. VERDICTS.jsonl is what `bench/quality/datatrove_filters.py` wrote for
//! documents of the JSONL files in DIR. Prints, per rule, the share of documents where the
//! pass/fail decision agrees (and where the reason agrees too), blend's docs/s and MB/s on one
//! thread, the disagreement classes (blend's reason vs datatrove's, with counts and a sample
//! id), and for C4 how often the kept text has the same length.
#![allow(clippy::print_stdout)]

mod shared;

use std::collections::BTreeMap;
use std::time::Instant;

use rayon::prelude::*;

use blend_operators::quality::c4::{C4Quality, c4_lines};
use blend_operators::quality::document_rule::DocumentRule;
use blend_operators::quality::fineweb::FineWebQuality;
use blend_operators::quality::gopher::quality::GopherQuality;
use blend_operators::quality::gopher::repetition::GopherRepetition;

/// A rule's check: `Err(reason)` on failure.
type Check<'a> = &'a (dyn Fn(&str) -> Result<(), &'static str> + Sync);

fn defaults<R: DocumentRule>() -> R {
    serde_json::from_value(serde_json::json!({})).expect("defaults")
}

fn main() {
    let Some(args) = shared::bench_args(
        "quality_parity benchmark: run `cargo bench -p blend-operators --bench quality_parity -- datatrove=… corpora=…`",
    ) else {
        return;
    };
    let texts = shared::jsonl_texts(std::path::Path::new(&args["corpora"]));
    let verdicts: Vec<serde_json::Value> = std::fs::read_to_string(&args["datatrove"])
        .expect("datatrove verdicts")
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    let docs: Vec<(&serde_json::Value, &str)> = verdicts
        .iter()
        .filter_map(|v| {
            let key = (
                v["file"].as_str()?.to_string(),
                v["id"].as_str()?.to_string(),
            );
            texts.get(&key).map(|t| (v, t.as_str()))
        })
        .collect();
    let bytes: usize = docs.iter().map(|(_, t)| t.len()).sum();
    let gopher: GopherQuality = defaults();
    let repetition: GopherRepetition = defaults();
    let c4: C4Quality = defaults();
    let fineweb: FineWebQuality = defaults();
    let rules: [(&str, Check); 4] = [
        ("gopher_quality", &|t| gopher.check(t)),
        ("gopher_repetition", &|t| repetition.check(t)),
        ("c4", &|t| c4.check(t)),
        ("fineweb", &|t| fineweb.check(t)),
    ];
    println!(
        "{:<18} {:>6} {:>9} {:>9} {:>8} {:>8} {:>9} {:>9} {:>11}",
        "rule",
        "docs",
        "decision",
        "reason",
        "pass dt",
        "pass bl",
        "docs/s",
        "MB/s",
        format!("MB/s {}T", rayon::current_num_threads())
    );
    let mut classes: Vec<String> = Vec::new();
    for (name, rule) in rules {
        let started = Instant::now();
        let ours: Vec<Result<(), &'static str>> = docs.iter().map(|(_, t)| rule(t)).collect();
        let seconds = started.elapsed().as_secs_f64();
        // Again on every thread, as the operator runs (rayon over the documents of a batch).
        let started = Instant::now();
        let parallel: Vec<bool> = docs.par_iter().map(|(_, t)| rule(t).is_ok()).collect();
        let parallel_seconds = started.elapsed().as_secs_f64();
        assert!(parallel.iter().zip(&ours).all(|(p, o)| *p == o.is_ok()));
        let (mut same_decision, mut same_reason, mut pass_dt, mut pass_bl) = (0, 0, 0, 0);
        let mut disagreements: BTreeMap<(String, String), (usize, String)> = BTreeMap::new();
        for ((verdict, _), mine) in docs.iter().zip(&ours) {
            let theirs_pass = verdict[name].as_bool().unwrap_or(false);
            let theirs_reason = verdict[format!("{name}_reason")]
                .as_str()
                .unwrap_or("pass")
                .to_string();
            let mine_reason = mine.err().unwrap_or("pass").to_string();
            pass_dt += usize::from(theirs_pass);
            pass_bl += usize::from(mine.is_ok());
            if theirs_pass == mine.is_ok() {
                same_decision += 1;
            }
            if theirs_reason == mine_reason {
                same_reason += 1;
            } else {
                let sample = format!(
                    "{}:{}",
                    verdict["file"].as_str().unwrap_or(""),
                    verdict["id"].as_str().unwrap_or("")
                );
                disagreements
                    .entry((mine_reason, theirs_reason))
                    .or_insert((0, sample))
                    .0 += 1;
            }
        }
        let n = docs.len().max(1) as f64;
        println!(
            "{name:<18} {:>6} {:>8.2}% {:>8.2}% {:>8} {:>8} {:>9.0} {:>9.2} {:>11.2}",
            docs.len(),
            same_decision as f64 * 100.0 / n,
            same_reason as f64 * 100.0 / n,
            pass_dt,
            pass_bl,
            docs.len() as f64 / seconds,
            bytes as f64 / 1e6 / seconds,
            bytes as f64 / 1e6 / parallel_seconds
        );
        for ((mine, theirs), (count, sample)) in disagreements {
            classes.push(format!(
                "{name}: blend {mine} vs datatrove {theirs}: {count} (e.g. {sample})"
            ));
        }
    }
    // C4's kept text: same length as datatrove's rewrite?
    let (mut compared, mut same_length) = (0, 0);
    for (verdict, text) in &docs {
        if let (Some(expected), Ok(lines)) = (verdict["c4_text_len"].as_u64(), c4_lines(&c4, text))
        {
            compared += 1;
            let joined = lines.join("\n");
            let kept = joined.trim().chars().count() as u64;
            same_length += usize::from(kept == expected);
        }
    }
    println!(
        "c4 kept text: {same_length} of {compared} documents passed by both have the same length"
    );
    println!("disagreements (blend reason vs datatrove reason):");
    for class in classes {
        println!("  {class}");
    }
}
