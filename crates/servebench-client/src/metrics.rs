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

use crate::record::RequestRecord;
use crate::runner::PointRun;
use servebench_core::result::{
    BenchResult, E2elStats, FailureSummary, Goodput, GoodputSpec, Interactivity, ItlStats,
    LengthStats, PerGpu, Provenance, RequestRate, RunConfig, SelfCheck, TokenAccounting,
    TokenizeProbe, TpotStats, TtftStats, SCHEMA_VERSION,
};
use servebench_core::stats::Summary;

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

pub fn aggregate(run: &PointRun, cx: Context) -> BenchResult {
    let all = &run.records;
    let ok: Vec<&RequestRecord> = all.iter().filter(|r| r.ok()).collect();
    let duration = (run.end_ns.saturating_sub(run.start_ns)) as f64 / 1e9;
    let per_s = |x: f64| if duration > 0.0 { x / duration } else { 0.0 };
    let ms = |ns: u64| ns as f64 / 1e6;

    let mut ttft = Vec::with_capacity(ok.len());
    let mut e2el = Vec::with_capacity(ok.len());
    let mut tpot = Vec::with_capacity(ok.len());
    let mut itl = run.itl_us.clone().unwrap_or_default();
    let mut input_lens = Vec::with_capacity(ok.len());
    let mut output_lens = Vec::with_capacity(ok.len());
    let mut good = 0u64;
    for r in &ok {
        let t = ms(r.ttft_ns().unwrap_or(0));
        let e = ms(r.e2el_ns().unwrap_or(0));
        let out = r.output_tokens() as u64;
        let tp = if out > 1 {
            (e - t) / (out - 1) as f64
        } else {
            0.0
        };
        ttft.push(t);
        e2el.push(e);
        if out > 1 {
            tpot.push(tp);
        }
        if run.itl_us.is_none() {
            itl.extend(&r.gaps_us);
        }
        input_lens.push(r.input_len as u64);
        output_lens.push(out);
        if let Some(slo) = &cx.goodput {
            let meets = |v: f64, lim: Option<f64>| lim.is_none_or(|l| v <= l);
            if meets(t, slo.ttft_ms) && meets(tp, slo.tpot_ms) && meets(e, slo.e2el_ms) {
                good += 1;
            }
        }
    }
    let total_input: u64 = input_lens.iter().sum();
    let total_output: u64 = output_lens.iter().sum();
    let tpot_stats = TpotStats::from(Summary::of(&mut tpot));

    // ---- token accounting
    let mut tokens = TokenAccounting {
        client_input_tokens: total_input,
        input_lengths: cx.input_lengths.clone(),
        tokenize_probe: cx.tokenize_probe.clone(),
        retokenize_skipped: run.retokenize_skipped,
        ..Default::default()
    };
    let mut out_len = LengthAcc::default();
    for r in &ok {
        if let Some(u) = r.usage_completion {
            tokens.requests_with_usage += 1;
            tokens.usage_output_tokens += u as u64;
        }
        if let Some(c) = r.client_output_tokens {
            tokens.requests_retokenized += 1;
            tokens.tokenizer_output_tokens += c as u64;
        }
        if let (Some(u), Some(c)) = (r.usage_completion, r.client_output_tokens) {
            if u != c {
                tokens.output_count_disagreements += 1;
                tokens.output_count_abs_diff += u.abs_diff(c) as u64;
            }
        }
        if let Some(p) = r.usage_prompt {
            tokens.server_input_requests += 1;
            tokens.server_input_tokens += p as u64;
        }
        out_len.add(r.output_tokens() as u64, r.max_tokens as u64);
    }
    tokens.output_lengths = out_len.finish();
    tokens.output_tokens_source = if ok.is_empty() || tokens.requests_with_usage == ok.len() as u64
    {
        "usage"
    } else if tokens.requests_with_usage == 0 && tokens.requests_retokenized == ok.len() as u64 {
        "tokenizer"
    } else if tokens.requests_with_usage == 0 && tokens.requests_retokenized == 0 {
        "chunks"
    } else {
        "mixed"
    }
    .to_string();

    // ---- failures
    let mut failures = FailureSummary {
        failed: (all.len() - ok.len()) as u64,
        failure_rate: if all.is_empty() {
            0.0
        } else {
            (all.len() - ok.len()) as f64 / all.len() as f64
        },
        max_failure_rate: cx.config.max_failure_rate,
        ..Default::default()
    };
    let mut all_e2el = Vec::with_capacity(all.len());
    for r in all {
        all_e2el.push(ms(r.end_ns.saturating_sub(r.send_ns)));
        if let Some(f) = &r.failure {
            *failures.by_category.entry(f.kind.to_string()).or_insert(0) += 1;
            if f.status != 0 {
                *failures
                    .http_status
                    .entry(f.status.to_string())
                    .or_insert(0) += 1;
            }
            if failures.examples.len() < 10 && !failures.examples.iter().any(|m| **m == *f.message)
            {
                failures
                    .examples
                    .push(format!("[{}] {}", f.kind, f.message));
            }
        }
    }
    failures.all_requests_e2el_ms = Summary::of(&mut all_e2el);

    // ---- self-check
    // In a closed loop every slot's first request is due at the start, and one thread sends
    // them one after another: that ramp is reported on its own, not as steady-state send lag.
    let closed = cx.request_rate.is_infinite();
    let initial = |r: &RequestRecord| closed && r.sched_ns == run.start_ns;
    let mut send_lag: Vec<f64> = all
        .iter()
        .filter(|r| !initial(r))
        .map(|r| ms(r.send_lag_ns()))
        .collect();
    let ramp_ms = all
        .iter()
        .filter(|r| initial(r))
        .map(|r| ms(r.send_ns.saturating_sub(run.start_ns)))
        .fold(0.0, f64::max);
    let mut queue: Vec<f64> = all.iter().map(|r| ms(r.queue_ns)).collect();
    let mut connect: Vec<f64> = all
        .iter()
        .filter(|r| r.connect_ns > 0)
        .map(|r| ms(r.connect_ns))
        .collect();
    let max_thread = run.thread_cpu.iter().cloned().fold(0.0, f64::max);
    let mut sc = SelfCheck {
        send_lag_ms: Summary::of(&mut send_lag),
        ramp_ms,
        queue_wait_ms: Summary::of(&mut queue),
        timer_lag_ms: run.loop_lag_us.summary(1e-3),
        max_thread_cpu_percent: max_thread * 100.0,
        process_cpu_percent: run.process_cpu * 100.0,
        client_threads: run.thread_cpu.len(),
        peak_rss_mb: cx.peak_rss_bytes as f64 / 1e6,
        connect_ms: Summary::of(&mut connect),
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

    let per_gpu = cx.num_gpus.filter(|&g| g > 0).map(|g| PerGpu {
        num_gpus: g,
        tput_per_gpu: per_s((total_input + total_output) as f64) / g as f64,
        output_tput_per_gpu: per_s(total_output as f64) / g as f64,
        input_tput_per_gpu: per_s(total_input as f64) / g as f64,
    });
    let goodput = cx.goodput.clone().map(|slo| Goodput {
        slo,
        good_requests: good,
        good_fraction: if all.is_empty() {
            0.0
        } else {
            good as f64 / all.len() as f64
        },
    });

    BenchResult {
        schema_version: SCHEMA_VERSION,
        date: utc_stamp(run.start_unix),
        backend: cx.backend,
        model_id: cx.model_id,
        tokenizer_id: cx.tokenizer_id,
        num_prompts: all.len(),
        request_rate: cx.request_rate,
        burstiness: cx.config.burstiness,
        max_concurrency: cx.config.concurrency,
        duration,
        benchmark_start_time_unix: run.start_unix,
        benchmark_end_time_unix: run.end_unix,
        completed: ok.len() as u64,
        failed: (all.len() - ok.len()) as u64,
        total_input_tokens: total_input,
        total_output_tokens: total_output,
        request_throughput: per_s(ok.len() as f64),
        request_goodput: goodput.as_ref().map(|g| per_s(g.good_requests as f64)),
        output_throughput: per_s(total_output as f64),
        input_throughput: per_s(total_input as f64),
        total_token_throughput: per_s((total_input + total_output) as f64),
        ttft: TtftStats::from(Summary::of(&mut ttft)),
        tpot: tpot_stats,
        itl: ItlStats::from(itl.summary(1e-3)),
        e2el: E2elStats::from(Summary::of(&mut e2el)),
        interactivity: Interactivity::from_tpot_ms(&tpot_stats),
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
        self_check: sc,
        mono_start_ns: run.start_ns,
        power: None,
        agentic: None,
    }
}

#[derive(Default)]
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
    use crate::record::Failure;
    use servebench_core::stats::CountDistribution;
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
