//! The requests a benchmark sends: InferenceX's random rule, ShareGPT files and JSONL files.
//!
//! A [`Dataset`] holds `num_prompts` measured requests and `num_warmups` warmup requests. Warmup
//! prompts are distinct from the measured ones (InferenceX sends copies of prompt 0, which warms
//! prefix caches unrealistically); the measured requests do not depend on the number of
//! warmups.
//!
//! # Random prompts (InferenceX §2.3)
//!
//! For measured request `i` in `0..N`: `input_len_i ~ UniformInt[floor(isl·r), isl]`,
//! `output_len_i ~ UniformInt[floor(osl·r), osl]` (inclusive), `offset_i ~ UniformInt[0, vocab)`,
//! where `vocab` is the tokenizer's base vocabulary. The three sequences are drawn from one
//! `ChaCha8Rng::seed_from_u64(seed)` (stream 0): all N input lengths, then all N output lengths,
//! then all N offsets. The numbers therefore differ from InferenceX's numpy MT19937 draws, but the
//! rule is the same. The prompt's token ids are the run `(offset_i + i + j) mod vocab` for
//! `j in 0..input_len_i`, decoded to text; then, up to 10 times: re-encode; stop if the count
//! equals the target; if shorter, append uniform random ids in `[0, vocab)` from the request's
//! own RNG (`ChaCha8Rng::seed_from_u64(seed)` on stream `2 + i`, so requests are independent of
//! each other and of the thread count); if longer, truncate; decode again. The request's
//! `input_len` is the client token count of the final text (it equals the target for nearly
//! all prompts; [`Dataset::input_lengths`] reports the mismatches). Warmup `j` uses the same
//! rule with index `N + j` and its own lengths and offsets, drawn the same way on stream 1.
//!
//! # Memory
//!
//! Random prompts are not kept as text (20,480 prompts of 1,024 tokens are ~100 MB). For
//! byte-level tokenizers each prompt is stored as a *recipe* that [`Dataset::request`] replays
//! with byte copies only (no encoding): `[run start id, run length]`, then per repair step
//! `[bytes of the previous text kept, number of appended ids, appended ids...]`. Replay:
//! `text₀ = lossy(bytes of the run)`; each step `text = lossy(text.bytes[..kept] ++ bytes(ids))`.
//! This equals the generated text whenever encoding a text and concatenating its tokens' bytes
//! gives the text back; at build time every replay is compared with the generated text, and a
//! prompt whose replay differs (non-byte-level tokenizers, normalizers) is stored as full text
//! instead. Measured with cl100k_base, ISL 1024, ratio 0.8 (the
//! `random_20480_prompts_are_compact_and_exact` test and `examples/dataset_bench.rs`): a recipe
//! is ~22 bytes (almost every prompt needs a single repair step), plus a 24-byte entry per
//! request: ~46 bytes per prompt, 0.9 MB for 20,480 prompts instead of ~115 MB of text; every
//! prompt replayed exactly (o200k_base: ~44 bytes). [`Dataset::request`] replays a
//! 1,024-token prompt in 0.5–0.7 µs (release): a few slice copies for the run (see
//! `Tokenizer::run_text_into`) and a few appended tokens. [`Dataset::storage`] reports the
//! numbers for any dataset.
//!
//! # ShareGPT
//!
//! A JSON array of `{"conversations": [{"from": "human"|"gpt", "value": ...}, ...]}` (`role` /
//! `content` keys are accepted too; `user`/`assistant` roles as well). The prompt is the first
//! human turn; the reference output length is the token count of the turn right after it, which
//! must be a gpt turn (rows without such a pair are skipped). Filtering follows vLLM: rows whose
//! prompt has fewer than 4 tokens are dropped; without `osl_override` so are rows whose output
//! has fewer than 4 tokens, a prompt over 1024 tokens, or prompt + output over 2048 tokens. The
//! usable rows are shuffled with the seed; the first N that pass the filter are the measured
//! requests and the next W the warmups. If the file has fewer than N + W usable rows, requests
//! cycle through those it has (so warmups may then repeat measured prompts). The file is read
//! as a stream, row by row, never held in memory whole; only the candidate rows' texts are kept.
//!
//! # JSONL
//!
//! One JSON object per non-empty line with `"prompt": string` or `"messages": [...]` (chat
//! messages, passed through unchanged; only with the chat API) and optionally `"output_len"` or
//! `"max_tokens"` (a positive integer; else `osl`). Rows are used in file order, cycling when
//! the file has fewer than N + W. The input length of a messages row is the summed token count
//! of its text contents (no chat template).
//!
//! # Traces
//!
//! Multi-turn coding-agent sessions (InferenceX's agentic corpus, Mooncake traces and
//! servebench's own format), read as a stream: [`trace`].
//!
//! # Dataset hash
//!
//! [`Dataset::sha256`] is the SHA-256, over the measured requests in order, of: a tag byte
//! (`T` for a text prompt, `M` for chat messages), the prompt's byte length (u64 LE), its bytes,
//! and the requested output length (u32 LE).

