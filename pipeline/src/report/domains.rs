//! The report's "Domains" section: for every `cluster` stage, how the domains were found
//! (fine clusters, pruning, merging), the domains table with labels and quality, sizes, the
//! fine clusters on their first two principal axes colored by domain, and agreement with a
//! known label column (purity, NMI, ARI) when the input had one.

use std::fmt::Write as _;

use blend_operators::OperatorSpec;
use blend_operators::cluster::domains::{Cluster, ClusterSummary, PRUNED_DOMAIN};

use super::html::{bytes, count, escape, percent};
use super::svg::{Bar, Dot, PALETTE, bar_chart, group_scatter_chart};
use crate::engine::summary::RunSummary;

fn quality(value: Option<f64>) -> String {
    value.map_or_else(|| "–".into(), |q| format!("{q:.3}"))
}

pub fn domains_section(html: &mut String, summary: &RunSummary) {
    for stage in &summary.stages {
        if stage.operator != Cluster::NAME {
            continue;
        }
        let Some(found) = stage
            .operator_summary
            .as_ref()
            .and_then(ClusterSummary::from_json)
        else {
            continue;
        };
        how_found(html, &stage.name, &found);
        domains_table(html, &found);
        fine_clusters_chart(html, &found);
        agreement_table(html, &found);
    }
}

/// The heading, the cards and how the domains were found.
fn how_found(html: &mut String, stage: &str, found: &ClusterSummary) {
    let kept = found
        .domains
        .iter()
        .filter(|d| d.domain != PRUNED_DOMAIN)
        .count();
    let _ = write!(
        html,
        "<h2>Domains: <code>{}</code></h2>\
         <div class=\"cards\"><div class=\"card\">documents<b>{}</b></div><div class=\"card\">fine clusters<b>{}</b></div>\
         <div class=\"card\">domains<b>{}</b></div><div class=\"card\">pruned clusters<b>{}</b></div><div class=\"card\">pruned documents<b>{}</b></div></div>\
         <p>k-means of {} embeddings ({} values each) into {} fine clusters ({} iterations, inertia {:.1}); {}; \
         the rest merged by {} linkage of their centroids into {} domains, written to <code>{}</code>. \
         Labels are each domain's most distinctive words.</p>",
        escape(stage),
        count(found.documents),
        count(found.fine_clusters as u64),
        kept,
        count(found.pruned_clusters as u64),
        count(found.pruned_docs),
        count(found.documents),
        found.dim,
        count(found.fine_clusters as u64),
        found.iterations,
        found.inertia,
        match &found.quality_column {
            Some(column) => format!(
                "clusters whose mean <code>{}</code> is below {} are pruned (domain <code>{PRUNED_DOMAIN}</code>)",
                escape(column),
                found.min_quality
            ),
            None => "no quality column was given, so nothing is pruned".into(),
        },
        found.linkage.name(),
        kept,
        escape(&found.domain_column),
    );
}

/// One row per domain, then documents per domain as bars.
fn domains_table(html: &mut String, found: &ClusterSummary) {
    html.push_str("<table class=\"domains\"><tr><th>domain</th><th>label</th><th>docs</th><th>share</th><th>bytes</th><th>words</th><th>mean quality</th><th>fine clusters</th></tr>");
    for row in &found.domains {
        let _ = write!(
            html,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&row.domain),
            escape(&row.terms.join(", ")),
            count(row.docs),
            percent(row.docs, found.documents),
            bytes(row.bytes),
            count(row.words),
            quality(row.mean_quality),
            row.fine_clusters
        );
    }
    html.push_str("</table>");
    let bars: Vec<Bar> = found
        .domains
        .iter()
        .map(|row| Bar {
            label: format!("{} ({})", row.domain, row.terms.join(", ")),
            value: row.docs as f64,
            caption: format!(
                "{} docs ({})",
                count(row.docs),
                percent(row.docs, found.documents)
            ),
        })
        .collect();
    html.push_str(&bar_chart("documents per domain", &bars, "#2c5aa0"));
}

/// The fine clusters on the first two principal axes, colored by domain.
fn fine_clusters_chart(html: &mut String, found: &ClusterSummary) {
    let groups: Vec<(String, &str)> = found
        .domains
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let color = if row.domain == PRUNED_DOMAIN {
                "#bbbbbb"
            } else {
                PALETTE[i % PALETTE.len()]
            };
            (row.domain.clone(), color)
        })
        .collect();
    let dots: Vec<Dot> = found
        .fine
        .iter()
        .map(|f| Dot {
            x: f.x,
            y: f.y,
            weight: f.docs as f64,
            group: groups
                .iter()
                .position(|g| g.0 == f.domain)
                .unwrap_or(usize::MAX),
            title: format!(
                "cluster {} → {}: {} docs, mean quality {}",
                f.cluster,
                f.domain,
                count(f.docs),
                quality(f.mean_quality)
            ),
        })
        .collect();
    html.push_str("<p class=\"muted\">Fine clusters on the first two principal axes of their centroids (weighted by size); area ∝ documents, color = domain.</p>");
    html.push_str(&group_scatter_chart(
        "fine clusters by domain",
        &dots,
        &groups,
        "principal axis 1",
        "principal axis 2",
    ));
}

/// Agreement with a known label column (purity, NMI, ARI), when the input had one.
fn agreement_table(html: &mut String, found: &ClusterSummary) {
    if let Some(agreement) = &found.agreement {
        let _ = write!(
            html,
            "<h3>Against <code>{}</code></h3><table><tr><th>grouping</th><th>groups</th><th>purity</th><th>NMI</th><th>ARI</th></tr>",
            escape(&agreement.column)
        );
        for (name, a) in [
            ("fine clusters", &agreement.fine),
            ("domains", &agreement.domains),
        ] {
            let _ = write!(
                html,
                "<tr><td>{name}</td><td>{} vs {} labels</td><td>{:.3}</td><td>{:.3}</td><td>{:.3}</td></tr>",
                a.clusters, a.classes, a.purity, a.nmi, a.ari
            );
        }
        html.push_str("</table><p class=\"muted\">Purity: share of documents in a group whose most common label is their own. NMI: mutual information over the mean entropy (1 = the same partition). ARI: pair agreement corrected for chance (0 = random).</p>");
    }
}
