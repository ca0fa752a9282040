//! What the client knows about each request it sent.

use servebench_core::FailureKind;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub kind: FailureKind,
    /// HTTP status for `http_status` failures, else 0.
    pub status: u16,
    pub message: Box<str>,
}

/// One request's timeline (`CLOCK_MONOTONIC` ns; 0 = never happened) and counts.
#[derive(Debug, Clone, Default)]
pub struct RequestRecord {
    /// Position in the dataset's measured (or warmup) sequence.
    pub index: u32,
    pub warmup: bool,
    /// When the request was due: its arrival time (open loop) or the moment its slot freed (closed loop).
    pub sched_ns: u64,
    /// Time spent waiting for a concurrency slot (open loop with a cap), ns.
    pub queue_ns: u64,
    /// Just before the request's first byte was written (after any connect).
    pub send_ns: u64,
    pub first_byte_ns: u64,
    /// First chunk carrying output tokens.
    pub first_token_ns: u64,
    /// Last chunk carrying output tokens.
    pub last_token_ns: u64,
    /// The response finished (`[DONE]`) or the failure was known.
    pub end_ns: u64,
    /// Time spent opening a new connection for this request, if one was opened.
    pub connect_ns: u64,
    pub input_len: u32,
    pub max_tokens: u32,
    pub usage_prompt: Option<u32>,
    pub usage_completion: Option<u32>,
    /// What the server said it spent on prompt processing and on generation (llama.cpp's
    /// `timings`), microseconds.
    pub server_prompt_us: Option<u64>,
    pub server_predicted_us: Option<u64>,
    /// Prompt tokens the server says it took from its prefix cache (`usage.prompt_tokens_details
    /// .cached_tokens`, or llama.cpp's `timings.cache_n`).
    pub server_cached_tokens: Option<u32>,
    /// Tokens of the generated text by the client's tokenizer (filled after the run).
    pub client_output_tokens: Option<u32>,
    pub retokenize_skipped: bool,
    /// SSE events carrying output.
    pub content_chunks: u32,
    /// Gaps between consecutive output chunks, microseconds (rounded).
    pub gaps_us: Vec<u32>,
    pub failure: Option<Failure>,
    /// Sent again on a new connection because the kept-alive one it first went out on was
    /// closed by the server before any byte of a response (servers may close idle persistent
    /// connections at any time; llama.cpp's does after streamed responses).
    pub resent: bool,
    /// The connection ended cleanly (EOF, no reset) before any response byte.
    pub closed_unanswered: bool,
    /// Which turn of which session this was (trace replay).
    pub turn: Option<TurnTag>,
}

/// A replayed request's place in its session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TurnTag {
    /// The session play (0, 1, ... in the order lanes took sessions).
    pub play: u32,
    /// 0: the main agent; k: the session's subagent k - 1.
    pub agent: u32,
    /// The turn's index in its agent's turns.
    pub turn: u32,
    pub lane: u32,
    /// The prompt's blocks, and how many of its leading ones the session had sent before (the
    /// hits of an unbounded prefix cache).
    pub blocks: u32,
    pub hit_blocks: u32,
    /// The prompt tokens in those hit blocks (the last one may be partial).
    pub hit_tokens: u32,
}

impl RequestRecord {
    /// Client-side delay between when the request was due and when it was sent, excluding
    /// time queued behind the concurrency cap and time opening a connection.
    pub fn send_lag_ns(&self) -> u64 {
        self.send_ns
            .saturating_sub(self.sched_ns)
            .saturating_sub(self.queue_ns)
            .saturating_sub(self.connect_ns)
    }

    pub fn ok(&self) -> bool {
        self.failure.is_none()
    }

    pub fn ttft_ns(&self) -> Option<u64> {
        (self.first_token_ns != 0).then(|| self.first_token_ns - self.send_ns)
    }

    /// Send to the last output chunk.
    pub fn e2el_ns(&self) -> Option<u64> {
        (self.last_token_ns != 0).then(|| self.last_token_ns - self.send_ns)
    }

    /// Output tokens by the best source: server `usage`, else the client's tokenizer,
    /// else (neither available) the number of output chunks.
    pub fn output_tokens(&self) -> u32 {
        self.usage_completion
            .or(self.client_output_tokens)
            .unwrap_or(self.content_chunks)
    }

    pub(crate) fn fail(&mut self, kind: FailureKind, status: u16, message: impl Into<String>) {
        if self.failure.is_none() {
            let mut m: String = message.into();
            if m.len() > 300 {
                let mut cut = 300;
                while !m.is_char_boundary(cut) {
                    cut -= 1;
                }
                m.truncate(cut);
                m.push('…');
            }
            self.failure = Some(Failure {
                kind,
                status,
                message: m.into(),
            });
        }
    }
}
