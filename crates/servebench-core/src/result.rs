//! The versioned result of one `bench` point (one concurrency value).
//!
//! The top-level field names are those of vLLM's `bench serve --save-result` and InferenceX's
//! client (`mean_ttft_ms`, `p99.9_e2el_ms`, `request_throughput`, ...), so existing tooling reads
//! our files unchanged. servebench's additions sit beside them: the configuration, provenance,
//! token accounting, the failure breakdown and the client self-check.
//! Definitions of every metric: `docs/metrics.md`.

use crate::stats::Summary;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Bumped whenever a field changes meaning or is removed.
pub const SCHEMA_VERSION: u32 = 1;

/// Request rate: a number of requests per second or `inf` (all at once, closed loop).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum RequestRate {
    #[default]
    Infinite,
    PerSecond(f64),
}

impl RequestRate {
    pub fn is_infinite(self) -> bool {
        matches!(self, RequestRate::Infinite)
    }
}

impl std::str::FromStr for RequestRate {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("inf") || t.eq_ignore_ascii_case("infinity") {
            return Ok(RequestRate::Infinite);
        }
        match t.parse::<f64>() {
            Ok(v) if v.is_infinite() && v > 0.0 => Ok(RequestRate::Infinite),
            Ok(v) if v > 0.0 && v.is_finite() => Ok(RequestRate::PerSecond(v)),
            _ => Err(format!(
                "expected a positive number of requests per second or 'inf', got '{s}'"
            )),
        }
    }
}

impl Serialize for RequestRate {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            RequestRate::Infinite => s.serialize_str("inf"),
            RequestRate::PerSecond(v) => s.serialize_f64(*v),
        }
    }
}

impl schemars::JsonSchema for RequestRate {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "RequestRate".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "Requests per second, or \"inf\" for a closed loop",
            "anyOf": [
                {"type": "number", "exclusiveMinimum": 0},
                {"const": "inf"}
            ]
        })
    }
}

impl<'de> Deserialize<'de> for RequestRate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        match v {
            serde_json::Value::String(s) => s.parse().map_err(serde::de::Error::custom),
            serde_json::Value::Number(n) => Ok(RequestRate::PerSecond(n.as_f64().unwrap_or(0.0))),
            other => Err(serde::de::Error::custom(format!(
                "request_rate: expected a number or \"inf\", got {other}"
            ))),
        }
    }
}

/// Latency statistics of one metric in milliseconds, flattened with vLLM's key names.
macro_rules! latency_fields {
    ($name:ident, $mean:literal, $median:literal, $std:literal, $p90:literal, $p99:literal, $p999:literal) => {
        #[derive(
            Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema,
        )]
        pub struct $name {
            #[serde(rename = $mean)]
            pub mean: f64,
            #[serde(rename = $median)]
            pub median: f64,
            #[serde(rename = $std)]
            pub std: f64,
            #[serde(rename = $p90)]
            pub p90: f64,
            #[serde(rename = $p99)]
            pub p99: f64,
            #[serde(rename = $p999)]
            pub p999: f64,
        }

        impl From<Summary> for $name {
            fn from(s: Summary) -> Self {
                $name {
                    mean: s.mean,
                    median: s.median,
                    std: s.std,
                    p90: s.p90,
                    p99: s.p99,
                    p999: s.p999,
                }
            }
        }
    };
}

latency_fields!(
    TtftStats,
    "mean_ttft_ms",
    "median_ttft_ms",
    "std_ttft_ms",
    "p90_ttft_ms",
    "p99_ttft_ms",
    "p99.9_ttft_ms"
);
latency_fields!(
    TpotStats,
    "mean_tpot_ms",
    "median_tpot_ms",
    "std_tpot_ms",
    "p90_tpot_ms",
    "p99_tpot_ms",
    "p99.9_tpot_ms"
);
latency_fields!(
    ItlStats,
    "mean_itl_ms",
    "median_itl_ms",
    "std_itl_ms",
    "p90_itl_ms",
    "p99_itl_ms",
    "p99.9_itl_ms"
);
latency_fields!(
    E2elStats,
    "mean_e2el_ms",
    "median_e2el_ms",
    "std_e2el_ms",
    "p90_e2el_ms",
    "p99_e2el_ms",
    "p99.9_e2el_ms"
);

