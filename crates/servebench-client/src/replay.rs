//! Replaying multi-turn sessions (coding-agent traces) the way InferenceX's agentic runs do.
//!
//! - **Lanes.** `lanes` users, each working through one session at a time: its main turns in
//!   order, each sent when the previous one has ended and its pause has passed, and the
//!   subagents each turn forks. A lane holds its place until the whole session, subagents
//!   included, has drained, then takes the next session of the trace. Requests in flight can
//!   exceed the lanes where subagents fan out.
//! - **Subagents.** A subagent starts after the main turn it is anchored to (plus its recorded
//!   offset from that turn's end) and the next main turn waits for it (spawn and join, as
//!   AIPerf replays Weka traces); the last turn's subagents run in the background and the lane
//!   waits for them. Subagents anchored before the session's first turn are not replayed.
//! - **Pauses.** Before a turn: its recorded `think` time, else the recorded gap since the
//!   previous turn ended; never more than `pause_cap` (InferenceX caps each tree's idle gaps
//!   at 300 s).
//! - **Start offsets and warmup.** A lane's first session starts at a turn drawn uniformly in
//!   `[start_ratio.0, start_ratio.1]` of its main turns; before the window, the turn before it
//!   is sent once with `max_tokens` 1 (its prompt is the history: the server's cache fills as
//!   if the lane had played it), then `warmups_per_lane` one-token requests of filler text.
//!   Warmups are kept apart from the measured requests.
//! - **End.** With a duration, no turn starts after it (in-flight ones finish and count), and
//!   the trace wraps around when it runs out; without, each session of the trace is played once.
//! - **Prompts** are the text of their hash blocks ([`BlockText`]), with a salt new for each
//!   play and each point: replays never hit each other's cache. Where a trace's block ids are
//!   shared across sessions (Mooncake), the salt is one per point.
//! - **Context.** Turns whose input plus output pass `max_context` are left out and counted
//!   (InferenceX's 256k corpus drops such requests the same way, keeping the rest's timing).
//! - **Theoretical hits**: each measured turn records how many of its leading blocks its
//!   session had sent before (history included), the hits an unbounded prefix cache gives.
//! - **Memory** follows the sessions in flight: the trace is streamed, and a finished measured
//!   request is counted into its I/O thread's tallies (latencies, gaps and lengths sketched:
//!   bounded by the values' ranges, not their number), written to the request log, and
//!   dropped. Only the warmups' few records stay, for their lines after the run.

use crate::agentic::AgenticTally;
use crate::exchange::{RequestIds, Scratch, Slot, Target};
use crate::metrics::{Sketch, Tally};
use crate::record::{RequestRecord, TurnTag};
use crate::request_log::{LogBuffer, LogWriter, RequestLog};
use crate::runner::{self, LagProbe, PointRun, Progress, PHASE_DONE, PHASE_MEASURE, PHASE_WARMUP};
use crate::server_watch::{Edge, Watch};
use rand::{Rng, SeedableRng};
use servebench_core::clock::{mono_ns, process_cpu_ns, thread_cpu_ns, unix_time_s};
use servebench_core::hash::{fnv1a, mix64 as mix};
use servebench_core::result::GoodputSpec;
use servebench_core::stats::CountDistribution;
use servebench_dataset::blocks::BlockText;
use servebench_dataset::trace::{PrefixTrie, Session, Turn};
use servebench_dataset::{DatasetError, Prompt, RequestSpec};
use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::Duration;

/// A stream of sessions.
pub type SessionIter = Box<dyn Iterator<Item = Result<Session, DatasetError>> + Send>;
/// Opens the trace from its start (called again to wrap around).
pub type Opener = Box<dyn Fn() -> Result<SessionIter, DatasetError> + Send + Sync>;

/// Everything that defines one replayed point.
pub struct ReplaySpec {
    pub target: Target,
    pub blocks: Arc<BlockText>,
    pub lanes: usize,
    /// A lane's first session starts at this fraction of its turns (drawn uniformly).
    pub start_ratio: (f64, f64),
    pub warmups_per_lane: usize,
    pub pause_cap: Duration,
    pub duration: Option<Duration>,
    /// Turns whose input plus output pass this are left out (not sent).
    pub max_context: Option<u32>,
    pub seed: u64,
    pub threads: usize,
    /// Prefix of the `X-Request-Id` header and of session ids, unique per point.
    pub request_id_prefix: String,
    /// The SLOs goodput counts against.
    pub goodput: Option<GoodputSpec>,
}

