//! Accuracy evals against any OpenAI-compatible server, so that a deployment's speed can be
//! weighed against its quality: GSM8K (5-shot, `#### n` answers), MATH-500 (boxed LaTeX
//! answers) and GPQA-Diamond (option letters), scored by exact match with a standard error.
//!
//! Datasets are files the user supplies in the public datasets' own JSONL layouts (their
//! licences forbid shipping some of them); nothing is downloaded.

pub mod client;
pub mod extract;
pub mod run;
pub mod task;

pub use run::{run, EvalOptions, EvalResult, SampleRecord, Threshold};
pub use task::Task;

#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// A dataset file, with the place (`file:line`) and what was expected.
    #[error("{at}: {message}")]
    Data { at: String, message: String },
    #[error("{0}")]
    Usage(String),
    /// The server could not be asked (checked before the first question).
    #[error("{0}")]
    Server(String),
    /// Every question failed: the server, not the model, was measured; nothing is scored.
    #[error("all {n} questions failed, so there is no score; the first: {first}")]
    AllFailed { n: usize, first: String },
}
