//! From raw request records to the result: every metric's definition lives here (and, in
//! prose, in `docs/metrics.md`).
//!
//! - TTFT: send → first chunk carrying output (a role-only or empty first chunk is not a token).
//! - E2EL: send → last chunk carrying output.
//! - TPOT: (E2EL − TTFT) / (output tokens − 1), for requests with more than one output token.
//! - ITL: every gap between consecutive output chunks, pooled over all successful requests.
//! - Output tokens: server `usage.completion_tokens`, else the client's tokenizer count.
//! - Throughputs divide by the window: first send of the measured requests → last completion.
//! - Statistics: numpy semantics (population std, linear-interpolated percentiles).
//!   Latency statistics are over successful requests; failures are counted beside them and
//!   in `failures.all_requests_e2el_ms`, never dropped silently.

use crate::record::{Failure, RequestRecord};
use crate::runner::PointRun;
use servebench_core::result::{
    AgenticLatency, AgenticStat, BenchResult, Distributions, E2elStats, FailureSummary, Goodput,
    GoodputSpec, Interactivity, ItlStats, LengthStats, PerGpu, Provenance, RequestRate, RunConfig,
    SelfCheck, TokenAccounting, TokenizeProbe, TpotStats, TtftStats, SCHEMA_VERSION,
};
pub use servebench_core::stats::Sketch;
use servebench_core::stats::{CountDistribution, Sample};

/// Thresholds of the client self-check.
pub const BUSY_THREAD_FRACTION: f64 = 0.90;
pub const MAX_LOOP_LAG_P99_MS: f64 = 1.0;
pub const MAX_SEND_LAG_P99_MS: f64 = 1.0;

/// What the aggregation needs besides the records.
pub struct Context {
    pub config: RunConfig,
    pub provenance: Provenance,
    pub model_id: String,
    pub tokenizer_id: String,
    pub backend: String,
    pub request_rate: RequestRate,
    pub goodput: Option<GoodputSpec>,
    pub num_gpus: Option<u32>,
    pub input_lengths: LengthStats,
    pub tokenize_probe: Option<TokenizeProbe>,
    pub peak_rss_bytes: u64,
}

/// A point's result from its measured requests' records (kept whole: exact statistics).
pub fn aggregate(run: &PointRun, cx: Context) -> BenchResult {
    let closed_start = cx.request_rate.is_infinite().then_some(run.start_ns);
    let mut tally = Tally::<Vec<f64>>::new(cx.goodput.clone(), closed_start);
    for r in &run.records {
        tally.add(r);
    }
    tally.finish(run, cx)
}

/// The measured requests summed up one at a time, as they finish: all a result needs of them.
/// `S` holds the latency samples: whole (`Vec<f64>`: exact percentiles, for a fixed dataset,
/// whose prompts are in memory anyway) or sketched ([`Sketch`]: bounded memory, for a trace
/// replay of any length). Inter-token gaps go into an exact histogram of µs values or, sketched,
/// into a sketch too; per-request lengths (vLLM's `input_lens`/`output_lens`) are kept only
/// with every value.
pub struct Tally<S: Sample> {
    /// A closed loop's start: requests due at it are its ramp, not steady-state send lag.
    closed_start: Option<u64>,
    goodput: Option<GoodputSpec>,
    lens: Option<(Vec<u64>, Vec<u64>)>,
    ttft_ms: S,
    e2el_ms: S,
    tpot_ms: S,
    all_e2el_ms: S,
    send_lag_ms: S,
    queue_ms: S,
    connect_ms: S,
    ramp_ms: f64,
    itl: Gaps,
    requests: u64,
    ok: u64,
    good: u64,
    total_input: u64,
    total_output: u64,
    tokens: TokenAccounting,
    out_len: LengthAcc,
    in_len: LengthAcc,
    failures: FailureSummary,
    last_end_ns: u64,
}

