//! How `dedup.minhash` groups its band table, measured two ways on the same records:
//! `runs` = blend's partitioned on-disk runs (`band_runs.rs`); `datafusion` = the records
//! as Parquet and `SELECT key, array_agg(doc) … GROUP BY key HAVING count(*) > 1` on a
//! DataFusion session whose memory pool is the budget (it spills to disk). Both print the
//! groups and edges they found (they must agree), and the seconds taken; peak RSS is read
//! by `bench/dedup/grouping.sh` around each run.
//!
//! `cargo bench -p blend-operators --bench band_grouping -- (runs|datafusion) DOCS BUDGET_MIB`
#![allow(clippy::print_stdout)]

use std::sync::Arc;
use std::time::Instant;

use arrow::array::{Array, AsArray, RecordBatch, UInt32Array, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema, UInt32Type};
use blend_kernels::SeededRng;
use blend_operators::dedup::band_runs::BandRuns;
use datafusion::execution::memory_pool::FairSpillPool;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};
use futures::StreamExt;

const BANDS: u64 = 14;

/// The band keys of `doc`: random, except that every 10th document repeats some bands of
/// the one before it (a planted near duplicate).
fn keys_of(doc: u64, seed: u64) -> impl Iterator<Item = u64> {
    (0..BANDS).map(move |band| {
        let source = if doc % 10 == 9 && band % 3 == 0 {
            doc - 1
        } else {
            doc
        };
        SeededRng::new(seed ^ source.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ band).next_u64()
    })
}

fn with_runs(docs: u64, budget: u64) -> (u64, u64, usize) {
    let dir = tempfile::tempdir().expect("temp dir");
    let partitions = BandRuns::partitions_for(docs * BANDS, budget);
    let mut runs =
        BandRuns::new("bench", dir.path(), partitions, budget, docs * BANDS).expect("runs");
    for doc in 0..docs {
        for key in keys_of(doc, 1) {
            runs.push(key, doc as u32).expect("push");
        }
    }
    let stats = runs.group(|_| {}).expect("group");
    (stats.shared_keys, stats.edges, partitions)
}

fn with_datafusion(docs: u64, budget: u64) -> (u64, u64, usize) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("records.parquet");
    let schema = Arc::new(Schema::new(vec![
        Field::new("key", DataType::UInt64, false),
        Field::new("doc", DataType::UInt32, false),
    ]));
    let file = std::fs::File::create(&path).expect("create");
    let mut writer = ArrowWriter::try_new(file, schema.clone(), None).expect("writer");
    let chunk = 65_536u64;
    let mut doc = 0;
    while doc < docs {
        let end = (doc + chunk).min(docs);
        let (mut keys, mut ids) = (Vec::new(), Vec::new());
        for d in doc..end {
            for key in keys_of(d, 1) {
                keys.push(key);
                ids.push(d as u32);
            }
        }
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(UInt64Array::from(keys)),
                Arc::new(UInt32Array::from(ids)),
            ],
        )
        .expect("batch");
        writer.write(&batch).expect("write");
        doc = end;
    }
    writer.close().expect("close");
    let runtime = RuntimeEnvBuilder::new()
        .with_memory_pool(Arc::new(FairSpillPool::new(budget as usize)))
        .with_temp_file_path(dir.path())
        .build_arc()
        .expect("runtime");
    let ctx =
        SessionContext::new_with_config_rt(SessionConfig::new().with_target_partitions(2), runtime);
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio");
    tokio.block_on(async {
        ctx.register_parquet(
            "records",
            path.to_string_lossy().as_ref(),
            ParquetReadOptions::default(),
        )
        .await
        .expect("register");
        let frame = ctx
            .sql("SELECT key, array_agg(doc) AS docs FROM records GROUP BY key HAVING count(*) > 1")
            .await
            .expect("sql");
        let mut stream = frame.execute_stream().await.expect("execute");
        let (mut groups, mut edges) = (0u64, 0u64);
        while let Some(batch) = stream.next().await {
            let batch = batch.expect("batch");
            let lists = batch.column(1).as_list::<i32>();
            for row in 0..lists.len() {
                let values = lists.value(row);
                let mut docs: Vec<u32> = values.as_primitive::<UInt32Type>().values().to_vec();
                docs.sort_unstable();
                docs.dedup();
                if docs.len() > 1 {
                    groups += 1;
                    edges += docs.len() as u64 - 1;
                }
            }
        }
        (groups, edges, 0)
    })
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let (Some(approach), Some(docs)) = (
        args.first(),
        args.get(1).and_then(|d| d.parse::<u64>().ok()),
    ) else {
        println!("usage: band_grouping (runs|datafusion) DOCS [BUDGET_MIB]; nothing to do");
        return;
    };
    let budget = args
        .get(2)
        .and_then(|b| b.parse::<u64>().ok())
        .unwrap_or(256)
        << 20;
    let start = Instant::now();
    let (groups, edges, partitions) = match approach.as_str() {
        "runs" => with_runs(docs, budget),
        "datafusion" => with_datafusion(docs, budget),
        other => panic!("unknown approach {other}"),
    };
    println!(
        "approach={approach} docs={docs} budget_mib={} partitions={partitions} groups={groups} edges={edges} seconds={:.2}",
        budget >> 20,
        start.elapsed().as_secs_f64()
    );
}
