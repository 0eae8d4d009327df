//! How the run chose its mixture: natural, prior and chosen weights side by side with the
//! prediction interval and each domain's tokens and epochs in the final shards; then the
//! validation of the chosen mixture against the natural one, the regressor and the proxy
//! runs.

use std::fmt::Write as _;

use super::html::{count, escape};
use super::method_runs::method_runs_section;
use super::mixture_search::model_section;
use super::proxy_runs::{ProxyRuns, proxies_section};
use crate::engine::mixture_summary::{MixtureSummary, ValidationSummary};
use crate::engine::summary::RunSummary;

pub fn mixture_choice_section(html: &mut String, summary: &RunSummary) {
    let Some(choice) = &summary.mixture_choice else {
        return;
    };
    let _ = write!(
        html,
        "<h2>Mixture choice</h2><p>Method <code>{}</code> over {} domains.",
        escape(&choice.method.to_string()),
        choice.domains.len()
    );
    if let Some(prediction) = &summary.mixture.prediction {
        let _ = write!(
            html,
            " Predicted <code>{}</code> of the chosen mixture: <b>{:.4}</b>",
            escape(&prediction.target),
            prediction.value
        );
        if let Some([low, high]) = prediction.interval {
            let _ = write!(
                html,
                " ({:.0}% bootstrap interval {low:.4} – {high:.4})",
                prediction.confidence * 100.0
            );
        }
        if let Some(search) = &choice.search {
            let _ = write!(
                html,
                "; for the natural mixture it predicts {:.4}",
                search.natural_predicted
            );
        }
        html.push('.');
        if let Some([low, high]) = prediction.interval
            && !(low..=high).contains(&prediction.value)
        {
            html.push_str(
                " The prediction lies outside its bootstrap interval: the search picked where this \
                 one fit is most optimistic, and refits on resampled runs do not share that luck. \
                 Expect the true value nearer the interval, and trust the validation below.",
            );
        }
    }
    html.push_str("</p>");
    weights_table(html, summary, choice);
    if let Some(validation) = &choice.validation {
        validation_section(html, validation);
    }
    if let Some(search) = &choice.search {
        model_section(html, &search.model);
        proxies_section(
            html,
            &ProxyRuns {
                settings: &search.settings,
                runs: &search.runs,
                trained: search.trained,
                target: &search.model.target,
                domains: choice.domains.len(),
            },
        );
    }
    if let Some(runs) = &choice.method_runs {
        method_runs_section(html, runs, &choice.domains);
    }
}

/// Natural, prior and chosen weights, with the final shards' train tokens and epochs.
fn weights_table(html: &mut String, summary: &RunSummary, choice: &MixtureSummary) {
    let prior_name = choice.prior.as_ref().map(|p| p.name.as_str());
    let train = summary.shards.splits.get("train");
    html.push_str("<table><tr><th>domain</th><th>natural</th>");
    if let Some(name) = prior_name {
        let _ = write!(html, "<th>prior: {}</th>", escape(name));
    }
    html.push_str("<th>chosen</th><th>train tokens drawn</th><th>epochs</th></tr>");
    for (i, domain) in choice.domains.iter().enumerate() {
        let chosen = summary
            .mixture
            .domains
            .iter()
            .find(|d| &d.domain == domain)
            .map_or(0.0, |d| d.weight);
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{:.4}</td>",
            escape(domain),
            choice.natural[i]
        );
        if let Some(prior) = &choice.prior {
            let _ = write!(html, "<td>{:.4}</td>", prior.weights[i]);
        }
        let tokens = train.and_then(|t| t.tokens_per_domain.get(domain)).copied();
        let epochs = train.and_then(|t| t.epochs_per_domain.get(domain)).copied();
        let _ = write!(
            html,
            "<td><b>{chosen:.4}</b></td><td>{}</td><td>{}</td></tr>",
            tokens.map_or("–".into(), count),
            epochs.map_or("–".into(), |e| format!("{e:.2}"))
        );
    }
    html.push_str("</table>");
}

fn validation_section(html: &mut String, validation: &ValidationSummary) {
    let (chosen, chosen_sd) = ValidationSummary::mean_sd(&validation.chosen);
    let (natural, natural_sd) = ValidationSummary::mean_sd(&validation.natural);
    let verdict = if chosen + chosen_sd < natural - natural_sd {
        "the chosen mixture is better than the natural one by more than the seeds' spread"
    } else if chosen < natural {
        "the chosen mixture is lower on average, but within the seeds' spread: not a clear improvement"
    } else {
        "the chosen mixture is not better than the natural one here"
    };
    let _ = write!(
        html,
        "<h3>Validation</h3><p>Both mixtures trained for {} steps under {} seeds; held-out <code>{}</code> (lower is better): \
         chosen <b>{chosen:.4} ± {chosen_sd:.4}</b>, natural <b>{natural:.4} ± {natural_sd:.4}</b> (mean ± sd): {verdict}.</p>\
         <table><tr><th>seed</th><th>chosen</th><th>natural</th></tr>",
        validation.steps,
        validation.seeds.len(),
        escape(&validation.target),
    );
    for ((seed, c), n) in validation
        .seeds
        .iter()
        .zip(&validation.chosen)
        .zip(&validation.natural)
    {
        let _ = write!(
            html,
            "<tr><td>{seed}</td><td>{c:.4}</td><td>{n:.4}</td></tr>"
        );
    }
    html.push_str("</table>");
}
