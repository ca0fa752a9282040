//! The step-time model: how long one engine step takes on a deployment (accelerator × model ×
//! engine × precision × parallelism), as a roofline.
//!
//! time = max(compute, memory) + collectives + fixed overhead, per GPU of one worker, where
//! - compute = FLOPs / (dense peak × engine compute efficiency); FLOPs = 2 × active parameters
//!   per token × tokens (weights) + attention FLOPs of each token over what it attends to;
//! - memory = bytes / (HBM bandwidth × engine memory efficiency); bytes = weights read (for MoE:
//!   the non-expert weights plus the experts the batch is expected to touch) + KV cache (and
//!   linear-attention state) read;
//! - collectives: with tensor-parallel attention, two ring all-reduces per layer; with
//!   data-parallel attention and expert parallelism (DEP), a dispatch and a combine all-to-all
//!   per MoE layer; over the scale-up link, or the scale-out NIC where the worker spans domains.
//!
//! What attention costs per sequence comes from the model's attention groups
//! ([`servebench_catalog::AttentionGroup`]: full, sparse, compressed and linear layers).
//! Tensor parallelism splits weights, FLOPs and (for GQA, up to the number of KV heads; for
//! linear attention, of value heads) the cache; a single latent (MLA, compressed attention)
//! cannot be split by heads, so every TP rank holds and reads it all unless attention runs
//! data-parallel (`dp_attention`), where each GPU keeps its own sequences' cache and a copy of
//! the non-expert weights.
//!
//! Expert parallelism puts whole experts on GPUs: the step waits for the GPU the router loads
//! most ([`PerfModel::expert_imbalance`]). Pipeline parallelism splits the layers into stages:
//! a step passes every stage in turn (its time is the whole model's plus a hop per stage
//! boundary), and the stages hold `pp` batches at once, which the caller simulates as `pp`
//! engines ([`PerfModel::pipelines`]) sharing the memory of the worker's GPUs.

use servebench_catalog::{Accelerator, AttentionGroup, Engine, Ffn, KnobsOrigin, Model, Precision};

/// What is served, and how it is split.
#[derive(Debug, Clone)]
pub struct Deployment {
    pub accelerator: Accelerator,
    pub model: Model,
    pub engine: Engine,
    pub precision: Precision,
    /// GPUs of one pipeline stage: the tensor-parallel group, over which experts are spread
    /// and attention may run data-parallel.
    pub tp: u32,
    /// Expert-parallel GPUs among them (1: every expert split tensor-parallel; else whole
    /// experts spread over `ep` GPUs, at most `tp`).
    pub ep: u32,
    /// Pipeline stages (each `tp` GPUs).
    pub pp: u32,
    /// Attention runs data-parallel across the TP GPUs (SGLang's DP-attention): each GPU keeps
    /// its own sequences' KV cache instead of a copy of every sequence's.
    pub dp_attention: bool,
    /// Expert-parallel load balancing (EPLB: redundant experts re-placed by load).
    pub eplb: bool,
    /// Speculative decoding / MTP, if enabled.
    pub spec: Option<SpecDecode>,
    /// CPU memory the server's KV cache may offload to, GB (0: none; InferenceX's
    /// `total-cpu-dram-gb`).
    pub kv_offload_gb: f64,
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
            ep: 1,
            pp: 1,
            dp_attention: false,
            eplb: false,
            spec: None,
            kv_offload_gb: 0.0,
            knobs,
        })
    }

    /// GPUs of one worker.
    pub fn gpus(&self) -> u32 {
        self.tp * self.pp
    }

    /// The engine `factor` times as efficient as its profile: compute and memory efficiency
    /// scaled (a what-if, such as a new release of the simulated engine). Neither may exceed
    /// the hardware's peak.
    pub fn scale_efficiency(&mut self, factor: f64) -> Result<(), PerfError> {
        let e = &mut self.engine;
        let (compute, memory) = (
            e.compute_efficiency.value * factor,
            e.memory_efficiency.value * factor,
        );
        if !(factor > 0.0 && compute <= 1.0 && memory <= 1.0) {
            return Err(PerfError::EfficiencyScale {
                factor,
                compute: e.compute_efficiency.value,
                memory: e.memory_efficiency.value,
            });
        }
        e.compute_efficiency.value = compute;
        e.memory_efficiency.value = memory;
        Ok(())
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
    #[error("tp {tp} exceeds the {domain}-GPU scale-up domain of {accelerator}, and the catalog gives it no scale-out network")]
    TpTooLarge {
        tp: u32,
        domain: u32,
        accelerator: String,
    },
    #[error(
        "KV offload to CPU memory on {accelerator}: the catalog gives it no host link (host_link)"
    )]
    NoHostLink { accelerator: String },
    #[error("efficiency scale {factor}: expected a factor above 0 that keeps the engine's compute ({compute}) and memory ({memory}) efficiency at most 1")]
    EfficiencyScale {
        factor: f64,
        compute: f64,
        memory: f64,
    },
    #[error("tp {tp}, ep {ep}, pp {pp}: expected tp ≥ 1, pp ≥ 1 and ep between 1 and tp")]
    Parallelism { tp: u32, ep: u32, pp: u32 },
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

