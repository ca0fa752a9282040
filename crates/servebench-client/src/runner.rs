//! Running one benchmark point: warmups, then the measured requests in a closed loop (exactly
//! C in flight) or an open loop (gamma/Poisson arrivals, optionally capped by a FIFO queue),
//! on one or more I/O threads, each a single-threaded tokio runtime.
//!
//! Timing truth is the point of this module:
//! - connections are opened (and warmed) before the window starts, and kept alive;
//! - open-loop arrivals are paced by a dedicated thread sleeping to each arrival time with
//!   microsecond slack, not by tokio's millisecond timer wheel;
//! - a probe thread sends a timestamp to every I/O thread each millisecond; how late it is
//!   handled is the event-loop lag that tells whether the client kept up (`self_check`).

use crate::exchange::{self, Scratch, Slot, Target};
use crate::record::RequestRecord;
use rand::SeedableRng;
use rand_distr::Distribution;
use servebench_core::clock::{mono_ns, process_cpu_ns, thread_cpu_ns, unix_time_s};
use servebench_core::result::RequestRate;
use servebench_core::stats::CountDistribution;
use servebench_dataset::Dataset;
use servebench_tokenizer::Tokenizer;
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Barrier, Mutex};
use std::time::Duration;

/// Everything that defines one point.
#[derive(Clone)]
pub struct PointSpec {
    pub target: Target,
    pub dataset: Arc<Dataset>,
    /// Maximum requests in flight; `None` = unlimited (open loop only).
    pub concurrency: Option<usize>,
    pub rate: RequestRate,
    pub burstiness: f64,
    /// Stop issuing requests after this long instead of after the dataset's count.
    pub duration: Option<Duration>,
    pub seed: u64,
    pub threads: usize,
    /// Re-tokenize generated text with this tokenizer (on an idle-priority thread).
    pub retokenize: Option<Arc<Tokenizer>>,
    /// Prefix of the `X-Request-Id` header, unique per point.
    pub request_id_prefix: String,
}

/// Live counters for a progress display; updated once per request, never per chunk.
#[derive(Debug, Default)]
pub struct Progress {
    /// 0 = preparing, 1 = warmup, 2 = measuring, 3 = finished.
    pub phase: AtomicU8,
    pub warmup_total: AtomicU64,
    pub warmup_done: AtomicU64,
    pub total: AtomicU64,
    pub done: AtomicU64,
    pub failed: AtomicU64,
    pub output_tokens: AtomicU64,
}

pub const PHASE_WARMUP: u8 = 1;
pub const PHASE_MEASURE: u8 = 2;
pub const PHASE_DONE: u8 = 3;

/// The raw outcome of a point, before statistics.
pub struct PointRun {
    /// Measured requests, ordered by index (none for a trace replay, which tallies them as
    /// they finish: `replay::Replayed`).
    pub records: Vec<RequestRecord>,
    pub warmup_records: Vec<RequestRecord>,
    pub start_ns: u64,
    pub end_ns: u64,
    pub start_unix: f64,
    pub end_unix: f64,
    /// Event-loop lag samples (µs) from all I/O threads during the window.
    pub loop_lag_us: CountDistribution,
    /// CPU of each I/O thread during the window, as a fraction of one core.
    pub thread_cpu: Vec<f64>,
    pub process_cpu: f64,
    pub connections_opened: u64,
    pub retokenize_skipped: u64,
    /// The inter-token gaps (µs) of the measured requests, given whole where they come as one
    /// histogram (the simulator in virtual time); `None`: each record's own.
    pub itl_us: Option<CountDistribution>,
}

/// Texts waiting to be re-tokenized may not exceed this many bytes; beyond it a request's
/// client-side count is skipped (and counted as skipped) rather than growing memory.
const RETOKENIZE_BACKLOG_LIMIT: usize = 16 << 20;

/// A measured request's index and its generated text, on the way to the re-tokenizer.
type Generated = (u32, Vec<u8>);

