//! The `blend search` report: the chosen mixture and regressor (as `blend mix search`
//! shows them), then the proxies: their settings, training curves, and every run's mixture
//! with its held-out losses.

use std::fmt::Write as _;

use super::ProxySearchOutcome;
use crate::report::html::escape;
use crate::report::{MixReport, ProxyRuns, proxies_section, render_mix_report};

pub fn render_proxy_search_report(outcome: &ProxySearchOutcome) -> String {
    let html = render_mix_report(&MixReport {
        title: format!(
            "blend search: {} proxies, {} steps",
            outcome.runs.len(),
            outcome.settings.steps
        ),
        model: Some(&outcome.model),
        mixture: Some(&outcome.mixture),
        reference: Some(("natural (token share)".into(), outcome.natural.clone())),
        ..MixReport::default()
    });
    let mut section = String::new();
    for warning in &outcome.warnings {
        let _ = write!(section, "<div class=\"warn\">{}</div>", escape(warning));
    }
    proxies_section(
        &mut section,
        &ProxyRuns {
            settings: &outcome.settings,
            runs: &outcome.runs,
            trained: outcome.trained,
            target: &outcome.model.target,
            domains: outcome.data.domains.len(),
        },
    );
    match html.rfind("</body>") {
        Some(at) => format!("{}{section}{}", &html[..at], &html[at..]),
        None => html + &section,
    }
}
