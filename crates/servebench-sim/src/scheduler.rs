//! A continuous-batching scheduler like vLLM's V1 engine, run in virtual time.
//!
//! Every step: running sequences first (each decoding one token, or continuing its chunked
//! prefill), then waiting requests in arrival order (FCFS) while the step's token budget
//! (`max_num_batched_tokens`), the running-sequence limit (`max_num_seqs`) and free KV-cache
//! blocks allow; a prefill may take just part of the remaining budget (chunked prefill). When a
//! decoding sequence needs a block and none is free, the most recently admitted sequence is
//! preempted: its blocks are freed and it goes back to the head of the queue to be recomputed
//! (vLLM's default recompute preemption). The step's duration comes from [`PerfModel::step`];
//! tokens produced by a step appear at its end.
//!
//! Requests that carry their prompt's block hashes use the prefix cache
//! ([`crate::prefix_cache`]): at admission the cached leading blocks count as prefilled (at
//! least one token is always computed, as vLLM does), and a finished request leaves its full
//! prompt blocks cached. Cached blocks nobody uses are evicted, least recently used first,
//! before anyone is preempted.
//!
//! With a host tier ([`Offload`]: KV cache offloaded to CPU memory), the cached blocks are
//! also kept in CPU memory; a request whose next blocks after its GPU hits are there loads
//! them over the host link (at its bandwidth, each GPU its share) and starts computing when
//! they have arrived.

use crate::perf::{PerfModel, StepBatch};
use crate::prefix_cache::{HostTier, PrefixCache};
use crate::rounding::round_u32;
use servebench_catalog::KvAdmission;
use std::collections::VecDeque;
use std::sync::Arc;

/// Tokens emitted for one request by one step: (request id, tokens).
pub type Emission = (usize, u64);

/// One request offered to the engine.
#[derive(Debug, Clone, PartialEq)]
pub struct SimRequest {
    pub arrival_s: f64,
    pub prompt_tokens: u64,
    pub output_tokens: u64,
    /// The chained hashes of its prompt's full blocks of the engine's block size
    /// ([`crate::prefix_cache::prompt_block_hashes`]); `None`: it takes no part in caching.
    pub prefix: Option<Arc<[u64]>>,
}

/// What happened to one request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SimOutcome {
    pub arrival_s: f64,
    /// When the request was first admitted into the running batch.
    pub admitted_s: f64,
    pub first_token_s: f64,
    pub last_token_s: f64,
    pub output_tokens: u64,
    pub prompt_tokens: u64,
    /// Gaps between consecutive output tokens, µs (only with `record_gaps`).
    pub gaps_us: Vec<u32>,
    pub preemptions: u32,
    /// Prompt tokens taken from the prefix cache at its first admission.
    pub cached_tokens: u64,
    /// The request could never fit in the KV cache (even empty) and was refused.
    pub rejected: bool,
    /// Withdrawn by the caller before it finished ([`Engine::abort`]).
    pub aborted: bool,
    /// Nothing more will happen to it (served, refused or aborted).
    pub done: bool,
}

#[derive(Debug, Clone)]
pub struct SchedulerLimits {
    pub max_num_seqs: u64,
    pub max_batched_tokens: u64,
    pub kv_capacity_tokens: u64,
    pub block_tokens: u64,
    /// Admit a request only when its whole length fits (nothing is ever preempted).
    pub no_evict: bool,
    /// Let [`Engine::fast_decode`] run decode runs in one go (off: step by step, the
    /// reference its tests compare with).
    pub fast_decode: bool,
    /// The CPU-memory tier of the prefix cache, if the deployment offloads.
    pub offload: Option<Offload>,
}

/// KV cache offloaded to CPU memory: how many blocks it holds and how long a token of cache
/// takes to come back over the host link.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Offload {
    pub blocks: u64,
    pub s_per_token: f64,
}

impl Offload {
    /// The deployment's offload budget (`kv_offload_gb`, the whole server's), in blocks of the
    /// engine's size, loaded over each GPU's own host link; `None` without a budget.
    pub fn of(perf: &PerfModel, block_tokens: u64) -> Option<Offload> {
        let gb = perf.dep.kv_offload_gb;
        let per_gpu = perf.kv_bytes_per_token();
        // PerfModel::new refused an offload budget without a host link.
        let link = perf.dep.accelerator.host_link.as_ref()?;
        if gb <= 0.0 || per_gpu <= 0.0 {
            return None;
        }
        let tokens = gb * 1e9 / (per_gpu * f64::from(perf.gpus()));
        Some(Offload {
            blocks: (tokens / block_tokens.max(1) as f64) as u64,
            s_per_token: per_gpu / (link.gb_per_s.value * 1e9),
        })
    }
}

