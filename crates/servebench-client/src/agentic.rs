//! The metrics of a trace replay, as InferenceX computes them for its agentic rows
//! (utils/agentic/aggregation/request_metrics.py): only successful measured requests count.

use crate::metrics::Tally;
use crate::record::RequestRecord;
use crate::replay::ReplayCounts;
use servebench_core::result::{Agentic, AgenticStat, ServerWindow};
use servebench_core::stats::{Sample, Sketch};
use servebench_dataset::trace::Summary;
use std::sync::atomic::{AtomicU64, Ordering};

/// How the replay was set up, for the result.
pub struct Setup<'a> {
    pub format: &'a str,
    pub lanes: usize,
    pub start_ratio: (f64, f64),
    pub warmups_per_lane: usize,
    pub pause_cap_s: f64,
    pub max_context: Option<u32>,
    pub trace: &'a Summary,
    pub server_metrics: Option<ServerWindow>,
}

const SECOND_NS: u64 = 1_000_000_000;

/// A replay's measured requests summed up as they finish, beside the point's [`Tally`]: one per
/// I/O thread, merged at the end. Its memory is bounded by the values' ranges (sketches) and
/// the window's seconds, never by the number of requests.
#[derive(Default)]
pub struct AgenticTally {
    hits: u64,
    blocks: u64,
    subagent_requests: u64,
    server_cached: u64,
    server_theory: u64,
    server_prompt: u64,
    /// E2E latency per output token (s), and its inverse.
    s_per_token: Sketch,
    tokens_per_s: Sketch,
    output_expected: Sketch,
    input_tokens: Sketch,
    output_actual: Sketch,
    completions: Completions,
}

impl AgenticTally {
    /// Counts one measured request; `first_end` is the point's first completion, shared by
    /// the threads (for the QPS windows).
    pub fn add(&mut self, r: &RequestRecord, first_end: &AtomicU64) {
        if r.turn.is_some_and(|t| t.agent > 0) {
            self.subagent_requests += 1;
        }
        if !r.ok() {
            return;
        }
        if let Some(t) = r.turn {
            self.hits += u64::from(t.hit_blocks);
            self.blocks += u64::from(t.blocks);
        }
        let prompt = r.usage_prompt.unwrap_or(r.input_len);
        if let (Some(c), Some(t)) = (r.server_cached_tokens, r.turn) {
            self.server_cached += u64::from(c);
            self.server_theory += u64::from(t.hit_tokens);
            self.server_prompt += u64::from(prompt);
        }
        let out = r.output_tokens();
        let e2e_s = r.end_ns.saturating_sub(r.send_ns) as f64 / 1e9;
        if out > 0 && e2e_s > 0.0 {
            let per = e2e_s / f64::from(out);
            self.s_per_token.add(per);
            self.tokens_per_s.add(1.0 / per);
        }
        self.output_expected.add(r.max_tokens.into());
        self.input_tokens.add(prompt.into());
        self.output_actual.add(out.into());
        self.completions.add(r.end_ns, first_end);
    }

    pub fn merge(&mut self, o: AgenticTally) {
        self.hits += o.hits;
        self.blocks += o.blocks;
        self.subagent_requests += o.subagent_requests;
        self.server_cached += o.server_cached;
        self.server_theory += o.server_theory;
        self.server_prompt += o.server_prompt;
        self.s_per_token.merge(o.s_per_token);
        self.tokens_per_s.merge(o.tokens_per_s);
        self.output_expected.merge(o.output_expected);
        self.input_tokens.merge(o.input_tokens);
        self.output_actual.merge(o.output_actual);
        self.completions.merge(o.completions);
    }
}

/// Completion times, as counts per second from the point's first completion (InferenceX's QPS
/// windows). A thread keeps the times it sees in the first two seconds after the first
/// completion it knows of, since another thread's may still turn out earlier; later ones go
/// straight into their window. (A completion would land in the wrong window only if a thread
/// stalled two seconds between reading the clock and publishing what it read.)
#[derive(Default)]
struct Completions {
    early: Vec<u64>,
    per_second: Vec<u64>,
    last: u64,
}