struct Shared {
    spec: PointSpec,
    next_warmup: AtomicUsize,
    next: AtomicUsize,
    /// Number of measured requests to issue (usize::MAX with a duration).
    limit: usize,
    start_ns: AtomicU64,
    stop_issuing_ns: AtomicU64,
    progress: Arc<Progress>,
    retok_tx: Mutex<Option<mpsc::Sender<Generated>>>,
    backlog: Arc<AtomicUsize>,
    retok_skipped: AtomicU64,
}

/// Run one point. Blocks until every measured request has finished or failed.
pub fn run_point(spec: PointSpec, progress: Arc<Progress>) -> PointRun {
    let threads = spec.threads.max(1);
    let limit = if spec.duration.is_some() {
        usize::MAX
    } else {
        spec.dataset.len()
    };
    progress.total.store(
        if spec.duration.is_some() {
            0
        } else {
            limit as u64
        },
        Ordering::Relaxed,
    );
    progress
        .warmup_total
        .store(spec.dataset.warmup_len() as u64, Ordering::Relaxed);

    // Re-tokenizer on an idle-priority thread: it only uses CPU the I/O threads leave free.
    let backlog = Arc::new(AtomicUsize::new(0));
    let (retok_tx, retok_handle) = match &spec.retokenize {
        Some(tok) => {
            let (tx, rx) = mpsc::channel::<Generated>();
            let (tok, backlog) = (tok.clone(), backlog.clone());
            let h = std::thread::Builder::new()
                .name("sb-retokenize".into())
                .spawn(move || retokenize_thread(tok, rx, backlog))
                .expect("spawn retokenizer");
            (Some(tx), Some(h))
        }
        None => (None, None),
    };

    let shared = Arc::new(Shared {
        spec,
        next_warmup: AtomicUsize::new(0),
        next: AtomicUsize::new(0),
        limit,
        start_ns: AtomicU64::new(0),
        stop_issuing_ns: AtomicU64::new(u64::MAX),
        progress: progress.clone(),
        retok_tx: Mutex::new(retok_tx),
        backlog,
        retok_skipped: AtomicU64::new(0),
    });

    let warmed = Arc::new(Barrier::new(threads + 1));
    let go = Arc::new(Barrier::new(threads + 1));
    let mut probe_txs = Vec::new();
    let mut arrival_txs = Vec::new();
    let mut workers = Vec::new();
    for w in 0..threads {
        let (ptx, prx) = tokio::sync::mpsc::unbounded_channel::<u64>();
        let (atx, arx) = tokio::sync::mpsc::unbounded_channel::<(usize, u64)>();
        probe_txs.push(ptx);
        arrival_txs.push(atx);
        let (sh, warmed, go) = (shared.clone(), warmed.clone(), go.clone());
        workers.push(
            std::thread::Builder::new()
                .name(format!("sb-io-{w}"))
                .spawn(move || worker(w, threads, sh, warmed, go, prx, arx))
                .expect("spawn I/O thread"),
        );
    }

    progress.phase.store(PHASE_WARMUP, Ordering::Relaxed);
    warmed.wait();
    let process_cpu0 = process_cpu_ns();
    let start_ns = mono_ns();
    let start_unix = unix_time_s();
    shared.start_ns.store(start_ns, Ordering::SeqCst);
    if let Some(d) = shared.spec.duration {
        shared
            .stop_issuing_ns
            .store(start_ns + d.as_nanos() as u64, Ordering::SeqCst);
    }
    progress.phase.store(PHASE_MEASURE, Ordering::Relaxed);
    go.wait();

    let probe = LagProbe::start(probe_txs);
    let pacer = if shared.spec.rate.is_infinite() {
        drop(arrival_txs);
        None
    } else {
        let sh = shared.clone();
        Some(
            std::thread::Builder::new()
                .name("sb-pacer".into())
                .spawn(move || pace_arrivals(&sh, start_ns, arrival_txs))
                .expect("spawn pacer"),
        )
    };

    let mut records = Vec::new();
    let mut warmup_records = Vec::new();
    let mut loop_lag_us = CountDistribution::new();
    let mut thread_cpu = Vec::new();
    let mut connections_opened = 0;
    for h in workers {
        let out = h.join().expect("I/O thread panicked");
        records.extend(out.records);
        warmup_records.extend(out.warmup_records);
        loop_lag_us.merge(&out.loop_lag_us);
        thread_cpu.push(out.cpu);
        connections_opened += out.connections_opened;
    }
    let process_cpu1 = process_cpu_ns();
    probe.finish();
    if let Some(p) = pacer {
        let _ = p.join();
    }
    let end_ns = records
        .iter()
        .map(|r| r.end_ns)
        .max()
        .unwrap_or(start_ns)
        .max(start_ns);
    let end_unix = start_unix + (end_ns - start_ns) as f64 / 1e9;

    // Let the re-tokenizer finish and attach its counts.
    drop(shared.retok_tx.lock().expect("lock").take());
    if let Some(h) = retok_handle {
        let counts = h.join().expect("retokenizer panicked");
        let mut by_index = vec![
            None;
            records
                .iter()
                .map(|r| r.index as usize + 1)
                .max()
                .unwrap_or(0)
        ];
        for (i, c) in counts {
            if let Some(slot) = by_index.get_mut(i as usize) {
                *slot = Some(c);
            }
        }
        for r in &mut records {
            if let Some(Some(c)) = by_index.get(r.index as usize) {
                r.client_output_tokens = Some(*c);
            }
        }
    }
    records.sort_unstable_by_key(|r| r.index);
    warmup_records.sort_unstable_by_key(|r| r.index);
    progress.phase.store(PHASE_DONE, Ordering::Relaxed);
    let wall = (end_ns - start_ns).max(1) as f64;
    PointRun {
        records,
        warmup_records,
        start_ns,
        end_ns,
        start_unix,
        end_unix,
        loop_lag_us,
        thread_cpu,
        process_cpu: (process_cpu1 - process_cpu0) as f64 / wall,
        connections_opened,
        retokenize_skipped: shared.retok_skipped.load(Ordering::Relaxed),
        itl_us: None,
    }
}

