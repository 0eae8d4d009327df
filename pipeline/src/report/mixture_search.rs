//! The mixture-search report (`blend mix eval` / `blend mix search --report`): one
//! self-contained HTML file with the regressors' held-out quality, the predicted-vs-actual
//! scatter with ρ, the learning curve of ρ against training runs, CLIMB rounds against
//! random picks, and the chosen mixture against the natural (or prior) one.

use std::fmt::Write as _;

use blend_mixers::climb::Strategy;
use blend_mixers::evaluation::EvaluationReport;
use blend_mixers::{Mixture, RegressorKind, RegressorModel};

use super::html::{escape, page_start};
use super::svg::{Series, line_chart, paired_bar_chart, scatter_chart};

/// What one mixture report shows; every part is optional.
#[derive(Debug, Default)]
pub struct MixReport<'a> {
    pub title: String,
    pub evaluation: Option<&'a EvaluationReport>,
    pub model: Option<&'a RegressorModel>,
    pub mixture: Option<&'a Mixture>,
    /// The mixture to compare against (name, weights in the mixture's domain order).
    pub reference: Option<(String, Vec<f64>)>,
}

const COLORS: [&str; 4] = ["#2c5aa0", "#e67e22", "#27ae60", "#8e44ad"];

pub fn render_mix_report(report: &MixReport<'_>) -> String {
    let mut html = String::new();
    page_start(
        &mut html,
        &report.title,
        &format!("blend {}", crate::BLEND_VERSION),
    );
    if let Some(mixture) = report.mixture {
        mixture_section(&mut html, mixture, report.reference.as_ref());
    }
    if let Some(model) = report.model {
        model_section(&mut html, model);
    }
    if let Some(evaluation) = report.evaluation {
        evaluation_section(&mut html, evaluation);
    }
    html.push_str("</body></html>\n");
    html
}

fn mixture_section(html: &mut String, mixture: &Mixture, reference: Option<&(String, Vec<f64>)>) {
    let _ = write!(
        html,
        "<h2>Chosen mixture</h2><p>method <code>{}</code>, seed {}",
        escape(&mixture.method),
        mixture.seed
    );
    if let Some(prediction) = &mixture.prediction {
        let _ = write!(
            html,
            "; predicted <code>{}</code> = <b>{:.4}</b>",
            escape(&prediction.target),
            prediction.value
        );
        if let Some([low, high]) = prediction.interval {
            let _ = write!(
                html,
                " ({:.0}% bootstrap interval {low:.4} – {high:.4} over {} refits)",
                prediction.confidence * 100.0,
                prediction.bootstrap_fits
            );
        }
    }
    if let Some(search) = &mixture.search {
        let _ = write!(
            html,
            "; mean of the top {} of {} candidates ({} regressor, prior: {})",
            search.top_k,
            super::count(search.candidates as u64),
            escape(&search.regressor),
            escape(&search.prior)
        );
    }
    html.push_str(".</p>");
    let reference_name = reference.map_or("natural", |r| r.0.as_str());
    let rows: Vec<(String, f64, f64)> = mixture
        .domains
        .iter()
        .enumerate()
        .map(|(i, d)| {
            (
                d.domain.clone(),
                d.weight,
                reference.map_or(0.0, |r| r.1[i]),
            )
        })
        .collect();
    html.push_str(&paired_bar_chart(
        "chosen mixture against the reference",
        &rows,
        ("chosen", reference_name),
    ));
    let _ = write!(
        html,
        "<table><tr><th>domain</th><th>weight</th><th>{}</th><th>tokens</th><th>epochs</th></tr>",
        escape(reference_name)
    );
    for (d, row) in mixture.domains.iter().zip(&rows) {
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{:.4}</td><td>{:.4}</td><td>{}</td><td>{}</td></tr>",
            escape(&d.domain),
            d.weight,
            row.2,
            super::count(d.tokens),
            if d.available_tokens > 0 {
                format!("{:.2}", d.epochs)
            } else {
                "–".into()
            }
        );
    }
    html.push_str("</table>");
}

