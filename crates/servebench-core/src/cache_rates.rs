//! Prefix-cache hit rates from an engine's own counters over a window (the change of its
//! Prometheus `/metrics`), in the names InferenceX's agentic aggregation reads (InferenceX:
//! utils/agentic/aggregation/server_metrics.py): vLLM's `prefix_cache_*` (GPU) and
//! `external_prefix_cache_*` (CPU offload, connectors), SGLang's
//! `cached_tokens{cache_source="device"|"host"}` over `prompt_tokens`.

use serde_json::Value;

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
        let mut r = ServerRates::default();
        let Some(m) = delta.as_object() else {
            return r;
        };
        let mut sglang_prompt = 0.0;
        let (mut sglang_device, mut sglang_host) = (0.0, 0.0);
        for (k, v) in m {
            let Some(v) = v.as_f64() else { continue };
            let name = k.split('{').next().unwrap_or(k);
            match name {
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
}
