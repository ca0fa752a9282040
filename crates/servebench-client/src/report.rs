//! The readable summary printed after each point, in the layout vLLM users know.

use servebench_core::result::{BenchResult, ServerWindow, UsageStat};
use std::fmt::Write;

pub fn summary(r: &BenchResult) -> String {
    let mut s = String::new();
    let line = |s: &mut String, k: &str, v: String| {
        let _ = writeln!(s, "{k:<44}{v:>14}");
    };
    let title = match r.max_concurrency {
        Some(c) => format!(" Serving Benchmark Result (concurrency {c}) "),
        None => " Serving Benchmark Result ".to_string(),
    };
    let _ = writeln!(s, "{title:=^58}");
    line(&mut s, "Successful requests:", r.completed.to_string());
    line(&mut s, "Failed requests:", r.failed.to_string());
    line(
        &mut s,
        "Benchmark duration (s):",
        format!("{:.2}", r.duration),
    );
    line(
        &mut s,
        "Total input tokens:",
        r.total_input_tokens.to_string(),
    );
    line(
        &mut s,
        "Total generated tokens:",
        r.total_output_tokens.to_string(),
    );
    line(
        &mut s,
        "Request throughput (req/s):",
        format!("{:.2}", r.request_throughput),
    );
    if let Some(g) = r.request_goodput {
        line(&mut s, "Request goodput (req/s):", format!("{g:.2}"));
    }
    line(
        &mut s,
        "Output token throughput (tok/s):",
        format!("{:.2}", r.output_throughput),
    );
    line(
        &mut s,
        "Total token throughput (tok/s):",
        format!("{:.2}", r.total_token_throughput),
    );
    if let Some(g) = &r.per_gpu {
        line(
            &mut s,
            &format!("Total tok/s per GPU ({} GPUs):", g.num_gpus),
            format!("{:.2}", g.tput_per_gpu),
        );
        line(
            &mut s,
            "Output tok/s per GPU:",
            format!("{:.2}", g.output_tput_per_gpu),
        );
    }
    let metric =
        |s: &mut String, name: &str, mean: f64, median: f64, p90: f64, p99: f64, p999: f64| {
            let _ = writeln!(s, "{:-^58}", format!(" {name} "));
            for (k, v) in [
                ("Mean", mean),
                ("Median", median),
                ("P90", p90),
                ("P99", p99),
                ("P99.9", p999),
            ] {
                let _ = writeln!(s, "{:<44}{:>14.2}", format!("{k} (ms):"), v);
            }
        };
    metric(
        &mut s,
        "Time to First Token",
        r.ttft.mean,
        r.ttft.median,
        r.ttft.p90,
        r.ttft.p99,
        r.ttft.p999,
    );
    metric(
        &mut s,
        "Time per Output Token (excl. 1st token)",
        r.tpot.mean,
        r.tpot.median,
        r.tpot.p90,
        r.tpot.p99,
        r.tpot.p999,
    );
    metric(
        &mut s,
        "Inter-token Latency",
        r.itl.mean,
        r.itl.median,
        r.itl.p90,
        r.itl.p99,
        r.itl.p999,
    );
    metric(
        &mut s,
        "End-to-end Latency",
        r.e2el.mean,
        r.e2el.median,
        r.e2el.p90,
        r.e2el.p99,
        r.e2el.p999,
    );
    let _ = writeln!(s, "{:-^58}", " Interactivity (tok/s/user = 1000/TPOT) ");
    line(
        &mut s,
        "Median:",
        format!("{:.2}", r.interactivity.median_intvty),
    );
    line(
        &mut s,
        "Mean-TPOT based:",
        format!("{:.2}", r.interactivity.mean_intvty),
    );
    let t = &r.tokens;
    let _ = writeln!(s, "{:-^58}", " Token accounting ");
    line(
        &mut s,
        "Output tokens counted from:",
        t.output_tokens_source.clone(),
    );
    if t.requests_retokenized > 0 && t.requests_with_usage > 0 {
        line(
            &mut s,
            "Requests where usage ≠ client count:",
            format!("{}/{}", t.output_count_disagreements, r.completed),
        );
    }
    if t.server_input_requests > 0 {
        line(
            &mut s,
            "Input tokens, server usage vs client:",
            format!("{}/{}", t.server_input_tokens, t.client_input_tokens),
        );
    }
    if let Some(p) = &t.tokenize_probe {
        line(
            &mut s,
            "/tokenize probe mean (server − client):",
            format!("{:+.1}", p.mean_diff),
        );
    }
    if r.failed > 0 {
        let _ = writeln!(s, "{:-^58}", " Failures ");
        for (k, v) in &r.failures.by_category {
            line(&mut s, &format!("{k}:"), v.to_string());
        }
        for (k, v) in &r.failures.http_status {
            line(&mut s, &format!("  HTTP {k}:"), v.to_string());
        }
        for e in r.failures.examples.iter().take(3) {
            let _ = writeln!(s, "  e.g. {e}");
        }
    }
    let c = &r.self_check;
    let _ = writeln!(s, "{:-^58}", " Client self-check ");
    line(
        &mut s,
        "Busiest I/O thread CPU (%):",
        format!("{:.1}", c.max_thread_cpu_percent),
    );
    line(
        &mut s,
        "Event-loop lag p99 (ms):",
        format!("{:.3}", c.timer_lag_ms.p99),
    );
    line(
        &mut s,
        "Send lag p99 (ms):",
        format!("{:.3}", c.send_lag_ms.p99),
    );
    line(
        &mut s,
        "Verdict:",
        if c.client_bound { "CLIENT-BOUND" } else { "ok" }.to_string(),
    );
    for reason in &c.reasons {
        let _ = writeln!(s, "  warning: {reason}");
    }
    if let Some(p) = &r.power {
        let _ = writeln!(s, "{:-^58}", format!(" Measured GPU power ({}) ", p.source));
        line(
            &mut s,
            "GPUs (expected / seen):",
            format!("{} / {}", p.expected_gpus.len(), p.seen_gpus.len()),
        );
        line(
            &mut s,
            "Samples per GPU per s:",
            format!("{:.1}", p.sample_hz),
        );
        line(
            &mut s,
            "Mean board power per GPU (W):",
            format!("{:.1}", p.avg_power_per_gpu_w),
        );
        line(
            &mut s,
            "Energy over the window (J):",
            format!("{:.1}", p.total_energy_j),
        );
        if let Some(e) = p.counter_energy_j {
            line(&mut s, "  by the energy counters (J):", format!("{e:.1}"));
        }
        if let Some(j) = p.joules_per_output_token {
            line(&mut s, "J per output token:", format!("{j:.4}"));
        }
        if let Some(t) = p.tokens_per_s_per_kw {
            line(&mut s, "Tokens/s per kW (measured):", format!("{t:.1}"));
        }
        line(
            &mut s,
            "Valid:",
            if p.valid { "yes" } else { "NO" }.to_string(),
        );
        for r in &p.invalid_reasons {
            let _ = writeln!(s, "  {}: {}", r.code, r.detail);
        }
    }
    if let Some(a) = &r.agentic {
        let _ = writeln!(s, "{:-^58}", format!(" Trace replay ({}) ", a.trace_format));
        line(&mut s, "Lanes (users):", a.lanes.to_string());
        line(
            &mut s,
            "Sessions started / completed:",
            format!("{} / {}", a.sessions_started, a.sessions_completed),
        );
        line(
            &mut s,
            "Subagent requests:",
            a.subagent_requests.to_string(),
        );
        line(
            &mut s,
            "Most requests in flight:",
            a.max_in_flight.to_string(),
        );
        line(
            &mut s,
            "Theoretical prefix-cache hit rate:",
            format!("{:.4}", a.theoretical_cache_hit_rate),
        );
        if let (Some(srv), Some(th)) = (a.server_cache_hit_rate, a.theoretical_hit_rate_same_turns)
        {
            line(
                &mut s,
                "Server-reported cache hits (theory):",
                format!("{srv:.4} ({th:.4})"),
            );
        }
        line(
            &mut s,
            "E2E-normalised interactivity P50/P90:",
            format!("{:.2}/{:.2}", a.e2e_norm_intvty.p50, a.e2e_norm_intvty.p90),
        );
        line(
            &mut s,
            "Completions per second (mean/P90):",
            format!("{:.2}/{:.2}", a.qps.mean, a.qps.p90),
        );
        if let Some(w) = &a.server_metrics {
            server_window(&mut s, w, &line);
        }
        if let Some(e) = &a.trace_error {
            let _ = writeln!(s, "  the trace stopped: {e}");
        }
    }
    let _ = writeln!(s, "{}", "=".repeat(58));
    s
}

