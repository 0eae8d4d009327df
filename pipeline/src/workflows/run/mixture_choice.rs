//! The mixture a run draws its final shards by (`[mixture] method`): the natural token
//! shares, a mixture chosen by a [`ProxyMethod`] on the run's own documents (RegMix,
//! QuaDMix, Bayesian optimisation, online reweighting), or a file searched elsewhere (whose
//! domains must be the run's).

use std::collections::BTreeSet;

use blend_mixers::Mixture;

use super::bayes_opt_search::BayesOpt;
use super::domain_sizes::DomainSizes;
use super::online_search::OnlineReweighting;
use super::proxy_search::RegMixSearch;
use super::proxy_setup::{ProxyMethod, SearchedMixture, prepare_proxies};
use super::quadmix_search::QuadMix;
use crate::engine::config::{MixtureMethod, PipelineConfig};
use crate::engine::mixture_summary::MixtureSummary;
use crate::engine::runner::Curation;
use crate::engine::summary::StepRecord;
use crate::progress::Progress;
use crate::{PipelineError, Result};

/// More domains than this in one mixture is likely a mistake (a file path or id as domain).
pub const PLAUSIBLE_DOMAINS: usize = 64;

/// The chosen mixture, how it was chosen, and what the user should know.
pub struct ChosenMixture {
    pub mixture: Mixture,
    pub summary: MixtureSummary,
    /// The steps of the choice (a search's proxy data, runs, fit, search, validation).
    pub steps: Vec<StepRecord>,
    pub warnings: Vec<String>,
}

/// Chooses the mixture of `config` over the domains in `sizes`.
pub async fn choose_mixture(
    config: &PipelineConfig,
    curation: &Curation,
    sizes: &DomainSizes,
    progress: &dyn Progress,
) -> Result<ChosenMixture> {
    let natural = sizes.natural_mixture(config.pipeline.seed, &curation.docs.1.content_digest())?;
    let domains = sizes.names();
    let mut summary = MixtureSummary {
        method: config.mixture.method,
        natural: sizes.shares(&domains),
        domains,
        prior: None,
        search: None,
        validation: None,
        method_runs: None,
    };
    let mut warnings = implausible_domains(sizes, &config.output.domain_column);
    let (mixture, steps) = match config.mixture.method {
        MixtureMethod::Natural => (natural, Vec::new()),
        MixtureMethod::File => {
            let path = config.mixture.file.as_ref().expect("checked when parsed");
            let mixture = Mixture::read(path)?;
            check_same_domains(&mixture, sizes, path)?;
            (mixture, Vec::new())
        }
        method => {
            let chooser: &dyn ProxyMethod = match method {
                MixtureMethod::Quadmix => &QuadMix,
                MixtureMethod::BayesOpt => &BayesOpt,
                MixtureMethod::Online => &OnlineReweighting,
                MixtureMethod::Search => &RegMixSearch,
                MixtureMethod::Natural | MixtureMethod::File => {
                    unreachable!("natural and file mixtures are matched above")
                }
            };
            let setup = prepare_proxies(config, curation, sizes, progress).await?;
            let searched = chooser.choose(config, setup, sizes, progress)?;
            take_searched(&mut summary, &mut warnings, sizes, searched)
        }
    };
    Ok(ChosenMixture {
        mixture,
        summary,
        steps,
        warnings,
    })
}

/// Records a searched mixture's prior, runs and validation in `summary`; returns the
/// mixture and the search's steps.
fn take_searched(
    summary: &mut MixtureSummary,
    warnings: &mut Vec<String>,
    sizes: &DomainSizes,
    searched: SearchedMixture,
) -> (Mixture, Vec<StepRecord>) {
    summary.domains = searched
        .mixture
        .domains
        .iter()
        .map(|d| d.domain.clone())
        .collect();
    summary.natural = sizes.shares(&summary.domains);
    summary.prior = Some(searched.prior);
    if let Some(search) = &searched.search {
        warnings.extend(search.warnings.iter().cloned());
    }
    summary.search = searched.search;
    summary.method_runs = searched.method_runs;
    summary.validation = searched.validation;
    (searched.mixture, searched.steps)
}

/// A mixture file's domains must be the run's.
fn check_same_domains(
    mixture: &Mixture,
    sizes: &DomainSizes,
    path: &std::path::Path,
) -> Result<()> {
    let file: BTreeSet<String> = mixture.domains.iter().map(|d| d.domain.clone()).collect();
    let run: BTreeSet<String> = sizes.names().into_iter().collect();
    if file == run {
        return Ok(());
    }
    Err(PipelineError::Config {
        path: path.to_path_buf(),
        message: format!(
            "[mixture] file: its domains ({}) are not the run's output domains ({}); missing from the file: {}; not in the run: {}",
            join(&file),
            join(&run),
            join(&run.difference(&file).cloned().collect()),
            join(&file.difference(&run).cloned().collect()),
        ),
    })
}

fn join(set: &BTreeSet<String>) -> String {
    if set.is_empty() {
        return "none".into();
    }
    set.iter().cloned().collect::<Vec<_>>().join(", ")
}

/// Warnings for a mixture over implausibly many domains, or domains of one document each
/// (a file path or an id used as the domain).
fn implausible_domains(sizes: &DomainSizes, domain_column: &str) -> Vec<String> {
    let domains = sizes.domains.len();
    let documents: u64 = sizes
        .domains
        .iter()
        .map(|d| d.train_documents + d.valid_documents)
        .sum();
    let mut warnings = Vec::new();
    if domains > PLAUSIBLE_DOMAINS || (domains > 1 && documents as usize <= domains) {
        let warning = format!(
            "the mixture is over {domains} domains ({documents} documents): is `{domain_column}` (or `source`) really a domain? A file's own `source` field, a path or an id gives one domain per value; set `source` on each [[inputs]] or name another column in [output] domain_column"
        );
        tracing::warn!("{warning}");
        warnings.push(warning);
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflows::run::domain_sizes::DomainSize;

    fn sizes(names: &[&str], documents: u64) -> DomainSizes {
        DomainSizes {
            domains: names
                .iter()
                .map(|n| DomainSize {
                    domain: n.to_string(),
                    train_documents: documents,
                    train_tokens: 100 * documents,
                    valid_documents: 0,
                    valid_tokens: 0,
                })
                .collect(),
        }
    }

    #[test]
    fn many_domains_or_one_document_each_warn() {
        assert!(implausible_domains(&sizes(&["web", "code"], 50), "domain").is_empty());
        let names: Vec<String> = (0..70).map(|i| format!("d{i}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        assert_eq!(implausible_domains(&sizes(&refs, 50), "domain").len(), 1);
        assert_eq!(
            implausible_domains(&sizes(&["a", "b", "c"], 1), "domain").len(),
            1
        );
    }

    #[test]
    fn a_mixture_file_over_other_domains_lists_both_sets() {
        let natural = sizes(&["web", "code"], 10).natural_mixture(1, "h").unwrap();
        let error = check_same_domains(
            &natural,
            &sizes(&["web", "math"], 10),
            std::path::Path::new("m.json"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("m.json")
                && error.contains("missing from the file: math")
                && error.contains("not in the run: code"),
            "{error}"
        );
        assert!(
            check_same_domains(
                &natural,
                &sizes(&["code", "web"], 10),
                std::path::Path::new("m.json")
            )
            .is_ok()
        );
    }
}
