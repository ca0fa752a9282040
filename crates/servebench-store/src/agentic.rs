//! Agentic-coding points (trace replays): their workload is a trace, not input and output
//! lengths, so they are stored at the workload [`AGENTIC_WORKLOAD`] with their own figures in
//! `point_agentic` ([`AgenticPoint`]), read from the stored result: a servebench sweep point
//! (its InferenceX row under `job`, the bench result's `agentic`, the server's counters) or an
//! InferenceX AgentX row (InferenceX: utils/agentic/aggregation/process_agentic_result.py).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use servebench_core::server_metrics::ServerRates;

/// The (isl, osl) an agentic-coding point is stored at: no fixed-length workload has 0 tokens.
pub const AGENTIC_WORKLOAD: (u32, u32) = (0, 0);

/// Whether (isl, osl) is the agentic-coding workload.
pub fn is_agentic(isl: u32, osl: u32) -> bool {
    (isl, osl) == AGENTIC_WORKLOAD
}

/// A workload's name: `ISL/OSL`, or `agentic-coding`.
pub fn workload_label(isl: u32, osl: u32) -> String {
    if is_agentic(isl, osl) {
        "agentic-coding".into()
    } else {
        format!("{isl}/{osl}")
    }
}

/// The `report` flags that select a workload: `--isl I --osl O`, or `--agentic`.
pub fn workload_flags(isl: u32, osl: u32) -> String {
    if is_agentic(isl, osl) {
        "--agentic".into()
    } else {
        format!("--isl {isl} --osl {osl}")
    }
}

/// What an agentic point measured beyond the common metrics.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AgenticPoint {
    /// `none` or `dram` (KV cache offloaded to CPU memory).
    pub kv_offloading: String,
    pub kv_offload_backend: Option<String>,
    /// The CPU memory the offload could use, GB (InferenceX's `total-cpu-dram-gb`).
    pub cpu_dram_gb: Option<f64>,
    pub duration_s: Option<f64>,
    /// The trace replayed (a corpus, a file's digest, or a generated profile).
    pub trace: Option<String>,
    /// The prefix-cache hit rate an unbounded cache would give the measured turns.
    pub theoretical_hit_rate: Option<f64>,
    /// The server's: over all its caches, on the GPU, and in CPU memory (offload).
    pub server_hit_rate: Option<f64>,
    pub server_gpu_hit_rate: Option<f64>,
    pub server_cpu_hit_rate: Option<f64>,
    /// E2E-normalised interactivity (1 / percentile of E2E latency per output token),
    /// tok/s/user: the x-axis of InferenceX's agentic frontiers (its dashboard shows P90).
    pub e2e_norm_intvty_p50: Option<f64>,
    pub e2e_norm_intvty_p90: Option<f64>,
    /// Completions per second over 1-second windows, mean.
    pub qps_mean: Option<f64>,
    /// The server's KV-cache usage, % of capacity, at its highest in the window: on the GPU
    /// and in CPU memory.
    pub gpu_kv_usage_pct: Option<f64>,
    pub cpu_kv_usage_pct: Option<f64>,
}

pub(crate) const AGENTIC_COLUMNS: &str = "kv_offloading, kv_offload_backend, cpu_dram_gb, \
     duration_s, trace, theoretical_hit_rate, server_hit_rate, server_gpu_hit_rate, \
     server_cpu_hit_rate, e2e_norm_intvty_p50, e2e_norm_intvty_p90, qps_mean, gpu_kv_usage_pct, \
     cpu_kv_usage_pct";

fn num(v: &Value, path: &[&str]) -> Option<f64> {
    path.iter()
        .try_fold(v, |v, k| v.get(k))
        .and_then(Value::as_f64)
        .filter(|x| x.is_finite())
}

fn text(v: &Value, path: &[&str]) -> Option<String> {
    path.iter()
        .try_fold(v, |v, k| v.get(k))
        .and_then(Value::as_str)
        .map(str::to_string)
}

impl AgenticPoint {
    /// The agentic figures of a stored result, if it is an agentic point.
    pub fn of(result: &Value) -> Option<AgenticPoint> {
        if result.get("scenario_type").and_then(Value::as_str) == Some("agentic-coding") {
            return Some(Self::of_inferencex(result));
        }
        let a = result.get("result")?.get("agentic")?;
        Some(Self::of_sweep(result, a))
    }