impl<S: Sample> Tally<S> {
    pub fn new(goodput: Option<GoodputSpec>, closed_start: Option<u64>) -> Self {
        Tally {
            closed_start,
            goodput,
            lens: S::EXACT.then(Default::default),
            ttft_ms: S::default(),
            e2el_ms: S::default(),
            tpot_ms: S::default(),
            all_e2el_ms: S::default(),
            send_lag_ms: S::default(),
            queue_ms: S::default(),
            connect_ms: S::default(),
            ramp_ms: 0.0,
            itl: if S::EXACT {
                Gaps::Exact(CountDistribution::new())
            } else {
                Gaps::Sketched(Sketch::default())
            },
            requests: 0,
            ok: 0,
            good: 0,
            total_input: 0,
            total_output: 0,
            tokens: TokenAccounting::default(),
            out_len: LengthAcc::default(),
            in_len: LengthAcc::default(),
            failures: FailureSummary::default(),
            last_end_ns: 0,
        }
    }

    /// Counts one measured request.
    pub fn add(&mut self, r: &RequestRecord) {
        self.requests += 1;
        self.last_end_ns = self.last_end_ns.max(r.end_ns);
        self.in_len.add(r.input_len.into(), r.input_len.into());
        self.add_timing(r);
        match &r.failure {
            Some(f) => self.add_failure(f),
            None => self.add_success(r),
        }
    }

    /// What the client's own timing says of every request, failed ones included.
    fn add_timing(&mut self, r: &RequestRecord) {
        self.all_e2el_ms.add(ms(r.end_ns.saturating_sub(r.send_ns)));
        match self.closed_start {
            // Every slot's first request is due at a closed loop's start, and one thread sends
            // them one after another: that ramp is reported on its own.
            Some(start) if r.sched_ns == start => {
                self.ramp_ms = self.ramp_ms.max(ms(r.send_ns.saturating_sub(start)));
            }
            _ => self.send_lag_ms.add(ms(r.send_lag_ns())),
        }
        self.queue_ms.add(ms(r.queue_ns));
        if r.connect_ns > 0 {
            self.connect_ms.add(ms(r.connect_ns));
        }
    }

    fn add_failure(&mut self, f: &Failure) {
        let fs = &mut self.failures;
        *fs.by_category.entry(f.kind.to_string()).or_insert(0) += 1;
        if f.status != 0 {
            *fs.http_status.entry(f.status.to_string()).or_insert(0) += 1;
        }
        let example = format!("[{}] {}", f.kind, f.message);
        if fs.examples.len() < 10 && !fs.examples.contains(&example) {
            fs.examples.push(example);
        }
    }

    fn add_success(&mut self, r: &RequestRecord) {
        self.ok += 1;
        let t = ms(r.ttft_ns().unwrap_or(0));
        let e = ms(r.e2el_ns().unwrap_or(0));
        let out = r.output_tokens();
        let tpot = (out > 1).then(|| (e - t) / f64::from(out - 1));
        self.ttft_ms.add(t);
        self.e2el_ms.add(e);
        if let Some(tp) = tpot {
            self.tpot_ms.add(tp);
        }
        self.itl.extend(&r.gaps_us);
        self.total_input += u64::from(r.input_len);
        self.total_output += u64::from(out);
        if let Some((ins, outs)) = &mut self.lens {
            ins.push(r.input_len.into());
            outs.push(out.into());
        }
        if let Some(slo) = &self.goodput {
            let meets = |v: f64, lim: Option<f64>| lim.is_none_or(|l| v <= l);
            let tp = tpot.unwrap_or(0.0);
            if meets(t, slo.ttft_ms) && meets(tp, slo.tpot_ms) && meets(e, slo.e2el_ms) {
                self.good += 1;
            }
        }
        self.add_token_counts(r);
    }

    /// Where the output count came from, and how the server's counts and ours agree.
    fn add_token_counts(&mut self, r: &RequestRecord) {
        let tk = &mut self.tokens;
        if let Some(u) = r.usage_completion {
            tk.requests_with_usage += 1;
            tk.usage_output_tokens += u64::from(u);
        }
        if let Some(c) = r.client_output_tokens {
            tk.requests_retokenized += 1;
            tk.tokenizer_output_tokens += u64::from(c);
        }
        if let (Some(u), Some(c)) = (r.usage_completion, r.client_output_tokens) {
            if u != c {
                tk.output_count_disagreements += 1;
                tk.output_count_abs_diff += u64::from(u.abs_diff(c));
            }
        }
        if let Some(p) = r.usage_prompt {
            tk.server_input_requests += 1;
            tk.server_input_tokens += u64::from(p);
        }
        self.out_len
            .add(r.output_tokens().into(), r.max_tokens.into());
    }