/// A replayed point: its window, its measured requests tallied, and its sessions' counts.
pub struct Replayed {
    /// The window; it keeps the warmups' records, not the measured ones (the tallies have them).
    pub run: PointRun,
    pub tally: Tally<Sketch>,
    pub agentic: AgenticTally,
    pub counts: ReplayCounts,
}

/// Who else follows a replayed point.
#[derive(Default)]
pub struct Observers<'a> {
    /// Gets each request's line as it finishes (`--requests-out`).
    pub requests_out: Option<RequestLog>,
    /// Scrapes the server's `/metrics` over the window.
    pub(crate) server: Option<&'a Watch>,
}

/// Sessions played and finished during the window.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayCounts {
    pub sessions_started: u64,
    /// Played to their last turn, subagents included, before the window closed.
    pub sessions_completed: u64,
    /// Turns left out for passing `max_context`.
    pub skipped_over_context: u64,
    /// The trace could not be read further (a bad line): the run stopped taking sessions.
    pub trace_error: Option<String>,
    /// Writing the request log failed (the result is still whole).
    pub requests_out_error: Option<String>,
    /// The most measured requests in flight at once (above the lanes where subagents fan out).
    pub max_in_flight: u64,
    /// When the first measured request completed (0: none did).
    pub first_end_ns: u64,
}

/// Filler warmups: this many prompt tokens, one output token.
const FILLER_TOKENS: u32 = 16;

struct Source {
    open: Opener,
    wrap: bool,
    state: Mutex<SourceState>,
}

#[derive(Default)]
struct SourceState {
    sessions: Option<SessionIter>,
    plays: u32,
    /// The trace has run out and is not wrapped: every later call gets `None`.
    exhausted: bool,
    error: Option<String>,
}

impl Source {
    /// The next session with turns and its play number; `None` at the end (or on an error,
    /// which is kept).
    fn next(&self) -> Option<(u32, Session)> {
        let mut st = self.state.lock().expect("lock");
        // Each pass over the trace must yield a playable session, or the trace has none.
        let mut fresh_pass = false;
        loop {
            if st.error.is_some() || st.exhausted {
                return None;
            }
            if st.sessions.is_none() {
                match (self.open)() {
                    Ok(it) => st.sessions = Some(it),
                    Err(e) => {
                        st.error = Some(e.to_string());
                        return None;
                    }
                }
                fresh_pass = true;
            }
            match st.sessions.as_mut().expect("opened").next() {
                Some(Ok(s)) if s.turns.is_empty() => continue,
                Some(Ok(s)) => {
                    let n = st.plays;
                    st.plays += 1;
                    return Some((n, s));
                }
                Some(Err(e)) => {
                    st.error = Some(e.to_string());
                    return None;
                }
                None => {
                    st.sessions = None;
                    // Without wrapping the trace is played once; a whole pass that gave
                    // nothing to play ends it too, rather than spinning.
                    if !self.wrap || fresh_pass {
                        st.exhausted = true;
                        return None;
                    }
                }
            }
        }
    }
}

struct Shared {
    spec: ReplaySpec,
    source: Source,
    /// Salt of this point's prompts.
    salt: u64,
    next_index: AtomicU32,
    next_warmup: AtomicU32,
    start_ns: AtomicU64,
    stop_ns: AtomicU64,
    progress: Arc<Progress>,
    /// The prefixes sent of sessions whose block ids are shared across the trace.
    shared_trie: Mutex<PrefixTrie>,
    sessions_started: AtomicU64,
    sessions_completed: AtomicU64,
    skipped: AtomicU64,
    first_end: AtomicU64,
    in_flight: AtomicU64,
    max_in_flight: AtomicU64,
}

impl Shared {
    fn stopped(&self) -> bool {
        mono_ns() >= self.stop_ns.load(Ordering::Relaxed)
    }