pub mod blocks;
mod error;
pub mod generate;
mod jsonl;
mod random;
mod sharegpt;
pub use sharegpt::sessions as sharegpt_sessions;
mod store;
pub mod trace;

pub use error::DatasetError;

use servebench_core::result::LengthStats;
use servebench_core::Api;
use servebench_tokenizer::Tokenizer;
use std::borrow::Cow;
use std::path::PathBuf;
use store::Store;

/// Which kind of dataset to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatasetKind {
    Random,
    ShareGpt,
    Jsonl,
    /// Multi-turn sessions replayed turn by turn ([`trace`]), not a list of requests.
    Trace,
}

impl DatasetKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DatasetKind::Random => "random",
            DatasetKind::ShareGpt => "sharegpt",
            DatasetKind::Jsonl => "jsonl",
            DatasetKind::Trace => "trace",
        }
    }
}

impl std::fmt::Display for DatasetKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for DatasetKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "random" => Ok(DatasetKind::Random),
            "sharegpt" => Ok(DatasetKind::ShareGpt),
            "jsonl" => Ok(DatasetKind::Jsonl),
            "trace" => Ok(DatasetKind::Trace),
            _ => Err(format!(
                "expected 'random', 'sharegpt', 'jsonl' or 'trace', got '{s}'"
            )),
        }
    }
}

/// Everything that determines a dataset (with the tokenizer).
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetSpec {
    pub kind: DatasetKind,
    /// The file of a sharegpt or jsonl dataset.
    pub path: Option<PathBuf>,
    pub isl: u32,
    pub osl: u32,
    /// sharegpt/jsonl: ask for `osl` tokens instead of the file's own output length.
    pub osl_override: bool,
    /// random: lengths are uniform integers in `[floor(ratio·L), L]`.
    pub range_ratio: f64,
    pub seed: u64,
    pub num_prompts: usize,
    pub num_warmups: usize,
    pub api: Api,
}

impl DatasetSpec {
    /// The file a sharegpt or jsonl dataset is read from.
    pub(crate) fn file(&self) -> Result<&std::path::Path, DatasetError> {
        self.path.as_deref().ok_or_else(|| {
            DatasetError::Invalid(format!("the {} dataset needs a dataset path", self.kind))
        })
    }
}

/// One request to send.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestSpec<'a> {
    pub prompt: Prompt<'a>,
    /// Client token count of the final prompt (messages: of their text contents).
    pub input_len: u32,
    /// `max_tokens` to request.
    pub output_len: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Prompt<'a> {
    /// A prompt text (completions `prompt`, or the content of a single user message for chat).
    Text(Cow<'a, str>),
    /// A JSON array of chat messages from a JSONL row, to send as `messages` unchanged.
    Messages(&'a str),
}

impl Prompt<'_> {
    /// The prompt text, or the messages' JSON.
    pub fn as_str(&self) -> &str {
        match self {
            Prompt::Text(t) => t,
            Prompt::Messages(m) => m,
        }
    }
}

