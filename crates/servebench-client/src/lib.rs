//! The servebench load generator for OpenAI-compatible streaming servers.
//!
//! Layers, bottom up: [`http1`] response framing and [`sse`] event framing, [`chunk`] (what a
//! streamed JSON chunk says), [`exchange`] (one request over a kept-alive connection, every
//! read timestamped on arrival), [`runner`] (closed/open loop on I/O threads, warmups, lag
//! probe), [`metrics`] (records → result, every definition), [`bench`] (the CLI's entry),
//! [`report`] (the text summary), [`request_log`] (`--requests-out`).

pub mod agentic;
pub mod bench;
pub mod chunk;
pub mod conn;
pub mod exchange;
pub mod http1;
pub mod metrics;
pub mod record;
pub mod replay;
pub mod report;
pub mod request_log;
pub mod runner;
mod server_watch;
pub mod sse;

pub use bench::{Bench, BenchError, BenchOptions, PointOutcome};
pub use record::RequestRecord;
pub use runner::Progress;