    /// A turn longer than the context allowed; counted when `count`.
    fn too_long(&self, t: &Turn, count: bool) -> bool {
        let long = self.spec.max_context.is_some_and(|max| {
            u64::from(t.input_tokens) + u64::from(t.output_tokens) > u64::from(max)
        });
        if long && count {
            self.skipped.fetch_add(1, Ordering::Relaxed);
        }
        long
    }
}

/// One play of a session by a lane.
struct Play {
    number: u32,
    lane: u32,
    session: Session,
    salt: u64,
    trie: RefCell<PrefixTrie>,
}

impl Play {
    /// Adds a prompt's blocks to what the session has sent; returns its leading hits.
    fn sent(&self, sh: &Shared, t: &Turn) -> u32 {
        if self.session.shared_blocks {
            sh.shared_trie.lock().expect("lock").insert(&t.hash_ids)
        } else {
            self.trie.borrow_mut().insert(&t.hash_ids)
        }
    }
}

struct Ctx {
    sh: Arc<Shared>,
    scratch: RefCell<Scratch>,
    pool: RefCell<Vec<Slot>>,
    tally: RefCell<Tally<Sketch>>,
    agentic: RefCell<AgenticTally>,
    warmup_records: RefCell<Vec<RequestRecord>>,
    log: Option<RefCell<LogBuffer>>,
    connections: Cell<u64>,
}

impl Ctx {
    /// Counts a finished measured request and writes its line, then lets it go (a warmup's
    /// record stays, for its line after the run).
    fn keep(&self, rec: RequestRecord) {
        if rec.warmup {
            self.warmup_records.borrow_mut().push(rec);
            return;
        }
        self.tally.borrow_mut().add(&rec);
        self.agentic.borrow_mut().add(&rec, &self.sh.first_end);
        if let Some(log) = &self.log {
            let start = self.sh.start_ns.load(Ordering::Relaxed);
            log.borrow_mut().push(&rec, start);
        }
    }
}

/// What a request is for.
#[derive(Clone, Copy)]
enum Kind {
    Measured {
        agent: u32,
        turn: u32,
    },
    /// The history before a lane's start turn (main turn `turn`).
    Primer {
        turn: u32,
    },
    Filler,
}