/// How the prompts are stored, for memory accounting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StorageStats {
    /// Prompts stored as replayable recipes.
    pub recipe_prompts: usize,
    /// Prompts stored as full text (file datasets; random prompts whose replay was not exact).
    pub text_prompts: usize,
    /// Heap bytes of the per-request entries, recipes and texts (capacity, after shrinking).
    pub heap_bytes: usize,
    /// Of which recipe arena bytes.
    pub recipe_bytes: usize,
    /// Of which text arena bytes.
    pub text_bytes: usize,
}

/// The measured and warmup requests of a benchmark.
pub struct Dataset {
    kind: DatasetKind,
    tok: Tokenizer,
    store: Store,
    num_prompts: usize,
    num_warmups: usize,
    sha256: String,
    input_stats: LengthStats,
    output_stats: LengthStats,
}

impl std::fmt::Debug for Dataset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dataset")
            .field("kind", &self.kind)
            .field("num_prompts", &self.num_prompts)
            .field("num_warmups", &self.num_warmups)
            .field("sha256", &self.sha256)
            .finish()
    }
}

impl Dataset {
    /// Builds the dataset; the work (tokenizing) is spread over `threads` threads and the
    /// result does not depend on their number.
    pub fn build(
        spec: &DatasetSpec,
        tok: &Tokenizer,
        threads: usize,
    ) -> Result<Dataset, DatasetError> {
        let threads = threads.max(1);
        let built = match spec.kind {
            DatasetKind::Random => random::build(spec, tok, threads)?,
            DatasetKind::ShareGpt => sharegpt::build(spec, tok, threads)?,
            DatasetKind::Jsonl => jsonl::build(spec, tok, threads)?,
            DatasetKind::Trace => {
                return Err(DatasetError::Invalid(
                    "a trace is replayed session by session, not built as a list of requests"
                        .into(),
                ))
            }
        };
        let mut store = built.store;
        store.shrink();
        let mut ds = Dataset {
            kind: spec.kind,
            tok: tok.clone(),
            store,
            num_prompts: spec.num_prompts,
            num_warmups: spec.num_warmups,
            sha256: String::new(),
            input_stats: built.input_stats,
            output_stats: built.output_stats,
        };
        ds.sha256 = match built.sha256 {
            Some(h) => h,
            None => ds.recompute_sha256(),
        };
        Ok(ds)
    }

    pub fn kind(&self) -> DatasetKind {
        self.kind
    }

    /// Number of measured requests (`num_prompts`).
    pub fn len(&self) -> usize {
        self.num_prompts
    }

    pub fn is_empty(&self) -> bool {
        self.num_prompts == 0
    }

    pub fn warmup_len(&self) -> usize {
        self.num_warmups
    }

    /// Measured request `i` (panics if `i >= len()`). Random prompts are replayed from their
    /// recipe: a few byte copies, no tokenization.
    pub fn request(&self, i: usize) -> RequestSpec<'_> {
        assert!(i < self.num_prompts, "request {i} of {}", self.num_prompts);
        self.store.get(i, &self.tok)
    }

    /// Warmup request `j` (panics if `j >= warmup_len()`).
    pub fn warmup(&self, j: usize) -> RequestSpec<'_> {
        assert!(j < self.num_warmups, "warmup {j} of {}", self.num_warmups);
        self.store.get(self.num_prompts + j, &self.tok)
    }

    /// SHA-256 of the measured requests (see the crate docs for the exact bytes hashed).
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// Replays every measured request and hashes it; equals [`Dataset::sha256`] (which, for
    /// random datasets, is computed from the generated texts themselves).
    pub fn recompute_sha256(&self) -> String {
        let mut h = store::RequestHasher::new();
        for i in 0..self.num_prompts {
            h.add(&self.request(i));
        }
        h.finish()
    }

    /// Realised client prompt lengths of the measured requests against their targets.
    pub fn input_lengths(&self) -> LengthStats {
        self.input_stats.clone()
    }

    /// Requested output lengths (`max_tokens`) of the measured requests; they always equal
    /// their targets, so the mismatch is 0.
    pub fn output_lengths(&self) -> LengthStats {
        self.output_stats.clone()
    }

    /// How the prompts are stored and how much heap that takes.
    pub fn storage(&self) -> StorageStats {
        self.store.stats()
    }
}

