//! The shards: formats, tokenizer, and every shard with its tokens per domain.

use std::fmt::Write as _;

use super::html::{count, escape};
use crate::engine::summary::RunSummary;

pub fn shards_section(html: &mut String, summary: &RunSummary) {
    let shards = &summary.shards;
    let tokenizer = &shards.tokenizer;
    let formats: Vec<&str> = shards.formats.iter().map(|f| f.name()).collect();
    let _ = write!(
        html,
        "<h2>Shards</h2><p>Formats <code>{}</code> ({:?} tokens, EOS <code>{}</code> = {} after every document) in <code>{}</code>. \
         Tokenizer <code>{}</code> ({}; vocabulary {}; sha256 <code>{}</code>).</p>",
        escape(&formats.join(", ")),
        shards.dtype,
        escape(&tokenizer.eos_token),
        tokenizer.eos_id,
        escape(&summary.shards_dir.display().to_string()),
        escape(&tokenizer.name),
        if summary.tokenizer_trained {
            "trained on this corpus"
        } else {
            "loaded"
        },
        count(tokenizer.vocab_size),
        escape(&tokenizer.sha256[..16.min(tokenizer.sha256.len())])
    );
    html.push_str("<table class=\"shards\"><tr><th>shard</th><th>split</th><th>documents</th><th>tokens</th><th>first file sha256</th><th>tokens per domain</th></tr>");
    for shard in &shards.shards {
        let per_domain: Vec<String> = shard
            .tokens_per_domain
            .iter()
            .map(|(d, t)| format!("{d}: {}", count(*t)))
            .collect();
        let sha = shard
            .files
            .first()
            .map(|f| &f.sha256[..16.min(f.sha256.len())])
            .unwrap_or("");
        let _ = write!(
            html,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
            escape(&shard.name),
            escape(&shard.split),
            count(shard.documents),
            count(shard.tokens),
            escape(sha),
            escape(&per_domain.join(" · "))
        );
    }
    html.push_str("</table>");
}
