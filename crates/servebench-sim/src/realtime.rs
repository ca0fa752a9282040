//! The simulated engine in real time, behind the HTTP front end (`servebench sim --gpu ...`).
//!
//! One thread runs the continuous-batching scheduler ([`crate::scheduler`]) against the wall
//! clock: simulated time is `(now − start) × time_scale`. Each step is computed when it starts;
//! the thread sleeps until the step's end (an absolute deadline, so lateness never accumulates)
//! and then hands every request the tokens the step produced, as one chunk due at that end.
//! Requests join at the first step that starts after they arrived, as in vLLM; a request whose
//! client went away is aborted and its KV blocks freed.
//!
//! A decode worker of a disaggregated deployment ([`RealtimeEngine::start_decode`]) takes
//! requests prefilled elsewhere: each arrives when its cache has crossed the KV link (the
//! link's latency plus the prefill worker's bytes per GPU over its bandwidth, as
//! [`crate::disagg`] costs it in virtual time), sends its first token then, and joins the
//! batch with its prompt already cached.

use crate::disagg::KvLink;
use crate::engine::{ChunkPlan, ChunkSchedule, Engine, GenRequest, Handoff, PowerReading};
use crate::perf::PerfModel;
use crate::power::PowerMeter;
use crate::scheduler::{self, SchedulerLimits, SimRequest};
use servebench_core::clock::mono_ns;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::sync::mpsc as chunks;

enum Msg {
    Submit(Submit),
    Abort(u64),
    Stop,
}

struct Submit {
    seq: u64,
    /// When it can join a step: its body was read, or its cache has crossed the KV link.
    arrival: Instant,
    prompt: u64,
    output: u64,
    /// Its prompt's cache is here already (prefilled elsewhere, first token sent).
    prefilled: bool,
    prefix: Option<Arc<[u64]>>,
    /// Where the engine says how many prompt tokens it found cached.
    cached: Arc<AtomicU64>,
    reply: chunks::UnboundedSender<ChunkPlan>,
}

/// Not known yet (the request is not admitted).
const CACHED_UNKNOWN: u64 = u64::MAX;

/// What `GET /sim/stats` shows of the engine.
#[derive(Debug, Clone, Default, serde::Serialize)]
struct EngineState {
    running: usize,
    waiting: usize,
    steps: u64,
    preemptions: u64,
    kv_blocks_total: u64,
    kv_blocks_used: u64,
    kv_blocks_max_used: u64,
    /// Requests the engine refused (they can never fit in the KV cache).
    refused: u64,
    /// Requests aborted because their client went away.
    aborted: u64,
    /// How late the engine thread woke for a step's end, worst case, µs (tokens go out that
    /// late; a large value means the time scale is too high for this machine).
    max_wake_lag_us: u64,
    /// Prompt tokens of requests admitted with block hashes, those found in the prefix cache,
    /// and the blocks the cache holds.
    prefix_queries: u64,
    prefix_hits: u64,
    cached_blocks: u64,
    /// Offloading: prompt tokens found in CPU memory, and the blocks held there of how many.
    offload_hits: u64,
    host_blocks: Option<(u64, u64)>,
    /// Prompt and output tokens of admitted and finished requests.
    prompt_tokens: u64,
    generation_tokens: u64,
}

struct Shared {
    meter: PowerMeter,
    state: EngineState,
}

/// The `engine` profile: the performance model and scheduler, in real time.
pub struct RealtimeEngine {
    tx: Mutex<mpsc::Sender<Msg>>,
    /// The model, for the size of a prompt's cache ([`Handoff::ToDecode`]).
    perf: PerfModel,
    /// A decode worker's link from the prefill workers.
    link: Option<KvLink>,
    shared: Arc<Mutex<Shared>>,
    start: Instant,
    time_scale: f64,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// Requests carry block hashes and the scheduler caches prefixes (vLLM's and SGLang's
    /// default).
    prefix_caching: bool,
}

