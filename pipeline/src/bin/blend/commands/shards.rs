//! `blend shards verify DIR`: re-check a shard folder against its manifest.

use std::path::PathBuf;

use blend_datasets::shards::verify_shards;
use clap::{Args, Subcommand};

#[derive(Debug, Args)]
pub struct ShardsArgs {
    #[command(subcommand)]
    pub command: ShardsCommand,
}

#[derive(Debug, Subcommand)]
pub enum ShardsCommand {
    /// Re-hash every shard, re-read every index, and check counts against manifest.json.
    Verify {
        /// The shard folder (holding manifest.json).
        dir: PathBuf,
        /// Print the result as one JSON object.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(args: ShardsArgs) -> anyhow::Result<()> {
    match args.command {
        ShardsCommand::Verify { dir, json } => {
            let verified = verify_shards(&dir)?;
            if json {
                println!("{}", serde_json::to_string(&verified)?);
            } else {
                println!(
                    "ok: {} shard(s), {} documents, {} tokens in {}",
                    verified.shards,
                    verified.documents,
                    verified.tokens,
                    verified.dir.display()
                );
            }
            Ok(())
        }
    }
}
