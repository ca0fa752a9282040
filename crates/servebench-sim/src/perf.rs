//! The step-time model: how long one engine step takes on a deployment (accelerator × model ×
//! engine × precision × parallelism), as a roofline.
//!
//! time = max(compute, memory) + all-reduce + fixed overhead, per GPU of the tensor-parallel
//! group, where
//! - compute = FLOPs / (dense peak × engine compute efficiency); FLOPs = 2 × active parameters
//!   per token × tokens (weights) + attention FLOPs of each token over what it attends to;
//! - memory = bytes / (HBM bandwidth × engine memory efficiency); bytes = weights read (for MoE:
//!   the non-expert weights plus the experts the batch is expected to touch) + KV cache (and
//!   linear-attention state) read;
//! - all-reduce: two per layer over the scale-up link (ring), for TP > 1.
//!
//! What attention costs per sequence comes from the model's attention groups
//! ([`servebench_catalog::AttentionGroup`]: full, sparse, compressed and linear layers).
//! Tensor parallelism splits weights, FLOPs and (for GQA, up to the number of KV heads; for
//! linear attention, of value heads) the cache; a single latent (MLA, compressed attention)
//! cannot be split by heads, so every TP rank holds and reads it all unless attention runs
//! data-parallel (`dp_attention`).

use servebench_catalog::{Accelerator, AttentionGroup, Engine, Ffn, KnobsOrigin, Model, Precision};

/// What is served, and how it is split.
#[derive(Debug, Clone)]
pub struct Deployment {
    pub accelerator: Accelerator,
    pub model: Model,
    pub engine: Engine,
    pub precision: Precision,
    /// Tensor-parallel GPUs (experts are spread over the same GPUs).
    pub tp: u32,
    /// Attention runs data-parallel across the TP GPUs (SGLang's DP-attention): each GPU keeps
    /// its own sequences' KV cache instead of a copy of every sequence's.
    pub dp_attention: bool,
    /// Speculative decoding / MTP, if enabled.
    pub spec: Option<SpecDecode>,
    /// Where the engine's efficiency knobs come from: fitted to published points, borrowed by
    /// the family rule, or uncalibrated defaults.
    pub knobs: KnobsOrigin,
}

impl Deployment {
    /// A deployment from catalog ids, with the engine's knobs for that accelerator and
    /// precision (fitted, else borrowed by the family rule); TP attention, no speculative
    /// decoding.
    pub fn from_catalog(
        c: &servebench_catalog::Catalog,
        accelerator: &str,
        model: &str,
        engine: &str,
        precision: Precision,
        tp: u32,
    ) -> Result<Deployment, servebench_catalog::CatalogError> {
        let (engine, knobs) = c.engine_knobs(engine, Some(model), accelerator, precision)?;
        Ok(Deployment {
            accelerator: c.accelerator(accelerator)?.clone(),
            model: c.model(model)?.clone(),
            engine,
            precision,
            tp,
            dp_attention: false,
            spec: None,
            knobs,
        })
    }
}

/// Speculative decoding (MTP or a draft model): each decode step verifies `draft_tokens`
/// proposed tokens plus one, and on average `acceptance_length` of them (≥ 1) are emitted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpecDecode {
    pub draft_tokens: u32,
    pub acceptance_length: f64,
}

impl std::str::FromStr for SpecDecode {
    type Err = String;
    /// `DRAFT:ACCEPT`, e.g. `3:2.4`.
    fn from_str(s: &str) -> Result<Self, String> {
        let (d, a) = s
            .split_once(':')
            .ok_or_else(|| format!("'{s}': expected DRAFT_TOKENS:ACCEPTANCE_LENGTH, e.g. 3:2.4"))?;
        let draft_tokens: u32 = d
            .parse()
            .map_err(|_| format!("'{d}' is not a number of draft tokens"))?;
        let acceptance_length: f64 = a
            .parse()
            .map_err(|_| format!("'{a}' is not an acceptance length"))?;
        if draft_tokens == 0 || !(1.0..=draft_tokens as f64 + 1.0).contains(&acceptance_length) {
            return Err(format!(
                "'{s}': the acceptance length must be between 1 and draft tokens + 1 ({})",
                draft_tokens + 1
            ));
        }
        Ok(SpecDecode {
            draft_tokens,
            acceptance_length,
        })
    }
}