impl RealtimeEngine {
    /// Starts the engine thread. `time_scale` > 1 runs faster than real time.
    pub fn start(perf: PerfModel, time_scale: f64) -> std::io::Result<RealtimeEngine> {
        Self::start_with(perf, time_scale, None)
    }

    /// A decode worker: it also takes requests prefilled elsewhere, whose caches cross `link`.
    pub fn start_decode(
        perf: PerfModel,
        time_scale: f64,
        link: KvLink,
    ) -> std::io::Result<RealtimeEngine> {
        Self::start_with(perf, time_scale, Some(link))
    }

    fn start_with(
        perf: PerfModel,
        time_scale: f64,
        link: Option<KvLink>,
    ) -> std::io::Result<RealtimeEngine> {
        assert!(
            time_scale.is_finite() && time_scale > 0.0,
            "time scale must be positive"
        );
        let gpus = perf.gpus();
        let shared = Arc::new(Mutex::new(Shared {
            meter: PowerMeter::new(gpus, perf.idle_power_w()),
            state: EngineState::default(),
        }));
        let (tx, rx) = mpsc::channel();
        let start = Instant::now();
        let sh = shared.clone();
        let kept = perf.clone();
        let thread = std::thread::Builder::new()
            .name("servebench-sim-engine".into())
            .spawn(move || {
                Driver {
                    perf: &perf,
                    rx,
                    shared: sh,
                    start,
                    time_scale,
                }
                .run()
            })?;
        Ok(RealtimeEngine {
            tx: Mutex::new(tx),
            perf: kept,
            link,
            shared,
            start,
            time_scale,
            thread: Mutex::new(Some(thread)),
            prefix_caching: true,
        })
    }

    /// Turns prefix caching off (`--no-prefix-cache`) or on.
    pub fn set_prefix_caching(&mut self, on: bool) {
        self.prefix_caching = on;
    }

    fn sender(&self) -> mpsc::Sender<Msg> {
        self.tx.lock().expect("engine sender").clone()
    }

    fn sim_now_s(&self) -> f64 {
        self.start.elapsed().as_secs_f64() * self.time_scale
    }
}

impl Drop for RealtimeEngine {
    fn drop(&mut self) {
        let _ = self.sender().send(Msg::Stop);
        if let Some(t) = self.thread.lock().expect("engine thread").take() {
            let _ = t.join();
        }
    }
}

impl Engine for RealtimeEngine {
    fn name(&self) -> &'static str {
        "engine"
    }

    fn schedule(&self, req: &GenRequest, arrival: Instant) -> Box<dyn ChunkSchedule> {
        let (reply, rx) = chunks::unbounded_channel();
        let tx = self.sender();
        let mut submit = Submit {
            seq: req.seq,
            arrival,
            prompt: u64::from(req.prompt_tokens),
            output: u64::from(req.output_tokens),
            prefilled: false,
            prefix: req.prefix.clone(),
            cached: Arc::new(AtomicU64::new(CACHED_UNKNOWN)),
            reply,
        };
        let cached = submit.cached.clone();
        // A prefilled request's first token goes out when its cache is here; the engine
        // decodes the rest with the first token in its cache.
        let mut first = None;
        if let (Handoff::FromPrefill { kv_bytes_per_gpu }, Some(link)) = (req.handoff, self.link) {
            let sim_s = link.latency_s + kv_bytes_per_gpu as f64 / link.bytes_per_s;
            submit.arrival = arrival + Duration::from_secs_f64(sim_s / self.time_scale);
            first = Some(ChunkPlan {
                due: submit.arrival,
                tokens: 1,
            });
            submit.prompt += 1;
            submit.output -= 1;
            submit.prefilled = true;
        }
        // If the engine thread is gone the channel closes at once and the response ends as an
        // engine failure.
        if submit.output > 0 {
            let _ = tx.send(Msg::Submit(submit));
        }
        Box::new(RealtimeSchedule {
            rx,
            first,
            seq: req.seq,
            output: req.output_tokens,
            received: 0,
            tx,
            cached,
        })
    }

    fn handoff_kv_bytes(&self, prompt_tokens: u32) -> Option<u64> {
        Some(self.perf.seq_kv_bytes(f64::from(prompt_tokens)).ceil() as u64)
    }

    fn takes_prefilled(&self) -> bool {
        self.link.is_some()
    }

    fn power(&self) -> Option<PowerReading> {
        let t = self.sim_now_s();
        let sh = self.shared.lock().expect("engine state");
        Some(sh.meter.reading(mono_ns(), t, self.time_scale))
    }

    fn state(&self) -> Option<serde_json::Value> {
        let sh = self.shared.lock().expect("engine state");
        serde_json::to_value(&sh.state).ok()
    }

    fn prefix_block_tokens(&self) -> Option<u32> {
        self.prefix_caching
            .then(|| self.perf.dep.engine.kv_block_tokens.value.max(1.0) as u32)
    }

    fn metrics(&self) -> Option<String> {
        let st = self.shared.lock().expect("engine state").state.clone();
        let usage = st.kv_blocks_used as f64 / st.kv_blocks_total.max(1) as f64;
        let model = &self.perf.dep.model.hf_id;
        Some(if self.perf.dep.engine.id.starts_with("sglang") {
            sglang_metrics(&st, usage, model)
        } else {
            vllm_metrics(&st, usage, model)
        })
    }
}