/// Interactivity (tok/s/user) = 1000 / TPOT_ms for each TPOT statistic. `p99_intvty` is the
/// interactivity of the p99 (slowest) TPOT, as InferenceX defines it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Interactivity {
    pub mean_intvty: f64,
    pub median_intvty: f64,
    pub p90_intvty: f64,
    pub p99_intvty: f64,
    #[serde(rename = "p99.9_intvty")]
    pub p999_intvty: f64,
}

impl Interactivity {
    pub fn from_tpot_ms(t: &TpotStats) -> Self {
        let inv = |ms: f64| if ms > 0.0 { 1000.0 / ms } else { 0.0 };
        Interactivity {
            mean_intvty: inv(t.mean),
            median_intvty: inv(t.median),
            p90_intvty: inv(t.p90),
            p99_intvty: inv(t.p99),
            p999_intvty: inv(t.p999),
        }
    }
}

/// Per-GPU throughput (InferenceX's field names); present when `--num-gpus` is given.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PerGpu {
    pub num_gpus: u32,
    /// Total (input + output) tokens per second per GPU.
    pub tput_per_gpu: f64,
    pub output_tput_per_gpu: f64,
    pub input_tput_per_gpu: f64,
}

/// The settings the point ran with (everything needed to rerun it, except the API key).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RunConfig {
    pub base_url: String,
    pub api: String,
    pub endpoint: String,
    pub model: String,
    pub dataset: String,
    pub dataset_path: Option<String>,
    pub isl: u32,
    pub osl: u32,
    pub range_ratio: f64,
    pub concurrency: Option<usize>,
    pub num_prompts: usize,
    pub warmups: usize,
    pub request_rate: String,
    pub burstiness: f64,
    pub duration_s: Option<f64>,
    pub seed: u64,
    pub ignore_eos: bool,
    pub num_gpus: Option<u32>,
    pub request_timeout_s: f64,
    pub idle_timeout_s: f64,
    pub client_threads: usize,
    pub max_failure_rate: f64,
    /// Name of the environment variable holding the API key; the key itself is never written.
    pub api_key_env: String,
    pub api_key_present: bool,
    /// Members added to every request body (`--extra-body`).
    pub extra_body: Option<serde_json::Value>,
    /// Names of extra request headers (`--header`); their values are never written.
    pub header_names: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TokenizerInfo {
    pub name: String,
    pub source: String,
    pub sha256: String,
    pub vocab_size: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Provenance {
    pub servebench_version: String,
    pub host: String,
    pub os: String,
    pub tokenizer: TokenizerInfo,
    pub dataset_sha256: String,
    pub seed: u64,
}

/// Distribution of realised lengths against their targets.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LengthStats {
    pub count: u64,
    pub min: u64,
    pub max: u64,
    pub mean: f64,
    /// Mean of (realised − target); 0 when the repair loop hit every target.
    pub mean_mismatch: f64,
    /// Requests whose realised length differs from the target.
    pub mismatched: u64,
}