fn retokenize_thread(
    tok: Arc<Tokenizer>,
    rx: mpsc::Receiver<Generated>,
    backlog: Arc<AtomicUsize>,
) -> Vec<(u32, u32)> {
    set_idle_priority();
    let mut out = Vec::new();
    while let Ok((i, text)) = rx.recv() {
        let s = String::from_utf8_lossy(&text);
        out.push((i, tok.count(&s) as u32));
        backlog.fetch_sub(text.len(), Ordering::Relaxed);
    }
    out
}

/// A thread that sends a timestamp to every I/O thread each millisecond; how late each is
/// handled ([`record_lag`]) is that thread's event-loop lag.
pub(crate) struct LagProbe {
    running: Arc<AtomicBool>,
    handle: std::thread::JoinHandle<()>,
}

impl LagProbe {
    pub(crate) fn start(txs: Vec<tokio::sync::mpsc::UnboundedSender<u64>>) -> LagProbe {
        let running = Arc::new(AtomicBool::new(true));
        let r = running.clone();
        let handle = std::thread::Builder::new()
            .name("sb-lag-probe".into())
            .spawn(move || {
                set_timer_slack_ns(1000);
                while r.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(1));
                    let t = mono_ns();
                    for tx in &txs {
                        let _ = tx.send(t);
                    }
                }
            })
            .expect("spawn probe");
        LagProbe { running, handle }
    }

    pub(crate) fn finish(self) {
        self.running.store(false, Ordering::Relaxed);
        let _ = self.handle.join();
    }
}

/// Records, in µs, how late each probe timestamp is handled on this thread's event loop.
pub(crate) async fn record_lag(
    mut rx: tokio::sync::mpsc::UnboundedReceiver<u64>,
    lag: Rc<RefCell<CountDistribution>>,
) {
    while let Some(sent) = rx.recv().await {
        let l = mono_ns().saturating_sub(sent);
        lag.borrow_mut().add((l / 1000).min(u32::MAX as u64) as u32);
    }
}