    /// Another thread's tally of the same point.
    pub fn merge(&mut self, o: Tally<S>) {
        for (a, b) in [
            (&mut self.ttft_ms, o.ttft_ms),
            (&mut self.e2el_ms, o.e2el_ms),
            (&mut self.tpot_ms, o.tpot_ms),
            (&mut self.all_e2el_ms, o.all_e2el_ms),
            (&mut self.send_lag_ms, o.send_lag_ms),
            (&mut self.queue_ms, o.queue_ms),
            (&mut self.connect_ms, o.connect_ms),
        ] {
            a.merge(b);
        }
        if let (Some((i, out)), Some((mut oi, mut oo))) = (&mut self.lens, o.lens) {
            i.append(&mut oi);
            out.append(&mut oo);
        }
        self.ramp_ms = self.ramp_ms.max(o.ramp_ms);
        self.itl.merge(o.itl);
        self.requests += o.requests;
        self.ok += o.ok;
        self.good += o.good;
        self.total_input += o.total_input;
        self.total_output += o.total_output;
        let (a, b) = (&mut self.tokens, &o.tokens);
        a.requests_with_usage += b.requests_with_usage;
        a.usage_output_tokens += b.usage_output_tokens;
        a.requests_retokenized += b.requests_retokenized;
        a.tokenizer_output_tokens += b.tokenizer_output_tokens;
        a.output_count_disagreements += b.output_count_disagreements;
        a.output_count_abs_diff += b.output_count_abs_diff;
        a.server_input_requests += b.server_input_requests;
        a.server_input_tokens += b.server_input_tokens;
        self.out_len.merge(&o.out_len);
        self.in_len.merge(&o.in_len);
        let f = &mut self.failures;
        for (k, n) in o.failures.by_category {
            *f.by_category.entry(k).or_insert(0) += n;
        }
        for (k, n) in o.failures.http_status {
            *f.http_status.entry(k).or_insert(0) += n;
        }
        for m in o.failures.examples {
            if f.examples.len() < 10 && !f.examples.contains(&m) {
                f.examples.push(m);
            }
        }
        self.last_end_ns = self.last_end_ns.max(o.last_end_ns);
    }

    pub fn requests(&self) -> u64 {
        self.requests
    }

    /// When the last measured request ended (0: none did).
    pub fn last_end_ns(&self) -> u64 {
        self.last_end_ns
    }

    /// The prompt lengths sent, every measured request's.
    pub fn input_lengths(&self) -> LengthStats {
        let mut l = self.in_len.clone().finish();
        // Every request's target was its own length.
        l.mismatched = 0;
        l
    }

    /// The successful requests' latencies as InferenceX's agentic stat blocks.
    pub fn agentic_latency(&mut self) -> AgenticLatency {
        AgenticLatency {
            ttft_ms: AgenticStat::of_sample(&mut self.ttft_ms),
            e2el_ms: AgenticStat::of_sample(&mut self.e2el_ms),
            tpot_ms: AgenticStat::of_sample(&mut self.tpot_ms),
            itl_ms: match &mut self.itl {
                Gaps::Exact(d) => AgenticStat::of_counts(d, 1e-3),
                Gaps::Sketched(s) => AgenticStat::of_sample(s).scaled(1e-3),
            },
        }
    }

