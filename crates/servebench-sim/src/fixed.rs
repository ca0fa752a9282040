//! The `fixed` timing profile: every request gets the same time to first token and the same
//! inter-token latency, whatever the load.
//!
//! Token `i` (0-based) of a response is due at `arrival + ttft + i * itl`. A chunk carrying tokens
//! `[a, b)` is due when its last token is: `arrival + ttft + (b - 1) * itl`. Deadlines are
//! absolute, so lateness never accumulates.

use crate::engine::{ChunkPlan, ChunkSchedule, Engine, GenRequest};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// Timing of the `fixed` profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedTiming {
    /// Time from arrival (request body fully read) to the first token.
    pub ttft: Duration,
    /// Time between consecutive tokens; zero = as fast as the server can write.
    pub itl: Duration,
    /// Tokens per content chunk (the last chunk may carry fewer); at least 1.
    pub tokens_per_chunk: u32,
}

impl Default for FixedTiming {
    fn default() -> Self {
        FixedTiming {
            ttft: Duration::ZERO,
            itl: Duration::ZERO,
            tokens_per_chunk: 1,
        }
    }
}

impl FixedTiming {
    /// Number of content chunks for `output_tokens` tokens.
    pub fn chunk_count(&self, output_tokens: u32) -> u32 {
        output_tokens.div_ceil(self.tokens_per_chunk.max(1))
    }

    /// Offset from arrival at which token `i` (0-based) is due.
    pub fn token_due(&self, i: u32) -> Duration {
        self.ttft + self.itl * i
    }

    /// Offset from arrival at which content chunk `k` (0-based) of a response of
    /// `output_tokens` tokens is due, and the number of tokens it carries.
    pub fn chunk(&self, k: u32, output_tokens: u32) -> (Duration, u32) {
        let per = self.tokens_per_chunk.max(1);
        let first = k * per;
        let n = per.min(output_tokens - first);
        (self.token_due(first + n - 1), n)
    }
}

/// The `fixed` profile as an [`Engine`].
#[derive(Debug, Clone, Copy)]
pub struct FixedEngine {
    pub timing: FixedTiming,
}

impl Engine for FixedEngine {
    fn name(&self) -> &'static str {
        "fixed"
    }

    fn schedule(&self, req: &GenRequest, arrival: Instant) -> Box<dyn ChunkSchedule> {
        Box::new(FixedSchedule {
            timing: self.timing,
            arrival,
            total: req.output_tokens,
            next_token: 0,
        })
    }
}

struct FixedSchedule {
    timing: FixedTiming,
    arrival: Instant,
    total: u32,
    next_token: u32,
}

impl FixedSchedule {
    fn next(&mut self) -> Option<ChunkPlan> {
        if self.next_token >= self.total {
            return None;
        }
        let per = self.timing.tokens_per_chunk.max(1);
        let n = per.min(self.total - self.next_token);
        let last = self.next_token + n - 1;
        self.next_token += n;
        Some(ChunkPlan {
            due: self.arrival + self.timing.token_due(last),
            tokens: n,
        })
    }
}

impl ChunkSchedule for FixedSchedule {
    /// The first token of chunk `n / 2`, `n` chunks in all.
    fn fault_token(&self) -> u32 {
        self.timing.chunk_count(self.total) / 2 * self.timing.tokens_per_chunk.max(1)
    }

    fn poll_chunk(&mut self, _: &mut Context<'_>) -> Poll<Option<ChunkPlan>> {
        Poll::Ready(self.next())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::ready_chunk;
    use servebench_core::Api;

    fn req(out: u32) -> GenRequest {
        GenRequest {
            seq: 0,
            api: Api::Completions,
            stream: true,
            prompt_tokens: 3,
            output_tokens: out,
            handoff: Default::default(),
            prefix: None,
        }
    }

    #[test]
    fn chunks_are_due_when_their_last_token_is() {
        let t = FixedTiming {
            ttft: Duration::from_millis(100),
            itl: Duration::from_millis(10),
            tokens_per_chunk: 4,
        };
        let e = FixedEngine { timing: t };
        let a = Instant::now();
        let mut s = e.schedule(&req(10), a);
        assert_eq!(
            s.fault_token(),
            4,
            "half of 3 chunks is chunk 1, which starts at token 4"
        );
        let mut got = Vec::new();
        while let Poll::Ready(Some(c)) = ready_chunk(&mut *s) {
            got.push((c.due - a, c.tokens));
        }
        assert_eq!(
            got,
            vec![
                (Duration::from_millis(130), 4),
                (Duration::from_millis(170), 4),
                (Duration::from_millis(190), 2),
            ]
        );
        assert_eq!(t.chunk(2, 10), (Duration::from_millis(190), 2));
    }

    #[test]
    fn one_token_per_chunk_is_ttft_then_itl() {
        let t = FixedTiming {
            ttft: Duration::from_millis(7),
            itl: Duration::from_millis(3),
            tokens_per_chunk: 1,
        };
        let a = Instant::now();
        let mut s = FixedEngine { timing: t }.schedule(&req(5), a);
        assert_eq!(s.fault_token(), 2);
        for k in 0..5u32 {
            let Poll::Ready(Some(c)) = ready_chunk(&mut *s) else {
                panic!("chunk {k} is ready at once")
            };
            assert_eq!(c.tokens, 1);
            assert_eq!(c.due - a, Duration::from_millis(7 + 3 * k as u64));
        }
        assert_eq!(ready_chunk(&mut *s), Poll::Ready(None));
    }
}
