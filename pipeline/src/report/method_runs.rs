//! The runs of a mixture method without a regressor over mixtures: Bayesian optimisation's
//! proposals in order (each with its steps, the fidelity it was trained at), or online
//! reweighting's schedule (the weights after every update), then the proxies section.

use std::fmt::Write as _;

use super::html::escape;
use super::proxy_runs::{ProxyRuns, proxies_section};
use crate::engine::mixture_summary::MethodRuns;

pub fn method_runs_section(html: &mut String, runs: &MethodRuns, domains: &[String]) {
    if !runs.steps.is_empty() {
        proposals_table(html, runs, domains);
    }
    if !runs.schedule.is_empty() {
        schedule_table(html, runs, domains);
    }
    proxies_section(
        html,
        &ProxyRuns {
            settings: &runs.settings,
            runs: &runs.runs,
            trained: runs.trained,
            target: &runs.target,
            domains: domains.len(),
        },
    );
}

fn header(html: &mut String, first: &[&str], domains: &[String], last: &str) {
    html.push_str("<table><tr>");
    for name in first {
        let _ = write!(html, "<th>{name}</th>");
    }
    for domain in domains {
        let _ = write!(html, "<th>{}</th>", escape(domain));
    }
    let _ = write!(html, "<th>{}</th></tr>", escape(last));
}

fn proposals_table(html: &mut String, runs: &MethodRuns, domains: &[String]) {
    html.push_str(
        "<h3>Bayesian optimisation: runs in the order proposed</h3><p>The first runs are a \
         spread-out design; each later one is the Gaussian process's proposal, trained for \
         the steps (fidelity) that told it the most per step.</p>",
    );
    header(html, &["run", "steps"], domains, &runs.target);
    for (run, steps) in runs.runs.iter().zip(&runs.steps) {
        let _ = write!(html, "<tr><td>{}</td><td>{steps}</td>", run.run);
        for w in &run.weights {
            let _ = write!(html, "<td>{w:.3}</td>");
        }
        let _ = write!(html, "<td>{:.4}</td></tr>", run.target(&runs.target));
    }
    html.push_str("</table>");
}

fn schedule_table(html: &mut String, runs: &MethodRuns, domains: &[String]) {
    let _ = write!(
        html,
        "<h3>Online reweighting: the weights after each update</h3><p>The mixture is their \
         step-weighted average.{}</p>",
        if runs.reference.is_some() {
            " DoReMi's reference proxy was trained first on the prior."
        } else {
            ""
        }
    );
    header(html, &["step"], domains, "signal (max)");
    for update in &runs.schedule {
        let _ = write!(html, "<tr><td>{}</td>", update.step);
        for w in &update.weights {
            let _ = write!(html, "<td>{w:.3}</td>");
        }
        let largest = update
            .signal
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max);
        let _ = write!(html, "<td>{largest:.4}</td></tr>");
    }
    html.push_str("</table>");
}