pub(crate) fn model_section(html: &mut String, model: &RegressorModel) {
    let _ = write!(
        html,
        "<h2>Regressor</h2><p><code>{}</code> fitted on {} runs × {} domains for <code>{}</code> ({}).</p>",
        model.kind(),
        model.training.target.len(),
        model.domains.len(),
        escape(&model.target),
        if model.minimize {
            "lower is better"
        } else {
            "higher is better"
        }
    );
    if let Some(cv) = &model.cross_validation {
        let _ = write!(
            html,
            "<p>{}-fold cross-validation on the training runs: Spearman ρ <b>{:.4}</b>, R² {:.4}, MAE {:.4}.</p>",
            cv.folds, cv.quality.spearman, cv.quality.r_squared, cv.quality.mae
        );
        let points: Vec<(f64, f64)> = model
            .training
            .target
            .iter()
            .copied()
            .zip(cv.predictions.iter().copied())
            .collect();
        html.push_str(&scatter_chart(
            &format!("out-of-fold predictions, rho {:.4}", cv.quality.spearman),
            &points,
            "measured",
            "predicted (out of fold)",
        ));
    }
}

fn evaluation_section(html: &mut String, evaluation: &EvaluationReport) {
    scores_table(html, evaluation);
    learning_curve(html, evaluation);
    climb_study(html, evaluation);
}

/// Each regressor's held-out ρ, R² and MAE, and the measured-vs-predicted scatter of the
/// best one shown (LightGBM when it was fitted).
fn scores_table(html: &mut String, evaluation: &EvaluationReport) {
    let _ = write!(
        html,
        "<h2>Held-out evaluation</h2><p>Fitted on {} training runs, predicting {} test runs of <code>{}</code> ({} domains).</p>\
         <table><tr><th>regressor</th><th>Spearman ρ</th><th>R²</th><th>MAE</th><th>fit (s)</th></tr>",
        evaluation.train_runs,
        evaluation.test_runs,
        escape(&evaluation.target),
        evaluation.domains.len()
    );
    for score in &evaluation.scores {
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{:.4}</td><td>{:.4}</td><td>{:.4}</td><td>{:.2}</td></tr>",
            score.regressor,
            score.quality.spearman,
            score.quality.r_squared,
            score.quality.mae,
            score.fit_seconds
        );
    }
    html.push_str("</table>");
    let shown = evaluation
        .score(RegressorKind::LightGbm)
        .or(evaluation.scores.first());
    if let Some(score) = shown {
        let points: Vec<(f64, f64)> = evaluation
            .test_target
            .iter()
            .copied()
            .zip(score.test_predictions.iter().copied())
            .collect();
        html.push_str(&scatter_chart(
            &format!(
                "{} on the test runs, rho {:.4}",
                score.regressor, score.quality.spearman
            ),
            &points,
            "measured",
            &format!("predicted ({})", score.regressor),
        ));
    }
}

/// ρ on the test runs against the number of training runs, per regressor.
fn learning_curve(html: &mut String, evaluation: &EvaluationReport) {
    if evaluation.learning_curve.is_empty() {
        return;
    }
    html.push_str("<h2>ρ against the number of training runs</h2>");
    let mut kinds: Vec<RegressorKind> = evaluation
        .learning_curve
        .iter()
        .map(|p| p.regressor)
        .collect();
    kinds.dedup();
    let series: Vec<Series> = kinds
        .iter()
        .zip(COLORS.iter().cycle())
        .map(|(&kind, &color)| Series {
            name: kind.to_string(),
            color,
            points: evaluation
                .learning_curve
                .iter()
                .filter(|p| p.regressor == kind)
                .map(|p| (p.training_runs as f64, p.spearman_mean))
                .collect(),
        })
        .collect();
    html.push_str(&line_chart(
        "rho against training runs",
        &series,
        "training runs",
        "Spearman rho on test runs",
        true,
    ));
    html.push_str("<table><tr><th>regressor</th><th>runs</th><th>repeats</th><th>mean ρ</th><th>min ρ</th><th>max ρ</th></tr>");
    for p in &evaluation.learning_curve {
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.4}</td><td>{:.4}</td><td>{:.4}</td></tr>",
            p.regressor,
            p.training_runs,
            p.repeats,
            p.spearman_mean,
            p.spearman_low,
            p.spearman_high
        );
    }
    html.push_str("</table>");
}