/// A model's routed experts: what a step reads and computes of them.
#[derive(Debug, Clone, Copy)]
struct Experts {
    /// Layers with routed experts.
    layers: f64,
    /// Routed experts per layer, and how many each token picks.
    n: f64,
    k: f64,
    /// Weight FLOPs per token of the experts it is routed to (all layers).
    flops_per_token: f64,
    /// Coefficient of variation of one expert-parallel GPU's routed load from the router's
    /// skew (0 where no source measured it, or without expert parallelism).
    rank_cv: f64,
}

/// The model of one deployment, with everything that does not depend on the batch precomputed.
#[derive(Debug, Clone)]
pub struct PerfModel {
    pub dep: Deployment,
    tp: f64,
    ep: f64,
    pp: f64,
    flops_per_s: f64,
    bytes_per_s: f64,
    /// What collectives reach per GPU: the scale-up link, or the NIC when a stage spans domains.
    link_bytes_per_s: f64,
    /// Bytes of weights every step reads per GPU, summed over the stages: the non-expert
    /// weights (split tensor-parallel, or whole on every GPU with DP attention).
    fixed_weight_bytes: f64,
    moe: Option<Experts>,
    /// Bytes of all routed experts (every GPU holds a `tp`-th).
    expert_bytes_total: f64,
    /// Fraction of HBM the engine uses ([`Engine::memory_utilization`]).
    memory_utilization: f64,
    /// The attention groups and how many ways each one's cache is split per GPU.
    attention: Vec<(AttentionGroup, f64)>,
    /// Cache bytes per token of a long context, per GPU of one stage: the unit of KV-cache
    /// capacity.
    kv_bytes_per_token: f64,
    /// Whether a sequence's cache is exactly `kv_bytes_per_token` × its length.
    kv_linear: bool,
    /// 2 × active parameters: weight FLOPs per token.
    flops_per_token: f64,
    layers: f64,
    hidden: f64,
    overhead_s: f64,
    allreduce_latency_s: f64,
    alltoall_latency_s: f64,
}

