//! `blend quality score`: add the classifier's score to every document of a corpus and write
//! Parquet; with a label column, also measure ROC-AUC and accuracy against it.

use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::Schema;
use blend_datasets::parquet_parts::PartWriter;
use blend_datasets::read::{CorpusReader, ReadOptions};
use blend_kernels::text_classifier::BinaryMetrics;
use blend_operators::OperatorSpec;
use blend_operators::operator::Operator;
use blend_operators::quality::classifier::Classifier;

use super::labels::label_values;
use super::{ScoreOutcome, ScoreRequest};
use crate::engine::read::for_each_batch;
use crate::{PipelineError, Progress, Result};

/// Scores every document of the inputs into Parquet parts under `out_dir` (the input
/// columns plus the score).
pub fn score_documents(request: &ScoreRequest, progress: &dyn Progress) -> Result<ScoreOutcome> {
    let mut classifier = Classifier::from_json(&request.classifier)
        .map_err(|e| PipelineError::operator(Classifier::NAME, e))?;
    let reader = CorpusReader::open(&request.inputs, ReadOptions::default())?;
    let mut fields: Vec<_> = reader.schema().fields().iter().cloned().collect();
    let new_fields = classifier.output_fields();
    fields.retain(|f| new_fields.iter().all(|n| n.name() != f.name()));
    fields.extend(new_fields.iter().cloned().map(Arc::new));
    std::fs::create_dir_all(&request.out_dir)
        .map_err(|e| PipelineError::io(&request.out_dir, e))?;
    let mut parts = PartWriter::new(
        &request.out_dir,
        "part",
        Arc::new(Schema::new(fields)),
        100_000,
    );
    let bar = progress.start("score", None, "docs");
    let score_column = new_fields[0].name().clone();
    let mut evaluated: (Vec<f64>, Vec<bool>) = (Vec::new(), Vec::new());
    let mut documents = 0u64;
    let label = classifier.label().to_string();
    let evaluate = request
        .evaluate
        .as_ref()
        .map(|(column, positive)| (column, positive.as_deref().unwrap_or(&label)));
    for_each_batch(&reader, &mut |batch| {
        let scored = classifier
            .apply(batch.clone())
            .map_err(|e| PipelineError::operator(Classifier::NAME, e))?;
        if let Some((column, positive)) = evaluate {
            collect_labels(&scored, &score_column, column, positive, &mut evaluated)?;
        }
        parts.write(&scored)?;
        documents += scored.num_rows() as u64;
        bar.advance(batch.num_rows() as u64);
        Ok(())
    })?;
    bar.finish("");
    let parts = parts.finish()?.into_iter().map(|p| p.name).collect();
    let metrics = request
        .evaluate
        .as_ref()
        .map(|_| BinaryMetrics::new(&evaluated.0, &evaluated.1));
    Ok(ScoreOutcome {
        label,
        documents,
        parts,
        score_summary: classifier.summary().unwrap_or_default(),
        metrics,
    })
}

fn collect_labels(
    batch: &RecordBatch,
    score_column: &str,
    label_column: &str,
    positive: &str,
    out: &mut (Vec<f64>, Vec<bool>),
) -> Result<()> {
    let labels = label_values(batch, label_column)?;
    let scores = batch
        .column_by_name(score_column)
        .and_then(|c| {
            c.as_any()
                .downcast_ref::<arrow::array::Float64Array>()
                .cloned()
        })
        .expect("the classifier adds its score column");
    for (row, label) in labels.iter().enumerate() {
        if let Some(label) = label {
            out.0.push(scores.value(row));
            out.1.push(label == positive);
        }
    }
    Ok(())
}