/// Replays one point; blocks until every lane has finished.
pub fn run(
    spec: ReplaySpec,
    open: Opener,
    progress: Arc<Progress>,
    observers: Observers<'_>,
) -> Replayed {
    let threads = spec.threads.clamp(1, spec.lanes.max(1));
    let wrap = spec.duration.is_some();
    let salt = mix(spec.seed ^ fnv1a(spec.request_id_prefix.as_bytes()));
    let sh = Arc::new(Shared {
        source: Source {
            open,
            wrap,
            state: Mutex::new(SourceState::default()),
        },
        spec,
        salt,
        next_index: AtomicU32::new(0),
        next_warmup: AtomicU32::new(0),
        start_ns: AtomicU64::new(0),
        stop_ns: AtomicU64::new(u64::MAX),
        progress: progress.clone(),
        shared_trie: Mutex::new(PrefixTrie::default()),
        sessions_started: AtomicU64::new(0),
        sessions_completed: AtomicU64::new(0),
        skipped: AtomicU64::new(0),
        first_end: AtomicU64::new(u64::MAX),
        in_flight: AtomicU64::new(0),
        max_in_flight: AtomicU64::new(0),
    });
    progress.warmup_total.store(
        (sh.spec.lanes * (sh.spec.warmups_per_lane + 1)) as u64,
        Ordering::Relaxed,
    );
    progress.phase.store(PHASE_WARMUP, Ordering::Relaxed);

    let log = observers.requests_out.map(LogWriter::spawn);
    let warmed = Arc::new(Barrier::new(threads + 1));
    let go = Arc::new(Barrier::new(threads + 1));
    let mut probe_txs = Vec::new();
    let mut workers = Vec::new();
    let mut first_lane = 0;
    for w in 0..threads {
        let lanes = runner::share(sh.spec.lanes, w, threads);
        let (ptx, prx) = tokio::sync::mpsc::unbounded_channel::<u64>();
        probe_txs.push(ptx);
        let (sh, warmed, go) = (sh.clone(), warmed.clone(), go.clone());
        let lanes = first_lane..first_lane + lanes as u32;
        first_lane = lanes.end;
        let log = log.as_ref().map(|l| l.buffer(Some(sh.spec.lanes)));
        workers.push(
            std::thread::Builder::new()
                .name(format!("sb-replay-{w}"))
                .spawn(move || worker(lanes, sh, log, (warmed, go), prx))
                .expect("spawn I/O thread"),
        );
    }
    warmed.wait();
    let process_cpu0 = process_cpu_ns();
    let start_ns = mono_ns();
    let start_unix = unix_time_s();
    sh.start_ns.store(start_ns, Ordering::SeqCst);
    if let Some(w) = observers.server {
        w.edge(Edge::Start);
    }
    if let Some(d) = sh.spec.duration {
        sh.stop_ns
            .store(start_ns + d.as_nanos() as u64, Ordering::SeqCst);
    }
    progress.phase.store(PHASE_MEASURE, Ordering::Relaxed);
    go.wait();
    let probe = LagProbe::start(probe_txs);

    let mut out = PointRun {
        records: Vec::new(),
        warmup_records: Vec::new(),
        start_ns,
        end_ns: start_ns,
        start_unix,
        end_unix: start_unix,
        loop_lag_us: CountDistribution::new(),
        thread_cpu: Vec::new(),
        process_cpu: 0.0,
        connections_opened: 0,
        retokenize_skipped: 0,
        itl_us: None,
    };
    let mut tally = Tally::new(sh.spec.goodput.clone(), None);
    let mut agentic = AgenticTally::default();
    let mut log_error = None;
    for h in workers {
        let mut w = h.join().expect("I/O thread panicked");
        log_error = log_error.or(w.log_error.take());
        tally.merge(w.tally);
        agentic.merge(w.agentic);
        out.warmup_records.append(&mut w.warmup_records);
        out.loop_lag_us.merge(&w.lag);
        out.thread_cpu.push(w.cpu);
        out.connections_opened += w.connections;
    }
    if let Some(w) = observers.server {
        w.edge(Edge::End);
    }
    let process_cpu1 = process_cpu_ns();
    probe.finish();
    out.end_ns = tally.last_end_ns().max(start_ns);
    out.end_unix = start_unix + (out.end_ns - start_ns) as f64 / 1e9;
    out.process_cpu = (process_cpu1 - process_cpu0) as f64 / (out.end_ns - start_ns).max(1) as f64;
    out.warmup_records.sort_unstable_by_key(|r| r.index);
    progress.phase.store(PHASE_DONE, Ordering::Relaxed);
    let written = log
        .map(|l| l.finish(&out.warmup_records, Some(sh.spec.lanes), start_ns))
        .and_then(Result::err)
        .map(|e| e.to_string());
    let first_end = sh.first_end.load(Ordering::Relaxed);
    let counts = ReplayCounts {
        sessions_started: sh.sessions_started.load(Ordering::Relaxed),
        sessions_completed: sh.sessions_completed.load(Ordering::Relaxed),
        skipped_over_context: sh.skipped.load(Ordering::Relaxed),
        trace_error: sh.source.state.lock().expect("lock").error.clone(),
        requests_out_error: log_error.or(written),
        max_in_flight: sh.max_in_flight.load(Ordering::Relaxed),
        first_end_ns: if first_end == u64::MAX { 0 } else { first_end },
    };
    Replayed {
        run: out,
        tally,
        agentic,
        counts,
    }
}

struct WorkerOut {
    tally: Tally<Sketch>,
    agentic: AgenticTally,
    warmup_records: Vec<RequestRecord>,
    log_error: Option<String>,
    lag: CountDistribution,
    cpu: f64,
    connections: u64,
}

