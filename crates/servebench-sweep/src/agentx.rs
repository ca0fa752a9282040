//! A sweep's agentic point as InferenceX's AgentX result row (InferenceX:
//! utils/agentic/aggregation/process_agentic_result.py; `../shared/reference/inferencex-2026.md`
//! §2.5), written beside servebench's own point (`OUT/inferencex/<point>.json`) so that
//! InferenceX's tools, its app, and `servebench ingest` read the same run.
//!
//! Latency, token and QPS blocks are InferenceX's stat blocks (mean, p50, p75, p90, p95, std)
//! of the replay's measured requests; the server block holds the cache rates the engine's own
//! counters give and the KV-cache usage its gauges showed (the highest sample of the window).
//! What servebench does not measure (KV capacity, offload traffic, per-endpoint sources) is
//! left out rather than made up.

use crate::plan::{Job, Topology, Workload};
use crate::recipe::Worker;
use serde_json::{json, Map, Value};
use servebench_core::result::{Agentic, AgenticStat, BenchResult, ServerWindow, UsageStat};
use servebench_core::server_metrics::ServerRates;
use std::collections::BTreeMap;

/// InferenceX's rounding: 5 decimals, and a float that rounds to an integer of at least 1
/// becomes that integer.
fn round5(x: f64) -> Value {
    if !x.is_finite() {
        return Value::Null;
    }
    let r = (x * 1e5).round() / 1e5;
    if r >= 1.0 && r.fract() == 0.0 && r < 9.0e15 {
        json!(r as i64)
    } else {
        json!(r)
    }
}

/// A statistics block from named values (only the finite ones).
fn block(stats: &[(&str, f64)]) -> Value {
    Value::Object(
        stats
            .iter()
            .filter(|(_, v)| v.is_finite())
            .map(|(k, v)| (k.to_string(), round5(*v)))
            .collect(),
    )
}

fn stat_block(s: &AgenticStat) -> Value {
    block(&[
        ("mean", s.mean),
        ("p50", s.p50),
        ("p75", s.p75),
        ("p90", s.p90),
        ("p95", s.p95),
        ("std", s.std),
    ])
}

/// A latency block in seconds from milliseconds.
fn seconds(ms: &AgenticStat) -> Value {
    let s = |x: f64| x / 1000.0;
    stat_block(&AgenticStat {
        mean: s(ms.mean),
        p50: s(ms.p50),
        p75: s(ms.p75),
        p90: s(ms.p90),
        p95: s(ms.p95),
        std: s(ms.std),
    })
}

/// Tokens per second per user from inter-token seconds, statistic by statistic (InferenceX's
/// `intvty_q = 1 / ITL_q`).
fn per_second(itl: &Value) -> Value {
    let Some(m) = itl.as_object() else {
        return Value::Null;
    };
    Value::Object(
        m.iter()
            .filter(|(k, _)| k.as_str() != "std")
            .filter_map(|(k, v)| {
                let x = v.as_f64().filter(|x| *x > 0.0)?;
                Some((k.clone(), round5(1.0 / x)))
            })
            .collect(),
    )
}

/// The output lengths received: the replay's stat block, or (results written before it had
/// one) the per-request lengths.
fn output_actual(a: &Agentic, r: &BenchResult) -> Value {
    if a.output_actual != AgenticStat::default() || r.output_lens.is_empty() {
        return stat_block(&a.output_actual);
    }
    let mut x: Vec<f64> = r.output_lens.iter().map(|&n| n as f64).collect();
    stat_block(&AgenticStat::of(&mut x))
}

/// The AgentX row of an agentic point; `None` for a fixed-length point.
pub fn row(
    job: &Job,
    conc: u32,
    r: &BenchResult,
    counters: Option<&BTreeMap<String, f64>>,
) -> Option<Value> {
    let Workload::Agentic {
        kv_offloading,
        kv_offload_backend,
        total_cpu_dram_gb,
        ..
    } = &job.workload
    else {
        return None;
    };
    let a = r.agentic.as_ref()?;
    let mut m = Map::new();
    let mut put = |k: &str, v: Value| {
        m.insert(k.to_string(), v);
    };
    put("hw", json!(job.runner));
    put("conc", json!(conc));
    put("image", json!(job.image));
    put("recipe_fingerprint", json!(job.fingerprint));
    put("model", json!(job.model));
    put("infmax_model_prefix", json!(job.model_prefix));
    put("framework", json!(job.framework));
    put("precision", json!(job.precision));
    put("spec_decoding", json!(job.spec_decoding.as_str()));
    put("disagg", json!(job.disagg));
    put("is_multinode", json!(job.is_multinode()));
    put("scenario_type", json!("agentic-coding"));
    if let Topology::Single {
        tp,
        pp,
        dcp_size,
        pcp_size,
        ep,
        dp_attn,
    } = job.topology
    {
        put("tp", json!(tp));
        put("ep", json!(ep));
        put("dp_attention", json!(dp_attn.to_string()));
        put("pp", json!(pp));
        put("dcp_size", json!(dcp_size));
        put("pcp_size", json!(pcp_size));
    }
    if let Topology::Multi { prefill, decode } = &job.topology {
        for (k, v) in multinode_fields(prefill, decode) {
            put(&k, v);
        }
    }
    put("kv_offloading", json!(kv_offloading.as_str()));
    put("kv_offload_backend", json!(kv_offload_backend));
    put("allocated_cpu_dram_gb", json!(total_cpu_dram_gb));
    put("num_requests_total", json!(r.completed + r.failed));
    put("num_requests_successful", json!(r.completed));
    put("request_accounting", accounting(r));
    put(
        "dataset",
        json!({
            "source_type": "servebench",
            "trace_format": a.trace_format,
            "sha256": r.provenance.dataset_sha256,
            "num_dataset_entries": a.trace_sessions,
        }),
    );
    put("request_metrics", request_metrics(job, r));
    put(
        "server_metrics",
        server_metrics(counters, a.server_metrics.as_ref()),
    );
    Some(Value::Object(m))
}