impl Completions {
    fn add(&mut self, end: u64, first_end: &AtomicU64) {
        let first = first_end.fetch_min(end, Ordering::Relaxed).min(end);
        self.last = self.last.max(end);
        if end < first + 2 * SECOND_NS {
            self.early.push(end);
        } else {
            self.count(end, first);
        }
    }

    fn count(&mut self, end: u64, first: u64) {
        let k = ((end - first) / SECOND_NS) as usize;
        if self.per_second.len() <= k {
            self.per_second.resize(k + 1, 0);
        }
        self.per_second[k] += 1;
    }

    fn merge(&mut self, o: Completions) {
        self.early.extend(o.early);
        if self.per_second.len() < o.per_second.len() {
            self.per_second.resize(o.per_second.len(), 0);
        }
        for (a, b) in self.per_second.iter_mut().zip(o.per_second) {
            *a += b;
        }
        self.last = self.last.max(o.last);
    }

    /// Completions per 1-second window from the first completion to the last, and the number
    /// of windows.
    fn qps(mut self, first: u64) -> (AgenticStat, u64) {
        if self.last == 0 {
            return (AgenticStat::default(), 0);
        }
        for e in std::mem::take(&mut self.early) {
            self.count(e, first);
        }
        let n = ((self.last - first) as f64 / 1e9).ceil().max(1.0) as usize;
        // The last completion, exactly on a window's end, belongs to the last window.
        let mut counts: Vec<f64> = vec![0.0; n];
        for (k, c) in self.per_second.into_iter().enumerate() {
            counts[k.min(n - 1)] += c as f64;
        }
        (AgenticStat::of(&mut counts), n as u64)
    }
}

/// The agentic block of a replay's result from its tallies.
pub fn summarize(
    tally: AgenticTally,
    point: &mut Tally<Sketch>,
    counts: &ReplayCounts,
    s: &Setup<'_>,
) -> Agentic {
    let mut t = tally;
    let (qps, qps_windows) = std::mem::take(&mut t.completions).qps(counts.first_end_ns);
    let prompt = t.server_prompt;
    let server_rate = |x: u64| (prompt > 0).then(|| x as f64 / prompt as f64);
    Agentic {
        trace_format: s.format.to_string(),
        lanes: s.lanes,
        start_ratio: s.start_ratio,
        warmups_per_lane: s.warmups_per_lane,
        pause_cap_s: s.pause_cap_s,
        max_context: s.max_context,
        skipped_over_context: counts.skipped_over_context,
        trace_sessions: s.trace.sessions,
        trace_turns: s.trace.turns + s.trace.subagent_turns,
        trace_theoretical_cache_hit_rate: s.trace.theoretical_hit_rate(),
        sessions_started: counts.sessions_started,
        sessions_completed: counts.sessions_completed,
        subagent_requests: t.subagent_requests,
        max_in_flight: counts.max_in_flight,
        theoretical_cache_hit_rate: if t.blocks == 0 {
            0.0
        } else {
            t.hits as f64 / t.blocks as f64
        },
        server_cache_hit_rate: server_rate(t.server_cached),
        theoretical_hit_rate_same_turns: server_rate(t.server_theory),
        e2e_norm_intvty: e2e_norm_intvty(&mut t.s_per_token, &t.tokens_per_s),
        latency: point.agentic_latency(),
        output_expected: AgenticStat::of_sample(&mut t.output_expected),
        input_tokens: AgenticStat::of_sample(&mut t.input_tokens),
        output_actual: AgenticStat::of_sample(&mut t.output_actual),
        qps,
        qps_windows,
        trace_error: counts.trace_error.clone(),
        server_metrics: s.server_metrics.clone(),
    }
}

