//! Reports of BPE mixture inference: the weights inferred for one or more tokenizers
//! (`blend infer-mixture --report`), and the known-mixture evaluation
//! (`blend bpe-eval --report`) with its log10 MSE table and true-vs-inferred scatter.

use std::fmt::Write as _;

use super::eval::EvalReport;
use super::infer::InferenceOutcome;
use crate::report::html::{count, escape, page_start};
use crate::report::svg::{Bar, bar_chart, scatter_chart};

const COLORS: [&str; 4] = ["#2c5aa0", "#e67e22", "#27ae60", "#8e44ad"];

fn tokenizer_name(outcome: &InferenceOutcome) -> String {
    outcome.tokenizer.file_name().map_or_else(
        || outcome.tokenizer.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// Inferred weights per tokenizer: a comparison table, then a bar chart and the details of
/// each inference.
pub fn render_inference_report(outcomes: &[InferenceOutcome]) -> String {
    let mut html = String::new();
    page_start(
        &mut html,
        "BPE mixture inference",
        &format!("blend {}", crate::BLEND_VERSION),
    );
    html.push_str(
        "<p>Each tokenizer's ordered merge list was replayed over a sample of every category; \
         the weights are the solution of Hayase et al.'s linear program (each merge must be \
         at least as frequent as its competitors in the weighted mixture, violations paid by \
         slack). They estimate the share of each category in the tokenizer's training text, \
         relative to the categories offered: text of a kind not offered is attributed to the \
         nearest categories.</p>",
    );
    if let Some(first) = outcomes.first() {
        html.push_str("<h2>Weights</h2><table><tr><th>tokenizer</th>");
        for category in &first.estimate.categories {
            let _ = write!(html, "<th>{}</th>", escape(category));
        }
        html.push_str("<th>merges used</th><th>total slack</th></tr>");
        for outcome in outcomes {
            let _ = write!(html, "<tr><td>{}</td>", escape(&tokenizer_name(outcome)));
            for weight in &outcome.estimate.weights {
                let _ = write!(html, "<td>{:.1}%</td>", weight * 100.0);
            }
            let _ = write!(
                html,
                "<td>{}</td><td>{:.3}</td></tr>",
                count(outcome.estimate.merges as u64),
                outcome.estimate.objective
            );
        }
        html.push_str("</table>");
    }
    for (k, outcome) in outcomes.iter().enumerate() {
        let name = tokenizer_name(outcome);
        let _ = write!(html, "<h2>{}</h2>", escape(&name));
        let bars: Vec<Bar> = outcome
            .estimate
            .categories
            .iter()
            .zip(&outcome.estimate.weights)
            .map(|(category, &weight)| Bar {
                label: category.clone(),
                value: weight,
                caption: format!("{:.2}%", weight * 100.0),
            })
            .collect();
        html.push_str(&bar_chart(
            &format!("inferred training mixture of {name}"),
            &bars,
            COLORS[k % COLORS.len()],
        ));
        let estimate = &outcome.estimate;
        let _ = write!(
            html,
            "<p>{} of {} merges walked ({} with a pair no sample holds); {} constraints in {} \
             LP rounds; total slack {:.4} per million bytes. Counting words {:.1} s, replaying \
             merges {:.1} s, constraint generation and LP {:.2} s (solver {:.2} s).</p>",
            count(estimate.merges as u64),
            count(outcome.tokenizer_merges as u64),
            count(estimate.merges_missing as u64),
            count(estimate.constraints as u64),
            estimate.rounds,
            estimate.objective,
            outcome.count_seconds,
            outcome.replay_seconds,
            estimate.seconds,
            estimate.solver_seconds,
        );
        html.push_str(
            "<table><tr><th>category</th><th>weight</th><th>documents</th><th>sample bytes</th><th>distinct words</th></tr>",
        );
        for (stats, weight) in outcome.categories.iter().zip(&estimate.weights) {
            let _ = write!(
                html,
                "<tr><td>{}</td><td>{:.4}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&stats.name),
                weight,
                count(stats.documents),
                count(stats.bytes),
                count(stats.distinct_words)
            );
        }
        html.push_str("</table>");
    }
    html.push_str("</body></html>\n");
    html
}

/// The paper's mean log10 MSE for n = 5 (Hayase et al., Table 1), where it reports one.
fn paper_target(report: &EvalReport) -> Option<f64> {
    use crate::workflows::bpe::eval::CategoryPool;
    match (report.pool, report.categories) {
        (CategoryPool::Languages, 5) => Some(-7.3),
        (CategoryPool::Code, 5) => Some(-6.5),
        (CategoryPool::Domains, 5) => Some(-3.4),
        _ => None,
    }
}

/// The evaluation table and, per setting, true against inferred weights.
pub fn render_eval_report(reports: &[EvalReport]) -> String {
    let mut html = String::new();
    page_start(
        &mut html,
        "BPE mixture inference: known-mixture evaluation",
        &format!("blend {}", crate::BLEND_VERSION),
    );
    html.push_str(
        "<p>Each trial draws categories and weights α (uniform on the simplex), trains a \
         byte-level BPE tokenizer on text mixed by α, and infers α from the merges and \
         held-out text of each category. Lower log10 MSE is better; the random guess is \
         another uniform draw.</p><table><tr><th>pool</th><th>n</th><th>trials</th>\
         <th>mean log10 MSE</th><th>random guess</th><th>paper (n = 5)</th>\
         <th>mean merges</th><th>mean inference s</th></tr>",
    );
    for report in reports {
        let trials = report.trials.len().max(1) as f64;
        let merges = report.trials.iter().map(|t| t.merges as f64).sum::<f64>() / trials;
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td><b>{:.2}</b></td><td>{:.2}</td><td>{}</td><td>{:.0}</td><td>{:.2}</td></tr>",
            report.pool.name(),
            report.categories,
            report.trials.len(),
            report.mean_log10_mse,
            report.mean_random_log10_mse,
            paper_target(report).map_or_else(|| "–".to_string(), |t| format!("{t:.1}")),
            merges,
            report.mean_infer_seconds
        );
    }
    html.push_str("</table>");
    for report in reports {
        let points: Vec<(f64, f64)> = report
            .trials
            .iter()
            .flat_map(|t| t.truth.iter().copied().zip(t.estimate.iter().copied()))
            .collect();
        let _ = write!(
            html,
            "<h2>{} (n = {})</h2><p class=\"muted\">pool: {}</p>",
            report.pool.name(),
            report.categories,
            escape(&report.pool_categories.join(", "))
        );
        html.push_str(&scatter_chart(
            &format!(
                "{} n={}: true vs inferred weight",
                report.pool.name(),
                report.categories
            ),
            &points,
            "true weight",
            "inferred weight",
        ));
    }
    html.push_str("</body></html>\n");
    html
}
