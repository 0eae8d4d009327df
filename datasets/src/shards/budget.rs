//! Drawing documents to exact token budgets. Each domain's budget is its weight × the total
//! (largest-remainder rounding, so budgets add up to the total exactly). A domain with fewer
//! tokens than its budget is repeated in whole epochs, then a seeded random subset fills the
//! remainder (greedily, so the domain lands within one document of its budget). More epochs
//! than the cap is an error naming the domain. The selected documents of all domains are
//! then shuffled together with the seed.

use blend_kernels::SeededRng;

/// The documents of one domain: its weight and each document's tokens (EOS included).
#[derive(Debug, Clone, PartialEq)]
pub struct DomainDocuments {
    pub domain: String,
    pub weight: f64,
    pub doc_tokens: Vec<u64>,
}

/// What was drawn for one domain.
#[derive(Debug, Clone, PartialEq)]
pub struct DomainPlan {
    pub domain: String,
    pub weight: f64,
    pub budget_tokens: u64,
    pub available_tokens: u64,
    pub selected_tokens: u64,
    pub selected_documents: u64,
    /// selected / available.
    pub epochs: f64,
}

/// The drawn documents in their final (shuffled) order, as (domain index, document index).
#[derive(Debug, Clone, PartialEq)]
pub struct SelectionPlan {
    pub domains: Vec<DomainPlan>,
    pub order: Vec<(u32, u32)>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BudgetError {
    #[error(
        "domain `{domain}` has {available} tokens but needs {needed} ({epochs:.2} epochs), more than the cap of {cap} epochs; \
         lower --tokens, raise --max-epochs, or give `{domain}` less weight"
    )]
    EpochCap {
        domain: String,
        available: u64,
        needed: u64,
        epochs: f64,
        cap: f64,
    },
    #[error("domain `{domain}` has weight {weight} but no documents")]
    NoDocuments { domain: String, weight: f64 },
    #[error("mixture weights must be finite, non-negative and not all zero")]
    Weights,
}

/// Splits `total` over `weights` (normalized) so the parts add up to `total` exactly.
pub fn split_budget(weights: &[f64], total: u64) -> Result<Vec<u64>, BudgetError> {
    let sum: f64 = weights.iter().sum();
    if weights.iter().any(|w| !w.is_finite() || *w < 0.0) || sum <= 0.0 {
        return Err(BudgetError::Weights);
    }
    let exact: Vec<f64> = weights.iter().map(|w| w / sum * total as f64).collect();
    let mut parts: Vec<u64> = exact.iter().map(|x| x.floor() as u64).collect();
    let mut short = total.saturating_sub(parts.iter().sum());
    let mut by_remainder: Vec<usize> = (0..weights.len()).collect();
    by_remainder.sort_by(|&a, &b| {
        (exact[b] - exact[b].floor())
            .total_cmp(&(exact[a] - exact[a].floor()))
            .then(a.cmp(&b))
    });
    for index in by_remainder.into_iter().cycle() {
        if short == 0 {
            break;
        }
        if weights[index] > 0.0 {
            parts[index] += 1;
            short -= 1;
        }
    }
    Ok(parts)
}