fn worker(
    lanes: std::ops::Range<u32>,
    sh: Arc<Shared>,
    log: Option<LogBuffer>,
    (warmed, go): (Arc<Barrier>, Arc<Barrier>),
    probe_rx: tokio::sync::mpsc::UnboundedReceiver<u64>,
) -> WorkerOut {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let local = tokio::task::LocalSet::new();
    let tally = Tally::new(sh.spec.goodput.clone(), None);
    let ctx = Rc::new(Ctx {
        sh,
        scratch: RefCell::new(Scratch::new()),
        pool: RefCell::new(Vec::new()),
        tally: RefCell::new(tally),
        agentic: RefCell::new(AgenticTally::default()),
        warmup_records: RefCell::new(Vec::new()),
        log: log.map(RefCell::new),
        connections: Cell::new(0),
    });
    let starts = local.block_on(&rt, {
        let ctx = ctx.clone();
        async move {
            let tasks: Vec<_> = lanes
                .map(|lane| tokio::task::spawn_local(warm_lane(ctx.clone(), lane)))
                .collect();
            let mut starts = Vec::new();
            for t in tasks {
                starts.push(t.await.unwrap_or(None));
            }
            starts
        }
    });
    warmed.wait();
    go.wait();
    let cpu0 = thread_cpu_ns();
    let t0 = mono_ns();
    let lag = Rc::new(RefCell::new(CountDistribution::new()));
    local.block_on(&rt, {
        let ctx = ctx.clone();
        let lag = lag.clone();
        async move {
            let probe = tokio::task::spawn_local(runner::record_lag(probe_rx, lag));
            let tasks: Vec<_> = starts
                .into_iter()
                .map(|first| tokio::task::spawn_local(lane(ctx.clone(), first)))
                .collect();
            for t in tasks {
                let _ = t.await;
            }
            probe.abort();
        }
    });
    let cpu = (thread_cpu_ns() - cpu0) as f64 / (mono_ns() - t0).max(1) as f64;
    let lag = lag.borrow().clone();
    drop(local);
    let ctx = Rc::into_inner(ctx).expect("the lanes are done with the context");
    WorkerOut {
        log_error: ctx.log.and_then(|l| l.into_inner().finish()),
        tally: ctx.tally.into_inner(),
        agentic: ctx.agentic.into_inner(),
        warmup_records: ctx.warmup_records.take(),
        lag,
        cpu,
        connections: ctx.connections.get(),
    }
}

/// The lane's next play, or `None` when the trace is done.
fn next_play(ctx: &Ctx, lane: u32) -> Option<Rc<Play>> {
    let (number, session) = ctx.sh.source.next()?;
    let salt = if session.shared_blocks {
        ctx.sh.salt
    } else {
        mix(ctx.sh.salt ^ mix(u64::from(number) + 1))
    };
    Some(Rc::new(Play {
        number,
        lane,
        session,
        salt,
        trie: RefCell::new(PrefixTrie::default()),
    }))
}

/// Before the window: the lane's first session, where in it the lane starts, and warmups.
async fn warm_lane(ctx: Rc<Ctx>, lane: u32) -> Option<(Rc<Play>, usize)> {
    let play = next_play(&ctx, lane)?;
    let spec = &ctx.sh.spec;
    let turns = &play.session.turns;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(spec.seed ^ mix(u64::from(lane)));
    let (lo, hi) = spec.start_ratio;
    let r = if hi > lo {
        rng.random_range(lo..=hi)
    } else {
        lo
    };
    let start = ((r * turns.len() as f64).floor() as usize).min(turns.len() - 1);
    if start > 0 {
        // The session's history is in the cache (and counts as sent) as if the lane had played it.
        let before = turns[start].start;
        let mut history: Vec<&Turn> = turns[..start].iter().collect();
        for sub in &play.session.subagents {
            if sub.after_turn.is_some_and(|k| k < start) {
                history.extend(sub.turns.iter().filter(|t| t.start < before));
            }
        }
        history.sort_by(|a, b| a.start.total_cmp(&b.start));
        for t in history {
            play.sent(&ctx.sh, t);
        }
        if !ctx.sh.too_long(&turns[start - 1], false) {
            let kind = Kind::Primer {
                turn: start as u32 - 1,
            };
            send(&ctx, &play, kind, &turns[start - 1], Duration::ZERO).await;
        }
    }
    for _ in 0..spec.warmups_per_lane {
        send(&ctx, &play, Kind::Filler, &turns[start], Duration::ZERO).await;
    }
    Some((play, start))
}

