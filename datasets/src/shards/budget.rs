//! Drawing documents to exact token budgets. Each domain's budget is its weight × the total
//! (largest-remainder rounding, so budgets add up to the total exactly). A domain with fewer
//! tokens than its budget is repeated in whole epochs, then a seeded random subset fills the
//! remainder (greedily, so the domain lands within one document of its budget). More epochs
//! than the cap is an error naming the domain. The selected documents of all domains are
//! then shuffled together with the seed.
//!
//! A domain may weight its documents (QuaDMix's sampling function gives each an expected
//! number of copies): its budget is then spread in proportion to weight × length, each
//! document taking the whole copies it is owed, and the remainder filled greedily from a
//! seeded weighted draw of the fractional parts (Efraimidis–Spirakis keys), still landing
//! within one document of the budget.

use blend_kernels::SeededRng;

/// The documents of one domain: its weight and each document's tokens (EOS included).
#[derive(Debug, Clone, PartialEq)]
pub struct DomainDocuments {
    pub domain: String,
    pub weight: f64,
    pub doc_tokens: Vec<u64>,
    /// Relative chance of each document (expected copies); `None` draws them uniformly.
    pub doc_weights: Option<Vec<f64>>,
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
            let (picked, taken_tokens) = match &domain.doc_weights {
                Some(weights) => weighted_selection(domain, weights, budget, seed),
                None => uniform_selection(domain, budget, seed),
            };
            plan.selected_documents = picked.len() as u64;
            order.extend(picked.into_iter().map(|doc| (domain_index as u32, doc)));
            plan.selected_tokens = taken_tokens;
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

/// Whole epochs of `domain`, then a seeded random subset of its documents for the rest of
/// `budget`. Returns the picked documents (repeats included) and their tokens.
fn uniform_selection(domain: &DomainDocuments, budget: u64, seed: u64) -> (Vec<u32>, u64) {
    let available: u64 = domain.doc_tokens.iter().sum();
    let full_epochs = budget / available;
    let mut picked = Vec::new();
    for _ in 0..full_epochs {
        picked.extend(0..domain.doc_tokens.len() as u32);
    }
    let mut permutation: Vec<u32> = (0..domain.doc_tokens.len() as u32).collect();
    SeededRng::for_stream(seed, &format!("budget/{}", domain.domain)).shuffle(&mut permutation);
    let taken = fill_remainder(
        &domain.doc_tokens,
        &permutation,
        budget - full_epochs * available,
        &mut picked,
    );
    (picked, full_epochs * available + taken)
}

/// Each document of `domain` takes the whole copies of its share of `budget` (in proportion
/// to weight × length); a seeded weighted draw of the fractional parts fills the rest.
fn weighted_selection(
    domain: &DomainDocuments,
    weights: &[f64],
    budget: u64,
    seed: u64,
) -> (Vec<u32>, u64) {
    let mass: f64 = weights
        .iter()
        .zip(&domain.doc_tokens)
        .map(|(w, &t)| w.max(0.0) * t as f64)
        .sum();
    if !(mass.is_finite() && mass > 0.0) {
        return uniform_selection(domain, budget, seed);
    }
    let scale = budget as f64 / mass;
    let mut picked = Vec::new();
    let mut taken = 0u64;
    let mut fractions = Vec::with_capacity(weights.len());
    for (doc, (&w, &tokens)) in weights.iter().zip(&domain.doc_tokens).enumerate() {
        let expected = w.max(0.0) * scale;
        // Never past the budget, even where rounding makes `expected` a hair too large.
        let whole = (expected.floor() as u64).min((budget - taken) / tokens.max(1));
        picked.extend(std::iter::repeat_n(doc as u32, whole as usize));
        taken += whole * tokens;
        fractions.push(expected - expected.floor());
    }
    // Efraimidis–Spirakis: key u^(1/f) sorts a weighted draw without replacement; documents
    // without a fractional part come last, in the order of their keys' draws.
    let mut rng = SeededRng::for_stream(seed, &format!("budget/weighted/{}", domain.domain));
    let mut keyed: Vec<(f64, u32)> = fractions
        .iter()
        .enumerate()
        .map(|(doc, &f)| {
            let u = rng.next_f64().max(f64::MIN_POSITIVE);
            let key = if f > 0.0 { u.powf(1.0 / f) } else { u - 1.0 };
            (key, doc as u32)
        })
        .collect();
    keyed.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let order: Vec<u32> = keyed.into_iter().map(|(_, doc)| doc).collect();
    let remainder = budget - taken;
    taken += fill_remainder(&domain.doc_tokens, &order, remainder, &mut picked);
    (picked, taken)
}

/// Takes documents of `order` whose tokens still fit `remainder`, then one more when that
/// lands closer to it; returns the tokens taken.
fn fill_remainder(doc_tokens: &[u64], order: &[u32], remainder: u64, picked: &mut Vec<u32>) -> u64 {
    let mut taken_tokens = 0u64;
    let mut first_skipped: Option<u32> = None;
    for &doc in order {
        if taken_tokens == remainder {
            break;
        }
        let tokens = doc_tokens[doc as usize];
        if taken_tokens + tokens <= remainder {
            taken_tokens += tokens;
            picked.push(doc);
        } else if first_skipped.is_none() {
            first_skipped = Some(doc);
        }
    }
    if let Some(doc) = first_skipped {
        let tokens = doc_tokens[doc as usize];
        if taken_tokens + tokens - remainder < remainder - taken_tokens {
            taken_tokens += tokens;
            picked.push(doc);
        }
    }
    taken_tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    fn domain(name: &str, weight: f64, docs: usize, tokens: u64) -> DomainDocuments {
        DomainDocuments {
            domain: name.into(),
            weight,
            doc_tokens: (0..docs as u64).map(|i| tokens + i % 7).collect(),
            doc_weights: None,
        }
    }

    #[test]
    fn weighted_documents_fill_the_budget_in_proportion_to_their_weight() {
        // 100 documents of 10 tokens; the first 10 weigh 4, the rest 0.01.
        let mut web = domain("web", 1.0, 100, 10);
        web.doc_tokens = vec![10; 100];
        web.doc_weights = Some((0..100).map(|i| if i < 10 { 4.0 } else { 0.01 }).collect());
        let plan = plan_selection(&[web.clone()], 500, 4.0, 3).unwrap();
        assert_eq!(plan.domains[0].selected_tokens, 500, "exact budget");
        let mut copies = [0u32; 100];
        for &(_, doc) in &plan.order {
            copies[doc as usize] += 1;
        }
        // Mass 10·4·10 + 90·0.01·10 = 409: each good document is owed 500/409·4 ≈ 4.9 copies.
        assert!(copies[..10].iter().all(|&c| c == 4 || c == 5), "{copies:?}");
        assert!(copies[10..].iter().sum::<u32>() <= 3, "{copies:?}");
        assert_eq!(plan, plan_selection(&[web.clone()], 500, 4.0, 3).unwrap());
        let other = plan_selection(&[web], 500, 4.0, 4).unwrap();
        assert_ne!(plan.order, other.order);
    }

    #[test]
    fn weighted_documents_still_land_within_one_document_of_the_budget() {
        let mut code = domain("code", 0.5, 300, 40);
        code.doc_weights = Some((0..300).map(|i| 1.0 / (1.0 + i as f64)).collect());
        let web = domain("web", 0.5, 300, 25);
        let plan = plan_selection(&[code, web], 10_000, 4.0, 9).unwrap();
        for d in &plan.domains {
            assert!(
                d.selected_tokens.abs_diff(d.budget_tokens) <= 46,
                "{}: {} of {}",
                d.domain,
                d.selected_tokens,
                d.budget_tokens
            );
        }
        let early = plan
            .order
            .iter()
            .filter(|(d, doc)| *d == 0 && *doc < 10)
            .count();
        let late = plan
            .order
            .iter()
            .filter(|(d, doc)| *d == 0 && *doc >= 290)
            .count();
        assert!(early > 10 * late.max(1), "early {early}, late {late}");
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
            doc_weights: None,
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