/// GPUs as InferenceX's agentic aggregation counts them (`_gpu_shape`): workers × TP × PP × PCP
/// per pool; all three per-GPU throughputs divide by their sum.
fn ix_gpus(job: &Job) -> u32 {
    match &job.topology {
        Topology::Single { .. } => job.gpus(),
        Topology::Multi { prefill, decode } => [prefill, decode]
            .iter()
            .map(|w| w.num_worker.saturating_mul(w.gpus_per_replica()))
            .fold(0u32, u32::saturating_add),
    }
}

/// A multi-node row's pools (`prefill_*`, `decode_*`, GPUs per role) and InferenceX's summary
/// topology: TP summed, EP the larger, DP-attention if either pool uses it. A pool of no GPUs
/// (aggregated) has TP and EP 0.
fn multinode_fields(prefill: &Worker, decode: &Worker) -> Vec<(String, Value)> {
    let gpus = |w: &Worker| w.num_worker.saturating_mul(w.gpus_per_replica());
    let tp_ep = |w: &Worker| if gpus(w) == 0 { (0, 0) } else { (w.tp, w.ep) };
    let mut v = Vec::new();
    for (role, w) in [("prefill", prefill), ("decode", decode)] {
        let (tp, ep) = tp_ep(w);
        let mut put = |k: &str, x: Value| v.push((format!("{role}_{k}"), x));
        put("tp", json!(tp));
        put("pp", json!(w.pp));
        put("dcp_size", json!(w.dcp_size));
        put("pcp_size", json!(w.pcp_size));
        put("ep", json!(ep));
        put("dp_attention", json!(w.dp_attn.to_string()));
        put("num_workers", json!(w.num_worker));
        if let Some(hw) = &w.hardware {
            put("hw", json!(hw));
        }
        v.push((format!("num_{role}_gpu"), json!(gpus(w))));
    }
    let ((ptp, pep), (dtp, dep)) = (tp_ep(prefill), tp_ep(decode));
    v.push(("tp".into(), json!(ptp + dtp)));
    v.push(("ep".into(), json!(pep.max(dep))));
    let dp = prefill.dp_attn || decode.dp_attn;
    v.push(("dp_attention".into(), json!(dp.to_string())));
    v
}

fn accounting(r: &BenchResult) -> Value {
    json!({
        "records_total": r.completed + r.failed + r.warmups as u64,
        "records_profiled": r.completed,
        "records_dropped_total": r.failed + r.warmups as u64,
        "records_warmup_dropped": r.warmups,
        "records_error_dropped": r.failed,
        "error_categories": r.failures.by_category,
    })
}

fn request_metrics(job: &Job, r: &BenchResult) -> Value {
    let a = r.agentic.as_ref().expect("an agentic result");
    let l = &a.latency;
    let itl = seconds(&l.itl_ms);
    let gpus = f64::from(ix_gpus(job).max(1));
    let pg = |tput: f64| round5(tput / gpus);
    json!({
        "qps": {
            "window_seconds": 1,
            "samples": a.qps_windows,
            "mean": round5(a.qps.mean), "p50": round5(a.qps.p50), "p75": round5(a.qps.p75),
            "p90": round5(a.qps.p90), "p95": round5(a.qps.p95), "std": round5(a.qps.std),
        },
        "latency": {
            "ttft": seconds(&l.ttft_ms),
            "e2el": seconds(&l.e2el_ms),
            "tpot": seconds(&l.tpot_ms),
            "intvty": per_second(&itl),
            "itl": itl,
            "e2e_norm_intvty": stat_block(&a.e2e_norm_intvty),
        },
        "tokens": {
            "input": stat_block(&a.input_tokens),
            "output_actual": output_actual(a, r),
            "output_expected": stat_block(&a.output_expected),
        },
        "throughput": {
            "input": {"tokens_per_second": round5(r.input_throughput)},
            "output": {"tokens_per_second": round5(r.output_throughput)},
            "total": {"tokens_per_second": round5(r.total_token_throughput)},
            "duration_seconds": round5(r.duration),
            "per_gpu": {
                "total_tput_tps": pg(r.total_token_throughput),
                "output_tput_tps": pg(r.output_throughput),
                "input_tput_tps": pg(r.input_throughput),
            },
        },
        "cache": {"theoretical_cache_hit_rate": round5(a.theoretical_cache_hit_rate)},
    })
}