/// A lane in the window: its first session from its start turn, then whole sessions.
async fn lane(ctx: Rc<Ctx>, first: Option<(Rc<Play>, usize)>) {
    let Some((mut play, mut start)) = first else {
        return;
    };
    loop {
        if ctx.sh.stopped() {
            return;
        }
        ctx.sh.sessions_started.fetch_add(1, Ordering::Relaxed);
        if play_session(&ctx, play.clone(), start).await {
            ctx.sh.sessions_completed.fetch_add(1, Ordering::Relaxed);
        }
        match next_play(&ctx, play.lane) {
            Some(p) => (play, start) = (p, 0),
            None => return,
        }
    }
}

/// Plays a session's main turns from `start` with their subagents; true if it got to the end.
async fn play_session(ctx: &Rc<Ctx>, play: Rc<Play>, start: usize) -> bool {
    let turns = &play.session.turns;
    let cap = ctx.sh.spec.pause_cap;
    let mut forked: Vec<tokio::task::JoinHandle<bool>> = Vec::new();
    let mut complete = true;
    for k in start..turns.len() {
        // The turn waits for the subagents the previous one forked (spawn and join).
        for f in forked.drain(..) {
            complete &= f.await.unwrap_or(false);
        }
        let pause = if k == start {
            Duration::ZERO
        } else {
            pause_between(&turns[k - 1], &turns[k], cap)
        };
        let kind = Kind::Measured {
            agent: 0,
            turn: k as u32,
        };
        if !ctx.sh.too_long(&turns[k], true) && !send(ctx, &play, kind, &turns[k], pause).await {
            complete = false;
            break;
        }
        for (a, sub) in play.session.subagents.iter().enumerate() {
            if sub.after_turn == Some(k) && !sub.turns.is_empty() {
                let offset =
                    (sub.start - turns[k].start - turns[k].duration.unwrap_or(0.0)).max(0.0);
                let delay = Duration::from_secs_f64(offset.min(cap.as_secs_f64()));
                let (ctx, play) = (ctx.clone(), play.clone());
                forked.push(tokio::task::spawn_local(async move {
                    play_subagent(&ctx, &play, a, delay).await
                }));
            }
        }
    }
    // The last turn's subagents ran in the background; the lane waits for them.
    for f in forked {
        complete &= f.await.unwrap_or(false);
    }
    complete
}

/// Plays subagent `a` of a session after `delay`; true if it got to its end.
async fn play_subagent(ctx: &Rc<Ctx>, play: &Play, a: usize, delay: Duration) -> bool {
    let turns = &play.session.subagents[a].turns;
    let cap = ctx.sh.spec.pause_cap;
    for (k, t) in turns.iter().enumerate() {
        let pause = if k == 0 {
            delay
        } else {
            pause_between(&turns[k - 1], t, cap)
        };
        let kind = Kind::Measured {
            agent: a as u32 + 1,
            turn: k as u32,
        };
        if !ctx.sh.too_long(t, true) && !send(ctx, play, kind, t, pause).await {
            return false;
        }
    }
    true
}

/// Where an agent's turn `k` splits into chat messages: each earlier turn it extends (its
/// blocks, but for a last partial one, begin this turn's) ends a user message at its input
/// and adds its output as the assistant's reply; a turn that does not extend the one before
/// (compaction, a rewritten context) starts the history over. A pure function of the session,
/// so a turn's messages are those of the turn before plus the new ones, and a server caches
/// them as the completions replay's text.
fn history_cuts(turns: &[Turn], k: usize, block: u32) -> Vec<u32> {
    let mut cuts: Vec<u32> = Vec::new();
    for w in turns[..=k].windows(2) {
        let (prev, next) = (&w[0], &w[1]);
        let full = (prev.input_tokens / block.max(1)) as usize;
        let extends = full <= prev.hash_ids.len()
            && full <= next.hash_ids.len()
            && prev.hash_ids[..full] == next.hash_ids[..full];
        let reply_end = prev.input_tokens.saturating_add(prev.output_tokens);
        if extends && reply_end < next.input_tokens && cuts.last() < Some(&prev.input_tokens) {
            cuts.extend([prev.input_tokens, reply_end]);
        } else if !extends {
            cuts.clear();
        }
    }
    cuts
}

