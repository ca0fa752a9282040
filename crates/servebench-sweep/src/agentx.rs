//! A sweep's agentic point as InferenceX's AgentX result row (InferenceX:
//! utils/agentic/aggregation/process_agentic_result.py; `../shared/reference/inferencex-2026.md`
//! §2.5), written beside servebench's own point (`OUT/inferencex/<point>.json`) so that
//! InferenceX's tools, its app, and `servebench ingest` read the same run.
//!
//! What servebench does not measure is left out rather than made up: latency blocks carry the
//! statistics a bench result keeps (mean, p50, p90, p99, p99.9, std; not p75 or p95), there is
//! no expected-output block (the replayed lengths are the trace's), and the server block holds
//! the cache rates the engine's own counters give.

use crate::plan::{Job, Topology, Workload};
use serde_json::{json, Map, Value};
use servebench_core::cache_rates::ServerRates;
use servebench_core::result::{AgenticStat, BenchResult};
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

/// A latency block in seconds from a bench result's milliseconds.
fn seconds(mean: f64, p50: f64, p90: f64, p99: f64, p999: f64, std: f64) -> Value {
    let s = |ms: f64| ms / 1000.0;
    block(&[
        ("mean", s(mean)),
        ("p50", s(p50)),
        ("p90", s(p90)),
        ("p99", s(p99)),
        ("p99.9", s(p999)),
        ("std", s(std)),
    ])
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

fn lengths(v: &[u64]) -> Value {
    let mut x: Vec<f64> = v.iter().map(|&n| n as f64).collect();
    if x.is_empty() {
        return Value::Null;
    }
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
    put("server_metrics", server_metrics(counters));
    Some(Value::Object(m))
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
    let itl = seconds(
        r.itl.mean,
        r.itl.median,
        r.itl.p90,
        r.itl.p99,
        r.itl.p999,
        r.itl.std,
    );
    let per_gpu = r.per_gpu.as_ref();
    let gpus = f64::from(job.gpus().max(1));
    let pg = |total: Option<f64>, tput: f64| round5(total.unwrap_or(tput / gpus));
    json!({
        "qps": {
            "window_seconds": 1,
            "samples": a.qps_windows,
            "mean": round5(a.qps.mean), "p50": round5(a.qps.p50), "p75": round5(a.qps.p75),
            "p90": round5(a.qps.p90), "p95": round5(a.qps.p95), "std": round5(a.qps.std),
        },
        "latency": {
            "ttft": seconds(r.ttft.mean, r.ttft.median, r.ttft.p90, r.ttft.p99, r.ttft.p999, r.ttft.std),
            "e2el": seconds(r.e2el.mean, r.e2el.median, r.e2el.p90, r.e2el.p99, r.e2el.p999, r.e2el.std),
            "tpot": seconds(r.tpot.mean, r.tpot.median, r.tpot.p90, r.tpot.p99, r.tpot.p999, r.tpot.std),
            "intvty": per_second(&itl),
            "itl": itl,
            "e2e_norm_intvty": stat_block(&a.e2e_norm_intvty),
        },
        "tokens": {
            "input": lengths(&r.input_lens),
            "output_actual": lengths(&r.output_lens),
        },
        "throughput": {
            "input": {"tokens_per_second": round5(r.input_throughput)},
            "output": {"tokens_per_second": round5(r.output_throughput)},
            "total": {"tokens_per_second": round5(r.total_token_throughput)},
            "duration_seconds": round5(r.duration),
            "per_gpu": {
                "total_tput_tps": pg(per_gpu.map(|p| p.tput_per_gpu), r.total_token_throughput),
                "output_tput_tps": pg(per_gpu.map(|p| p.output_tput_per_gpu), r.output_throughput),
                "input_tput_tps": pg(per_gpu.map(|p| p.input_tput_per_gpu), r.input_throughput),
            },
        },
        "cache": {"theoretical_cache_hit_rate": round5(a.theoretical_cache_hit_rate)},
    })
}

fn server_metrics(counters: Option<&BTreeMap<String, f64>>) -> Value {
    let Some(c) = counters.filter(|c| !c.is_empty()) else {
        return json!({"present": false});
    };
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
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let itl = seconds(20.0, 25.0, 40.0, 50.0, 80.0, 5.0);
        let i = per_second(&itl);
        assert_eq!(i["mean"], json!(50));
        assert_eq!(i["p50"], json!(40));
        assert_eq!(i["p90"], json!(25));
        assert!(i.get("std").is_none());
    }
}