/// Per request `r = request latency (s) / output tokens`; each statistic is `1 / stat(r)`
/// (InferenceX's `e2e_norm_intvty`); `std` is the spread of the per-request `1 / r`.
fn e2e_norm_intvty(r: &mut Sketch, inv: &Sketch) -> AgenticStat {
    let s = AgenticStat::of_sample(r);
    let inv_or_zero = |x: f64| if x > 0.0 { 1.0 / x } else { 0.0 };
    AgenticStat {
        mean: inv_or_zero(s.mean),
        p50: inv_or_zero(s.p50),
        p75: inv_or_zero(s.p75),
        p90: inv_or_zero(s.p90),
        p95: inv_or_zero(s.p95),
        std: inv.mean_std().1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::TurnTag;
    use servebench_core::stats::SKETCH_RELATIVE_ERROR;

    fn rec(send_s: f64, end_s: f64, out: u32) -> RequestRecord {
        RequestRecord {
            send_ns: (send_s * 1e9) as u64,
            end_ns: (end_s * 1e9) as u64,
            usage_completion: Some(out),
            ..Default::default()
        }
    }

    /// The agentic block of these requests, tallied by two threads.
    fn tallied(recs: &[RequestRecord], first_end_ns: u64) -> Agentic {
        let first = AtomicU64::new(u64::MAX);
        let (mut a, mut b) = (AgenticTally::default(), AgenticTally::default());
        let mut point = Tally::<Sketch>::new(None, None);
        let mut other = Tally::<Sketch>::new(None, None);
        for (i, r) in recs.iter().enumerate() {
            if i % 2 == 0 {
                a.add(r, &first);
                point.add(r);
            } else {
                b.add(r, &first);
                other.add(r);
            }
        }
        a.merge(b);
        point.merge(other);
        assert_eq!(first.load(Ordering::Relaxed), first_end_ns);
        let trace = Summary::default();
        let setup = Setup {
            format: "sessions",
            lanes: 1,
            start_ratio: (0.0, 0.0),
            warmups_per_lane: 0,
            pause_cap_s: 1.0,
            max_context: None,
            trace: &trace,
            server_metrics: None,
        };
        let counts = ReplayCounts {
            first_end_ns,
            ..Default::default()
        };
        summarize(a, &mut point, &counts, &setup)
    }

    /// Within a sketch's error of the exact value.
    fn near(got: f64, want: f64) -> bool {
        (got - want).abs() <= want.abs() * SKETCH_RELATIVE_ERROR + 1e-12
    }

    #[test]
    fn e2e_normalised_interactivity_inverts_the_percentiles_of_seconds_per_token() {
        // r = 1/10, 2/10, 4/10 s per token: p50 = 0.2 → 5 tok/s; mean = 7/30 → 30/7;
        // p90 = 0.2 + 0.8·0.2 = 0.36 → 1/0.36. std of 1/r = 10, 5, 2.5: sqrt(175/18).
        let recs = [rec(1.0, 2.0, 10), rec(1.0, 3.0, 10), rec(1.0, 5.0, 10)];
        let s = tallied(&recs, 2_000_000_000).e2e_norm_intvty;
        assert!(near(s.p50, 5.0), "{s:?}");
        assert!((s.mean - 30.0 / 7.0).abs() < 1e-9, "{s:?}");
        assert!(near(s.p90, 1.0 / 0.36), "{s:?}");
        assert!((s.std - (175.0f64 / 18.0).sqrt()).abs() < 1e-9, "{s:?}");
    }

    #[test]
    fn latency_blocks_are_inferencex_stat_blocks_in_milliseconds() {
        // Sent at 0; first tokens at 2, 4, 6 ms; last at 12, 24, 36 ms; 11 tokens each: TPOT
        // (12-2)/10 = 1, 2, 3 ms. Gaps 10, 20 µs and 30, 40 µs.
        let recs: Vec<RequestRecord> = (1..=3u64)
            .map(|k| RequestRecord {
                send_ns: 1,
                first_token_ns: 1 + 2_000_000 * k,
                last_token_ns: 1 + 12_000_000 * k,
                end_ns: 1 + 12_000_000 * k,
                usage_completion: Some(11),
                max_tokens: 10 + k as u32,
                input_len: 100 * k as u32,
                gaps_us: if k == 2 {
                    vec![]
                } else {
                    vec![10 * k as u32, 10 * k as u32 + 10]
                },
                ..Default::default()
            })
            .collect();
        let a = tallied(&recs, 12_000_001);
        let l = a.latency;
        // numpy: percentile([2, 4, 6], 75) = 5, 95 → 5.8; population std sqrt(8/3).
        assert!(
            near(l.ttft_ms.p75, 5.0) && near(l.ttft_ms.p95, 5.8),
            "{l:?}"
        );
        assert!(
            (l.ttft_ms.std - (8.0f64 / 3.0).sqrt()).abs() < 1e-9,
            "{l:?}"
        );
        assert!(
            near(l.e2el_ms.p50, 24.0) && (l.tpot_ms.mean - 2.0).abs() < 1e-9,
            "{l:?}"
        );
        // Gaps 10, 20, 30, 40 µs: percentile(…, 75) = 32.5 µs; 95 → 38.5 µs; mean 25 exact.
        assert!(
            near(l.itl_ms.p75, 0.0325) && near(l.itl_ms.p95, 0.0385),
            "{l:?}"
        );
        assert!((l.itl_ms.mean - 0.025).abs() < 1e-12, "{l:?}");
        // Asked 11, 12, 13; sent 100, 200, 300; got 11 each.
        let t = (a.output_expected, a.input_tokens, a.output_actual);
        assert!(t.0.mean == 12.0 && near(t.0.p50, 12.0), "{t:?}");
        assert!(
            near(t.1.p75, 250.0) && t.2.std == 0.0 && t.2.mean == 11.0,
            "{t:?}"
        );
    }

    #[test]
    fn qps_counts_completions_in_one_second_windows_from_the_first() {
        // Ends at 10.5, 10.0 (another thread's, published after), 11.2, 12.9, 13.0: span 3 s →
        // 3 windows of 2, 1, 2 (the last, on the edge, in the last window).
        let recs = [
            rec(9.0, 10.5, 1),
            rec(9.0, 10.0, 1),
            rec(9.0, 11.2, 1),
            rec(9.0, 12.9, 1),
            rec(9.0, 13.0, 1),
        ];
        let a = tallied(&recs, 10_000_000_000);
        assert_eq!(a.qps_windows, 3);
        assert!((a.qps.mean - 5.0 / 3.0).abs() < 1e-9);
        assert_eq!((a.qps.p50, a.qps.p95), (2.0, 2.0));
    }

    #[test]
    fn the_theoretical_hit_rate_is_over_successful_turns() {
        let mut a = rec(0.0, 1.0, 1);
        a.turn = Some(TurnTag {
            blocks: 10,
            hit_blocks: 0,
            ..Default::default()
        });
        let mut b = rec(1.0, 2.0, 1);
        b.turn = Some(TurnTag {
            blocks: 20,
            hit_blocks: 15,
            agent: 1,
            ..Default::default()
        });
        let mut failed = b.clone();
        failed.turn = Some(TurnTag {
            blocks: 50,
            hit_blocks: 0,
            agent: 2,
            ..Default::default()
        });
        failed.fail(servebench_core::FailureKind::Timeout, 0, "timed out");
        let m = tallied(&[a, b, failed], 1_000_000_000);
        assert!((m.theoretical_cache_hit_rate - 0.5).abs() < 1e-12);
        assert_eq!(m.subagent_requests, 2);
    }
}