/// Turn `k` of an agent as chat messages (a JSON array): the history, split at
/// [`history_cuts`], alternately the user's and the assistant's, the last the user's.
fn chat_history(blocks: &BlockText, play: &Play, turns: &[Turn], k: usize) -> String {
    let t = &turns[k];
    let block = play.session.block_size;
    let mut bounds = vec![0];
    bounds.extend(history_cuts(turns, k, block));
    bounds.push(t.input_tokens);
    let mut out = String::from("[");
    let mut content = String::new();
    for (i, w) in bounds.windows(2).enumerate() {
        content.clear();
        blocks.write_range(&mut content, play.salt, &t.hash_ids, block, w[0]..w[1]);
        let role = if i % 2 == 0 { "user" } else { "assistant" };
        if i > 0 {
            out.push(',');
        }
        out.push_str(&serde_json::json!({"role": role, "content": content}).to_string());
    }
    out.push(']');
    out
}

/// The pause before `next`: its recorded think time, else the recorded gap since `prev` ended.
fn pause_between(prev: &Turn, next: &Turn, cap: Duration) -> Duration {
    let gap = next
        .think_time
        .unwrap_or_else(|| next.start - prev.start - prev.duration.unwrap_or(0.0));
    Duration::from_secs_f64(gap.clamp(0.0, cap.as_secs_f64()))
}