/// Draws documents of every domain to `total_tokens` split by weight, with at most
/// `max_epochs` passes over any domain.
pub fn plan_selection(
    domains: &[DomainDocuments],
    total_tokens: u64,
    max_epochs: f64,
    seed: u64,
) -> Result<SelectionPlan, BudgetError> {
    let weights: Vec<f64> = domains.iter().map(|d| d.weight).collect();
    let budgets = split_budget(&weights, total_tokens)?;
    let mut plans = Vec::with_capacity(domains.len());
    let mut order: Vec<(u32, u32)> = Vec::new();
    for (domain_index, (domain, &budget)) in domains.iter().zip(&budgets).enumerate() {
        let available: u64 = domain.doc_tokens.iter().sum();
        let mut plan = DomainPlan {
            domain: domain.domain.clone(),
            weight: domain.weight,
            budget_tokens: budget,
            available_tokens: available,
            selected_tokens: 0,
            selected_documents: 0,
            epochs: 0.0,
        };
        if budget > 0 {
            if available == 0 {
                return Err(BudgetError::NoDocuments {
                    domain: domain.domain.clone(),
                    weight: domain.weight,
                });
            }
            let epochs = budget as f64 / available as f64;
            if epochs > max_epochs + 1e-9 {
                return Err(BudgetError::EpochCap {
                    domain: domain.domain.clone(),
                    available,
                    needed: budget,
                    epochs,
                    cap: max_epochs,
                });
            }
            let full_epochs = budget / available;
            for _ in 0..full_epochs {
                order.extend(
                    (0..domain.doc_tokens.len() as u32).map(|doc| (domain_index as u32, doc)),
                );
            }
            plan.selected_tokens = full_epochs * available;
            plan.selected_documents = full_epochs * domain.doc_tokens.len() as u64;
            let remainder = budget - full_epochs * available;
            let mut permutation: Vec<u32> = (0..domain.doc_tokens.len() as u32).collect();
            SeededRng::for_stream(seed, &format!("budget/{}", domain.domain))
                .shuffle(&mut permutation);
            let mut taken_tokens = 0u64;
            let mut first_skipped: Option<u32> = None;
            for &doc in &permutation {
                let tokens = domain.doc_tokens[doc as usize];
                if taken_tokens + tokens <= remainder {
                    taken_tokens += tokens;
                    order.push((domain_index as u32, doc));
                    plan.selected_documents += 1;
                } else if first_skipped.is_none() {
                    first_skipped = Some(doc);
                }
                if taken_tokens == remainder {
                    break;
                }
            }
            // One more document when that lands closer to the budget.
            if let Some(doc) = first_skipped {
                let tokens = domain.doc_tokens[doc as usize];
                if taken_tokens + tokens - remainder < remainder - taken_tokens {
                    taken_tokens += tokens;
                    order.push((domain_index as u32, doc));
                    plan.selected_documents += 1;
                }
            }
            plan.selected_tokens += taken_tokens;
            plan.epochs = plan.selected_tokens as f64 / available as f64;
        }
        plans.push(plan);
    }
    SeededRng::for_stream(seed, "budget/shuffle").shuffle(&mut order);
    Ok(SelectionPlan {
        domains: plans,
        order,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn domain(name: &str, weight: f64, docs: usize, tokens: u64) -> DomainDocuments {
        DomainDocuments {
            domain: name.into(),
            weight,
            doc_tokens: (0..docs as u64).map(|i| tokens + i % 7).collect(),
        }
    }

    #[test]
    fn budgets_add_up_exactly() {
        assert_eq!(split_budget(&[1.0, 1.0, 1.0], 10).unwrap(), vec![4, 3, 3]);
        assert_eq!(
            split_budget(&[0.5, 0.0, 0.5], 7)
                .unwrap()
                .iter()
                .sum::<u64>(),
            7
        );
        assert_eq!(split_budget(&[0.5, 0.0, 0.5], 7).unwrap()[1], 0);
        assert!(split_budget(&[0.0, 0.0], 7).is_err());
        assert!(split_budget(&[f64::NAN], 7).is_err());
    }

    #[test]
    fn each_domain_lands_within_one_document_and_repeats_whole_epochs() {
        let domains = vec![domain("web", 0.7, 200, 100), domain("code", 0.3, 20, 50)];
        let plan = plan_selection(&domains, 30_000, 10.0, 1).unwrap();
        for (d, p) in domains.iter().zip(&plan.domains) {
            let longest = *d.doc_tokens.iter().max().unwrap();
            assert!(
                p.selected_tokens.abs_diff(p.budget_tokens) <= longest,
                "{p:?}"
            );
        }
        let code = &plan.domains[1];
        assert_eq!(code.budget_tokens, 9_000);
        assert!((8.0..9.0).contains(&code.epochs), "{code:?}");
        let code_docs = plan.order.iter().filter(|(d, _)| *d == 1).count();
        assert!(
            code_docs >= 8 * 20,
            "eight whole epochs of 20 documents, then part of a ninth: {code_docs}"
        );
        let counted: u64 = plan
            .order
            .iter()
            .map(|&(d, doc)| domains[d as usize].doc_tokens[doc as usize])
            .sum();
        assert_eq!(
            counted,
            plan.domains.iter().map(|p| p.selected_tokens).sum::<u64>()
        );
        assert_eq!(
            plan.order.len() as u64,
            plan.domains
                .iter()
                .map(|p| p.selected_documents)
                .sum::<u64>()
        );
    }

    #[test]
    fn epochs_above_the_cap_are_an_error_naming_the_domain() {
        let domains = vec![domain("web", 0.5, 200, 100), domain("code", 0.5, 10, 50)];
        let error = plan_selection(&domains, 20_000, 4.0, 1).unwrap_err();
        let message = error.to_string();
        assert!(
            message.contains("`code`")
                && message.contains("needs 10000")
                && message.contains("cap of 4"),
            "{message}"
        );
        let plan = plan_selection(&domains, 20_000, 20.0, 1).unwrap();
        let code_docs = plan.order.iter().filter(|(d, _)| *d == 1).count();
        assert!(
            code_docs >= 10 * 18,
            "about 19 epochs of 10 documents: {code_docs}"
        );
    }

    #[test]
    fn seeded_and_shuffled_across_domains() {
        let domains = vec![domain("a", 0.5, 100, 10), domain("b", 0.5, 100, 10)];
        let first = plan_selection(&domains, 1_000, 1.0, 3).unwrap();
        assert_eq!(first, plan_selection(&domains, 1_000, 1.0, 3).unwrap());
        assert_ne!(
            first.order,
            plan_selection(&domains, 1_000, 1.0, 4).unwrap().order
        );
        let leading_a = first.order.iter().take_while(|(d, _)| *d == 0).count();
        assert!(leading_a < 20, "domains are interleaved");
        let no_docs = vec![DomainDocuments {
            domain: "z".into(),
            weight: 1.0,
            doc_tokens: vec![],
        }];
        assert!(matches!(
            plan_selection(&no_docs, 10, 1.0, 1),
            Err(BudgetError::NoDocuments { .. })
        ));
    }
}