    /// The result, with what the run knew besides the requests (`run.itl_us`, where given,
    /// stands for the records' gaps).
    pub fn finish(mut self, run: &PointRun, cx: Context) -> BenchResult {
        let duration = (run.end_ns.saturating_sub(run.start_ns)) as f64 / 1e9;
        let per_s = |x: f64| if duration > 0.0 { x / duration } else { 0.0 };
        let (total_input, total_output) = (self.total_input, self.total_output);
        let failed = self.requests - self.ok;
        let tpot = TpotStats::from(self.tpot_ms.summary());
        let itl = match (&run.itl_us, &mut self.itl) {
            (Some(d), _) => d.summary(1e-3),
            (None, Gaps::Exact(d)) => d.summary(1e-3),
            (None, Gaps::Sketched(s)) => s.summary().scaled(1e-3),
        };
        let distributions = self.distributions(run);
        let tokens = self.token_accounting(run, &cx);
        let failures = self.failure_summary(cx.config.max_failure_rate);
        let self_check = self.self_check(run, &cx);
        let per_gpu = cx.num_gpus.filter(|&g| g > 0).map(|g| PerGpu {
            num_gpus: g,
            tput_per_gpu: per_s((total_input + total_output) as f64) / g as f64,
            output_tput_per_gpu: per_s(total_output as f64) / g as f64,
            input_tput_per_gpu: per_s(total_input as f64) / g as f64,
        });
        let goodput = cx.goodput.clone().map(|slo| Goodput {
            slo,
            good_requests: self.good,
            good_fraction: if self.requests == 0 {
                0.0
            } else {
                self.good as f64 / self.requests as f64
            },
        });
        let (input_lens, output_lens) = self.lens.take().unwrap_or_default();
        BenchResult {
            schema_version: SCHEMA_VERSION,
            date: utc_stamp(run.start_unix),
            backend: cx.backend,
            model_id: cx.model_id,
            tokenizer_id: cx.tokenizer_id,
            num_prompts: self.requests as usize,
            request_rate: cx.request_rate,
            burstiness: cx.config.burstiness,
            max_concurrency: cx.config.concurrency,
            duration,
            benchmark_start_time_unix: run.start_unix,
            benchmark_end_time_unix: run.end_unix,
            completed: self.ok,
            failed,
            total_input_tokens: total_input,
            total_output_tokens: total_output,
            request_throughput: per_s(self.ok as f64),
            request_goodput: goodput.as_ref().map(|g| per_s(g.good_requests as f64)),
            output_throughput: per_s(total_output as f64),
            input_throughput: per_s(total_input as f64),
            total_token_throughput: per_s((total_input + total_output) as f64),
            ttft: TtftStats::from(self.ttft_ms.summary()),
            tpot,
            itl: ItlStats::from(itl),
            e2el: E2elStats::from(self.e2el_ms.summary()),
            interactivity: Interactivity::from_tpot_ms(&tpot),
            per_gpu,
            input_lens,
            output_lens,
            warmups: run.warmup_records.len(),
            stop: if cx.config.duration_s.is_some() {
                "duration"
            } else {
                "count"
            }
            .into(),
            config: cx.config,
            provenance: cx.provenance,
            tokens,
            failures,
            goodput,
            self_check,
            mono_start_ns: run.start_ns,
            power: None,
            agentic: None,
            distributions,
        }
    }

    /// Each latency at every percent of the successful requests (`None` when none succeeded).
    fn distributions(&mut self, run: &PointRun) -> Option<Distributions> {
        if self.ttft_ms.is_empty() {
            return None;
        }
        let qs = Distributions::percents();
        let ms = |v: Vec<f64>| v.into_iter().map(|us| us * 1e-3).collect();
        Some(Distributions {
            ttft_ms: self.ttft_ms.percentiles(&qs),
            tpot_ms: self.tpot_ms.percentiles(&qs),
            itl_ms: match (&run.itl_us, &mut self.itl) {
                (Some(d), _) => ms(d.percentiles(&qs)),
                (None, Gaps::Exact(d)) => ms(d.percentiles(&qs)),
                (None, Gaps::Sketched(s)) => ms(s.percentiles(&qs)),
            },
            e2el_ms: self.e2el_ms.percentiles(&qs),
        })
    }