impl SchedulerLimits {
    pub fn from_perf(perf: &PerfModel) -> SchedulerLimits {
        let e = &perf.dep.engine;
        // With DP attention every rank schedules its own batch within the engine's limits.
        let ranks = perf.dp_ranks();
        let block_tokens = (e.kv_block_tokens.value as u64).max(1);
        SchedulerLimits {
            max_num_seqs: e.max_num_seqs.value as u64 * ranks,
            max_batched_tokens: e.max_num_batched_tokens.value as u64 * ranks,
            kv_capacity_tokens: perf.kv_capacity_tokens(),
            block_tokens,
            no_evict: e.kv_admission.value == KvAdmission::GuaranteedNoEvict,
            fast_decode: true,
            offload: Offload::of(perf, block_tokens),
        }
    }

    fn blocks(&self) -> u64 {
        self.kv_capacity_tokens / self.block_tokens
    }
}

struct Seq {
    id: usize,
    prompt: u64,
    prefix: Option<Arc<[u64]>>,
    /// Cached blocks it uses (its prompt's first ones), held by the cache, not by it.
    shared: u64,
    /// Tokens that must be in the KV cache before decoding: the prompt, or after a preemption
    /// the prompt and every token generated so far (recomputed).
    prefill_target: u64,
    prefilled: u64,
    generated: u64,
    /// Tokens in the KV cache now.
    ctx: u64,
    /// Tokens of it loaded from CPU memory at admission, and when they will have arrived.
    loaded: u64,
    ready_s: f64,
    blocks: u64,
    last_token_s: f64,
    /// Speculative decoding: accepted tokens owed but not yet emitted (fractional).
    accept_carry: f64,
}

impl Seq {
    fn prefilling(&self) -> bool {
        self.prefilled < self.prefill_target
    }
}

/// Sequence lengths whose blocks [`Engine::blocks_for`] remembers (4 MiB at most).
const MEMO_LENGTHS: u64 = 1 << 20;

/// Counters for the invariants tests check.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SchedulerStats {
    pub steps: u64,
    pub max_blocks_used: u64,
    pub blocks_total: u64,
    pub max_running: u64,
    pub preemptions: u64,
    /// Request ids in the order they were first admitted.
    pub admission_order: Vec<usize>,
    pub busy_s: f64,
    /// Energy one GPU drew while stepping (J, simulated board power × step time).
    pub busy_energy_j: f64,
    /// Prompt tokens of requests admitted with block hashes, and those found cached on the
    /// GPU and (offloading) in CPU memory.
    pub prefix_queries: u64,
    pub prefix_hits: u64,
    pub offload_hits: u64,
    /// Prompt tokens of admitted requests, and output tokens produced.
    pub prompt_tokens: u64,
    pub generation_tokens: u64,
}

/// The engine: requests arrive via [`Engine::submit`]; [`Engine::step`] runs one step.
pub struct Engine<'a> {
    perf: &'a PerfModel,
    limits: SchedulerLimits,
    pub now_s: f64,
    waiting: VecDeque<Seq>,
    running: Vec<Seq>,
    free_blocks: u64,
    /// Outcomes of requests `base..`; finished ones at the front are dropped by
    /// [`Engine::retire_finished`] so that a long-running server does not grow.
    outcomes: VecDeque<SimOutcome>,
    base: usize,
    record_gaps: bool,
    /// Inter-token gaps (µs) of every request as one histogram, instead of per request: a
    /// decode run's step gaps are the same for all its sequences, so they cost one update a
    /// step, not one per token ([`Engine::keep_itl_histogram`]).
    itl: Option<servebench_core::stats::CountDistribution>,
    /// log2 of the block size where it is a power of two.
    block_shift: Option<u32>,
    /// [`Engine::blocks_for`] of each sequence length met so far, plus one (0: not yet): a
    /// sequence's blocks are asked for every step, and computing them is most of a decode
    /// step's work where the cache is not linear in length (windows, compression, indexers).
    blocks_memo: std::cell::RefCell<Vec<u32>>,
    cache: PrefixCache,
    host: Option<HostTier>,
    pub stats: SchedulerStats,
}