/// Sleep to each arrival time and hand the request to its I/O thread.
fn pace_arrivals(
    sh: &Shared,
    start_ns: u64,
    txs: Vec<tokio::sync::mpsc::UnboundedSender<(usize, u64)>>,
) {
    set_timer_slack_ns(1000);
    let RequestRate::PerSecond(rate) = sh.spec.rate else {
        return;
    };
    let shape = sh.spec.burstiness.max(1e-6);
    let gamma = rand_distr::Gamma::new(shape, 1.0 / (rate * shape)).expect("valid gamma");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(sh.spec.seed ^ 0x9e37_79b9_7f4a_7c15);
    let stop = sh.stop_issuing_ns.load(Ordering::SeqCst);
    let mut offset_s = 0.0f64;
    let mut i = 0usize;
    while i < sh.limit {
        let due = start_ns + (offset_s * 1e9) as u64;
        if due >= stop {
            break;
        }
        loop {
            let now = mono_ns();
            if now >= due {
                break;
            }
            std::thread::sleep(Duration::from_nanos(due - now));
        }
        if txs[i % txs.len()].send((i, due)).is_err() {
            break;
        }
        i += 1;
        offset_s += gamma.sample(&mut rng);
    }
}

struct WorkerOut {
    records: Vec<RequestRecord>,
    warmup_records: Vec<RequestRecord>,
    loop_lag_us: CountDistribution,
    cpu: f64,
    connections_opened: u64,
}

/// Requests assigned to worker `w` of `n` when `total` are spread evenly.
pub(crate) fn share(total: usize, w: usize, n: usize) -> usize {
    total / n + usize::from(w < total % n)
}

struct Ctx {
    sh: Arc<Shared>,
    scratch: RefCell<Scratch>,
    pool: RefCell<Vec<Slot>>,
    records: RefCell<Vec<RequestRecord>>,
    connections: std::cell::Cell<u64>,
}