/// What a kind-specific builder returns.
pub(crate) struct Built {
    pub(crate) store: Store,
    /// Hash computed during generation, if the builder did so.
    pub(crate) sha256: Option<String>,
    pub(crate) input_stats: LengthStats,
    pub(crate) output_stats: LengthStats,
}

/// One entry of a file dataset (sharegpt, jsonl), as it is stored and sent.
pub(crate) struct FileRow<'a> {
    pub(crate) text: &'a str,
    pub(crate) body: store::Body,
    pub(crate) input_len: u32,
    pub(crate) output_len: u32,
}

/// The measured requests then the warmups of a file dataset, taken from `rows` in order and
/// cycling when the file has fewer entries than needed. Each text is stored once.
pub(crate) fn cycle_rows(spec: &DatasetSpec, rows: &[FileRow<'_>]) -> Built {
    let need = spec.num_prompts + spec.num_warmups;
    let mut store = store::Store::with_capacity(need);
    let spans: Vec<(usize, u32)> = rows.iter().map(|r| store.add_text(r.text)).collect();
    let mut input = LengthAcc::default();
    let mut output = LengthAcc::default();
    for k in 0..need {
        let a = k % rows.len();
        let r = &rows[a];
        store.push_span(spans[a], r.body, r.input_len, r.output_len);
        if k < spec.num_prompts {
            input.add(r.input_len, r.input_len);
            output.add(r.output_len, r.output_len);
        }
    }
    Built {
        store,
        sha256: None,
        input_stats: input.finish(),
        output_stats: output.finish(),
    }
}

/// Accumulates [`LengthStats`].
#[derive(Default)]
pub(crate) struct LengthAcc {
    count: u64,
    min: u64,
    max: u64,
    sum: u64,
    sum_mismatch: i64,
    mismatched: u64,
}

impl LengthAcc {
    pub(crate) fn add(&mut self, realised: u32, target: u32) {
        let r = u64::from(realised);
        if self.count == 0 || r < self.min {
            self.min = r;
        }
        self.max = self.max.max(r);
        self.count += 1;
        self.sum += r;
        self.sum_mismatch += i64::from(realised) - i64::from(target);
        if realised != target {
            self.mismatched += 1;
        }
    }

    pub(crate) fn finish(&self) -> LengthStats {
        let n = self.count.max(1) as f64;
        LengthStats {
            count: self.count,
            min: self.min,
            max: self.max,
            mean: if self.count == 0 {
                0.0
            } else {
                self.sum as f64 / n
            },
            mean_mismatch: if self.count == 0 {
                0.0
            } else {
                self.sum_mismatch as f64 / n
            },
            mismatched: self.mismatched,
        }
    }
}

/// Maps `f` over `items` on up to `threads` threads, keeping the order.
pub(crate) fn parallel_map<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let threads = threads.clamp(1, items.len().max(1));
    if threads == 1 {
        return items.iter().map(&f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|c| {
                let f = &f;
                s.spawn(move || c.iter().map(f).collect::<Vec<R>>())
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("dataset worker panicked"))
            .collect()
    })
}

/// `a string`, `a number`, ... for error messages.
pub(crate) fn json_kind(v: &serde_json::Value) -> &'static str {
    use serde_json::Value as V;
    match v {
        V::Null => "null",
        V::Bool(_) => "a boolean",
        V::Number(_) => "a number",
        V::String(_) => "a string",
        V::Array(_) => "an array",
        V::Object(_) => "an object",
    }
}