/// The work of one step. The attention parts are sums the engine adds per sequence with
/// [`PerfModel::add_prefill`] and [`PerfModel::add_decode`].
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StepBatch {
    /// Prompt tokens processed this step (chunked prefill).
    pub prefill_tokens: u64,
    /// Sequences decoding this step.
    pub decode_seqs: u64,
    /// Tokens they put through the model: one each, or draft + 1 with speculative decoding
    /// (0 means `decode_seqs`).
    pub decode_tokens: u64,
    /// Attention FLOPs of the step's queries, per GPU.
    pub attn_flops: f64,
    /// Cache bytes the step reads, per GPU.
    pub kv_bytes: f64,
}

impl StepBatch {
    pub fn tokens(&self) -> u64 {
        self.prefill_tokens + self.decode_tokens.max(self.decode_seqs)
    }
}

/// Where a step's time goes, in seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StepCost {
    pub compute_s: f64,
    pub memory_s: f64,
    pub comm_s: f64,
    pub overhead_s: f64,
    pub total_s: f64,
    /// Per GPU.
    pub flops: f64,
    pub bytes: f64,
    /// max(compute, memory) share of the step (utilisation proxy for simulated power).
    pub busy_fraction: f64,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PerfError {
    #[error("model {model} has no {precision} weights in the catalog")]
    NoPrecision { model: String, precision: Precision },
    #[error("accelerator {accelerator} has no {precision} tensor cores")]
    NoFlops {
        accelerator: String,
        precision: Precision,
    },
    #[error("tp {tp} exceeds the {domain}-GPU scale-up domain of {accelerator}")]
    TpTooLarge {
        tp: u32,
        domain: u32,
        accelerator: String,
    },
    #[error("{model} in {precision} at tp {tp} needs {need_gb:.1} GB of weights per GPU; {accelerator} offers {have_gb:.1} GB")]
    DoesNotFit {
        model: String,
        precision: Precision,
        tp: u32,
        accelerator: String,
        need_gb: f64,
        have_gb: f64,
    },
}

/// The model of one deployment, with everything that does not depend on the batch precomputed.
#[derive(Debug, Clone)]
pub struct PerfModel {
    pub dep: Deployment,
    tp: f64,
    flops_per_s: f64,
    bytes_per_s: f64,
    link_bytes_per_s: f64,
    /// Bytes of weights every step reads (dense weights; MoE: everything but routed experts), per GPU.
    fixed_weight_bytes: f64,
    /// MoE: (layers with experts, experts, experts per token, bytes of one expert in one layer).
    moe: Option<(f64, f64, f64, f64)>,
    /// Fraction of HBM the engine uses ([`Engine::memory_utilization`]).
    memory_utilization: f64,
    /// The attention groups and how many ways each one's cache is split per GPU.
    attention: Vec<(AttentionGroup, f64)>,
    /// Cache bytes per token of a long context, per GPU: the unit of KV-cache capacity.
    kv_bytes_per_token: f64,
    /// Whether a sequence's cache is exactly `kv_bytes_per_token` × its length.
    kv_linear: bool,
    /// 2 × active parameters: weight FLOPs per token.
    flops_per_token: f64,
    layers: f64,
    hidden: f64,
    overhead_s: f64,
    allreduce_latency_s: f64,
}

