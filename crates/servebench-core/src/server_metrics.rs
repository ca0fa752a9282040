//! A server's own Prometheus `/metrics` (llama.cpp, vLLM, SGLang): the text format read into
//! samples, and the figures InferenceX's agentic aggregation takes from them (InferenceX:
//! utils/agentic/aggregation/server_metrics.py):
//! - prefix-cache hit rates from the counters' change over a window: vLLM's `prefix_cache_*`
//!   (GPU) and `external_prefix_cache_*` (CPU offload, connectors), SGLang's
//!   `cached_tokens{cache_source="device"|"host"}` over `prompt_tokens` ([`ServerRates`]);
//! - KV-cache usage from the gauges ([`KvUsage`]).

use serde_json::Value;
use std::collections::BTreeMap;

/// Samples by series (`name{labels}`).
pub type Samples = BTreeMap<String, f64>;

/// Prometheus' text format: `name{labels} value [timestamp]` per line, `#` comments.
pub fn parse(text: &str) -> Samples {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            // The value follows the name and its labels (which may hold spaces).
            let end = l.rfind('}').map_or(0, |i| i + 1);
            let mut rest = l[end..].split_whitespace();
            let name = if end > 0 { &l[..end] } else { rest.next()? };
            let v: f64 = rest.next()?.parse().ok()?;
            Some((name.to_string(), v))
        })
        .collect()
}

/// Each series' change from `before` to `after` (series in both).
pub fn delta(before: &Samples, after: &Samples) -> Samples {
    after
        .iter()
        .filter_map(|(k, a)| Some((k.clone(), a - before.get(k)?)))
        .collect()
}

fn family(series: &str) -> &str {
    series.split('{').next().unwrap_or(series)
}

/// Prefix-cache counters of an engine over a window.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct ServerRates {
    gpu_hits: f64,
    gpu_queries: f64,
    cpu_hits: f64,
    cpu_queries: f64,
}

impl ServerRates {
    /// From counter deltas keyed by series (`name{labels}`), as a JSON object of numbers.
    pub fn of(delta: &Value) -> ServerRates {
        let pairs = delta.as_object().into_iter().flatten();
        Self::of_pairs(pairs.filter_map(|(k, v)| Some((k.as_str(), v.as_f64()?))))
    }

    /// From counter deltas.
    pub fn of_samples(delta: &Samples) -> ServerRates {
        Self::of_pairs(delta.iter().map(|(k, v)| (k.as_str(), *v)))
    }

    fn of_pairs<'a>(pairs: impl Iterator<Item = (&'a str, f64)>) -> ServerRates {
        let mut r = ServerRates::default();
        let mut sglang_prompt = 0.0;
        let (mut sglang_device, mut sglang_host) = (0.0, 0.0);
        for (k, v) in pairs {
            match family(k) {
                "vllm:prefix_cache_hits_total" => r.gpu_hits += v,
                "vllm:prefix_cache_queries_total" => r.gpu_queries += v,
                "vllm:external_prefix_cache_hits_total" => r.cpu_hits += v,
                "vllm:external_prefix_cache_queries_total" => r.cpu_queries += v,
                "sglang:prompt_tokens_total" => sglang_prompt += v,
                "sglang:cached_tokens_total" if k.contains("cache_source=\"host\"") => {
                    sglang_host += v
                }
                "sglang:cached_tokens_total" => sglang_device += v,
                _ => {}
            }
        }
        if sglang_prompt > 0.0 {
            r.gpu_hits += sglang_device;
            r.gpu_queries += sglang_prompt;
            r.cpu_hits += sglang_host;
            r.cpu_queries += sglang_prompt;
        }
        r
    }

    /// Hits on the GPU over prompt tokens queried.
    pub fn gpu(&self) -> Option<f64> {
        (self.gpu_queries > 0.0).then(|| self.gpu_hits / self.gpu_queries)
    }

    /// Hits in CPU memory over the tokens queried there.
    pub fn cpu(&self) -> Option<f64> {
        (self.cpu_queries > 0.0).then(|| self.cpu_hits / self.cpu_queries)
    }

    /// GPU and CPU hits over the prompt tokens queried.
    pub fn overall(&self) -> Option<f64> {
        (self.gpu_queries > 0.0).then(|| (self.gpu_hits + self.cpu_hits) / self.gpu_queries)
    }
}

/// KV-cache usage, a fraction of capacity, as the engine's gauges say at one moment.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct KvUsage {
    pub gpu: Option<f64>,
    pub cpu: Option<f64>,
}