/// Sends one request of a play after `pause` and records it; false (nothing sent) when the
/// window closed meanwhile. The prompt is written during the pause, so it leaves on time.
async fn send(ctx: &Ctx, play: &Play, kind: Kind, t: &Turn, pause: Duration) -> bool {
    let sh = &ctx.sh;
    let sched_ns = mono_ns() + pause.as_nanos() as u64;
    let blocks = &sh.spec.blocks;
    let mut text = String::new();
    let chat = sh.spec.target.api == servebench_core::Api::Chat;
    let (input, output) = match kind {
        Kind::Filler => {
            blocks.filler(&mut text, play.salt, FILLER_TOKENS);
            (FILLER_TOKENS, 1)
        }
        Kind::Primer { turn } | Kind::Measured { turn, .. } => {
            let agent = match kind {
                Kind::Measured { agent, .. } => agent,
                _ => 0,
            };
            let turns = play.session.agent_turns(agent as usize);
            if chat {
                text = chat_history(blocks, play, turns, turn as usize);
            } else {
                let s = &play.session;
                blocks.write(
                    &mut text,
                    play.salt,
                    &t.hash_ids,
                    s.block_size,
                    t.input_tokens,
                );
            }
            let out = if matches!(kind, Kind::Primer { .. }) {
                1
            } else {
                t.output_tokens.max(1)
            };
            (t.input_tokens, out)
        }
    };
    let is_history = chat && !matches!(kind, Kind::Filler);
    let left = sched_ns.saturating_sub(mono_ns());
    if left > 0 {
        // Only a real wait yields: a zero sleep would let other lanes write their prompts
        // first, and this one would leave late.
        tokio::time::sleep(Duration::from_nanos(left)).await;
    }
    if sh.stopped() {
        return false;
    }
    let tag = match kind {
        Kind::Measured { agent, turn } => {
            let hit_blocks = play.sent(sh, t);
            let block = u64::from(play.session.block_size);
            Some(TurnTag {
                play: play.number,
                agent,
                turn,
                lane: play.lane,
                blocks: t.hash_ids.len() as u32,
                hit_blocks,
                hit_tokens: (u64::from(hit_blocks) * block).min(u64::from(t.input_tokens)) as u32,
            })
        }
        _ => None,
    };
    let warmup = tag.is_none();
    let index = if warmup {
        sh.next_warmup.fetch_add(1, Ordering::Relaxed)
    } else {
        sh.next_index.fetch_add(1, Ordering::Relaxed)
    };
    let id = format!(
        "{}-{}{index}",
        sh.spec.request_id_prefix,
        if warmup { 'w' } else { 'm' }
    );
    let session = match tag {
        Some(TurnTag { agent, .. }) if agent > 0 => {
            format!("{}-s{}-a{agent}", sh.spec.request_id_prefix, play.number)
        }
        _ => format!("{}-s{}", sh.spec.request_id_prefix, play.number),
    };
    let request = || RequestSpec {
        prompt: if is_history {
            Prompt::Messages(text.as_str())
        } else {
            Prompt::Text(Cow::Borrowed(text.as_str()))
        },
        input_len: input,
        output_len: output,
    };
    let record = |resent: bool| RequestRecord {
        index,
        warmup,
        sched_ns,
        resent,
        turn: tag,
        ..Default::default()
    };
    let mut slot = ctx.pool.borrow_mut().pop().unwrap_or_default();
    if !warmup {
        let now = sh.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
        sh.max_in_flight.fetch_max(now, Ordering::Relaxed);
    }
    let (rec, opened) = runner::send(
        &mut slot,
        &ctx.scratch,
        &sh.spec.target,
        RequestIds {
            request: &id,
            session: Some(&session),
        },
        request,
        record,
        None,
    )
    .await;
    if !warmup {
        sh.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
    ctx.pool.borrow_mut().push(slot);
    ctx.connections.set(ctx.connections.get() + opened);
    let p = &sh.progress;
    if warmup {
        p.warmup_done.fetch_add(1, Ordering::Relaxed);
    } else {
        p.done.fetch_add(1, Ordering::Relaxed);
        if rec.ok() {
            p.output_tokens
                .fetch_add(u64::from(rec.output_tokens()), Ordering::Relaxed);
        } else {
            p.failed.fetch_add(1, Ordering::Relaxed);
        }
    }
    ctx.keep(rec);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turn(input: u32, output: u32, blocks: &[u64]) -> Turn {
        Turn {
            start: 0.0,
            input_tokens: input,
            output_tokens: output,
            hash_ids: blocks.to_vec(),
            think_time: None,
            duration: None,
            streaming: true,
        }
    }

    #[test]
    fn a_turn_splits_where_the_turns_it_extends_ended_and_replied() {
        // Blocks of 10: 25 tokens (2 full blocks and a partial), then 40 and 60 extending it,
        // then a compacted context that shares nothing, then one extending that.
        let turns = [
            turn(25, 5, &[1, 2, 3]),
            turn(40, 5, &[1, 2, 4, 5]),
            turn(60, 5, &[1, 2, 4, 5, 6, 7]),
            turn(30, 5, &[9, 8, 7]),
            turn(50, 5, &[9, 8, 7, 6, 5]),
        ];
        assert_eq!(history_cuts(&turns, 0, 10), Vec::<u32>::new());
        assert_eq!(history_cuts(&turns, 1, 10), [25, 30]);
        assert_eq!(history_cuts(&turns, 2, 10), [25, 30, 40, 45]);
        assert_eq!(history_cuts(&turns, 3, 10), Vec::<u32>::new());
        assert_eq!(history_cuts(&turns, 4, 10), [30, 35]);
        // A reply longer than what the next turn adds: no room for a user message, no cut.
        let short = [turn(25, 20, &[1, 2, 3]), turn(40, 5, &[1, 2, 4, 5])];
        assert_eq!(history_cuts(&short, 1, 10), Vec::<u32>::new());

        // As chat messages: alternately the user's and the assistant's, the text written whole.
        let tok = servebench_tokenizer::Tokenizer::builtin("cl100k_base").unwrap();
        let blocks = BlockText::new(&tok).unwrap();
        let play = Play {
            number: 0,
            lane: 0,
            session: Session {
                id: "s".into(),
                block_size: 10,
                shared_blocks: false,
                turns: turns.to_vec(),
                subagents: Vec::new(),
            },
            salt: 3,
            trie: Default::default(),
        };
        let msgs: serde_json::Value =
            serde_json::from_str(&chat_history(&blocks, &play, &turns, 2)).unwrap();
        let shape: Vec<(&str, usize)> = msgs
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                let text = m["content"].as_str().unwrap();
                (m["role"].as_str().unwrap(), tok.encode(text).len())
            })
            .collect();
        assert_eq!(
            shape,
            [
                ("user", 25),
                ("assistant", 5),
                ("user", 10),
                ("assistant", 5),
                ("user", 15)
            ]
        );
        let joined: String = msgs
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["content"].as_str().unwrap())
            .collect();
        let mut whole = String::new();
        blocks.write(&mut whole, 3, &turns[2].hash_ids, 10, 60);
        assert_eq!(joined, whole);
    }
}