/// vLLM's metric names (vllm/v1/metrics/loggers.py), the ones InferenceX's agentic aggregation
/// reads for cache hits and KV use; offloading, the external (connector) hits and CPU use.
fn vllm_metrics(st: &EngineState, usage: f64, model: &str) -> String {
    let l = format!("{{model_name=\"{model}\",engine=\"0\"}}");
    let offload = st.host_blocks.map_or(String::new(), |(used, total)| {
        format!(
            "# TYPE vllm:external_prefix_cache_queries counter\nvllm:external_prefix_cache_queries_total{l} {}\n\
             # TYPE vllm:external_prefix_cache_hits counter\nvllm:external_prefix_cache_hits_total{l} {}\n\
             # TYPE vllm:cpu_kv_cache_usage_perc gauge\nvllm:cpu_kv_cache_usage_perc{l} {}\n",
            st.prefix_queries,
            st.offload_hits,
            used as f64 / total.max(1) as f64
        )
    });
    offload
        + &format!(
            "# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running{l} {}\n\
         # TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting{l} {}\n\
         # TYPE vllm:kv_cache_usage_perc gauge\nvllm:kv_cache_usage_perc{l} {usage}\n\
         # TYPE vllm:prefix_cache_queries counter\nvllm:prefix_cache_queries_total{l} {}\n\
         # TYPE vllm:prefix_cache_hits counter\nvllm:prefix_cache_hits_total{l} {}\n\
         # TYPE vllm:prompt_tokens counter\nvllm:prompt_tokens_total{l} {}\n\
         # TYPE vllm:generation_tokens counter\nvllm:generation_tokens_total{l} {}\n",
            st.running,
            st.waiting,
            st.prefix_queries,
            st.prefix_hits,
            st.prompt_tokens,
            st.generation_tokens
        )
}

/// SGLang's metric names (python/sglang/srt/metrics/collector.py).
fn sglang_metrics(st: &EngineState, usage: f64, model: &str) -> String {
    let l = format!("model_name=\"{model}\"");
    format!(
        "# TYPE sglang:num_running_reqs gauge\nsglang:num_running_reqs{{{l}}} {}\n\
         # TYPE sglang:num_queue_reqs gauge\nsglang:num_queue_reqs{{{l}}} {}\n\
         # TYPE sglang:token_usage gauge\nsglang:token_usage{{{l}}} {usage}\n\
         # TYPE sglang:prompt_tokens counter\nsglang:prompt_tokens_total{{{l}}} {}\n\
         # TYPE sglang:cached_tokens counter\nsglang:cached_tokens_total{{{l},cache_source=\"device\"}} {}\n\
         sglang:cached_tokens_total{{{l},cache_source=\"host\"}} {}\n\
         # TYPE sglang:generation_tokens counter\nsglang:generation_tokens_total{{{l}}} {}\n",
        st.running,
        st.waiting,
        st.prompt_tokens,
        st.prefix_hits,
        st.offload_hits,
        st.generation_tokens
    )
}