impl PerfModel {
    pub fn new(dep: Deployment) -> Result<PerfModel, PerfError> {
        let (a, m, e, p) = (&dep.accelerator, &dep.model, &dep.engine, dep.precision);
        let pb = m.precision(p).ok_or_else(|| PerfError::NoPrecision {
            model: m.id.clone(),
            precision: p,
        })?;
        // FP4 weights on an accelerator without FP4 tensor cores run as weight-only
        // quantisation (e.g. vLLM's Marlin MXFP4 kernels on Hopper): 4-bit reads, BF16 math.
        let peak = match (a.flops(p), p) {
            (Some(f), _) => f,
            (None, Precision::Fp4) => a.flops(Precision::Bf16).expect("bf16 is always listed"),
            (None, _) => {
                return Err(PerfError::NoFlops {
                    accelerator: a.id.clone(),
                    precision: p,
                })
            }
        };
        let domain = a.scale_up.domain_gpus.value as u32;
        if dep.tp == 0 || dep.tp > domain {
            return Err(PerfError::TpTooLarge {
                tp: dep.tp,
                domain,
                accelerator: a.id.clone(),
            });
        }
        let tp = dep.tp as f64;
        let wb = pb.weight_bytes.value;
        let hidden = m.hidden_size.value;
        let total_weight_bytes = m.params_total_b.value * 1e9 * wb;
        let moe = match &m.ffn {
            Ffn::Dense { .. } => None,
            Ffn::Moe {
                dense_layers,
                experts,
                experts_per_token,
                expert_intermediate,
                ..
            } => {
                let moe_layers = m.layers.value - dense_layers.value;
                // Gate, up and down projections of one expert.
                let expert_bytes = 3.0 * hidden * expert_intermediate.value * wb;
                Some((
                    moe_layers,
                    experts.value,
                    experts_per_token.value,
                    expert_bytes,
                ))
            }
        };
        let expert_bytes_total = moe.map_or(0.0, |(l, n, _, b)| l * n * b);
        let fixed_weight_bytes = (total_weight_bytes - expert_bytes_total).max(0.0) / tp;
        let need = total_weight_bytes / tp;
        let memory_utilization = e.memory_utilization(a.hbm_bytes(), need);
        let have = a.hbm_bytes() * memory_utilization;
        if need >= have {
            return Err(PerfError::DoesNotFit {
                model: m.id.clone(),
                precision: p,
                tp: dep.tp,
                accelerator: a.id.clone(),
                need_gb: need / 1e9,
                have_gb: have / 1e9,
            });
        }
        let attention: Vec<(AttentionGroup, f64)> = m
            .attention_groups(p)
            .unwrap_or_default()
            .into_iter()
            // DP attention: each GPU holds only its own sequences, i.e. 1/tp of the total.
            .map(|g| {
                (
                    g,
                    if dep.dp_attention {
                        tp
                    } else {
                        tp.min(g.split)
                    },
                )
            })
            .collect();
        let kv_bytes_per_token = attention
            .iter()
            .map(|(g, split)| g.bytes_per_token() / split)
            .sum();
        let kv_linear = attention.iter().all(|(g, _)| g.is_linear());
        Ok(PerfModel {
            tp,
            flops_per_s: peak * e.compute_efficiency.value,
            bytes_per_s: a.hbm_bytes_per_s() * e.memory_efficiency.value,
            link_bytes_per_s: a.scale_up.gb_per_s_per_gpu.value * 1e9 * e.link_efficiency.value,
            fixed_weight_bytes,
            moe,
            memory_utilization,
            attention,
            kv_bytes_per_token,
            kv_linear,
            flops_per_token: 2.0 * m.params_active_b.value * 1e9,
            layers: m.layers.value,
            hidden,
            overhead_s: e.step_overhead_us.value * 1e-6,
            allreduce_latency_s: e.allreduce_latency_us.value * 1e-6,
            dep,
        })
    }