/// Output and input token counts from every source, and how far they disagree.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TokenAccounting {
    /// `usage`, `tokenizer` or `mixed`: where `total_output_tokens` came from.
    pub output_tokens_source: String,
    pub requests_with_usage: u64,
    /// Sum of `usage.completion_tokens` over successful requests that reported it.
    pub usage_output_tokens: u64,
    /// Requests whose generated text was re-tokenized by the client.
    pub requests_retokenized: u64,
    /// Sum of client token counts of generated text over re-tokenized requests.
    pub tokenizer_output_tokens: u64,
    /// Over requests with both counts: how many differ, and the summed |usage − client|.
    pub output_count_disagreements: u64,
    pub output_count_abs_diff: u64,
    /// Requests whose retokenization was skipped (backlog limit); their client count is unknown.
    pub retokenize_skipped: u64,
    /// Sum of client prompt lengths (what `total_input_tokens` reports, as InferenceX does).
    pub client_input_tokens: u64,
    /// Sum of `usage.prompt_tokens` over successful requests that reported it.
    pub server_input_tokens: u64,
    pub server_input_requests: u64,
    /// Client prompt lengths against the dataset's targets.
    pub input_lengths: LengthStats,
    /// Requested output lengths (max_tokens) and the realised ones.
    pub output_lengths: LengthStats,
    /// Server `/tokenize` probe: prompts probed and mean (server − client) count; null if absent.
    pub tokenize_probe: Option<TokenizeProbe>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TokenizeProbe {
    pub prompts: u64,
    pub client_tokens: u64,
    pub server_tokens: u64,
    pub mean_diff: f64,
    pub max_abs_diff: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FailureSummary {
    pub failed: u64,
    pub failure_rate: f64,
    pub max_failure_rate: f64,
    /// Count per category (`connect`, `http_status`, `timeout`, `reset`, `parse`, ...).
    pub by_category: BTreeMap<String, u64>,
    /// Count per HTTP status code for `http_status` failures.
    pub http_status: BTreeMap<String, u64>,
    /// The first few error messages, for diagnosis.
    pub examples: Vec<String>,
    /// Latency of every request including failed ones (time until the failure was known).
    pub all_requests_e2el_ms: Summary,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct GoodputSpec {
    pub ttft_ms: Option<f64>,
    pub tpot_ms: Option<f64>,
    pub e2el_ms: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Goodput {
    pub slo: GoodputSpec,
    /// Successful requests meeting every SLO (failed requests never count as good).
    pub good_requests: u64,
    /// good_requests / all measured requests, failures included.
    pub good_fraction: f64,
}

/// Evidence that the client, not the server, set the numbers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SelfCheck {
    /// True when the client limited the measurement; see `reasons`.
    pub client_bound: bool,
    pub reasons: Vec<String>,
    /// Actual send − scheduled send, per request (closed loop: from the moment its slot freed;
    /// each slot's first request is excluded and reported as `ramp_ms`).
    pub send_lag_ms: Summary,
    /// Closed loop: time from the start until the last of the C first requests was sent.
    pub ramp_ms: f64,
    /// Time requests waited for a free concurrency slot after their arrival (open loop with a cap).
    pub queue_wait_ms: Summary,
    /// How late a 1 ms probe timer fired on each client thread: event-loop lag.
    pub timer_lag_ms: Summary,
    /// CPU of the busiest client I/O thread during the window, % of one core.
    pub max_thread_cpu_percent: f64,
    /// CPU of the whole client process during the window, % of one core.
    pub process_cpu_percent: f64,
    pub client_threads: usize,
    pub peak_rss_mb: f64,
    /// Time to open connections (excluded from TTFT; connections are kept alive and reused).
    pub connect_ms: Summary,
    pub connections_opened: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct BenchResult {
    pub schema_version: u32,
    /// `YYYYMMDD-HHMMSS` (UTC), as vLLM writes it.
    pub date: String,
    /// `openai` (completions) or `openai-chat`, vLLM's backend names.
    pub backend: String,
    pub model_id: String,
    pub tokenizer_id: String,
    pub num_prompts: usize,
    pub request_rate: RequestRate,
    pub burstiness: f64,
    pub max_concurrency: Option<usize>,
    /// Benchmark window in seconds: first send to last completion (warmups excluded).
    pub duration: f64,
    pub benchmark_start_time_unix: f64,
    pub benchmark_end_time_unix: f64,
    pub completed: u64,
    pub failed: u64,
    pub total_input_tokens: u64,
    pub total_output_tokens: u64,
    pub request_throughput: f64,
    pub request_goodput: Option<f64>,
    pub output_throughput: f64,
    pub input_throughput: f64,
    pub total_token_throughput: f64,
    #[serde(flatten)]
    pub ttft: TtftStats,
    #[serde(flatten)]
    pub tpot: TpotStats,
    #[serde(flatten)]
    pub itl: ItlStats,
    #[serde(flatten)]
    pub e2el: E2elStats,
    #[serde(flatten)]
    pub interactivity: Interactivity,
    #[serde(flatten)]
    pub per_gpu: Option<PerGpu>,
    /// Client prompt length of each successful request, in completion order.
    pub input_lens: Vec<u64>,
    /// Output tokens of each successful request.
    pub output_lens: Vec<u64>,

    // servebench additions
    pub warmups: usize,
    /// `count` (num_prompts) or `duration`.
    pub stop: String,
    pub config: RunConfig,
    pub provenance: Provenance,
    pub tokens: TokenAccounting,
    pub failures: FailureSummary,
    pub goodput: Option<Goodput>,
    pub self_check: SelfCheck,
    /// `CLOCK_MONOTONIC` nanoseconds at the benchmark start: per-request records are relative to it.
    pub mono_start_ns: u64,
    /// Measured GPU board power over the benchmark window (`--power`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power: Option<crate::power::MeasuredPower>,
    /// Trace replay (`--dataset trace`): sessions, cache hits and InferenceX's agentic metrics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agentic: Option<Agentic>,
    /// Each latency's distribution over the successful measured requests, for CDFs and
    /// histograms (absent when none succeeded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distributions: Option<Distributions>,
}

/// Each latency at every percent of its requests: index `i` is the `i`-th percentile (0: the
/// minimum, 100: the maximum), numpy's linear interpolation, ms. A trace replay's come from
/// its sketches (within 0.05% of the exact values); the others are exact.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Distributions {
    pub ttft_ms: Vec<f64>,
    pub tpot_ms: Vec<f64>,
    pub itl_ms: Vec<f64>,
    pub e2el_ms: Vec<f64>,
}

impl Distributions {
    /// The percents each latency is given at: 0, 1, ..., 100.
    pub fn percents() -> Vec<f64> {
        (0..=100).map(f64::from).collect()
    }
}

/// A distribution as InferenceX's agentic rows give it: mean, p50/p75/p90/p95 by linear
/// interpolation, population std.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AgenticStat {
    pub mean: f64,
    pub p50: f64,
    pub p75: f64,
    pub p90: f64,
    pub p95: f64,
    pub std: f64,
}

impl AgenticStat {
    /// The stat block of a sample (sorted in place); zeros for an empty one.
    pub fn of(values: &mut [f64]) -> AgenticStat {
        use crate::stats::percentile_sorted as q;
        if values.is_empty() {
            return AgenticStat::default();
        }
        values.sort_unstable_by(|a, b| a.total_cmp(b));
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
        AgenticStat {
            mean,
            p50: q(values, 50.0),
            p75: q(values, 75.0),
            p90: q(values, 90.0),
            p95: q(values, 95.0),
            std: var.sqrt(),
        }
    }

    /// The stat block of a sample kept whole or sketched.
    pub fn of_sample(s: &mut impl crate::stats::Sample) -> AgenticStat {
        let moments = s.mean_std();
        Self::of_parts(moments, |qs| s.percentiles(qs))
    }

    /// The stat block of a histogram's sample, each value multiplied by `unit`.
    pub fn of_counts(d: &crate::stats::CountDistribution, unit: f64) -> AgenticStat {
        Self::of_parts(d.mean_std(), |qs| d.percentiles(qs)).scaled(unit)
    }

    fn of_parts((mean, std): (f64, f64), p: impl FnOnce(&[f64]) -> Vec<f64>) -> AgenticStat {
        let p = p(&[50.0, 75.0, 90.0, 95.0]);
        AgenticStat {
            mean,
            p50: p[0],
            p75: p[1],
            p90: p[2],
            p95: p[3],
            std,
        }
    }

    /// Every statistic multiplied by `k` (a change of unit).
    pub fn scaled(self, k: f64) -> AgenticStat {
        AgenticStat {
            mean: self.mean * k,
            p50: self.p50 * k,
            p75: self.p75 * k,
            p90: self.p90 * k,
            p95: self.p95 * k,
            std: self.std * k,
        }
    }
}

/// Latencies of a replay's successful measured requests as InferenceX's agentic rows give them
/// (its stat blocks), milliseconds: TTFT, E2E latency and TPOT per request, ITL over every gap.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AgenticLatency {
    pub ttft_ms: AgenticStat,
    pub e2el_ms: AgenticStat,
    pub tpot_ms: AgenticStat,
    pub itl_ms: AgenticStat,
}