/// What the server's `/metrics` said over a replay's window.
fn server_window(s: &mut String, w: &ServerWindow, line: &impl Fn(&mut String, &str, String)) {
    let rate = |r: Option<f64>| r.map_or("-".to_string(), |r| format!("{r:.4}"));
    if w.cache_hit_rate.is_some() {
        line(
            s,
            "Server /metrics cache hits (GPU/CPU):",
            format!(
                "{} ({}/{})",
                rate(w.cache_hit_rate),
                rate(w.gpu_cache_hit_rate),
                rate(w.cpu_cache_hit_rate)
            ),
        );
    }
    let usage = |u: UsageStat| format!("{:.1}%/{:.1}%", u.mean * 100.0, u.max * 100.0);
    for (k, u) in [
        ("Server GPU KV usage (mean/max):", w.gpu_kv_usage),
        ("Server CPU KV usage (mean/max):", w.cpu_kv_usage),
    ] {
        if let Some(u) = u {
            line(s, k, usage(u));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use servebench_core::result::Agentic;

    #[test]
    fn a_replay_summary_shows_what_the_servers_metrics_said() {
        let r = BenchResult {
            agentic: Some(Agentic {
                server_metrics: Some(ServerWindow {
                    cache_hit_rate: Some(0.875),
                    gpu_cache_hit_rate: Some(0.75),
                    cpu_cache_hit_rate: Some(0.125),
                    gpu_kv_usage: Some(UsageStat {
                        mean: 0.5,
                        max: 0.813,
                    }),
                    cpu_kv_usage: None,
                    samples: 3,
                    interval_s: 1.0,
                    timeline: Vec::new(),
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let text = summary(&r);
        let has = |k: &str, v: &str| {
            text.lines()
                .any(|l| l.starts_with(k) && l.trim_end().ends_with(v))
        };
        assert!(
            has(
                "Server /metrics cache hits (GPU/CPU):",
                "0.8750 (0.7500/0.1250)"
            ),
            "{text}"
        );
        assert!(
            has("Server GPU KV usage (mean/max):", "50.0%/81.3%"),
            "{text}"
        );
        assert!(!text.contains("Server CPU KV usage"), "{text}");
    }
}