    fn token_accounting(&mut self, run: &PointRun, cx: &Context) -> TokenAccounting {
        let mut tk = std::mem::take(&mut self.tokens);
        tk.client_input_tokens = self.total_input;
        tk.input_lengths = cx.input_lengths.clone();
        tk.tokenize_probe = cx.tokenize_probe.clone();
        tk.retokenize_skipped = run.retokenize_skipped;
        tk.output_lengths = std::mem::take(&mut self.out_len).finish();
        let ok = self.ok;
        tk.output_tokens_source = if ok == 0 || tk.requests_with_usage == ok {
            "usage"
        } else if tk.requests_with_usage == 0 && tk.requests_retokenized == ok {
            "tokenizer"
        } else if tk.requests_with_usage == 0 && tk.requests_retokenized == 0 {
            "chunks"
        } else {
            "mixed"
        }
        .to_string();
        tk
    }

    fn failure_summary(&mut self, max_failure_rate: f64) -> FailureSummary {
        let failed = self.requests - self.ok;
        FailureSummary {
            failed,
            failure_rate: if self.requests == 0 {
                0.0
            } else {
                failed as f64 / self.requests as f64
            },
            max_failure_rate,
            all_requests_e2el_ms: self.all_e2el_ms.summary(),
            ..std::mem::take(&mut self.failures)
        }
    }

    fn self_check(&mut self, run: &PointRun, cx: &Context) -> SelfCheck {
        let max_thread = run.thread_cpu.iter().cloned().fold(0.0, f64::max);
        let mut sc = SelfCheck {
            send_lag_ms: self.send_lag_ms.summary(),
            ramp_ms: self.ramp_ms,
            queue_wait_ms: self.queue_ms.summary(),
            timer_lag_ms: run.loop_lag_us.summary(1e-3),
            max_thread_cpu_percent: max_thread * 100.0,
            process_cpu_percent: run.process_cpu * 100.0,
            client_threads: run.thread_cpu.len(),
            peak_rss_mb: cx.peak_rss_bytes as f64 / 1e6,
            connect_ms: self.connect_ms.summary(),
            connections_opened: run.connections_opened,
            ..Default::default()
        };
        if max_thread >= BUSY_THREAD_FRACTION {
            sc.reasons.push(format!(
                "an I/O thread was busy {:.0}% of the window (limit {:.0}%): the client may have read late",
                max_thread * 100.0,
                BUSY_THREAD_FRACTION * 100.0
            ));
        }
        if sc.timer_lag_ms.p99 > MAX_LOOP_LAG_P99_MS {
            sc.reasons.push(format!(
                "event-loop lag p99 {:.2} ms > {MAX_LOOP_LAG_P99_MS} ms: arriving bytes waited that long to be timestamped",
                sc.timer_lag_ms.p99
            ));
        }
        if sc.send_lag_ms.p99 > MAX_SEND_LAG_P99_MS {
            sc.reasons.push(format!(
                "send lag p99 {:.2} ms > {MAX_SEND_LAG_P99_MS} ms: requests left later than scheduled",
                sc.send_lag_ms.p99
            ));
        }
        sc.client_bound = !sc.reasons.is_empty();
        sc
    }
}

/// Inter-token gaps, µs.
enum Gaps {
    Exact(CountDistribution),
    Sketched(Sketch),
}

impl Gaps {
    fn extend(&mut self, gaps: &[u32]) {
        match self {
            Gaps::Exact(d) => d.extend(gaps),
            Gaps::Sketched(s) => gaps.iter().for_each(|&g| s.add(f64::from(g))),
        }
    }

    fn merge(&mut self, o: Gaps) {
        match (self, o) {
            (Gaps::Exact(a), Gaps::Exact(b)) => a.merge(&b),
            (Gaps::Sketched(a), Gaps::Sketched(b)) => a.merge(b),
            _ => unreachable!("one point's tallies keep their gaps alike"),
        }
    }
}

fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

#[derive(Default, Clone)]
struct LengthAcc {
    n: u64,
    min: u64,
    max: u64,
    sum: u64,
    mismatch_sum: i64,
    mismatched: u64,
}

impl LengthAcc {
    fn add(&mut self, got: u64, want: u64) {
        if self.n == 0 || got < self.min {
            self.min = got;
        }
        self.max = self.max.max(got);
        self.n += 1;
        self.sum += got;
        self.mismatch_sum += got as i64 - want as i64;
        self.mismatched += u64::from(got != want);
    }