fn worker(
    w: usize,
    n: usize,
    sh: Arc<Shared>,
    warmed: Arc<Barrier>,
    go: Arc<Barrier>,
    probe_rx: tokio::sync::mpsc::UnboundedReceiver<u64>,
    mut arrivals: tokio::sync::mpsc::UnboundedReceiver<(usize, u64)>,
) -> WorkerOut {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let local = tokio::task::LocalSet::new();
    let ctx = Rc::new(Ctx {
        sh: sh.clone(),
        scratch: RefCell::new(Scratch::new()),
        pool: RefCell::new(Vec::new()),
        records: RefCell::new(Vec::new()),
        connections: std::cell::Cell::new(0),
    });
    let spec = &sh.spec;
    let warmups = spec.dataset.warmup_len();
    let conc = spec.concurrency;
    // Connections this thread keeps open for the measured window.
    let my_slots = match conc {
        Some(c) => share(c, w, n),
        None => share(spec.dataset.len().min(256), w, n),
    };

    // ---- warmup (closed loop), then pre-connect every slot
    let warm_conc = share(conc.unwrap_or(warmups).min(warmups), w, n);
    let warmup_records = local.block_on(&rt, {
        let ctx = ctx.clone();
        async move {
            let mut tasks = Vec::new();
            for _ in 0..warm_conc {
                let ctx = ctx.clone();
                tasks.push(tokio::task::spawn_local(async move {
                    let mut slot = take_slot(&ctx);
                    loop {
                        let j = ctx.sh.next_warmup.fetch_add(1, Ordering::Relaxed);
                        if j >= ctx.sh.spec.dataset.warmup_len() {
                            break;
                        }
                        let now = mono_ns();
                        run_one(&ctx, &mut slot, j, true, now, 0).await;
                    }
                    ctx.pool.borrow_mut().push(slot);
                }));
            }
            for t in tasks {
                let _ = t.await;
            }
            let warm: Vec<RequestRecord> = std::mem::take(&mut *ctx.records.borrow_mut());
            let target = &ctx.sh.spec.target;
            let mut pool = std::mem::take(&mut *ctx.pool.borrow_mut());
            while pool.len() < my_slots {
                pool.push(Slot::new());
            }
            for slot in pool.iter_mut() {
                if !slot.is_connected() && slot.connect(target).await.is_ok() {
                    ctx.connections.set(ctx.connections.get() + 1);
                }
            }
            *ctx.pool.borrow_mut() = pool;
            warm
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
            // Event-loop lag probe: stops with the window.
            let probe = tokio::task::spawn_local(record_lag(probe_rx, lag));
            let start = ctx.sh.start_ns.load(Ordering::SeqCst);
            if ctx.sh.spec.rate.is_infinite() {
                // Closed loop: each slot sends its next request as soon as the last one ends.
                let mut tasks = Vec::new();
                for _ in 0..my_slots {
                    let ctx = ctx.clone();
                    tasks.push(tokio::task::spawn_local(async move {
                        let mut slot = take_slot(&ctx);
                        let mut free_at = start;
                        loop {
                            if mono_ns() >= ctx.sh.stop_issuing_ns.load(Ordering::Relaxed) {
                                break;
                            }
                            let i = ctx.sh.next.fetch_add(1, Ordering::Relaxed);
                            if i >= ctx.sh.limit {
                                break;
                            }
                            run_one(&ctx, &mut slot, i, false, free_at, 0).await;
                            free_at = mono_ns();
                        }
                        ctx.pool.borrow_mut().push(slot);
                    }));
                }
                for t in tasks {
                    let _ = t.await;
                }
            } else {
                // Open loop: arrivals come from the pacer; a FIFO semaphore caps concurrency.
                let cap = conc.map(|c| share(c, w, n).max(1));
                let sem = Rc::new(tokio::sync::Semaphore::new(
                    cap.unwrap_or(tokio::sync::Semaphore::MAX_PERMITS),
                ));
                let mut tasks = Vec::new();
                while let Some((i, due)) = arrivals.recv().await {
                    let ctx = ctx.clone();
                    let sem = sem.clone();
                    tasks.push(tokio::task::spawn_local(async move {
                        let waiting = mono_ns();
                        let _permit = sem.acquire().await.expect("semaphore open");
                        let queued = mono_ns() - waiting;
                        let mut slot = take_slot(&ctx);
                        run_one(&ctx, &mut slot, i, false, due, queued).await;
                        ctx.pool.borrow_mut().push(slot);
                    }));
                }
                for t in tasks {
                    let _ = t.await;
                }
            }
            probe.abort();
        }
    });
    let wall = (mono_ns() - t0).max(1);
    let cpu = (thread_cpu_ns() - cpu0) as f64 / wall as f64;
    let records = std::mem::take(&mut *ctx.records.borrow_mut());
    let loop_lag_us = lag.borrow().clone();
    let out = WorkerOut {
        records,
        warmup_records,
        loop_lag_us,
        cpu,
        connections_opened: ctx.connections.get(),
    };
    drop(ctx);
    out
}

fn take_slot(ctx: &Ctx) -> Slot {
    ctx.pool.borrow_mut().pop().unwrap_or_default()
}