/// What a trace replay measured beyond the per-request metrics.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Agentic {
    /// `weka`, `mooncake` or `sessions`.
    pub trace_format: String,
    /// Concurrent users, each playing one session (with its subagents) at a time.
    pub lanes: usize,
    pub start_ratio: (f64, f64),
    pub warmups_per_lane: usize,
    pub pause_cap_s: f64,
    /// Turns whose input plus output passed this were left out (`--trace-max-context`) ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_context: Option<u32>,
    /// ... this many of them, in the window.
    #[serde(default)]
    pub skipped_over_context: u64,
    /// The whole trace, as read before the run.
    pub trace_sessions: u64,
    pub trace_turns: u64,
    pub trace_theoretical_cache_hit_rate: f64,
    /// Sessions lanes began and finished inside the window.
    pub sessions_started: u64,
    pub sessions_completed: u64,
    /// Measured requests that were subagent turns.
    pub subagent_requests: u64,
    /// The most requests in flight at once (above `lanes` where subagents fan out).
    pub max_in_flight: u64,
    /// Over the measured turns: leading blocks their session had sent before, over all their
    /// blocks (an unbounded prefix cache's hit rate; InferenceX's `theoretical_cache_hit_rate`).
    pub theoretical_cache_hit_rate: f64,
    /// Over the measured turns whose server said how many prompt tokens it took from its
    /// cache (`usage.prompt_tokens_details.cached_tokens`, llama.cpp's `timings.cache_n`):
    /// those tokens over their prompt tokens, and the theoretical hit tokens of the same turns
    /// over the same prompt tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_cache_hit_rate: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub theoretical_hit_rate_same_turns: Option<f64>,
    /// `1 / percentile(E2EL_s / output tokens)` per statistic (mean: `1 / mean`), tok/s/user:
    /// InferenceX's E2E-normalised interactivity, the x-axis of its agentic frontiers.
    pub e2e_norm_intvty: AgenticStat,
    #[serde(default)]
    pub latency: AgenticLatency,
    /// The output lengths asked for (`max_tokens`, the trace's, with `ignore_eos`), and the
    /// prompt lengths sent: InferenceX's `tokens.output_expected` and `tokens.input`.
    #[serde(default)]
    pub output_expected: AgenticStat,
    #[serde(default)]
    pub input_tokens: AgenticStat,
    /// The output lengths received (InferenceX's `tokens.output_actual`).
    #[serde(default)]
    pub output_actual: AgenticStat,
    /// Completions per 1-second window, first to last completion.
    pub qps: AgenticStat,
    pub qps_windows: u64,
    /// The trace could not be read on (the run stopped taking sessions there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_error: Option<String>,
    /// What the server's own `/metrics` said over the window, where it serves them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_metrics: Option<ServerWindow>,
}