impl<'a> Engine<'a> {
    pub fn new(perf: &'a PerfModel, limits: SchedulerLimits, record_gaps: bool) -> Engine<'a> {
        let blocks = limits.blocks();
        let host = limits.offload.map(|o| HostTier::new(o.blocks));
        Engine {
            block_shift: limits
                .block_tokens
                .is_power_of_two()
                .then(|| limits.block_tokens.trailing_zeros()),
            blocks_memo: Default::default(),
            perf,
            limits,
            now_s: 0.0,
            waiting: VecDeque::new(),
            running: Vec::new(),
            free_blocks: blocks,
            outcomes: VecDeque::new(),
            base: 0,
            record_gaps,
            itl: None,
            cache: PrefixCache::default(),
            host,
            stats: SchedulerStats {
                blocks_total: blocks,
                ..Default::default()
            },
        }
    }

    /// Queue a request that has arrived (the caller advances the clock to arrivals with
    /// [`Engine::idle_until`]). Returns its id.
    pub fn submit(&mut self, r: SimRequest) -> usize {
        self.enqueue(r, false)
    }

    /// Queue a request whose prompt's KV cache arrives with it (from a prefill worker of a
    /// disaggregated deployment): it only decodes, unless it is preempted and recomputed.
    pub fn submit_prefilled(&mut self, r: SimRequest) -> usize {
        self.enqueue(r, true)
    }

    fn enqueue(&mut self, r: SimRequest, prefilled: bool) -> usize {
        let id = self.base + self.outcomes.len();
        self.outcomes.push_back(SimOutcome {
            arrival_s: r.arrival_s,
            admitted_s: f64::NAN,
            output_tokens: r.output_tokens,
            prompt_tokens: r.prompt_tokens,
            ..Default::default()
        });
        let prompt = r.prompt_tokens.max(1);
        let cached = if prefilled { prompt } else { 0 };
        self.waiting.push_back(Seq {
            id,
            prompt,
            prefix: r.prefix,
            shared: 0,
            prefill_target: prompt,
            prefilled: cached,
            generated: 0,
            ctx: cached,
            loaded: 0,
            ready_s: 0.0,
            blocks: 0,
            last_token_s: 0.0,
            accept_carry: 0.0,
        });
        id
    }

    /// What happened to request `id` (panics if it was retired).
    /// Keep every request's inter-token gaps in one histogram from now on (outcomes then carry
    /// none); [`Engine::take_itl`] hands it over and starts a new one.
    pub fn keep_itl_histogram(&mut self) {
        self.itl = Some(Default::default());
    }

    /// The gaps kept since [`Engine::keep_itl_histogram`] or the last take.
    pub fn take_itl(&mut self) -> Option<servebench_core::stats::CountDistribution> {
        self.itl.as_mut().map(std::mem::take)
    }

    pub fn outcome(&self, id: usize) -> &SimOutcome {
        &self.outcomes[id - self.base]
    }

    /// Moves request `id`'s outcome out (its per-token gaps are long), leaving a default one.
    pub fn take_outcome(&mut self, id: usize) -> SimOutcome {
        std::mem::take(&mut self.outcomes[id - self.base])
    }

    fn outcome_mut(&mut self, id: usize) -> &mut SimOutcome {
        &mut self.outcomes[id - self.base]
    }

    /// Drops the outcomes of the oldest requests while they are done.
    pub fn retire_finished(&mut self) {
        while self.outcomes.front().is_some_and(|o| o.done) {
            self.outcomes.pop_front();
            self.base += 1;
        }
    }

    /// Withdraws request `id` (its client went away): it leaves the queue or the running batch
    /// and its KV blocks are freed, as vLLM does when a stream is cancelled.
    pub fn abort(&mut self, id: usize) {
        if id < self.base || self.outcome(id).done {
            return;
        }
        if let Some(i) = self.running.iter().position(|s| s.id == id) {
            let mut s = self.running.remove(i);
            self.free_blocks += s.blocks;
            self.release_shared(&mut s);
        } else if let Some(i) = self.waiting.iter().position(|s| s.id == id) {
            self.waiting.remove(i);
        }
        let o = self.outcome_mut(id);
        o.aborted = true;
        o.done = true;
    }

    /// KV-cache blocks in use now (cached blocks nobody uses are free to take).
    pub fn kv_blocks_used(&self) -> u64 {
        self.limits.blocks() - self.free_blocks - self.cache.evictable()
    }

    /// Blocks held by the prefix cache.
    pub fn cached_blocks(&self) -> u64 {
        self.cache.blocks()
    }

    /// Blocks held in CPU memory, and how many it can hold (offloading; else `None`).
    pub fn host_blocks(&self) -> Option<(u64, u64)> {
        self.host.as_ref().map(|h| (h.blocks(), h.capacity()))
    }

    /// Frees blocks for `need` by evicting unused cached ones; true if `need` fits then.
    fn make_room(&mut self, need: u64) -> bool {
        if need > self.free_blocks {
            let freed = self.cache.evict(need - self.free_blocks);
            self.free_blocks += freed;
        }
        need <= self.free_blocks
    }

    /// A sequence leaving the batch stops using its cached blocks.
    fn release_shared(&mut self, s: &mut Seq) {
        if let Some(p) = &s.prefix {
            self.cache.release(p, s.shared);
        }
        s.shared = 0;
    }

    /// A waiting sequence about to be admitted takes its prompt's cached leading blocks.
    fn take_cached(&mut self, s: &mut Seq) {
        s.ready_s = 0.0;
        let Some(p) = s.prefix.clone() else { return };
        if s.prefilled > 0 {
            return;
        }
        let block = self.limits.block_tokens;
        // At least one prompt token is computed (its logits give the first output token).
        let limit = ((s.prefill_target - 1) / block) as usize;
        let limit = limit.min(p.len());
        let hit = self.cache.acquire(&p, limit);
        let loaded = match &mut self.host {
            Some(h) => h.take(&p[hit as usize..limit]),
            None => 0,
        };
        s.shared = hit;
        s.loaded = loaded * block;
        s.prefilled = (hit + loaded) * block;
        s.ctx = s.prefilled;
    }

    /// A finished sequence leaves its computed full prompt blocks cached and frees the rest.
    fn finish(&mut self, mut s: Seq) {
        let mut freed = s.blocks;
        if let Some(p) = s.prefix.clone() {
            if let Some(h) = &mut self.host {
                h.store_all(&p);
            }
            let kept = self.cache.insert(&p, s.shared, s.blocks);
            freed = freed.saturating_sub(kept);
            self.release_shared(&mut s);
        }
        self.free_blocks += freed;
    }

    /// Requests admitted but not finished, and requests waiting.
    pub fn load(&self) -> (usize, usize) {
        (self.running.len(), self.waiting.len())
    }

    pub fn has_work(&self) -> bool {
        !self.running.is_empty() || !self.waiting.is_empty()
    }

    /// Nothing to do: jump the clock forward.
    pub fn idle_until(&mut self, t: f64) {
        if t > self.now_s {
            self.now_s = t;
        }
    }

    /// Blocks a sequence of `tokens` tokens needs (more than its length where its cache has a
    /// fixed part: a window, a recurrent state).
    fn blocks_for(&self, tokens: u64) -> u64 {
        let mut memo = self.blocks_memo.borrow_mut();
        if let Some(&b) = memo.get(tokens as usize).filter(|&&b| b != 0) {
            return u64::from(b - 1);
        }
        let b = self.compute_blocks(tokens);
        // Sequence lengths are bounded by the model's context: remember each length's blocks.
        if tokens < MEMO_LENGTHS && b < u64::from(u32::MAX) {
            if memo.len() <= tokens as usize {
                memo.resize(tokens as usize + 1, 0);
            }
            memo[tokens as usize] = b as u32 + 1;
        }
        b
    }

    fn compute_blocks(&self, tokens: u64) -> u64 {
        let kv = self.perf.kv_tokens(tokens);
        // Blocks are a power of two tokens in every engine: a shift, not a division.
        match self.block_shift {
            Some(s) => (kv >> s) + u64::from(kv & ((1 << s) - 1) != 0),
            None => kv.div_ceil(self.limits.block_tokens),
        }
    }

    /// Tokens a decoding sequence puts through the model per step (1, or draft + 1).
    fn decode_width(&self) -> u64 {
        self.perf
            .dep
            .spec
            .map_or(1, |sd| 1 + sd.draft_tokens as u64)
    }

    /// Run one step; returns the ids of requests that finished in it.
    pub fn step(&mut self) -> Vec<usize> {
        self.step_emitting(|_| {})
    }

    /// Runs, in one go, the pure-decode steps [`Engine::step`] would run next while nothing
    /// can change the batch: no request waiting, every running sequence decoding one token a
    /// step (no speculation) within the token budget, none finishing, the KV cache holding
    /// all of them to the end, and each step starting before `until_s` (the caller's next
    /// outside event). Each step costs and records exactly what `step` would; only the
    /// per-step bookkeeping is skipped. Returns the steps run (0: take `step`).
    pub fn fast_decode(&mut self, until_s: f64) -> u64 {
        let n = self.running.len() as u64;
        if n == 0
            || !self.limits.fast_decode
            || !self.waiting.is_empty()
            || self.perf.dep.spec.is_some()
            || n > self.limits.max_batched_tokens
        {
            return 0;
        }
        let mut k = u64::MAX;
        for s in &self.running {
            if s.prefilling() || s.generated == 0 {
                return 0;
            }
            let out = self.outcomes[s.id - self.base].output_tokens;
            // Stop before anyone's last token: `step` reports finishes.
            k = k.min(out.saturating_sub(s.generated + 1));
        }
        let extra = |k: u64, e: &Engine<'_>| -> u64 {
            e.running
                .iter()
                .map(|s| e.blocks_for(s.ctx + k).saturating_sub(s.blocks))
                .sum()
        };
        if k == 0 || extra(k, self) > self.free_blocks {
            return 0;
        }
        // The steps, costed as `step` costs them.
        let mut ends = Vec::new();
        while (ends.len() as u64) < k && self.now_s < until_s {
            let j = ends.len() as u64;
            let mut batch = StepBatch::default();
            for s in &self.running {
                self.perf.add_decode(&mut batch, s.ctx + j, 1);
            }
            let cost = self.perf.step(&batch);
            self.now_s += cost.total_s;
            self.stats.steps += 1;
            self.stats.busy_s += cost.total_s;
            self.stats.busy_energy_j += self.perf.board_power_w(&cost) * cost.total_s;
            ends.push(self.now_s);
        }
        let taken = ends.len() as u64;
        let need = extra(taken, self);
        self.free_blocks -= need;
        let used = self.kv_blocks_used();
        self.stats.max_blocks_used = self.stats.max_blocks_used.max(used);
        self.stats.max_running = self.stats.max_running.max(n);
        let Some(&last) = ends.last() else { return 0 };
        if let Some(itl) = &mut self.itl {
            // Each sequence's first gap is its own; the rest are the steps', shared by all.
            for s in &self.running {
                itl.add(round_u32((ends[0] - s.last_token_s) * 1e6));
            }
            for w in ends.windows(2) {
                itl.add_count(round_u32((w[1] - w[0]) * 1e6), n);
            }
        }
        for i in 0..self.running.len() {
            let blocks = self.blocks_for(self.running[i].ctx + taken);
            let s = &mut self.running[i];
            s.blocks = s.blocks.max(blocks);
            let o = &mut self.outcomes[s.id - self.base];
            if self.record_gaps {
                let mut prev = s.last_token_s;
                for &t in &ends {
                    o.gaps_us.push(round_u32((t - prev) * 1e6));
                    prev = t;
                }
            }
            s.ctx += taken;
            s.generated += taken;
            self.stats.generation_tokens += taken;
            s.last_token_s = last;
            o.last_token_s = last;
        }
        taken
    }