    /// A servebench sweep point: the job row, the bench result's `agentic` (with the server's
    /// `/metrics` over the measured window), else the server's counters over the whole point
    /// (`server_metrics.delta`, warmups included).
    fn of_sweep(point: &Value, a: &Value) -> AgenticPoint {
        let job = &point["job"];
        let rates = ServerRates::of(&point["server_metrics"]["delta"]);
        let w = &a["server_metrics"];
        let pct = |gauge: &str| num(w, &[gauge, "max"]).map(|u| u * 100.0);
        AgenticPoint {
            kv_offloading: text(job, &["kv-offloading"]).unwrap_or_else(|| "none".into()),
            kv_offload_backend: text(job, &["kv-offload-backend", "name"]),
            cpu_dram_gb: num(job, &["total-cpu-dram-gb"]),
            duration_s: num(point, &["result", "duration"]).or(num(job, &["duration"])),
            trace: text(point, &["result", "provenance", "dataset_sha256"])
                .map(|d| format!("sha256:{d}")),
            theoretical_hit_rate: num(a, &["theoretical_cache_hit_rate"]),
            server_hit_rate: num(a, &["server_cache_hit_rate"])
                .or(num(w, &["cache_hit_rate"]))
                .or(rates.overall()),
            server_gpu_hit_rate: num(w, &["gpu_cache_hit_rate"]).or(rates.gpu()),
            server_cpu_hit_rate: num(w, &["cpu_cache_hit_rate"]).or(rates.cpu()),
            e2e_norm_intvty_p50: num(a, &["e2e_norm_intvty", "p50"]),
            e2e_norm_intvty_p90: num(a, &["e2e_norm_intvty", "p90"]),
            qps_mean: num(a, &["qps", "mean"]),
            gpu_kv_usage_pct: pct("gpu_kv_usage"),
            cpu_kv_usage_pct: pct("cpu_kv_usage"),
        }
    }

    /// An InferenceX AgentX row.
    fn of_inferencex(row: &Value) -> AgenticPoint {
        let m = &row["request_metrics"];
        let cache = &row["server_metrics"]["cache"];
        AgenticPoint {
            kv_offloading: text(row, &["kv_offloading"]).unwrap_or_else(|| "none".into()),
            kv_offload_backend: text(row, &["kv_offload_backend", "name"]),
            cpu_dram_gb: num(row, &["allocated_cpu_dram_gb"]),
            duration_s: num(m, &["throughput", "duration_seconds"]),
            trace: text(row, &["dataset", "hf_dataset_name"]),
            theoretical_hit_rate: num(m, &["cache", "theoretical_cache_hit_rate"]),
            server_hit_rate: num(cache, &["overall_cache_hit_rate"]),
            server_gpu_hit_rate: num(cache, &["gpu_cache_hit_rate"]),
            server_cpu_hit_rate: num(cache, &["cpu_cache_hit_rate"])
                .or(num(cache, &["external_cache_hit_rate"])),
            e2e_norm_intvty_p50: num(m, &["latency", "e2e_norm_intvty", "p50"]),
            e2e_norm_intvty_p90: num(m, &["latency", "e2e_norm_intvty", "p90"]),
            qps_mean: num(m, &["qps", "mean"]),
            gpu_kv_usage_pct: num(&row["server_metrics"], &["kv_cache", "gpu_usage_pct"]),
            cpu_kv_usage_pct: num(&row["server_metrics"], &["kv_cache", "cpu_usage_pct"]),
        }
    }

    pub(crate) fn values(&self) -> [crate::db::Value; 14] {
        [
            (&self.kv_offloading).into(),
            self.kv_offload_backend.as_deref().into(),
            self.cpu_dram_gb.into(),
            self.duration_s.into(),
            self.trace.as_deref().into(),
            self.theoretical_hit_rate.into(),
            self.server_hit_rate.into(),
            self.server_gpu_hit_rate.into(),
            self.server_cpu_hit_rate.into(),
            self.e2e_norm_intvty_p50.into(),
            self.e2e_norm_intvty_p90.into(),
            self.qps_mean.into(),
            self.gpu_kv_usage_pct.into(),
            self.cpu_kv_usage_pct.into(),
        ]
    }

    /// From a `point_agentic` row ([`AGENTIC_COLUMNS`]).
    pub(crate) fn from_row(r: &[crate::db::Value]) -> AgenticPoint {
        let opt_text = |v: &crate::db::Value| Some(v.text()).filter(|s| !s.is_empty());
        AgenticPoint {
            kv_offloading: r[0].text(),
            kv_offload_backend: opt_text(&r[1]),
            cpu_dram_gb: r[2].opt_real(),
            duration_s: r[3].opt_real(),
            trace: opt_text(&r[4]),
            theoretical_hit_rate: r[5].opt_real(),
            server_hit_rate: r[6].opt_real(),
            server_gpu_hit_rate: r[7].opt_real(),
            server_cpu_hit_rate: r[8].opt_real(),
            e2e_norm_intvty_p50: r[9].opt_real(),
            e2e_norm_intvty_p90: r[10].opt_real(),
            qps_mean: r[11].opt_real(),
            gpu_kv_usage_pct: r[12].opt_real(),
            cpu_kv_usage_pct: r[13].opt_real(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workloads_are_named_by_lengths_or_as_agentic() {
        assert_eq!(workload_label(1024, 8192), "1024/8192");
        assert_eq!(workload_label(0, 0), "agentic-coding");
        assert_eq!(workload_flags(8192, 1024), "--isl 8192 --osl 1024");
        assert_eq!(workload_flags(0, 0), "--agentic");
    }
}
