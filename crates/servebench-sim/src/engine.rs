//! The timing source behind the HTTP front end.
//!
//! For each accepted generation request an [`Engine`] produces a [`ChunkSchedule`]: the content
//! chunks of the response, in order, each with the instant it is due and how many tokens it
//! carries. The front end writes each chunk as soon as it is due (never before), batching chunks
//! that are already due into one write. The `fixed` profile ([`crate::fixed::FixedEngine`]) is
//! the first implementation; a simulated engine with a scheduler can be added behind the same
//! trait.

use servebench_core::Api;
use std::time::Instant;

/// What the front end tells the engine about an accepted generation request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenRequest {
    /// Arrival-order number of the request (0-based).
    pub seq: u64,
    pub api: Api,
    pub stream: bool,
    /// Prompt length, as counted by the configured [`crate::PromptCounter`].
    pub prompt_tokens: u32,
    /// Number of output tokens the response will carry (at least 1).
    pub output_tokens: u32,
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
/// [`GenRequest::output_tokens`] and their due instants never decrease.
pub trait ChunkSchedule: Send {
    /// Total number of content chunks (known in advance: faults act "after half the chunks").
    fn chunk_count(&self) -> u32;
    /// The next chunk, or `None` when all have been handed out.
    fn next_chunk(&mut self) -> Option<ChunkPlan>;
}

/// A timing source: turns an accepted request into its chunk schedule.
pub trait Engine: Send + Sync + 'static {
    /// The profile name (`fixed`, ...).
    fn name(&self) -> &'static str;
    /// The schedule of `req`, which arrived (its body fully read) at `arrival`.
    fn schedule(&self, req: &GenRequest, arrival: Instant) -> Box<dyn ChunkSchedule>;
}