    /// [`Engine::step`], also telling `emit` the tokens each request got from the step (the
    /// real-time server streams them as one chunk per request per step).
    pub fn step_emitting(&mut self, mut emit: impl FnMut(Emission)) -> Vec<usize> {
        let width = self.decode_width();
        let accept = self.perf.dep.spec.map_or(1.0, |sd| sd.acceptance_length);
        let mut budget = self.limits.max_batched_tokens;
        let mut batch = StepBatch::default();
        // (index in running, tokens of prefill this step) — decode uses 1.
        let mut work: Vec<(usize, u64)> = Vec::with_capacity(self.running.len() + 8);

        // 1. Running sequences, oldest first.
        let mut i = 0;
        while i < self.running.len() && budget > 0 {
            let s = &self.running[i];
            if s.ready_s > self.now_s {
                i += 1; // its cache is still crossing the host link
                continue;
            }
            let need_tokens = if s.prefilling() {
                (s.prefill_target - s.prefilled).min(budget)
            } else {
                width.min(budget)
            };
            let new_total = s.ctx + need_tokens;
            let extra = self
                .blocks_for(new_total)
                .saturating_sub(s.blocks + s.shared);
            if !self.make_room(extra) {
                // Out of KV: preempt the youngest running sequence (possibly this one).
                let victim = self.running.len() - 1;
                self.preempt(victim);
                if victim == i {
                    break;
                }
                continue; // retry the same sequence with the freed blocks
            }
            self.free_blocks -= extra;
            self.running[i].blocks += extra;
            budget -= need_tokens;
            work.push((i, need_tokens));
            i += 1;
        }

        // 2. Waiting requests, FCFS, while budget, sequence slots and blocks allow.
        while budget > 0 && (self.running.len() as u64) < self.limits.max_num_seqs {
            let Some(mut s) = self.waiting.pop_front() else {
                break;
            };
            self.take_cached(&mut s);
            // A request whose KV arrived with it decodes in its first step.
            let chunk = if s.prefilling() {
                (s.prefill_target - s.prefilled).min(budget)
            } else {
                width.min(budget)
            };
            let need = if self.limits.no_evict {
                // Everything it will ever hold: the prompt, the rest of its output, and one
                // step of draft tokens.
                let out = self.outcomes[s.id - self.base].output_tokens;
                self.blocks_for(s.prefill_target + out.saturating_sub(s.generated) + width)
            } else {
                self.blocks_for(s.ctx + chunk)
            }
            .saturating_sub(s.shared);
            if !self.make_room(need) {
                // FCFS: nobody jumps the queue. It gives its cached blocks back meanwhile.
                self.release_shared(&mut s);
                s.prefilled = 0;
                s.ctx = 0;
                s.loaded = 0;
                self.waiting.push_front(s);
                break;
            }
            self.free_blocks -= need;
            s.blocks = need;
            let o = &mut self.outcomes[s.id - self.base];
            if o.admitted_s.is_nan() {
                o.admitted_s = self.now_s;
                self.stats.admission_order.push(s.id);
                self.stats.prompt_tokens += s.prompt;
                if s.prefix.is_some() {
                    o.cached_tokens = s.ctx;
                    self.stats.prefix_queries += s.prompt;
                    self.stats.prefix_hits += s.ctx - s.loaded;
                    self.stats.offload_hits += s.loaded;
                }
            }
            if s.loaded > 0 {
                // Computing starts once the offloaded cache is back on the GPU.
                let per_token = self.limits.offload.map_or(0.0, |o| o.s_per_token);
                s.ready_s = self.now_s + s.loaded as f64 * per_token;
                s.loaded = 0;
                self.running.push(s);
                continue;
            }
            budget -= chunk;
            self.running.push(s);
            work.push((self.running.len() - 1, chunk));
        }

        if work.is_empty() {
            // Everyone running waits for offloaded cache: the clock moves to the first arrival.
            let loading = self
                .running
                .iter()
                .map(|s| s.ready_s)
                .filter(|&t| t > self.now_s);
            if let Some(t) = loading.reduce(f64::min) {
                self.now_s = t;
                return Vec::new();
            }
            // Nothing runs and the head of the queue does not fit in an empty cache: it never
            // will. Refuse it (an engine answers such a request with an error) so the rest go on.
            if self.running.is_empty() {
                if let Some(s) = self.waiting.pop_front() {
                    let o = self.outcome_mut(s.id);
                    o.rejected = true;
                    o.done = true;
                    return vec![s.id];
                }
            }
            return Vec::new();
        }
        for &(idx, n) in &work {
            let s = &self.running[idx];
            if s.prefilling() {
                // Tokens at positions ctx..ctx+n attend to what is before them.
                self.perf.add_prefill(&mut batch, s.ctx, n);
            } else {
                self.perf.add_decode(&mut batch, s.ctx, n);
            }
        }
        let cost = self.perf.step(&batch);
        self.now_s += cost.total_s;
        self.stats.steps += 1;
        self.stats.busy_s += cost.total_s;
        self.stats.busy_energy_j += self.perf.board_power_w(&cost) * cost.total_s;
        let used = self.kv_blocks_used();
        self.stats.max_blocks_used = self.stats.max_blocks_used.max(used);
        self.stats.max_running = self.stats.max_running.max(self.running.len() as u64);

        // 3. Apply the step: prefill progress, tokens out.
        let now = self.now_s;
        let mut finished = Vec::new();
        let mut gap_run: Option<(u32, u64)> = None;
        for &(idx, n) in &work {
            let s = &mut self.running[idx];
            let emitted = if s.prefilling() {
                s.ctx += n;
                s.prefilled += n;
                // The step completing the prefill samples the next token.
                u64::from(s.prefilled == s.prefill_target)
            } else {
                // Speculative decoding emits the accepted tokens: `accept` on average, ≥ 1.
                s.accept_carry += accept;
                // `as` truncates: floor for the non-negative, 0 like floor's for the negative.
                let e = (s.accept_carry as u64).max(1);
                s.accept_carry -= e as f64;
                let left = self.outcomes[s.id - self.base]
                    .output_tokens
                    .saturating_sub(s.generated);
                let e = e.min(left.max(1));
                s.ctx += e;
                e
            };
            if emitted == 0 {
                continue;
            }
            let o = &mut self.outcomes[s.id - self.base];
            s.generated += emitted;
            self.stats.generation_tokens += emitted;
            emit((s.id, emitted));
            if o.first_token_s == 0.0 {
                o.first_token_s = now;
            } else if s.last_token_s > 0.0 {
                let gap = round_u32((now - s.last_token_s) * 1e6);
                if self.itl.is_some() {
                    // Most sequences of a step share their gap: counted once per run.
                    match &mut gap_run {
                        Some((g, n)) if *g == gap => *n += 1,
                        run => {
                            if let (Some((g, n)), Some(itl)) = (run.take(), &mut self.itl) {
                                itl.add_count(g, n);
                            }
                            *run = Some((gap, 1));
                        }
                    }
                } else if self.record_gaps {
                    o.gaps_us.push(gap);
                }
            }
            s.last_token_s = now;
            o.last_token_s = now;
            if s.generated >= o.output_tokens {
                o.done = true;
                finished.push(s.id);
            }
        }
        if let (Some((g, n)), Some(itl)) = (gap_run, &mut self.itl) {
            itl.add_count(g, n);
        }
        if !finished.is_empty() {
            let (done, running): (Vec<Seq>, Vec<Seq>) = std::mem::take(&mut self.running)
                .into_iter()
                .partition(|s| self.outcomes[s.id - self.base].output_tokens <= s.generated);
            self.running = running;
            for s in done {
                self.finish(s);
            }
        }
        finished
    }