async fn run_one(ctx: &Ctx, slot: &mut Slot, i: usize, warmup: bool, sched_ns: u64, queue_ns: u64) {
    let spec = &ctx.sh.spec;
    let ds = &spec.dataset;
    let request = || {
        if warmup {
            ds.warmup(i)
        } else {
            ds.request(i % ds.len())
        }
    };
    let record = |resent: bool| RequestRecord {
        index: i as u32,
        warmup,
        sched_ns,
        queue_ns,
        resent,
        ..Default::default()
    };
    let want_text = !warmup && spec.retokenize.is_some();
    let out_len = request().output_len;
    let mut text = if want_text {
        Vec::with_capacity(out_len as usize * 6)
    } else {
        Vec::new()
    };
    let id = format!(
        "{}-{}{}",
        spec.request_id_prefix,
        if warmup { 'w' } else { 'm' },
        i
    );
    let (mut rec, opened) = send(
        slot,
        &ctx.scratch,
        &spec.target,
        exchange::RequestIds {
            request: &id,
            session: None,
        },
        request,
        record,
        want_text.then_some(&mut text),
    )
    .await;
    ctx.connections.set(ctx.connections.get() + opened);
    if warmup {
        ctx.sh.progress.warmup_done.fetch_add(1, Ordering::Relaxed);
    } else {
        let p = &ctx.sh.progress;
        p.done.fetch_add(1, Ordering::Relaxed);
        if rec.ok() {
            p.output_tokens
                .fetch_add(rec.output_tokens() as u64, Ordering::Relaxed);
            if want_text {
                let len = text.len();
                if ctx.sh.backlog.load(Ordering::Relaxed) + len > RETOKENIZE_BACKLOG_LIMIT {
                    rec.retokenize_skipped = true;
                    ctx.sh.retok_skipped.fetch_add(1, Ordering::Relaxed);
                } else if let Some(tx) = ctx.sh.retok_tx.lock().expect("lock").as_ref() {
                    ctx.sh.backlog.fetch_add(len, Ordering::Relaxed);
                    let _ = tx.send((i as u32, text));
                }
            }
        } else {
            p.failed.fetch_add(1, Ordering::Relaxed);
        }
    }
    ctx.records.borrow_mut().push(rec);
}

/// Sends one request and reads its response into a record; returns it and how many
/// connections were opened for it.
///
/// A reused connection the server closed cleanly before answering at all (no byte, no reset)
/// was done with the connection and never took the request, which goes out once more on a
/// new connection, as HTTP clients do (RFC 9112 §9.3.1). A reset, or anything else, stays a
/// failure.
pub(crate) async fn send<'d>(
    slot: &mut Slot,
    scratch: &RefCell<Scratch>,
    target: &Target,
    ids: exchange::RequestIds<'_>,
    request: impl Fn() -> servebench_dataset::RequestSpec<'d>,
    record: impl Fn(bool) -> RequestRecord,
    mut text: Option<&mut Vec<u8>>,
) -> (RequestRecord, u64) {
    let mut opened = 0;
    let mut resent = false;
    loop {
        let req = request();
        let mut rec = record(resent);
        rec.gaps_us.reserve(req.output_len.min(65_536) as usize);
        if let Some(t) = text.as_deref_mut() {
            t.clear();
        }
        let had_conn = slot.is_connected();
        exchange::execute(
            slot,
            scratch,
            target,
            ids,
            req,
            &mut rec,
            text.as_deref_mut(),
        )
        .await;
        if !had_conn && rec.connect_ns > 0 {
            opened += 1;
        }
        let unanswered = had_conn && rec.connect_ns == 0 && rec.closed_unanswered;
        if resent || !unanswered {
            rec.gaps_us.shrink_to_fit();
            return (rec, opened);
        }
        resent = true;
    }
}

/// Let this thread run only when nothing else wants the CPU (Linux `SCHED_IDLE`).
fn set_idle_priority() {
    // SAFETY: sched_setscheduler on the calling thread (pid 0) with a valid param struct.
    unsafe {
        let param = libc::sched_param { sched_priority: 0 };
        libc::sched_setscheduler(0, libc::SCHED_IDLE, &param);
    }
}

/// Ask the kernel to wake this thread's sleeps within `ns` of their deadline (default 50 µs).
pub(crate) fn set_timer_slack_ns(ns: u64) {
    // SAFETY: PR_SET_TIMERSLACK takes an unsigned long; no pointers involved.
    unsafe {
        libc::prctl(libc::PR_SET_TIMERSLACK, ns as libc::c_ulong, 0, 0, 0);
    }
}
