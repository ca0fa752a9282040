//! The metrics of a trace replay, as InferenceX computes them for its agentic rows
//! (utils/agentic/aggregation/request_metrics.py): only successful measured requests count.

use crate::record::RequestRecord;
use crate::replay::ReplayCounts;
use servebench_core::result::{Agentic, AgenticLatency, AgenticStat, ServerWindow};
use servebench_core::stats::CountDistribution;
use servebench_dataset::trace::Summary;

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
    /// The measured requests' inter-token gaps (µs), where the run pooled them.
    pub itl_us: Option<&'a CountDistribution>,
}

pub fn summarize(records: &[RequestRecord], counts: &ReplayCounts, s: &Setup<'_>) -> Agentic {
    let ok: Vec<&RequestRecord> = records.iter().filter(|r| r.ok()).collect();
    let (hits, blocks) = ok
        .iter()
        .filter_map(|r| r.turn)
        .fold((0u64, 0u64), |(h, b), t| {
            (h + u64::from(t.hit_blocks), b + u64::from(t.blocks))
        });
    let (qps, qps_windows) = qps(&ok);
    let (server_rate, theory_rate) = server_cache(&ok);
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
        subagent_requests: records
            .iter()
            .filter(|r| r.turn.is_some_and(|t| t.agent > 0))
            .count() as u64,
        max_in_flight: max_in_flight(records),
        theoretical_cache_hit_rate: if blocks == 0 {
            0.0
        } else {
            hits as f64 / blocks as f64
        },
        server_cache_hit_rate: server_rate,
        theoretical_hit_rate_same_turns: theory_rate,
        e2e_norm_intvty: e2e_norm_intvty(&ok),
        latency: latency(&ok, s.itl_us),
        output_expected: stat(&ok, |r| Some(f64::from(r.max_tokens))),
        input_tokens: stat(&ok, |r| {
            Some(f64::from(r.usage_prompt.unwrap_or(r.input_len)))
        }),
        qps,
        qps_windows,
        trace_error: counts.trace_error.clone(),
        server_metrics: s.server_metrics.clone(),
    }
}

/// The stat block of a per-request value.
fn stat(ok: &[&RequestRecord], f: impl Fn(&RequestRecord) -> Option<f64>) -> AgenticStat {
    AgenticStat::of(&mut ok.iter().filter_map(|r| f(r)).collect::<Vec<_>>())
}

/// TTFT, E2E latency, TPOT (requests of more than one token) and ITL, in ms.
fn latency(ok: &[&RequestRecord], itl_us: Option<&CountDistribution>) -> AgenticLatency {
    let ms = |ns: Option<u64>| ns.map(|n| n as f64 / 1e6);
    let pooled;
    let itl = match itl_us {
        Some(d) => d,
        None => {
            let mut d = CountDistribution::new();
            ok.iter().for_each(|r| d.extend(&r.gaps_us));
            pooled = d;
            &pooled
        }
    };
    AgenticLatency {
        ttft_ms: stat(ok, |r| ms(r.ttft_ns())),
        e2el_ms: stat(ok, |r| ms(r.e2el_ns())),
        tpot_ms: stat(ok, |r| {
            let out = r.output_tokens();
            let (t, e) = (ms(r.ttft_ns())?, ms(r.e2el_ns())?);
            (out > 1).then(|| (e - t) / f64::from(out - 1))
        }),
        itl_ms: AgenticStat::of_counts(itl, 1e-3),
    }
}

/// Per request `r = request latency (s) / output tokens`; each statistic is `1 / stat(r)`
/// (InferenceX's `e2e_norm_intvty`); `std` is the spread of the per-request `1 / r`.
fn e2e_norm_intvty(ok: &[&RequestRecord]) -> AgenticStat {
    let mut r: Vec<f64> = ok
        .iter()
        .filter_map(|rec| {
            let out = rec.output_tokens();
            let e2e = rec.end_ns.checked_sub(rec.send_ns)? as f64 / 1e9;
            (out > 0 && e2e > 0.0).then(|| e2e / f64::from(out))
        })
        .collect();
    let mut inv: Vec<f64> = r.iter().map(|x| 1.0 / x).collect();
    let s = AgenticStat::of(&mut r);
    let inv_or_zero = |x: f64| if x > 0.0 { 1.0 / x } else { 0.0 };
    AgenticStat {
        mean: inv_or_zero(s.mean),
        p50: inv_or_zero(s.p50),
        p75: inv_or_zero(s.p75),
        p90: inv_or_zero(s.p90),
        p95: inv_or_zero(s.p95),
        std: AgenticStat::of(&mut inv).std,
    }
}

/// Over the turns whose server reported cached tokens: its cached tokens, and the trace's
/// theoretical hit tokens, each over their prompt tokens (the server's count where given).
fn server_cache(ok: &[&RequestRecord]) -> (Option<f64>, Option<f64>) {
    let (mut cached, mut theory, mut prompt) = (0u64, 0u64, 0u64);
    for r in ok {
        if let (Some(c), Some(t)) = (r.server_cached_tokens, r.turn) {
            cached += u64::from(c);
            theory += u64::from(t.hit_tokens);
            prompt += u64::from(r.usage_prompt.unwrap_or(r.input_len));
        }
    }
    if prompt == 0 {
        return (None, None);
    }
    let rate = |x: u64| Some(x as f64 / prompt as f64);
    (rate(cached), rate(theory))
}

