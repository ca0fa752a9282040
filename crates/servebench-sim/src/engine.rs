//! The timing source behind the HTTP front end.
//!
//! For each accepted generation request an [`Engine`] produces a [`ChunkSchedule`]: the content
//! chunks of the response, in order, each with the instant it is due and how many tokens it
//! carries. The front end writes each chunk as soon as it is due (never before), batching chunks
//! that are already due into one write. The `fixed` profile ([`crate::fixed::FixedEngine`]) is
//! the first implementation; a simulated engine with a scheduler can be added behind the same
//! trait.

use serde::{Deserialize, Serialize};
use servebench_core::Api;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

/// What the front end tells the engine about an accepted generation request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenRequest {
    /// Arrival-order number of the request (0-based).
    pub seq: u64,
    pub api: Api,
    pub stream: bool,
    /// Prompt length, as counted by the configured [`crate::PromptCounter`].
    pub prompt_tokens: u32,
    /// Number of output tokens the response will carry (at least 1).
    pub output_tokens: u32,
    /// Where its KV cache goes to or comes from (disaggregated serving).
    pub handoff: Handoff,
    /// The chained hashes of its prompt's full blocks, where the engine caches prefixes
    /// ([`Engine::prefix_block_tokens`]).
    pub prefix: Option<std::sync::Arc<[u64]>>,
}

/// A request's part in disaggregated serving, as the router says in the body's
/// `kv_transfer_params` (vLLM's field): `do_remote_decode` asks a prefill worker for the prompt's
/// cache and its first token; `do_remote_prefill` hands a decode worker a prompt prefilled
/// elsewhere, with the size of its cache from the prefill worker's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Handoff {
    /// A whole request.
    #[default]
    None,
    /// Prefill only; the answer carries `kv_transfer_params` for the decode worker.
    ToDecode,
    /// Prefilled elsewhere: its cache, `kv_bytes_per_gpu` on each GPU of the prefill worker,
    /// crosses the KV link before the first token.
    FromPrefill { kv_bytes_per_gpu: u64 },
}

/// One content chunk of a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkPlan {
    /// The earliest instant the chunk may be written.
    pub due: Instant,
    /// Tokens the chunk carries (at least 1).
    pub tokens: u32,
}

/// The content chunks of one response, in order. Their token counts sum to
/// [`GenRequest::output_tokens`] (fewer only if the engine gave up on the request: the response
/// then ends with an error) and their due instants never decrease.
pub trait ChunkSchedule: Send {
    /// Mid-stream faults act before the first chunk that starts at or after this output token
    /// ("after half the response").
    fn fault_token(&self) -> u32;
    /// The next chunk: `Ready(Some)` once the engine has produced it, `Ready(None)` when there
    /// are no more, `Pending` (waking `cx` later) while the engine is still working on it.
    fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Option<ChunkPlan>>;
    /// Prompt tokens the engine took from its prefix cache, once it has admitted the request
    /// (known by its first chunk).
    fn cached_tokens(&self) -> Option<u32> {
        None
    }
}

/// The next chunk of `s`, waiting for the engine if needed.
pub async fn next_chunk(s: &mut dyn ChunkSchedule) -> Option<ChunkPlan> {
    std::future::poll_fn(|cx| s.poll_chunk(cx)).await
}

/// The next chunk of `s` if the engine has already produced it, without waiting.
pub fn ready_chunk(s: &mut dyn ChunkSchedule) -> Poll<Option<ChunkPlan>> {
    s.poll_chunk(&mut Context::from_waker(Waker::noop()))
}

/// Board power of the simulated GPUs, as a power sampler reads it off real ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PowerReading {
    /// `CLOCK_MONOTONIC` ns of the reading (same clock as the client's timestamps).
    pub mono_ns: u64,
    /// Simulated seconds since the engine started (wall seconds × the time scale).
    pub sim_time_s: f64,
    /// Simulated seconds per wall second.
    pub time_scale: f64,
    pub gpus: Vec<GpuPower>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GpuPower {
    pub index: u32,
    /// Board power now, W (of the step running now; idle power between steps).
    pub power_w: f64,
    /// Energy since the engine started, J (a monotonic counter like NVML's total energy
    /// consumption; it advances in simulated time).
    pub energy_j: f64,
}

/// A timing source: turns an accepted request into its chunk schedule.
pub trait Engine: Send + Sync + 'static {
    /// The profile name (`fixed`, `engine`).
    fn name(&self) -> &'static str;
    /// The schedule of `req`, which arrived (its body fully read) at `arrival`.
    fn schedule(&self, req: &GenRequest, arrival: Instant) -> Box<dyn ChunkSchedule>;
    /// Simulated GPU power now; `None` for profiles without GPUs.
    fn power(&self) -> Option<PowerReading> {
        None
    }
    /// Engine state for `GET /sim/stats` (running and waiting requests, KV use, ...).
    fn state(&self) -> Option<serde_json::Value> {
        None
    }
    /// The bytes of a `prompt_tokens` prompt's KV cache on each GPU, for a decode worker to
    /// receive; `None` where the engine has no KV cache (it cannot be a prefill worker).
    fn handoff_kv_bytes(&self, _prompt_tokens: u32) -> Option<u64> {
        None
    }
    /// Whether it decodes requests prefilled elsewhere ([`Handoff::FromPrefill`]): a decode
    /// worker, which knows the KV link.
    fn takes_prefilled(&self) -> bool {
        false
    }
    /// The block size of its prefix cache, in tokens: requests then carry their prompt's
    /// block hashes. `None`: no prefix caching.
    fn prefix_block_tokens(&self) -> Option<u32> {
        None
    }
    /// Prometheus text for `GET /metrics`, in the simulated engine's metric names.
    fn metrics(&self) -> Option<String> {
        None
    }
}