/// A server's `/metrics` over a measured window: its prefix-cache counters' change, and its
/// KV-cache usage gauges sampled through the window (InferenceX's `server_metrics.cache` and
/// `kv_cache`; names: `servebench_core::server_metrics`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ServerWindow {
    /// Prompt tokens the engine took from any cache, from its GPU cache, and from CPU memory
    /// (offload, connectors), over the prompt tokens it was asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_hit_rate: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_cache_hit_rate: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_cache_hit_rate: Option<f64>,
    /// KV-cache usage, fraction of capacity, on the GPU and in CPU memory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_kv_usage: Option<UsageStat>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_kv_usage: Option<UsageStat>,
    /// Scrapes of `/metrics` in the window (one at each end and one every `interval_s` between).
    pub samples: u64,
    pub interval_s: f64,
    /// The KV-cache usage gauges at each scrape, over the window.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub timeline: Vec<GaugeSample>,
}

/// The KV-cache usage gauges at one scrape of `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct GaugeSample {
    /// Seconds from the window's start.
    pub t_s: f64,
    /// Fraction of capacity, on the GPU and in CPU memory (null: not reported).
    pub gpu_kv_usage: Option<f64>,
    pub cpu_kv_usage: Option<f64>,
}

/// A gauge over its samples.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct UsageStat {
    pub mean: f64,
    pub max: f64,
}

