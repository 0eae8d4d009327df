//! The stage graph. Every stage reads exactly one upstream (another stage or the corpus,
//! named `input`), so the graph is a tree rooted at the corpus; branches are allowed (e.g.
//! two filters over one scored stage). `plan` checks names and edges and returns the stages
//! in an order where each comes after the one it reads.

use std::collections::HashMap;
use std::path::Path;

use super::config::StageConfig;
use crate::{PipelineError, Result};

/// The name that means "the corpus as read".
pub const INPUT_NODE: &str = "input";

/// Stages in run order, with each stage's upstream resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StagePlan {
    /// (stage index in the config, upstream name) in run order.
    pub order: Vec<(usize, String)>,
    /// The stage the output (tokenizer, shards) reads; `input` when there are no stages.
    pub output: String,
}

pub fn plan(stages: &[StageConfig], output: Option<&str>, config_path: &Path) -> Result<StagePlan> {
    let fail = |message: String| PipelineError::Config {
        path: config_path.to_path_buf(),
        message,
    };
    let mut index_by_name: HashMap<&str, usize> = HashMap::new();
    for (index, stage) in stages.iter().enumerate() {
        if stage.name == INPUT_NODE || stage.name.is_empty() || stage.name.contains(['/', '\\']) {
            return Err(fail(format!(
                "stage name `{}` is reserved or not a valid folder name",
                stage.name
            )));
        }
        if index_by_name.insert(stage.name.as_str(), index).is_some() {
            return Err(fail(format!("two stages are named `{}`", stage.name)));
        }
    }
    let upstream: Vec<String> = stages
        .iter()
        .enumerate()
        .map(|(index, stage)| match &stage.input {
            Some(name) => name.clone(),
            None if index == 0 => INPUT_NODE.to_string(),
            None => stages[index - 1].name.clone(),
        })
        .collect();
    for (stage, parent) in stages.iter().zip(&upstream) {
        if parent != INPUT_NODE && !index_by_name.contains_key(parent.as_str()) {
            return Err(fail(format!(
                "stage `{}` reads `{parent}`, which is not a stage (or `input`)",
                stage.name
            )));
        }
    }
    // Depth-first from the corpus; a stage on a cycle is never reached from it.
    let mut order = Vec::with_capacity(stages.len());
    let mut frontier = vec![INPUT_NODE.to_string()];
    while let Some(node) = frontier.pop() {
        let children: Vec<usize> = (0..stages.len()).filter(|&i| upstream[i] == node).collect();
        for &child in children.iter().rev() {
            frontier.push(stages[child].name.clone());
        }
        for child in children {
            order.push((child, node.clone()));
        }
    }
    if order.len() != stages.len() {
        let unreached: Vec<&str> = (0..stages.len())
            .filter(|i| !order.iter().any(|(j, _)| j == i))
            .map(|i| stages[i].name.as_str())
            .collect();
        return Err(fail(format!(
            "stages form a cycle and never reach the input: {}",
            unreached.join(", ")
        )));
    }
    // Parents first: sort by depth, keeping config order among equals.
    let depth = |mut index: usize| {
        let mut d = 0;
        while upstream[index] != INPUT_NODE {
            index = index_by_name[upstream[index].as_str()];
            d += 1;
        }
        d
    };
    order.sort_by_key(|(index, _)| (depth(*index), *index));
    let output = match output {
        Some(name) if name == INPUT_NODE || index_by_name.contains_key(name) => name.to_string(),
        Some(name) => {
            return Err(fail(format!(
                "output.from names `{name}`, which is not a stage"
            )));
        }
        None => stages
            .last()
            .map(|s| s.name.clone())
            .unwrap_or_else(|| INPUT_NODE.to_string()),
    };
    Ok(StagePlan { order, output })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(name: &str, input: Option<&str>) -> StageConfig {
        StageConfig {
            name: name.into(),
            operator: "normalize".into(),
            input: input.map(Into::into),
            params: serde_json::Value::Null,
        }
    }

    #[test]
    fn chain_and_branches() {
        let stages = vec![stage("a", None), stage("b", None), stage("c", Some("a"))];
        let plan = plan(&stages, None, Path::new("p.toml")).unwrap();
        assert_eq!(
            plan.order,
            vec![(0, "input".into()), (1, "a".into()), (2, "a".into())]
        );
        assert_eq!(plan.output, "c");
    }

    #[test]
    fn bad_graphs_are_named() {
        let p = Path::new("p.toml");
        let dup = plan(&[stage("a", None), stage("a", None)], None, p)
            .unwrap_err()
            .to_string();
        assert!(dup.contains("two stages"), "{dup}");
        let missing = plan(&[stage("a", Some("zz"))], None, p)
            .unwrap_err()
            .to_string();
        assert!(missing.contains("zz"), "{missing}");
        let cycle = plan(&[stage("a", Some("b")), stage("b", Some("a"))], None, p)
            .unwrap_err()
            .to_string();
        assert!(cycle.contains("cycle"), "{cycle}");
        let out = plan(&[stage("a", None)], Some("q"), p)
            .unwrap_err()
            .to_string();
        assert!(out.contains("output.from"), "{out}");
    }
}