impl KvUsage {
    /// GPU: the most used series of vLLM's `kv_cache_usage_perc` (before v0.10
    /// `gpu_cache_usage_perc`), SGLang's `token_usage` or Dynamo's
    /// `component_gpu_cache_usage_percent`. CPU: vLLM's `cpu_kv_cache_usage_perc`, else SGLang
    /// HiCache's host tokens used over its total. Values above 1.5 are percents (InferenceX's rule).
    pub fn of(s: &Samples) -> KvUsage {
        let fraction = |v: f64| if v > 1.5 { v / 100.0 } else { v };
        let most = |names: &[&str]| {
            s.iter()
                .filter(|(k, v)| names.contains(&family(k)) && v.is_finite())
                .map(|(_, &v)| fraction(v))
                .reduce(f64::max)
        };
        let sum = |name: &str| {
            s.iter()
                .filter(|(k, _)| family(k) == name)
                .map(|(_, v)| v)
                .sum::<f64>()
        };
        let host_total = sum("sglang:hicache_host_total_tokens");
        let hicache =
            (host_total > 0.0).then(|| sum("sglang:hicache_host_used_tokens") / host_total);
        KvUsage {
            gpu: most(&[
                "vllm:kv_cache_usage_perc",
                "vllm:gpu_cache_usage_perc",
                "sglang:token_usage",
                "dynamo_component_gpu_cache_usage_percent",
            ]),
            cpu: most(&["vllm:cpu_kv_cache_usage_perc"]).or(hicache),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn server_rates_read_vllm_and_sglang_counters() {
        let l = "{model_name=\"m\",engine=\"0\"}";
        let v = ServerRates::of(&json!({
            format!("vllm:prefix_cache_queries_total{l}"): 1000.0,
            format!("vllm:prefix_cache_hits_total{l}"): 600.0,
            format!("vllm:external_prefix_cache_queries_total{l}"): 1000.0,
            format!("vllm:external_prefix_cache_hits_total{l}"): 250.0,
        }));
        assert_eq!(
            (v.gpu(), v.cpu(), v.overall()),
            (Some(0.6), Some(0.25), Some(0.85))
        );
        let s = ServerRates::of(&json!({
            "sglang:prompt_tokens_total{model_name=\"m\"}": 400.0,
            "sglang:cached_tokens_total{model_name=\"m\",cache_source=\"device\"}": 300.0,
            "sglang:cached_tokens_total{model_name=\"m\",cache_source=\"host\"}": 60.0,
        }));
        assert_eq!(
            (s.gpu(), s.cpu(), s.overall()),
            (Some(0.75), Some(0.15), Some(0.9))
        );
        assert_eq!(ServerRates::of(&json!({})).gpu(), None);
    }

    #[test]
    fn the_text_format_reads_into_series_and_their_change() {
        let m = parse(
            "# HELP llamacpp:prompt_tokens_total Number of prompt tokens processed.\n\
             # TYPE llamacpp:prompt_tokens_total counter\n\
             llamacpp:prompt_tokens_total 1234\n\
             vllm:num_requests_running{model_name=\"a b\",engine=\"0\"} 3 1700000000\n\
             llamacpp:kv_cache_usage_ratio 0.25\n\
             bad line\n",
        );
        assert_eq!(m["llamacpp:prompt_tokens_total"], 1234.0);
        assert_eq!(
            m["vllm:num_requests_running{model_name=\"a b\",engine=\"0\"}"],
            3.0
        );
        assert_eq!(m["llamacpp:kv_cache_usage_ratio"], 0.25);
        assert_eq!(m.len(), 3);
        let d = delta(
            &m,
            &[("llamacpp:prompt_tokens_total".to_string(), 2000.0)].into(),
        );
        assert_eq!(d.len(), 1);
        assert_eq!(d["llamacpp:prompt_tokens_total"], 766.0);
    }

    #[test]
    fn kv_usage_takes_the_fullest_gpu_series_and_reads_percents() {
        let v = KvUsage::of(&parse(
            "vllm:kv_cache_usage_perc{engine=\"0\"} 0.25\nvllm:kv_cache_usage_perc{engine=\"1\"} 0.5\nvllm:cpu_kv_cache_usage_perc{engine=\"0\"} 12.5\n",
        ));
        assert_eq!((v.gpu, v.cpu), (Some(0.5), Some(0.125)));
        let old = KvUsage::of(&parse("vllm:gpu_cache_usage_perc{e=\"0\"} 80\n"));
        assert_eq!((old.gpu, old.cpu), (Some(0.8), None));
        let sg = KvUsage::of(&parse(
            "sglang:token_usage{m=\"a\"} 0.75\nsglang:hicache_host_used_tokens{m=\"a\"} 300\nsglang:hicache_host_total_tokens{m=\"a\"} 1200\n",
        ));
        assert_eq!((sg.gpu, sg.cpu), (Some(0.75), Some(0.25)));
        assert_eq!(
            KvUsage::of(&parse("llamacpp:kv_cache_usage_ratio 0.3\n")),
            KvUsage::default()
        );
    }
}