    /// Expected distinct experts a step of `tokens` tokens touches in one layer, if each token
    /// picks `k` of `n` uniformly: n × (1 − (1 − k/n)^tokens).
    pub fn experts_touched(n: f64, k: f64, tokens: f64) -> f64 {
        n * (1.0 - (1.0 - k / n).powf(tokens))
    }

    /// Bytes of weights one GPU reads in a step of `tokens` tokens.
    pub fn weight_bytes_read(&self, tokens: u64) -> f64 {
        let experts = self.moe.map_or(0.0, |(layers, n, k, b)| {
            layers * Self::experts_touched(n, k, tokens as f64) * b / self.tp
        });
        self.fixed_weight_bytes + experts
    }

    /// KV-cache bytes one GPU holds per token of a long context.
    pub fn kv_bytes_per_token(&self) -> f64 {
        self.kv_bytes_per_token
    }

    /// Tokens of a long context the KV cache holds: HBM × utilisation − weights, per GPU.
    pub fn kv_capacity_tokens(&self) -> u64 {
        let a = &self.dep.accelerator;
        let free = a.hbm_bytes() * self.memory_utilization
            - (self.fixed_weight_bytes + self.moe.map_or(0.0, |(l, n, _, b)| l * n * b) / self.tp);
        if self.kv_bytes_per_token <= 0.0 {
            return u64::MAX;
        }
        // With DP attention each GPU holds whole tokens of its own sequences; per token of the
        // group's context that is still kv_bytes_per_token per GPU on average.
        (free.max(0.0) / self.kv_bytes_per_token) as u64
    }

    /// Cache bytes one GPU holds for a sequence of `len` tokens.
    pub fn seq_kv_bytes(&self, len: f64) -> f64 {
        self.attention
            .iter()
            .map(|(g, split)| g.held_bytes(len) / split)
            .sum()
    }

    /// The KV-cache capacity a sequence of `len` tokens takes, in tokens of a long context:
    /// `len` itself where the cache grows linearly; more where a window or recurrent state adds
    /// a fixed part.
    pub fn kv_tokens(&self, len: u64) -> u64 {
        if self.kv_linear || self.kv_bytes_per_token <= 0.0 {
            return len;
        }
        (self.seq_kv_bytes(len as f64) / self.kv_bytes_per_token).ceil() as u64
    }

    /// Adds a prefill chunk of `n` tokens after `prefix` cached ones: its queries' attention
    /// and one read of the prefix's cache.
    pub fn add_prefill(&self, b: &mut StepBatch, prefix: u64, n: u64) {
        let (p, n) = (prefix as f64, n as f64);
        for (g, split) in &self.attention {
            b.attn_flops += g.chunk_flops(p, n) / self.tp;
            b.kv_bytes += g.held_bytes(p) / split;
        }
        b.prefill_tokens += n as u64;
    }

    /// Adds a decoding sequence at context `ctx` putting `tokens` tokens through the model.
    pub fn add_decode(&self, b: &mut StepBatch, ctx: u64, tokens: u64) {
        let c = ctx as f64;
        for (g, split) in &self.attention {
            b.attn_flops += g.query_flops(c) / self.tp;
            b.kv_bytes += g.decode_bytes(c) / split;
        }
        b.decode_seqs += 1;
        b.decode_tokens += tokens;
    }

    /// Board power of one GPU with nothing to do, W.
    pub fn idle_power_w(&self) -> f64 {
        self.dep.accelerator.idle_w.value
    }

    /// Simulated board power of one GPU during a step: idle plus the dynamic range
    /// (TDP − idle) scaled by the step's busy fraction (the share of it the roofline-limiting
    /// unit works; all-reduce waits and launch overhead count as idle).
    pub fn board_power_w(&self, c: &StepCost) -> f64 {
        let a = &self.dep.accelerator;
        let idle = a.idle_w.value;
        idle + (a.tdp_w.value - idle).max(0.0) * c.busy_fraction.clamp(0.0, 1.0)
    }