fn server_metrics(
    counters: Option<&BTreeMap<String, f64>>,
    window: Option<&ServerWindow>,
) -> Value {
    let Some(c) = counters.filter(|c| !c.is_empty()) else {
        return json!({"present": false});
    };
    let pct = |u: Option<UsageStat>| u.map(|u| round5(u.max * 100.0));
    let mut kv_cache = Map::new();
    for (k, v) in [
        ("gpu_usage_pct", pct(window.and_then(|w| w.gpu_kv_usage))),
        ("cpu_usage_pct", pct(window.and_then(|w| w.cpu_kv_usage))),
    ] {
        if let Some(v) = v {
            kv_cache.insert(k.into(), v);
        }
    }
    let delta = serde_json::to_value(c).expect("numbers serialise");
    let rates = ServerRates::of(&delta);
    let adapter = c.keys().find_map(|k| {
        ["vllm:", "sglang:", "llamacpp:"]
            .into_iter()
            .find(|p| k.starts_with(p))
            .map(|p| p.trim_end_matches(':'))
    });
    let mut cache = Map::new();
    for (k, v) in [
        ("gpu_cache_hit_rate", rates.gpu()),
        ("cpu_cache_hit_rate", rates.cpu()),
        ("overall_cache_hit_rate", rates.overall()),
    ] {
        if let Some(v) = v {
            cache.insert(k.into(), round5(v));
        }
    }
    json!({
        "present": true,
        "adapter": adapter,
        "metric_count": c.len(),
        "cache": cache,
        "kv_cache": kv_cache,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn worker(num_worker: u32, tp: u32, ep: u32, dp_attn: bool) -> Worker {
        Worker {
            num_worker,
            tp,
            pp: 1,
            dcp_size: 1,
            pcp_size: 1,
            ep,
            dp_attn,
            hardware: None,
            additional_settings: None,
        }
    }

    #[test]
    fn multinode_rows_carry_each_pool_and_inferencex_summary_topology() {
        // InferenceX's worked example shape: 3 prefill workers of TP4, one decode worker of
        // TP32 EP32 with DP attention: 12 + 32 GPUs; tp 4 + 32, ep max(4, 32).
        let f: BTreeMap<String, Value> =
            multinode_fields(&worker(3, 4, 4, false), &worker(1, 32, 32, true))
                .into_iter()
                .collect();
        assert_eq!(f["num_prefill_gpu"], json!(12));
        assert_eq!(f["num_decode_gpu"], json!(32));
        assert_eq!(f["prefill_num_workers"], json!(3));
        assert_eq!(f["decode_dp_attention"], json!("true"));
        assert_eq!(f["prefill_dp_attention"], json!("false"));
        assert_eq!((&f["tp"], &f["ep"]), (&json!(36), &json!(32)));
        assert_eq!(f["dp_attention"], json!("true"));
        // Aggregated multi-node: no decode GPUs, decode TP and EP 0.
        let agg: BTreeMap<String, Value> =
            multinode_fields(&worker(2, 8, 8, false), &worker(0, 8, 8, false))
                .into_iter()
                .collect();
        assert_eq!(
            (&agg["decode_tp"], &agg["decode_ep"]),
            (&json!(0), &json!(0))
        );
        assert_eq!((&agg["tp"], &agg["num_decode_gpu"]), (&json!(8), &json!(0)));
    }

    #[test]
    fn floats_round_to_five_decimals_and_whole_ones_become_integers() {
        assert_eq!(round5(0.123456789), json!(0.12346));
        assert_eq!(round5(2.000001), json!(2));
        assert_eq!(round5(0.999999), json!(1));
        assert_eq!(round5(0.0), json!(0.0));
        assert_eq!(round5(f64::NAN), Value::Null);
    }

    #[test]
    fn interactivity_is_the_inverse_of_each_inter_token_statistic() {
        let itl = seconds(&AgenticStat {
            mean: 20.0,
            p50: 25.0,
            p75: 32.0,
            p90: 40.0,
            p95: 50.0,
            std: 5.0,
        });
        assert_eq!(itl["p75"], json!(0.032));
        let i = per_second(&itl);
        assert_eq!(i["mean"], json!(50));
        assert_eq!(i["p50"], json!(40));
        assert_eq!(i["p90"], json!(25));
        assert_eq!(i["p95"], json!(20));
        assert!(i.get("std").is_none());
    }
}