impl PerfModel {
    pub fn new(dep: Deployment) -> Result<PerfModel, PerfError> {
        let (a, m, e, p) = (&dep.accelerator, &dep.model, &dep.engine, dep.precision);
        let pb = m.precision(p).ok_or_else(|| PerfError::NoPrecision {
            model: m.id.clone(),
            precision: p,
        })?;
        let peak = Self::peak_flops(a, p)?;
        if dep.kv_offload_gb > 0.0 && a.host_link.is_none() {
            return Err(PerfError::NoHostLink {
                accelerator: a.id.clone(),
            });
        }
        let link_bytes_per_s = Self::collective_link(&dep)? * e.link_efficiency.value;
        let (tp, ep, pp) = (dep.tp as f64, dep.ep as f64, dep.pp as f64);
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
                expert_load,
                ..
            } => {
                let layers = m.layers.value - dense_layers.value;
                // Gate, up and down projections of one expert.
                let params = 3.0 * hidden * expert_intermediate.value;
                // A GPU's load sums n/ep experts' (independent) loads; EPLB's was measured whole.
                let rank_cv = match expert_load {
                    Some(_) if ep <= 1.0 => 0.0,
                    Some(l) if dep.eplb => l.eplb_rank_cv.value,
                    Some(l) => l.expert_cv.value * (ep / experts.value).sqrt(),
                    None => 0.0,
                };
                Some(Experts {
                    layers,
                    n: experts.value,
                    k: experts_per_token.value,
                    flops_per_token: 2.0 * params * experts_per_token.value * layers,
                    rank_cv,
                })
            }
        };
        // Non-expert weights: the active parameters less the routed experts a token uses,
        // plus the input embedding (active counts only the output one): the total less the
        // experts where the total is exact (DeepSeek-R1: 17.1 B), and right where it is
        // rounded ("1.6T", "1T"). Dense models: all of them. The experts hold the rest.
        let shared_bytes = match moe {
            None => total_weight_bytes,
            Some(x) => {
                let routed_active = x.flops_per_token / 2.0;
                let embedding = m.vocab.value * hidden;
                ((m.params_active_b.value * 1e9 - routed_active + embedding) * wb)
                    .clamp(0.0, total_weight_bytes)
            }
        };
        let expert_bytes_total = total_weight_bytes - shared_bytes;
        // DP attention keeps the non-expert weights whole on every GPU.
        let fixed_weight_bytes = if dep.dp_attention {
            shared_bytes
        } else {
            shared_bytes / tp
        };
        let need = (fixed_weight_bytes + expert_bytes_total / tp) / pp;
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
                let split = if dep.dp_attention {
                    tp
                } else {
                    tp.min(g.split)
                };
                (g, split)
            })
            .collect();
        let kv_bytes_per_token = attention
            .iter()
            .map(|(g, split)| g.bytes_per_token() / split / pp)
            .sum();
        let kv_linear = attention.iter().all(|(g, _)| g.is_linear());
        Ok(PerfModel {
            tp,
            ep,
            pp,
            flops_per_s: peak * e.compute_efficiency.value,
            bytes_per_s: a.hbm_bytes_per_s() * e.memory_efficiency.value,
            link_bytes_per_s,
            fixed_weight_bytes,
            moe,
            expert_bytes_total,
            memory_utilization,
            attention,
            kv_bytes_per_token,
            kv_linear,
            flops_per_token: 2.0 * m.params_active_b.value * 1e9,
            layers: m.layers.value,
            hidden,
            overhead_s: e.step_overhead_us.value * 1e-6,
            allreduce_latency_s: e.allreduce_latency_us.value * 1e-6,
            alltoall_latency_s: e.alltoall_latency_us.value * 1e-6,
            dep,
        })
    }

    /// Dense peak FLOP/s at `p`. FP4 weights on an accelerator without FP4 tensor cores run as
    /// weight-only quantisation (e.g. vLLM's Marlin MXFP4 kernels on Hopper): 4-bit reads,
    /// BF16 math.
    fn peak_flops(a: &Accelerator, p: Precision) -> Result<f64, PerfError> {
        match (a.flops(p), p) {
            (Some(f), _) => Ok(f),
            (None, Precision::Fp4) => Ok(a.flops(Precision::Bf16).expect("bf16 is always listed")),
            (None, _) => Err(PerfError::NoFlops {
                accelerator: a.id.clone(),
                precision: p,
            }),
        }
    }

    /// Bandwidth per GPU of the link a stage's collectives cross: the scale-up domain where the
    /// stage fits in one, else the scale-out NIC (e.g. TP16 over two 8-GPU H100 nodes).
    fn collective_link(dep: &Deployment) -> Result<f64, PerfError> {
        let (a, tp, ep, pp) = (&dep.accelerator, dep.tp, dep.ep, dep.pp);
        if tp == 0 || pp == 0 || ep == 0 || ep > tp {
            return Err(PerfError::Parallelism { tp, ep, pp });
        }
        let domain = a.scale_up.domain_gpus.value;
        if f64::from(tp) <= domain {
            return Ok(a.scale_up.gb_per_s_per_gpu.value * 1e9);
        }
        match &a.scale_out {
            Some(out) => Ok(out.gbit_per_s_per_gpu.value * 1e9 / 8.0),
            None => Err(PerfError::TpTooLarge {
                tp,
                domain: domain as u32,
                accelerator: a.id.clone(),
            }),
        }
    }

    /// Expected distinct experts a step of `tokens` tokens touches in one layer, if each token
    /// picks `k` of `n` uniformly: n × (1 − (1 − k/n)^tokens).
    pub fn experts_touched(n: f64, k: f64, tokens: f64) -> f64 {
        n * (1.0 - (1.0 - k / n).powf(tokens))
    }

    /// How much more expert work the most loaded of `ep` GPUs gets than the mean, when a step's
    /// `tokens` tokens each pick `k` experts: the expected maximum of `ep` loads with mean m =
    /// tokens × k / ep and relative spread √(cv² + 1/m) (the router's skew `rank_cv` and the
    /// sampling of m routings), max ≈ mean × (1 + spread × √(2 ln ep)), at most all on one GPU.
    /// 1 without expert parallelism.
    pub fn expert_imbalance(ep: f64, k: f64, tokens: f64, rank_cv: f64) -> f64 {
        let routings = tokens * k;
        if ep <= 1.0 || routings <= 0.0 {
            return 1.0;
        }
        let mean = routings / ep;
        let spread = (rank_cv * rank_cv + 1.0 / mean).sqrt();
        (1.0 + spread * (2.0 * ep.ln()).sqrt()).min(ep)
    }

    /// [`PerfModel::expert_imbalance`] of this deployment for a step of `tokens` tokens.
    fn imbalance(&self, tokens: f64) -> f64 {
        self.moe.map_or(1.0, |x| {
            Self::expert_imbalance(self.ep, x.k, tokens, x.rank_cv)
        })
    }

    /// Whether the busiest expert-parallel GPU's load rests on a measured routing skew (true
    /// without expert parallelism, where there is none to measure).
    pub fn routing_skew_known(&self) -> bool {
        let skew_in_catalog = matches!(
            &self.dep.model.ffn,
            Ffn::Moe {
                expert_load: Some(_),
                ..
            }
        );
        self.moe.is_none() || self.ep <= 1.0 || skew_in_catalog
    }

    /// Attention's data-parallel ranks: each schedules its own batch (1 with TP attention).
    pub fn dp_ranks(&self) -> u64 {
        if self.dep.dp_attention {
            u64::from(self.dep.tp)
        } else {
            1
        }
    }

    /// GPUs one worker occupies.
    pub fn gpus(&self) -> u32 {
        self.dep.gpus()
    }

    /// Batches a worker holds at once: one per pipeline stage. The caller runs that many
    /// engines of this model, each with [`PerfModel::kv_capacity_tokens`] (already its share)
    /// and accounting for [`PerfModel::engine_gpus`] GPUs.
    pub fn pipelines(&self) -> usize {
        self.dep.pp as usize
    }

    /// GPUs one of a worker's [`PerfModel::pipelines`] accounts for (their sum is the worker's).
    pub fn engine_gpus(&self) -> u32 {
        self.dep.tp
    }

    /// Weight bytes one GPU reads in a step of `tokens` tokens, over all stages.
    pub fn weight_bytes_read(&self, tokens: u64) -> f64 {
        let experts = self.moe.map_or(0.0, |x| {
            let t = tokens as f64;
            let touched = Self::experts_touched(x.n, x.k, t);
            // The most loaded GPU touches more of its experts, but no more than it holds.
            let busiest = (touched * self.imbalance(t)).min(x.n);
            busiest / x.n * self.expert_bytes_total / self.tp
        });
        self.fixed_weight_bytes + experts
    }

    /// KV-cache bytes one GPU holds per token of a long context.
    pub fn kv_bytes_per_token(&self) -> f64 {
        self.kv_bytes_per_token
    }

    /// Tokens of a long context the KV cache of one of the worker's
    /// [`PerfModel::pipelines`] holds: (HBM × utilisation − weights) per GPU, shared by them.
    pub fn kv_capacity_tokens(&self) -> u64 {
        let a = &self.dep.accelerator;
        let weights = (self.fixed_weight_bytes + self.expert_bytes_total / self.tp) / self.pp;
        let free = a.hbm_bytes() * self.memory_utilization - weights;
        if self.kv_bytes_per_token <= 0.0 {
            return u64::MAX;
        }
        // With DP attention each GPU holds whole tokens of its own sequences; per token of the
        // group's context that is still kv_bytes_per_token per GPU on average.
        (free.max(0.0) / self.kv_bytes_per_token / self.pp) as u64
    }

    /// Cache bytes one GPU holds for a sequence of `len` tokens.
    pub fn seq_kv_bytes(&self, len: f64) -> f64 {
        self.attention
            .iter()
            .map(|(g, split)| g.held_bytes(len) / split / self.pp)
            .sum()
    }

    /// The KV-cache capacity a sequence of `len` tokens takes, in tokens of a long context:
    /// `len` itself where the cache grows linearly; more where a window or recurrent state adds
    /// a fixed part.
    pub fn kv_tokens(&self, len: u64) -> u64 {
        if self.kv_linear || self.kv_bytes_per_token <= 0.0 {
            return len;
        }
        crate::rounding::ceil_u64(self.seq_kv_bytes(len as f64) / self.kv_bytes_per_token)
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
        let t = tokens as f64;
        // The busiest expert-parallel GPU sets the pace of the expert layers.
        let expert_flops = self.moe.map_or(0.0, |x| x.flops_per_token);
        let imbalance = self.imbalance(t);
        let flops = ((self.flops_per_token - expert_flops) + expert_flops * imbalance) * t
            / self.tp
            + b.attn_flops;
        let bytes = self.weight_bytes_read(tokens) + b.kv_bytes;
        let compute_s = flops / self.flops_per_s;
        let memory_s = bytes / self.bytes_per_s;
        let comm_s = self.collectives_s(t) + self.stage_hops_s(t);
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

    /// Collectives of a step of `t` tokens (bf16 activations of `hidden` each):
    /// - tensor-parallel attention: two ring all-reduces per layer;
    /// - DP attention with expert parallelism (DEP): per MoE layer a dispatch (FP8) and a
    ///   combine (BF16) all-to-all of each GPU's tokens to the GPUs holding their experts, the
    ///   busiest GPU's share; dense layers as one all-reduce;
    /// - DP attention with tensor-parallel experts: the tokens gathered and scattered around
    ///   every layer's FFN, one all-reduce's worth.
    fn collectives_s(&self, t: f64) -> f64 {
        if self.tp <= 1.0 {
            return 0.0;
        }
        let allreduce = |tokens: f64| {
            2.0 * (self.tp - 1.0) / self.tp * tokens * self.hidden * 2.0 / self.link_bytes_per_s
                + self.allreduce_latency_s
        };
        match (self.dep.dp_attention, self.moe) {
            (false, _) => 2.0 * self.layers * allreduce(t),
            (true, Some(x)) if self.ep > 1.0 => {
                let per_gpu = t / self.tp;
                // Distinct other GPUs a token's k experts live on.
                let remote = (self.ep - 1.0) * (1.0 - (1.0 - 1.0 / self.ep).powf(x.k));
                let sent = per_gpu * remote * self.hidden * (1.0 + 2.0);
                let imbalance = self.imbalance(t);
                let alltoalls = x.layers
                    * (sent * imbalance / self.link_bytes_per_s + 2.0 * self.alltoall_latency_s);
                alltoalls + (self.layers - x.layers) * allreduce(t)
            }
            (true, _) => self.layers * allreduce(t),
        }
    }

    /// Activations handed from each pipeline stage to the next: one point-to-point send of the
    /// step's tokens per boundary.
    fn stage_hops_s(&self, t: f64) -> f64 {
        (self.pp - 1.0) * (t * self.hidden * 2.0 / self.link_bytes_per_s + self.allreduce_latency_s)
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
        // Beyond the scale-up domain only where a scale-out network is in the catalog.
        let mut d = dep("h100", "llama-3.3-70b", "vllm", Precision::Fp8, 16);
        d.accelerator.scale_out = None;
        let e = PerfModel::new(d).unwrap_err();
        assert!(e.to_string().contains("exceeds the 8-GPU scale-up domain"));
        let mut d = dep("h100", "llama-3.3-70b", "vllm", Precision::Fp8, 8);
        d.ep = 9;
        let e = PerfModel::new(d).unwrap_err();
        assert!(matches!(e, PerfError::Parallelism { ep: 9, .. }), "{e}");
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

    fn moe_decode(m: &PerfModel, seqs: u64) -> StepCost {
        let mut b = StepBatch::default();
        (0..seqs).for_each(|_| m.add_decode(&mut b, 1024, 1));
        m.step(&b)
    }

    #[test]
    fn tensor_parallelism_beyond_a_domain_all_reduces_over_the_nic() {
        // H100: 8-GPU NVLink domains; TP16 spans two nodes and its all-reduces cross the NIC.
        let m = PerfModel::new(dep("h100", "llama-3.3-70b", "vllm", Precision::Fp8, 16)).unwrap();
        let e = &m.dep.engine;
        let nic = m.dep.accelerator.scale_out.as_ref().unwrap();
        let link = nic.gbit_per_s_per_gpu.value * 1e9 / 8.0 * e.link_efficiency.value;
        let c = moe_decode(&m, 4);
        // 4 tokens × 8192 hidden × 2 bytes, ring all-reduce 2 × 15/16 of it, twice per layer.
        let per =
            2.0 * 15.0 / 16.0 * 4.0 * 8192.0 * 2.0 / link + e.allreduce_latency_us.value * 1e-6;
        assert!(
            close(c.comm_s, 2.0 * 80.0 * per),
            "{} vs {}",
            c.comm_s,
            160.0 * per
        );
    }

    #[test]
    fn expert_imbalance_is_the_busiest_gpu_of_the_router_skew_and_sampling() {
        // No expert parallelism, no imbalance.
        assert_eq!(PerfModel::expert_imbalance(1.0, 8.0, 100.0, 0.5), 1.0);
        // EP32, 1024 routings per GPU on average, TensorRT-LLM's measured per-GPU spread
        // without EPLB (cv 0.453 = 1.282 × √(32/256)): 1 + √(0.453² + 1/1024) × √(2 ln 32).
        let cv: f64 = 1.282 * (32.0f64 / 256.0).sqrt();
        let want = 1.0 + (cv * cv + 1.0 / 1024.0).sqrt() * (2.0 * 32f64.ln()).sqrt();
        let got = PerfModel::expert_imbalance(32.0, 8.0, 4096.0, cv);
        assert!(close(got, want), "{got} vs {want}");
        // ≈ 2.19 against the 2.56 the source measured as its hottest GPU (1 + 1.564).
        assert!((2.1..2.3).contains(&got), "{got}");
        // One token's 8 routings on 32 GPUs: never more than all of them on one GPU.
        assert!(PerfModel::expert_imbalance(32.0, 8.0, 1.0, 0.0) <= 32.0);
    }

    #[test]
    fn dep_keeps_non_expert_weights_whole_and_all_to_alls_per_moe_layer() {
        let mut d = dep("gb200", "deepseek-r1-0528", "trt", Precision::Fp4, 16);
        d.ep = 16;
        d.dp_attention = true;
        let m = PerfModel::new(d).unwrap();
        let tp =
            PerfModel::new(dep("gb200", "deepseek-r1-0528", "trt", Precision::Fp4, 16)).unwrap();
        // Non-expert: 36.7 B active less 8 routed experts × 58 layers × 3 × 7168 × 2048, plus
        // the 129,280 × 7168 input embedding.
        let routed_active = 8.0 * 58.0 * 3.0 * 7168.0 * 2048.0;
        let wb = m
            .dep
            .model
            .precision(Precision::Fp4)
            .unwrap()
            .weight_bytes
            .value;
        let shared = (36.7e9 - routed_active + 129_280.0 * 7168.0) * wb;
        // Non-expert weights: whole on every GPU with DP attention, a 16th with TP attention.
        assert!(
            close(m.fixed_weight_bytes, shared),
            "{}",
            m.fixed_weight_bytes
        );
        assert!(close(tp.fixed_weight_bytes, shared / 16.0));
        // 256 decoding sequences: 16 tokens per GPU, each sent to the other GPUs holding its
        // experts (15 × (1 − (15/16)^8)) as FP8 hidden states, combined back as BF16; the
        // busiest GPU's share; a fixed cost per all-to-all, two per MoE layer; the 3 dense
        // layers all-reduce.
        let e = &m.dep.engine;
        let c = moe_decode(&m, 256);
        let link = 900e9 * e.link_efficiency.value;
        let remote = 15.0 * (1.0 - (15.0f64 / 16.0).powi(8));
        let imb = PerfModel::expert_imbalance(16.0, 8.0, 256.0, 1.282 * (16.0f64 / 256.0).sqrt());
        let fixed = e.alltoall_latency_us.value * 1e-6;
        let a2a = 58.0 * (16.0 * remote * 7168.0 * 3.0 * imb / link + 2.0 * fixed);
        let ar =
            2.0 * 15.0 / 16.0 * 256.0 * 7168.0 * 2.0 / link + e.allreduce_latency_us.value * 1e-6;
        assert!(
            close(c.comm_s, a2a + 3.0 * ar),
            "{} vs {}",
            c.comm_s,
            a2a + 3.0 * ar
        );
        // Each GPU caches only its own sequences: a 16th of the latent per token.
        assert!(close(
            m.kv_bytes_per_token(),
            tp.kv_bytes_per_token() / 16.0
        ));
        assert!(m.routing_skew_known());
    }

    #[test]
    fn eplb_flattens_the_busiest_gpu() {
        let mut d = dep("gb200", "deepseek-r1-0528", "trt", Precision::Fp4, 32);
        d.ep = 32;
        d.dp_attention = true;
        let skewed = PerfModel::new(d.clone()).unwrap();
        d.eplb = true;
        let balanced = PerfModel::new(d).unwrap();
        let (s, b) = (moe_decode(&skewed, 1024), moe_decode(&balanced, 1024));
        assert!(b.total_s < s.total_s, "{} vs {}", b.total_s, s.total_s);
        // The router's skew at EP32 costs far more than its sampling (1024 tokens × 8 / 32).
        let (si, bi) = (skewed.imbalance(1024.0), balanced.imbalance(1024.0));
        assert!(si > 2.0 && bi < 1.25, "{si} {bi}");
    }

    #[test]
    fn pipeline_stages_split_memory_not_latency() {
        let one = PerfModel::new(dep("h200", "llama-3.3-70b", "vllm", Precision::Fp8, 4)).unwrap();
        let mut d = dep("h200", "llama-3.3-70b", "vllm", Precision::Fp8, 4);
        d.pp = 2;
        let two = PerfModel::new(d).unwrap();
        assert_eq!((two.gpus(), two.pipelines(), two.engine_gpus()), (8, 2, 4));
        // A step passes both stages: the same roofline plus one hop of the step's activations.
        let (a, b) = (moe_decode(&one, 8), moe_decode(&two, 8));
        assert!(close(a.memory_s, b.memory_s) && close(a.compute_s, b.compute_s));
        let e = &two.dep.engine;
        let up = two.dep.accelerator.scale_up.gb_per_s_per_gpu.value * 1e9;
        let hop = 8.0 * 8192.0 * 2.0 / (up * e.link_efficiency.value)
            + e.allreduce_latency_us.value * 1e-6;
        assert!(
            close(b.comm_s - a.comm_s, hop),
            "{} vs {hop}",
            b.comm_s - a.comm_s
        );
        // Each GPU holds half the weights and half of each token's cache: the worker holds
        // (141 × 0.9 − 70.55 / 8) GB / (163,840 / 8) B tokens, half of them per pipeline.
        let free = 141e9 * 0.9 - 70.55e9 / 8.0;
        let worker = free / (163_840.0 / 8.0);
        assert!((two.kv_capacity_tokens() as f64 - worker / 2.0).abs() <= 1.0);
        assert!(close(
            two.seq_kv_bytes(1000.0),
            one.seq_kv_bytes(1000.0) / 2.0
        ));
    }
}