struct RealtimeSchedule {
    rx: chunks::UnboundedReceiver<ChunkPlan>,
    /// A prefilled request's first token, before anything the engine sends.
    first: Option<ChunkPlan>,
    seq: u64,
    output: u32,
    received: u32,
    tx: mpsc::Sender<Msg>,
    cached: Arc<AtomicU64>,
}

impl ChunkSchedule for RealtimeSchedule {
    fn fault_token(&self) -> u32 {
        self.output / 2
    }

    fn cached_tokens(&self) -> Option<u32> {
        let c = self.cached.load(Ordering::Acquire);
        (c != CACHED_UNKNOWN).then(|| c.min(u64::from(u32::MAX)) as u32)
    }

    fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Option<ChunkPlan>> {
        if let Some(c) = self.first.take() {
            self.received += c.tokens;
            return Poll::Ready(Some(c));
        }
        let r = self.rx.poll_recv(cx);
        if let Poll::Ready(Some(c)) = &r {
            self.received += c.tokens;
        }
        r
    }
}

impl Drop for RealtimeSchedule {
    fn drop(&mut self) {
        if self.received < self.output {
            // The response ended early (client gone, fault): free the engine's slot.
            let _ = self.tx.send(Msg::Abort(self.seq));
        }
    }
}

struct Driver<'a> {
    perf: &'a PerfModel,
    rx: mpsc::Receiver<Msg>,
    shared: Arc<Mutex<Shared>>,
    start: Instant,
    time_scale: f64,
}

/// A request the engine knows: its scheduler id and where its chunks go.
struct Live {
    seq: u64,
    reply: chunks::UnboundedSender<ChunkPlan>,
    /// Where its cached tokens go; `None` when it takes no part in prefix caching.
    cached: Option<Arc<AtomicU64>>,
}

