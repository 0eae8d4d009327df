//! The proxy runs of a search: their model and training settings, training curves, and
//! every run's mixture with its held-out losses (`blend search` and `blend run` reports).

use std::fmt::Write as _;

use blend_proxy_train::TrainSettings;

use super::html::{count, escape};
use super::svg::{Series, line_chart};
use crate::engine::mixture_summary::RecordedRun;

const PALETTE: [&str; 8] = [
    "#2c5aa0", "#e67e22", "#27ae60", "#8e44ad", "#c0392b", "#16a085", "#7f8c8d", "#d35400",
];
/// Runs drawn in the training-curve chart (the best and worst by target, then the first).
const CURVES: usize = 8;

/// The runs a proxies section shows.
#[derive(Debug)]
pub struct ProxyRuns<'a> {
    pub settings: &'a TrainSettings,
    pub runs: &'a [RecordedRun],
    /// Runs trained by the last call (the rest were recorded before).
    pub trained: usize,
    pub target: &'a str,
    pub domains: usize,
}

pub fn proxies_section(html: &mut String, proxies: &ProxyRuns<'_>) {
    let settings = proxies.settings;
    let model = &settings.model;
    let runs = proxies.runs;
    let target = proxies.target;
    let target_of = |run: &RecordedRun| -> f64 { run.target(target) };
    let train_seconds: f64 = runs.iter().map(|r| r.outcome.train_seconds).sum();
    let tokens: u64 = runs.iter().map(|r| r.outcome.tokens).sum();
    let _ = write!(
        html,
        "<h2>Proxies</h2><table><tr><th>model</th><td>{layers} layers, {heads} heads, d_model {d}, SwiGLU {mlp}, vocab {vocab}, sequence {t}: {params} parameters ({non_emb} without embeddings)</td></tr>\
         <tr><th>training</th><td>{steps} steps × batch {batch} = {tokens_per_run} tokens per run; AdamW, peak lr {lr}, warmup {warmup}, cosine to {floor}×, clip {clip}; {device}</td></tr>\
         <tr><th>runs</th><td>{n} ({trained} trained by the last call); {tokens} tokens in {secs:.1} s of training ({rate:.0} tokens/s summed over runs)</td></tr>\
         <tr><th>held-out data</th><td>{domains} domains; loss on {windows} fixed windows per domain</td></tr></table>",
        layers = model.layers,
        heads = model.heads,
        d = model.d_model,
        mlp = model.mlp_hidden,
        vocab = model.vocab_size,
        t = model.sequence_length,
        params = count(model.parameters() as u64),
        non_emb = count(model.non_embedding_parameters() as u64),
        steps = settings.steps,
        batch = settings.batch_size,
        tokens_per_run = count(settings.tokens_per_step() as u64 * settings.steps as u64),
        lr = settings.peak_lr,
        warmup = settings.warmup_steps,
        floor = settings.min_lr_ratio,
        clip = settings.grad_clip,
        device = escape(&settings.device.to_string()),
        n = runs.len(),
        trained = proxies.trained,
        tokens = count(tokens),
        secs = train_seconds,
        rate = tokens as f64 / train_seconds.max(1e-9),
        domains = proxies.domains,
        windows = settings.eval_windows,
    );
    let mut order: Vec<usize> = (0..runs.len()).collect();
    order.sort_by(|&a, &b| target_of(&runs[a]).total_cmp(&target_of(&runs[b])));
    let mut shown: Vec<usize> = Vec::new();
    for &i in order.first().into_iter().chain(order.last()).chain(&order) {
        if shown.len() < CURVES && !shown.contains(&i) {
            shown.push(i);
        }
    }
    let series: Vec<Series> = shown
        .iter()
        .enumerate()
        .map(|(k, &i)| Series {
            name: format!("run {}", runs[i].run),
            color: PALETTE[k % PALETTE.len()],
            points: runs[i]
                .outcome
                .train_loss
                .iter()
                .map(|&(step, loss)| (step as f64 + 1.0, f64::from(loss)))
                .collect(),
        })
        .collect();
    html.push_str(&line_chart(
        "Training loss (best and worst runs by target first)",
        &series,
        "step",
        "loss (nats)",
        false,
    ));
    let _ = write!(
        html,
        "<h3>Runs, best {} first</h3><table><tr><th>run</th>",
        escape(target)
    );
    if let Some(first) = runs.first() {
        for domain in &first.domains {
            let _ = write!(html, "<th>w {}</th>", escape(domain));
        }
        html.push_str("<th>valid loss</th>");
        for domain in &first.domains {
            let _ = write!(html, "<th>loss {}</th>", escape(domain));
        }
    }
    html.push_str("<th>train loss first → last</th></tr>");
    for &i in &order {
        let run = &runs[i];
        let _ = write!(html, "<tr><td>{}</td>", run.run);
        for w in &run.weights {
            let _ = write!(html, "<td>{w:.3}</td>");
        }
        let _ = write!(html, "<td>{:.4}</td>", run.outcome.mean_valid_loss());
        for loss in &run.outcome.valid_loss {
            let _ = write!(html, "<td>{loss:.4}</td>");
        }
        let _ = write!(
            html,
            "<td>{:.3} → {:.3}</td></tr>",
            run.outcome.first_train_loss(),
            run.outcome.last_train_loss()
        );
    }
    html.push_str("</table>");
}