    /// The cost of one step.
    pub fn step(&self, b: &StepBatch) -> StepCost {
        let tokens = b.tokens();
        if tokens == 0 {
            return StepCost::default();
        }
        let flops = self.flops_per_token * tokens as f64 / self.tp + b.attn_flops;
        let bytes = self.weight_bytes_read(tokens) + b.kv_bytes;
        let compute_s = flops / self.flops_per_s;
        let memory_s = bytes / self.bytes_per_s;
        let comm_s = if self.tp > 1.0 {
            // Two ring all-reduces per layer of the step's activations (bf16).
            let msg = tokens as f64 * self.hidden * 2.0;
            2.0 * self.layers
                * (2.0 * (self.tp - 1.0) / self.tp * msg / self.link_bytes_per_s
                    + self.allreduce_latency_s)
        } else {
            0.0
        };
        let busy = compute_s.max(memory_s);
        let total_s = busy + comm_s + self.overhead_s;
        StepCost {
            compute_s,
            memory_s,
            comm_s,
            overhead_s: self.overhead_s,
            total_s,
            flops,
            bytes,
            busy_fraction: busy / total_s,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use servebench_catalog::Catalog;

    fn dep(accel: &str, model: &str, engine: &str, p: Precision, tp: u32) -> Deployment {
        Deployment::from_catalog(&Catalog::builtin().unwrap(), accel, model, engine, p, tp).unwrap()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs().max(1.0)
    }

    #[test]
    fn memory_bound_decode_step_is_weights_over_bandwidth_plus_overhead() {
        let m = PerfModel::new(dep("h200", "llama-3.3-70b", "vllm", Precision::Fp8, 1)).unwrap();
        let e = &m.dep.engine;
        // One sequence, one token, no context: read every weight once.
        let c = m.step(&StepBatch {
            decode_seqs: 1,
            ..Default::default()
        });
        let want_mem = 70.55e9 / (4.8e12 * e.memory_efficiency.value);
        assert!(close(c.memory_s, want_mem), "{} vs {want_mem}", c.memory_s);
        let want_compute = 2.0 * 70.55e9 / (1979e12 * e.compute_efficiency.value);
        assert!(close(c.compute_s, want_compute));
        assert!(c.memory_s > 50.0 * c.compute_s, "decode is memory-bound");
        assert_eq!(c.comm_s, 0.0);
        assert!(close(c.total_s, want_mem + e.step_overhead_us.value * 1e-6));
    }

    #[test]
    fn kv_reads_add_context_times_bytes_per_token() {
        let m = PerfModel::new(dep("h200", "llama-3.3-70b", "vllm", Precision::Fp8, 1)).unwrap();
        let batch = |ctx: [u64; 4]| {
            let mut b = StepBatch::default();
            ctx.iter().for_each(|&c| m.add_decode(&mut b, c, 1));
            m.step(&b)
        };
        let (a, b) = (batch([0; 4]), batch([1024; 4]));
        assert!(close(b.bytes - a.bytes, 4096.0 * 163_840.0));
    }

    #[test]
    fn big_prefill_is_compute_bound() {
        let m = PerfModel::new(dep("h200", "llama-3.3-70b", "vllm", Precision::Fp8, 1)).unwrap();
        let n = 8192.0;
        let mut b = StepBatch::default();
        m.add_prefill(&mut b, 0, 8192);
        let c = m.step(&b);
        assert!(c.compute_s > c.memory_s);
        // Weights: 2 × 70.55e9 × 8192; attention: 4 × 80 × 64 × 128 per context position.
        let flops = 2.0 * 70.55e9 * n + 4.0 * 80.0 * 64.0 * 128.0 * n * (n - 1.0) / 2.0;
        assert!(close(c.flops, flops));
    }

    #[test]
    fn tensor_parallelism_splits_work_and_adds_all_reduce() {
        let one = PerfModel::new(dep("h200", "llama-3.3-70b", "vllm", Precision::Fp8, 1)).unwrap();
        let eight =
            PerfModel::new(dep("h200", "llama-3.3-70b", "vllm", Precision::Fp8, 8)).unwrap();
        let batch = |m: &PerfModel| {
            let mut b = StepBatch::default();
            (0..16).for_each(|_| m.add_decode(&mut b, 2048, 1));
            m.step(&b)
        };
        let (c1, c8) = (batch(&one), batch(&eight));
        assert!(
            close(c8.memory_s * 8.0, c1.memory_s),
            "weights and KV (8 KV heads) split 8 ways"
        );
        assert!(c8.comm_s > 0.0 && c1.comm_s == 0.0);
        assert!(
            c8.total_s < c1.total_s,
            "more interactivity at low concurrency"
        );
        // MLA's latent is not split by heads: every TP rank reads all of it.
        let ds =
            PerfModel::new(dep("h200", "deepseek-r1-0528", "sglang", Precision::Fp8, 8)).unwrap();
        assert!(close(ds.kv_bytes_per_token(), 35_136.0));
        let mut d = dep("h200", "deepseek-r1-0528", "sglang", Precision::Fp8, 8);
        d.dp_attention = true;
        let dp = PerfModel::new(d).unwrap();
        assert!(close(dp.kv_bytes_per_token(), 35_136.0 / 8.0));
    }

    #[test]
    fn moe_reads_the_experts_a_batch_touches() {
        assert!(close(PerfModel::experts_touched(256.0, 8.0, 1.0), 8.0));
        let many = PerfModel::experts_touched(256.0, 8.0, 10_000.0);
        assert!(many > 255.99 && many <= 256.0);
        let m = PerfModel::new(dep("b200", "gpt-oss-120b", "vllm", Precision::Fp4, 1)).unwrap();
        let small = m.weight_bytes_read(1);
        let large = m.weight_bytes_read(4096);
        // One token touches 4 of 128 experts per layer; thousands touch them all.
        let all = m.dep.model.weight_bytes(Precision::Fp4).unwrap();
        assert!(small < 0.1 * all, "{small} vs {all}");
        assert!(
            close(large, all) || (large - all).abs() / all < 1e-6,
            "{large} vs {all}"
        );
    }

    #[test]
    fn kv_capacity_is_hbm_left_after_weights() {
        let m = PerfModel::new(dep("h200", "llama-3.3-70b", "vllm", Precision::Fp8, 8)).unwrap();
        let free = 141e9 * 0.9 - 70.55e9 / 8.0;
        assert_eq!(m.kv_capacity_tokens(), (free / (163_840.0 / 8.0)) as u64);
    }

    #[test]
    fn impossible_deployments_are_refused() {
        let e = PerfModel::new(dep("h100", "deepseek-r1-0528", "sglang", Precision::Fp8, 8))
            .unwrap_err();
        assert!(matches!(e, PerfError::DoesNotFit { .. }), "{e}");
        let e =
            PerfModel::new(dep("h100", "llama-3.3-70b", "vllm", Precision::Fp8, 16)).unwrap_err();
        assert!(e.to_string().contains("exceeds the 8-GPU scale-up domain"));
        // FP4 weights without FP4 tensor cores: weight-only quantisation at the BF16 rate.
        let w4 = PerfModel::new(dep("h100", "llama-3.3-70b", "vllm", Precision::Fp4, 8)).unwrap();
        let c = w4.step(&StepBatch {
            prefill_tokens: 1,
            ..Default::default()
        });
        let want = 989e12 * w4.dep.engine.compute_efficiency.value;
        assert!(
            close(c.flops / c.compute_s, want),
            "{} vs {want}",
            c.flops / c.compute_s
        );
        let e = PerfModel::new(dep("b200", "deepseek-r1-0528", "vllm", Precision::Bf16, 8))
            .unwrap_err();
        assert!(e.to_string().contains("no bf16 weights"));
    }
}