/// Completions per 1-second window from the first completion to the last, and the number
/// of windows.
fn qps(ok: &[&RequestRecord]) -> (AgenticStat, u64) {
    let ends: Vec<u64> = ok.iter().map(|r| r.end_ns).collect();
    let (Some(&first), Some(&last)) = (ends.iter().min(), ends.iter().max()) else {
        return (AgenticStat::default(), 0);
    };
    let n = ((last - first) as f64 / 1e9).ceil().max(1.0) as usize;
    let mut counts = vec![0.0f64; n];
    for e in ends {
        let k = (((e - first) / 1_000_000_000) as usize).min(n - 1);
        counts[k] += 1.0;
    }
    (AgenticStat::of(&mut counts), n as u64)
}

/// The most measured requests between their send and their end at one time.
fn max_in_flight(records: &[RequestRecord]) -> u64 {
    let mut events: Vec<(u64, i64)> = records
        .iter()
        .filter(|r| r.send_ns > 0)
        .flat_map(|r| [(r.send_ns, 1), (r.end_ns.max(r.send_ns), -1)])
        .collect();
    // Ends before starts at the same instant: back-to-back requests do not overlap.
    events.sort_unstable();
    let (mut now, mut most) = (0i64, 0i64);
    for (_, d) in events {
        now += d;
        most = most.max(now);
    }
    most as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::TurnTag;

    fn rec(send_s: f64, end_s: f64, out: u32) -> RequestRecord {
        RequestRecord {
            send_ns: (send_s * 1e9) as u64,
            end_ns: (end_s * 1e9) as u64,
            usage_completion: Some(out),
            ..Default::default()
        }
    }

    #[test]
    fn e2e_normalised_interactivity_inverts_the_percentiles_of_seconds_per_token() {
        // r = 1/10, 2/10, 4/10 s per token: p50 = 0.2 → 5 tok/s; mean = 7/30 → 30/7;
        // p90 = 0.2 + 0.8·0.2 = 0.36 → 1/0.36.
        let recs = [rec(1.0, 2.0, 10), rec(1.0, 3.0, 10), rec(1.0, 5.0, 10)];
        let ok: Vec<&RequestRecord> = recs.iter().collect();
        let s = e2e_norm_intvty(&ok);
        assert!((s.p50 - 5.0).abs() < 1e-9, "{s:?}");
        assert!((s.mean - 30.0 / 7.0).abs() < 1e-9, "{s:?}");
        assert!((s.p90 - 1.0 / 0.36).abs() < 1e-9, "{s:?}");
    }

    #[test]
    fn latency_blocks_are_inferencex_stat_blocks_in_milliseconds() {
        // Sent at 0; first tokens at 2, 4, 6 ms; last at 12, 24, 36 ms; 11 tokens each: TPOT
        // (12-2)/10 = 1, 2, 3 ms. Gaps pooled from a histogram: 10, 20, 30, 40 µs.
        let recs: Vec<RequestRecord> = (1..=3u64)
            .map(|k| RequestRecord {
                send_ns: 1,
                first_token_ns: 1 + 2_000_000 * k,
                last_token_ns: 1 + 12_000_000 * k,
                usage_completion: Some(11),
                ..Default::default()
            })
            .collect();
        let ok: Vec<&RequestRecord> = recs.iter().collect();
        let mut itl = CountDistribution::new();
        itl.extend(&[10, 20, 30, 40]);
        let l = latency(&ok, Some(&itl));
        let near = |a: f64, b: f64| (a - b).abs() < 1e-9;
        // numpy: percentile([2, 4, 6], 75) = 5, 95 → 5.8; population std sqrt(8/3).
        assert!(
            near(l.ttft_ms.p75, 5.0) && near(l.ttft_ms.p95, 5.8),
            "{l:?}"
        );
        assert!(near(l.ttft_ms.std, (8.0f64 / 3.0).sqrt()), "{l:?}");
        assert!(
            near(l.e2el_ms.p50, 24.0) && near(l.tpot_ms.mean, 2.0),
            "{l:?}"
        );
        // percentile([10, 20, 30, 40] µs, 75) = 32.5 µs; 95 → 38.5 µs.
        assert!(
            near(l.itl_ms.p75, 0.0325) && near(l.itl_ms.p95, 0.0385),
            "{l:?}"
        );
        assert!(near(l.itl_ms.mean, 0.025), "{l:?}");
    }

    #[test]
    fn qps_counts_completions_in_one_second_windows() {
        // Ends at 10.0, 10.5, 11.2, 12.9: span 2.9 s → 3 windows of 2, 1, 1.
        let recs = [
            rec(9.0, 10.0, 1),
            rec(9.0, 10.5, 1),
            rec(9.0, 11.2, 1),
            rec(9.0, 12.9, 1),
        ];
        let ok: Vec<&RequestRecord> = recs.iter().collect();
        let (s, n) = qps(&ok);
        assert_eq!(n, 3);
        assert!((s.mean - 4.0 / 3.0).abs() < 1e-9);
        assert_eq!(s.p50, 1.0);
    }

    #[test]
    fn in_flight_counts_overlaps_not_back_to_back_requests() {
        let recs = [
            rec(0.0, 2.0, 1),
            rec(1.0, 3.0, 1),
            rec(2.0, 4.0, 1),
            rec(3.5, 5.0, 1),
        ];
        assert_eq!(max_in_flight(&recs), 2);
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
            itl_us: None,
        };
        let m = summarize(&[a, b], &ReplayCounts::default(), &setup);
        assert!((m.theoretical_cache_hit_rate - 0.5).abs() < 1e-12);
        assert_eq!(m.subagent_requests, 1);
    }
}