impl UsageStat {
    /// `None` for no samples.
    pub fn of(values: &[f64]) -> Option<UsageStat> {
        let max = values.iter().copied().reduce(f64::max)?;
        Some(UsageStat {
            mean: values.iter().sum::<f64>() / values.len() as f64,
            max,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vllm_field_names_round_trip() {
        let r = BenchResult {
            schema_version: SCHEMA_VERSION,
            ttft: TtftStats {
                mean: 1.5,
                p999: 9.0,
                ..Default::default()
            },
            per_gpu: Some(PerGpu {
                num_gpus: 8,
                tput_per_gpu: 10.0,
                ..Default::default()
            }),
            request_rate: RequestRate::Infinite,
            ..Default::default()
        };
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["mean_ttft_ms"], 1.5);
        assert_eq!(v["p99.9_ttft_ms"], 9.0);
        assert_eq!(v["median_e2el_ms"], 0.0);
        assert_eq!(v["request_rate"], "inf");
        assert_eq!(v["tput_per_gpu"], 10.0);
        assert_eq!(v["num_gpus"], 8);
        let back: BenchResult = serde_json::from_value(v).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn request_rate_parsing() {
        assert_eq!("inf".parse::<RequestRate>(), Ok(RequestRate::Infinite));
        assert_eq!(
            "2.5".parse::<RequestRate>(),
            Ok(RequestRate::PerSecond(2.5))
        );
        assert!("0".parse::<RequestRate>().is_err());
        assert!("abc".parse::<RequestRate>().is_err());
    }

    #[test]
    fn interactivity_is_inverse_tpot() {
        let t = TpotStats {
            mean: 10.0,
            median: 20.0,
            p99: 40.0,
            ..Default::default()
        };
        let i = Interactivity::from_tpot_ms(&t);
        assert_eq!(i.mean_intvty, 100.0);
        assert_eq!(i.median_intvty, 50.0);
        assert_eq!(i.p99_intvty, 25.0);
        assert_eq!(i.p90_intvty, 0.0);
    }
}

/// The JSON Schema of [`BenchResult`], as kept in `docs/schema/bench-result.schema.json`.
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(BenchResult)).expect("schema serialises")
}

#[cfg(test)]
mod schema_tests {
    /// The committed schema must match the types. Regenerate with
    /// `SERVEBENCH_UPDATE_SCHEMA=1 cargo test -p servebench-core schema`.
    #[test]
    fn committed_schema_is_current() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../docs/schema/bench-result.schema.json"
        );
        let want = serde_json::to_string_pretty(&super::json_schema()).unwrap() + "\n";
        if std::env::var_os("SERVEBENCH_UPDATE_SCHEMA").is_some() {
            std::fs::write(path, &want).unwrap();
        }
        let have = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            have == want,
            "docs/schema/bench-result.schema.json is stale: rerun with SERVEBENCH_UPDATE_SCHEMA=1"
        );
    }

    #[test]
    fn schema_names_the_vllm_fields() {
        let s = super::json_schema();
        let props = s["properties"].as_object().unwrap();
        for k in [
            "mean_ttft_ms",
            "p99.9_e2el_ms",
            "median_intvty",
            "request_rate",
            "self_check",
        ] {
            assert!(props.contains_key(k), "{k}");
        }
    }
}