impl Driver<'_> {
    fn sim_s(&self, t: Instant) -> f64 {
        t.saturating_duration_since(self.start).as_secs_f64() * self.time_scale
    }

    fn wall(&self, sim_s: f64) -> Instant {
        self.start + Duration::from_secs_f64(sim_s / self.time_scale)
    }

    fn run(self) {
        let limits = SchedulerLimits::from_perf(self.perf);
        let mut engine = scheduler::Engine::new(self.perf, limits, false);
        let idle_w = self.perf.idle_power_w();
        let mut pending: VecDeque<Submit> = VecDeque::new();
        let mut live: HashMap<usize, Live> = HashMap::new();
        let mut ids: HashMap<u64, usize> = HashMap::new();
        let mut refused = 0u64;
        let mut aborted = 0u64;
        let mut max_lag = Duration::ZERO;
        let publish =
            |engine: &scheduler::Engine<'_>, pending: usize, refused, aborted, lag: Duration| {
                let (running, waiting) = engine.load();
                self.shared.lock().expect("engine state").state = EngineState {
                    running,
                    waiting: waiting + pending,
                    steps: engine.stats.steps,
                    preemptions: engine.stats.preemptions,
                    kv_blocks_total: engine.stats.blocks_total,
                    kv_blocks_used: engine.kv_blocks_used(),
                    kv_blocks_max_used: engine.stats.max_blocks_used,
                    refused,
                    aborted,
                    max_wake_lag_us: lag.as_micros() as u64,
                    prefix_queries: engine.stats.prefix_queries,
                    prefix_hits: engine.stats.prefix_hits,
                    cached_blocks: engine.cached_blocks(),
                    offload_hits: engine.stats.offload_hits,
                    host_blocks: engine.host_blocks(),
                    prompt_tokens: engine.stats.prompt_tokens,
                    generation_tokens: engine.stats.generation_tokens,
                };
            };
        loop {
            // 1. Messages: block only when there is nothing to do (until the next cache
            // arrives, if one is crossing the link).
            let now = Instant::now();
            let mut msg = if engine.has_work() || pending.front().is_some_and(|p| p.arrival <= now)
            {
                self.rx.try_recv().ok()
            } else {
                publish(&engine, pending.len(), refused, aborted, max_lag);
                let m = match pending.front() {
                    None => self
                        .rx
                        .recv()
                        .map_err(|_| mpsc::RecvTimeoutError::Disconnected),
                    Some(p) => self.rx.recv_timeout(p.arrival - now),
                };
                match m {
                    Ok(m) => Some(m),
                    Err(mpsc::RecvTimeoutError::Timeout) => None,
                    Err(mpsc::RecvTimeoutError::Disconnected) => return,
                }
            };
            while let Some(m) = msg {
                match m {
                    Msg::Stop => return,
                    // In arrival order (a cache still crossing the link arrives later).
                    Msg::Submit(s) => {
                        let at = pending.partition_point(|p| p.arrival <= s.arrival);
                        pending.insert(at, s);
                    }
                    Msg::Abort(seq) => {
                        if let Some(id) = ids.remove(&seq) {
                            engine.abort(id);
                            live.remove(&id);
                            aborted += 1;
                        } else if let Some(i) = pending.iter().position(|p| p.seq == seq) {
                            pending.remove(i);
                            aborted += 1;
                        }
                    }
                }
                msg = self.rx.try_recv().ok();
            }
            // 2. Admit what has arrived by the time the next step starts; an idle engine
            // starts when the first request arrived.
            if !engine.has_work() {
                let Some(first) = pending.front() else {
                    continue;
                };
                if first.arrival > Instant::now() {
                    continue;
                }
                engine.idle_until(self.sim_s(first.arrival));
            }
            while pending
                .front()
                .is_some_and(|p| self.sim_s(p.arrival) <= engine.now_s)
            {
                let s = pending.pop_front().expect("front exists");
                let r = SimRequest {
                    arrival_s: self.sim_s(s.arrival),
                    prompt_tokens: s.prompt,
                    output_tokens: s.output,
                    prefix: s.prefix.clone(),
                };
                let id = if s.prefilled {
                    engine.submit_prefilled(r)
                } else {
                    engine.submit(r)
                };
                ids.insert(s.seq, id);
                live.insert(
                    id,
                    Live {
                        seq: s.seq,
                        reply: s.reply,
                        cached: s.prefix.is_some().then_some(s.cached),
                    },
                );
            }
            // 3. One step, computed now, delivered at its end.
            let start_s = engine.now_s;
            let energy0 = engine.stats.busy_energy_j;
            let mut out = Vec::new();
            let finished = engine.step_emitting(|e| out.push(e));
            let end_s = engine.now_s;
            if end_s > start_s {
                let power = (engine.stats.busy_energy_j - energy0) / (end_s - start_s);
                self.shared
                    .lock()
                    .expect("engine state")
                    .meter
                    .set(start_s, power);
            }
            let due = self.wall(end_s);
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
            max_lag = max_lag.max(Instant::now().saturating_duration_since(due));
            let mut gone = Vec::new();
            for (id, tokens) in out {
                let Some(l) = live.get(&id) else { continue };
                // Admitted by now: its cached tokens are known before its first chunk goes.
                if let Some(c) = &l.cached {
                    c.store(engine.outcome(id).cached_tokens, Ordering::Release);
                }
                if l.reply
                    .send(ChunkPlan {
                        due,
                        tokens: tokens as u32,
                    })
                    .is_err()
                {
                    gone.push(id);
                }
            }
            for id in gone {
                if let Some(l) = live.remove(&id) {
                    ids.remove(&l.seq);
                    engine.abort(id);
                    aborted += 1;
                }
            }
            for id in finished {
                if engine.outcome(id).rejected {
                    refused += 1;
                }
                // Dropping the sender ends the response (early, for a refused request).
                if let Some(l) = live.remove(&id) {
                    ids.remove(&l.seq);
                }
            }
            engine.retire_finished();
            self.shared
                .lock()
                .expect("engine state")
                .meter
                .set(end_s, idle_w);
            publish(&engine, pending.len(), refused, aborted, max_lag);
        }
    }
}