    fn merge(&mut self, o: &LengthAcc) {
        if o.n == 0 {
            return;
        }
        if self.n == 0 || o.min < self.min {
            self.min = o.min;
        }
        self.max = self.max.max(o.max);
        self.n += o.n;
        self.sum += o.sum;
        self.mismatch_sum += o.mismatch_sum;
        self.mismatched += o.mismatched;
    }

    fn finish(self) -> LengthStats {
        LengthStats {
            count: self.n,
            min: self.min,
            max: self.max,
            mean: if self.n > 0 {
                self.sum as f64 / self.n as f64
            } else {
                0.0
            },
            mean_mismatch: if self.n > 0 {
                self.mismatch_sum as f64 / self.n as f64
            } else {
                0.0
            },
            mismatched: self.mismatched,
        }
    }
}

/// `YYYYMMDD-HHMMSS` in UTC (vLLM's `date` field), without a date-time dependency.
pub fn utc_stamp(unix: f64) -> String {
    let (y, m, d, hh, mm, ss) = servebench_core::clock::utc_civil(unix.max(0.0) as i64);
    format!("{y:04}{m:02}{d:02}-{hh:02}{mm:02}{ss:02}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use servebench_core::FailureKind;

    fn rec(i: u32, send: u64, first: u64, gaps_ms: &[u64], usage: Option<u32>) -> RequestRecord {
        let mut t = first;
        let mut gaps = Vec::new();
        for g in gaps_ms {
            t += g * 1_000_000;
            gaps.push((*g * 1000) as u32);
        }
        RequestRecord {
            index: i,
            sched_ns: send,
            send_ns: send,
            first_byte_ns: first,
            first_token_ns: first,
            last_token_ns: t,
            end_ns: t,
            input_len: 100,
            max_tokens: gaps_ms.len() as u32 + 1,
            usage_completion: usage,
            content_chunks: gaps_ms.len() as u32 + 1,
            gaps_us: gaps,
            ..Default::default()
        }
    }

    fn cx() -> Context {
        Context {
            config: RunConfig {
                max_failure_rate: 0.05,
                concurrency: Some(2),
                ..Default::default()
            },
            provenance: Provenance::default(),
            model_id: "m".into(),
            tokenizer_id: "t".into(),
            backend: "openai".into(),
            request_rate: RequestRate::Infinite,
            goodput: Some(GoodputSpec {
                ttft_ms: Some(15.0),
                tpot_ms: None,
                e2el_ms: None,
            }),
            num_gpus: Some(2),
            input_lengths: LengthStats::default(),
            tokenize_probe: None,
            peak_rss_bytes: 0,
        }
    }

    #[test]
    fn hand_computed_point() {
        const MS: u64 = 1_000_000;
        let s = 1_000 * MS; // start
                            // r0: send at s, first token +10 ms, gaps 5,5,5 → 4 tokens, e2el 25 ms, tpot 5 ms
                            // r1: send at s+1ms, first token +20 ms, gaps 10 → usage says 3 tokens (multi-token chunk):
                            //     e2el 30 ms, tpot (30-20)/(3-1) = 5 ms
                            // r2: failed with HTTP 503 after 2 ms
        let r0 = rec(0, s, s + 10 * MS, &[5, 5, 5], Some(4));
        let r1 = rec(1, s + MS, s + 21 * MS, &[10], Some(3));
        let mut r2 = RequestRecord {
            index: 2,
            sched_ns: s,
            send_ns: s,
            end_ns: s + 2 * MS,
            input_len: 100,
            ..Default::default()
        };
        r2.failure = Some(Failure {
            kind: FailureKind::HttpStatus,
            status: 503,
            message: "HTTP 503".into(),
        });
        let run = PointRun {
            records: vec![r0, r1, r2],
            warmup_records: vec![],
            start_ns: s,
            end_ns: s + 40 * MS,
            start_unix: 1_700_000_000.0,
            end_unix: 1_700_000_000.04,
            loop_lag_us: CountDistribution::new(),
            itl_us: None,
            thread_cpu: vec![0.5],
            process_cpu: 0.5,
            connections_opened: 2,
            retokenize_skipped: 0,
        };
        let r = aggregate(&run, cx());
        assert_eq!((r.completed, r.failed, r.num_prompts), (2, 1, 3));
        assert!((r.duration - 0.04).abs() < 1e-12);
        assert_eq!(r.ttft.mean, 15.0);
        assert_eq!(r.ttft.median, 15.0);
        assert_eq!(r.ttft.std, 5.0);
        assert_eq!(r.e2el.mean, 27.5);
        assert_eq!(r.tpot.mean, 5.0);
        assert_eq!(r.interactivity.mean_intvty, 200.0);
        // ITL pooled: [5,5,5,10] → mean 6.25, median 5, p99 = 5 + 0.97*5
        assert_eq!(r.itl.mean, 6.25);
        assert_eq!(r.itl.median, 5.0);
        assert!((r.itl.p99 - 9.85).abs() < 1e-9);
        assert_eq!(r.total_output_tokens, 7);
        assert_eq!(r.total_input_tokens, 200);
        assert!((r.request_throughput - 50.0).abs() < 1e-9);
        assert!((r.output_throughput - 175.0).abs() < 1e-9);
        assert!((r.total_token_throughput - 5175.0).abs() < 1e-9);
        let g = r.per_gpu.unwrap();
        assert!((g.tput_per_gpu - 2587.5).abs() < 1e-9);
        // goodput: only r0 has TTFT ≤ 15 ms
        let gp = r.goodput.as_ref().unwrap();
        assert_eq!(gp.good_requests, 1);
        assert!((gp.good_fraction - 1.0 / 3.0).abs() < 1e-12);
        assert!((r.request_goodput.unwrap() - 25.0).abs() < 1e-9);
        assert_eq!(r.failures.by_category["http_status"], 1);
        assert_eq!(r.failures.http_status["503"], 1);
        assert!((r.failures.failure_rate - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(r.tokens.output_tokens_source, "usage");
        assert_eq!(r.date, "20231114-221320");
        assert!(!r.self_check.client_bound);
        // The distributions, percent by percent, of the two successful requests: TTFT 10 and
        // 20 ms (p50 = 15, p25 = 12.5), E2EL 25 and 30; ITL [5,5,5,10]: p0..p66 = 5, p100 = 10,
        // p80 = 5 + (0.8 × 3 - 2) × 5 = 7.
        let d = r.distributions.as_ref().unwrap();
        for v in [&d.ttft_ms, &d.tpot_ms, &d.itl_ms, &d.e2el_ms] {
            assert_eq!(v.len(), 101);
        }
        assert_eq!(
            (d.ttft_ms[0], d.ttft_ms[25], d.ttft_ms[50], d.ttft_ms[100]),
            (10.0, 12.5, 15.0, 20.0)
        );
        assert_eq!((d.e2el_ms[0], d.e2el_ms[100]), (25.0, 30.0));
        assert_eq!((d.tpot_ms[0], d.tpot_ms[100]), (5.0, 5.0));
        assert_eq!((d.itl_ms[0], d.itl_ms[66], d.itl_ms[100]), (5.0, 5.0, 10.0));
        assert!((d.itl_ms[80] - 7.0).abs() < 1e-9, "{}", d.itl_ms[80]);
    }

    #[test]
    fn single_token_outputs_have_no_tpot() {
        let s = 1_000_000_000;
        let r0 = rec(0, s, s + 1_000_000, &[], Some(1));
        let run = PointRun {
            records: vec![r0],
            warmup_records: vec![],
            start_ns: s,
            end_ns: s + 1_000_000,
            start_unix: 0.0,
            end_unix: 0.0,
            loop_lag_us: CountDistribution::new(),
            itl_us: None,
            thread_cpu: vec![0.95],
            process_cpu: 0.95,
            connections_opened: 1,
            retokenize_skipped: 0,
        };
        let r = aggregate(&run, cx());
        assert_eq!(r.tpot.mean, 0.0);
        assert_eq!(r.interactivity.mean_intvty, 0.0);
        assert_eq!(r.date, "19700101-000000");
        assert!(r.self_check.client_bound);
        assert!(r.self_check.reasons[0].contains("busy 95%"));
    }
}