    fn preempt(&mut self, idx: usize) {
        let mut s = self.running.remove(idx);
        self.free_blocks += s.blocks;
        self.release_shared(&mut s);
        s.blocks = 0;
        // Recompute: the prompt and everything generated so far are prefilled again.
        s.prefill_target = s.prompt + s.generated;
        s.prefilled = 0;
        s.ctx = 0;
        self.outcome_mut(s.id).preemptions += 1;
        self.stats.preemptions += 1;
        self.waiting.push_front(s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perf::Deployment;
    use servebench_catalog::{Catalog, Precision};

    fn perf() -> PerfModel {
        let c = Catalog::builtin().unwrap();
        let d = Deployment::from_catalog(&c, "h200", "llama-3.3-70b", "vllm", Precision::Fp8, 8);
        PerfModel::new(d.unwrap()).unwrap()
    }

    /// A prompt of `blocks` full 16-token blocks named `tag`.0, `tag`.1, ...
    fn req(tag: u64, blocks: u64) -> SimRequest {
        SimRequest {
            arrival_s: 0.0,
            prompt_tokens: blocks * 16,
            output_tokens: 1,
            prefix: Some((0..blocks).map(|i| tag << 32 | i).collect()),
        }
    }

    fn run(e: &mut Engine<'_>, mut r: SimRequest) -> SimOutcome {
        r.arrival_s = e.now_s;
        let id = e.submit(r);
        while !e.outcome(id).done {
            e.step();
        }
        e.outcome(id).clone()
    }

    #[test]
    fn cached_prefixes_are_reused_until_a_larger_request_evicts_their_tails() {
        let m = perf();
        let limits = SchedulerLimits {
            // 40 blocks of 16 tokens.
            kv_capacity_tokens: 640,
            block_tokens: 16,
            ..SchedulerLimits::from_perf(&m)
        };
        let mut e = Engine::new(&m, limits, false);
        let first = run(&mut e, req(1, 20));
        assert_eq!(first.cached_tokens, 0);
        // All 20 blocks cached; one token is always computed, so 19 blocks are reused.
        let again = run(&mut e, req(1, 20));
        assert_eq!(again.cached_tokens, 19 * 16);
        assert!(again.first_token_s - again.arrival_s < first.first_token_s - first.arrival_s);
        // B needs 32 blocks (its one output token comes from the prefill step): 20 are free,
        // and 12 of A's cached blocks are evicted, its last ones first.
        let other = run(&mut e, req(2, 32));
        assert_eq!(other.cached_tokens, 0);
        // A's first 8 blocks survived; B's 32 are cached beside them.
        assert_eq!(e.cached_blocks(), 40);
        let third = run(&mut e, req(1, 20));
        assert_eq!(third.cached_tokens, 8 * 16);
        assert_eq!(e.stats.prefix_hits, (19 + 8) * 16);
        assert_eq!(e.stats.prefix_queries, (20 + 20 + 32 + 20) * 16);
    }

    #[test]
    fn blocks_evicted_from_the_gpu_come_back_from_cpu_memory_at_the_host_links_speed() {
        let m = perf();
        // 1 ms per token over the host link: loads show plainly in the first token's time.
        let offload = Offload {
            blocks: 100,
            s_per_token: 1e-3,
        };
        let limits = SchedulerLimits {
            kv_capacity_tokens: 640,
            block_tokens: 16,
            offload: Some(offload),
            ..SchedulerLimits::from_perf(&m)
        };
        let mut e = Engine::new(&m, limits, false);
        let first = run(&mut e, req(1, 20));
        run(&mut e, req(2, 32));
        // As without offloading, B evicted A's last 12 GPU blocks; CPU memory kept all 52.
        assert_eq!(e.host_blocks(), Some((52, 100)));
        let third = run(&mut e, req(1, 20));
        // 8 blocks from the GPU, the next 11 loaded (one token is always computed).
        assert_eq!(third.cached_tokens, 19 * 16);
        assert_eq!(e.stats.prefix_hits, 8 * 16);
        assert_eq!(e.stats.offload_hits, 11 * 16);
        let load = 11.0 * 16.0 * 1e-3;
        let ttft = third.first_token_s - third.arrival_s;
        let computed = first.first_token_s - first.arrival_s;
        assert!(
            ttft >= load && ttft < load + computed,
            "{ttft} vs load {load}"
        );
    }

    #[test]
    fn the_offload_budget_is_the_servers_cpu_memory_over_every_gpus_share_of_a_token() {
        let c = Catalog::builtin().unwrap();
        let mut d =
            Deployment::from_catalog(&c, "h200", "llama-3.3-70b", "vllm", Precision::Fp8, 8)
                .unwrap();
        assert_eq!(Offload::of(&PerfModel::new(d.clone()).unwrap(), 16), None);
        d.kv_offload_gb = 1_000.0;
        let m = PerfModel::new(d).unwrap();
        // Llama 3.3 70B: 80 layers × 8 KV heads × 128 dims × K and V × 1 byte (fp8) = 160 KiB
        // a token, an eighth of it on each of the 8 GPUs; H200's PCIe Gen5 x16: 64 GB/s.
        let token = 80.0 * 8.0 * 128.0 * 2.0;
        assert!((m.kv_bytes_per_token() * 8.0 - token).abs() < 1e-6);
        let o = Offload::of(&m, 16).unwrap();
        assert_eq!(o.blocks, (1e12 / token / 16.0) as u64);
        assert!((o.s_per_token - token / 8.0 / 64e9).abs() < 1e-18);
    }
}