/// Random picks, CLIMB's rounds, Bayesian optimisation and RegMix's one shot on the same
/// query budgets.
fn climb_study(html: &mut String, evaluation: &EvaluationReport) {
    if evaluation.climb.is_empty() {
        return;
    }
    html.push_str(
        "<h2>CLIMB rounds against random runs, Bayesian optimisation and RegMix's one shot</h2><p class=\"muted\">Each strategy may query (\"train\") runs of the recorded training pool; \
         CLIMB spends its budget in rounds of 4:2:1, picking later runs among those the refitted regressor predicts best; \
         Bayesian optimisation queries a random quarter, then one run at a time by a Gaussian process's expected improvement; \
         RegMix's one shot queries all but one run at random, then the run the regressor predicts best. \
         Judged by the true metric of the best run found and by ρ on the test runs of a model fitted on the queried runs \
         (the Gaussian process for Bayesian optimisation).</p>",
    );
    let series: Vec<Series> = Strategy::ALL
        .iter()
        .filter(|&&strategy| evaluation.climb.iter().any(|p| p.strategy == strategy))
        .zip(COLORS)
        .map(|(&strategy, color)| Series {
            name: strategy.name().into(),
            color,
            points: evaluation
                .climb
                .iter()
                .filter(|p| p.strategy == strategy)
                .map(|p| (p.queries as f64, p.best_found_mean))
                .collect(),
        })
        .collect();
    html.push_str(&line_chart(
        "best run found against queries",
        &series,
        "queried runs",
        "best measured value found",
        true,
    ));
    html.push_str("<table><tr><th>strategy</th><th>queries</th><th>repeats</th><th>best found (mean)</th><th>mean ρ</th><th>min ρ</th><th>max ρ</th></tr>");
    for p in &evaluation.climb {
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.4}</td><td>{:.4}</td><td>{:.4}</td><td>{:.4}</td></tr>",
            p.strategy.name(),
            p.queries,
            p.repeats,
            p.best_found_mean,
            p.spearman_mean,
            p.spearman_low,
            p.spearman_high
        );
    }
    html.push_str("</table>");
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use blend_mixers::climb::StudyPoint;
    use blend_mixers::evaluation::{CurvePoint, RegressorScore};
    use blend_mixers::metrics::FitQuality;
    use blend_mixers::{DomainStats, FitSettings, natural_mixture};

    use super::*;

    #[test]
    fn every_section_is_drawn_without_scripts() {
        let quality = FitQuality {
            spearman: 0.99,
            r_squared: 0.97,
            mae: 0.04,
        };
        let evaluation = EvaluationReport {
            target: "loss<cc>".into(),
            domains: vec!["a".into(), "b".into()],
            train_runs: 4,
            test_runs: 3,
            settings: FitSettings::default(),
            scores: vec![RegressorScore {
                regressor: RegressorKind::LightGbm,
                quality,
                fit_seconds: 0.1,
                test_predictions: vec![1.0, 2.0, 3.1],
            }],
            test_target: vec![1.0, 2.1, 3.0],
            learning_curve: vec![CurvePoint {
                regressor: RegressorKind::LightGbm,
                training_runs: 4,
                repeats: 1,
                spearman_mean: 0.9,
                spearman_low: 0.9,
                spearman_high: 0.9,
            }],
            climb: vec![StudyPoint {
                strategy: Strategy::Climb,
                queries: 4,
                repeats: 2,
                best_found_mean: 1.0,
                spearman_mean: 0.5,
                spearman_low: 0.4,
                spearman_high: 0.6,
            }],
        };
        let mixture = natural_mixture(
            &[
                DomainStats {
                    domain: "a".into(),
                    documents: 1,
                    tokens: 30,
                },
                DomainStats {
                    domain: "b".into(),
                    documents: 1,
                    tokens: 70,
                },
            ],
            1,
            BTreeMap::new(),
        )
        .unwrap();
        let html = render_mix_report(&MixReport {
            title: "t".into(),
            evaluation: Some(&evaluation),
            model: None,
            mixture: Some(&mixture),
            reference: Some(("natural".into(), vec![0.3, 0.7])),
        });
        for section in [
            "Chosen mixture",
            "Held-out evaluation",
            "against the number of training runs",
            "CLIMB rounds against random runs",
        ] {
            assert!(html.contains(section), "missing {section}");
        }
        assert!(html.contains("loss&lt;cc&gt;") && !html.contains("loss<cc>"));
        assert!(html.contains("rho 0.9900"));
        assert!(!html.contains("<script"));
        assert_eq!(
            html.matches("<svg").count(),
            4,
            "mixture bars, scatter, learning curve, CLIMB"
        );
    }
}
