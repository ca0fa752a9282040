//! Model architectures and what the simulator derives from them.

use crate::Figure;
use serde::Deserialize;
use std::collections::BTreeMap;

/// Numeric precision a model is served in.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, serde::Serialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    Bf16,
    Fp8,
    Fp4,
}

impl std::str::FromStr for Precision {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "bf16" => Ok(Precision::Bf16),
            "fp8" => Ok(Precision::Fp8),
            "fp4" | "mxfp4" | "nvfp4" => Ok(Precision::Fp4),
            _ => Err(format!("expected bf16, fp8 or fp4, got '{s}'")),
        }
    }
}

impl std::fmt::Display for Precision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Precision::Bf16 => "bf16",
            Precision::Fp8 => "fp8",
            Precision::Fp4 => "fp4",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Attention {
    /// Grouped-query (or multi-head, with kv_heads = query_heads) attention.
    Gqa {
        query_heads: Figure,
        kv_heads: Figure,
        head_dim: Figure,
    },
    /// Multi-head latent attention (DeepSeek-V3): one compressed latent per token is cached.
    Mla {
        query_heads: Figure,
        /// Absent where no source read states it: it shapes neither the KV cache nor the
        /// simulator's step (the parameter counts carry the query projection).
        #[serde(default)]
        q_lora_rank: Option<Figure>,
        kv_lora_rank: Figure,
        qk_nope_head_dim: Figure,
        qk_rope_head_dim: Figure,
        v_head_dim: Figure,
    },
    /// Compressed attention (DeepSeek-V4): one shared K=V entry per `compress` tokens, a
    /// window of recent tokens kept uncompressed, and per layer group a ratio and, for sparse
    /// groups, the top-k entries a lightning indexer picks for each query.
    Compressed {
        query_heads: Figure,
        /// Width of one cached entry (K and V share it).
        head_dim: Figure,
        qk_rope_head_dim: Figure,
        #[serde(default)]
        q_lora_rank: Option<Figure>,
        /// Recent tokens every layer also keeps and attends to uncompressed.
        window: Figure,
        groups: Vec<CompressedLayers>,
    },
}

/// Layers of a compressed-attention model that share a compression ratio.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompressedLayers {
    /// A label: `csa`, `hca`.
    pub name: String,
    pub layers: Figure,
    /// Tokens folded into one cached entry.
    pub compress: Figure,
    /// Sparse groups: entries each query attends to at most, chosen by the indexer.
    #[serde(default)]
    pub indexer: Option<Indexer>,
}

/// A lightning indexer: one key of `head_dim` per cached entry, scored by `heads` query heads;
/// the query attends to the `top_k` best blocks of `block_tokens` (plus `local_blocks` recent ones).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Indexer {
    pub heads: Figure,
    pub head_dim: Figure,
    pub top_k: Figure,
    #[serde(default)]
    pub block_tokens: Option<Figure>,
    #[serde(default)]
    pub local_blocks: Option<Figure>,
}

impl Indexer {
    /// Entries (of the layer's cache) a query attends to at most.
    fn attended(&self) -> f64 {
        let block = self.block_tokens.as_ref().map_or(1.0, |b| b.value);
        (self.top_k.value + self.local_blocks.as_ref().map_or(0.0, |l| l.value)) * block
    }

    fn figures(&self, prefix: &'static [&'static str; 5]) -> Vec<(&'static str, &Figure)> {
        [
            (prefix[0], Some(&self.heads)),
            (prefix[1], Some(&self.head_dim)),
            (prefix[2], Some(&self.top_k)),
            (prefix[3], self.block_tokens.as_ref()),
            (prefix[4], self.local_blocks.as_ref()),
        ]
        .into_iter()
        .filter_map(|(n, f)| Some((n, f?)))
        .collect()
    }
}

/// Sparse attention over a full-attention cache (GLM-5's DSA, MiniMax-M3's MSA): the last
/// `layers` full-attention layers attend only to what their indexer picks.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SparseAttention {
    pub layers: Figure,
    pub indexer: Indexer,
}

/// Linear-attention layers (Gated DeltaNet, KDA): a fixed recurrent state per sequence
/// instead of a KV cache that grows with the context.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinearAttention {
    /// `gated-deltanet` or `kda`.
    pub kind: String,
    pub layers: Figure,
    pub key_heads: Figure,
    pub value_heads: Figure,
    pub key_head_dim: Figure,
    pub value_head_dim: Figure,
    /// Short causal convolution over q, k and v (its last kernel − 1 inputs are state too).
    pub conv_kernel: Figure,
    /// Bytes per element of the recurrent state (engines keep it in FP32 or BF16).
    pub state_bytes: Figure,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Ffn {
    Dense {
        intermediate: Figure,
    },
    Moe {
        /// Leading layers with a dense FFN instead of experts.
        dense_layers: Figure,
        /// Their FFN width (absent where there are none).
        #[serde(default)]
        dense_intermediate: Option<Figure>,
        experts: Figure,
        experts_per_token: Figure,
        shared_experts: Figure,
        expert_intermediate: Figure,
        /// How unevenly the router loads the experts, where a source measured it.
        #[serde(default)]
        expert_load: Option<Box<ExpertLoad>>,
    },
}

/// The router's load skew: what makes the busiest expert-parallel GPU busier than the mean.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpertLoad {
    /// Coefficient of variation (std / mean) of the tokens routed to one expert in one layer.
    pub expert_cv: Figure,
    /// The same of one GPU's load with expert-parallel load balancing (EPLB: redundant,
    /// re-placed experts).
    pub eplb_rank_cv: Figure,
}

/// Layers whose attention only looks back `tokens` positions.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlidingWindow {
    pub tokens: Figure,
    pub layers: Figure,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrecisionBytes {
    /// Average bytes per stored weight (block scales included).
    pub weight_bytes: Figure,
    /// Bytes per KV-cache element.
    pub kv_bytes: Figure,
}

/// One kind of attention layer of a model, as the simulator costs it: what a sequence of `L`
/// tokens keeps cached in each of `layers` layers, what a new query reads and computes.
/// - cached: `entry_bytes` × (L / `compress` + min(L, `window`)) + `indexer_bytes` × L /
///   `compress` + `state_bytes`;
/// - read by a decoding query: the same, with the compressed entries capped at `top_k` and the
///   recurrent state read and written back;
/// - FLOPs of a query: `flops_per_entry` per entry attended + `indexer_flops` per entry scored
///   + `state_flops`.
///
/// Tensor parallelism splits the cache at most `split` ways (KV or value heads; 1 for a shared
/// latent).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AttentionGroup {
    pub layers: f64,
    pub entry_bytes: f64,
    pub flops_per_entry: f64,
    pub compress: f64,
    pub window: f64,
    pub top_k: f64,
    pub indexer_bytes: f64,
    pub indexer_flops: f64,
    pub state_bytes: f64,
    pub state_flops: f64,
    pub split: f64,
}

impl AttentionGroup {
    fn plain(layers: f64) -> AttentionGroup {
        AttentionGroup {
            layers,
            entry_bytes: 0.0,
            flops_per_entry: 0.0,
            compress: 1.0,
            window: 0.0,
            top_k: f64::INFINITY,
            indexer_bytes: 0.0,
            indexer_flops: 0.0,
            state_bytes: 0.0,
            state_flops: 0.0,
            split: 1.0,
        }
    }

    /// With an indexer: one FP8-or-KV-width key per entry, scored by every indexer head.
    fn indexed(self, indexer: Option<&Indexer>, kv_bytes: f64) -> AttentionGroup {
        let Some(i) = indexer else { return self };
        AttentionGroup {
            top_k: i.attended(),
            indexer_bytes: i.head_dim.value * kv_bytes,
            indexer_flops: 2.0 * i.heads.value * i.head_dim.value,
            ..self
        }
    }

    /// Cached bytes per further token of a long context.
    pub fn bytes_per_token(&self) -> f64 {
        self.layers * (self.entry_bytes + self.indexer_bytes) / self.compress
    }

    /// Whether the cache is exactly `bytes_per_token` × length (no window, no state).
    pub fn is_linear(&self) -> bool {
        self.window == 0.0 && self.state_bytes == 0.0
    }

    /// Bytes a sequence of `len` tokens keeps cached.
    pub fn held_bytes(&self, len: f64) -> f64 {
        let entries = len / self.compress;
        self.layers
            * (self.entry_bytes * (entries + len.min(self.window))
                + self.indexer_bytes * entries
                + self.state_bytes)
    }

    /// Bytes one decoding query at context `len` reads (and, for the state, writes back).
    pub fn decode_bytes(&self, len: f64) -> f64 {
        let entries = len / self.compress;
        self.layers
            * (self.entry_bytes * (entries.min(self.top_k) + len.min(self.window))
                + self.indexer_bytes * entries
                + 2.0 * self.state_bytes)
    }

    /// Attention FLOPs of one query at context `len`.
    pub fn query_flops(&self, len: f64) -> f64 {
        let entries = len / self.compress;
        self.layers
            * (self.flops_per_entry * (entries.min(self.top_k) + len.min(self.window))
                + self.indexer_flops * entries
                + self.state_flops)
    }

    /// Attention FLOPs of the queries at positions `from..from + n` (a prefill chunk): the sum
    /// of [`AttentionGroup::query_flops`] over them, in closed form.
    pub fn chunk_flops(&self, from: f64, n: f64) -> f64 {
        let s = 1.0 / self.compress;
        self.layers
            * (self.flops_per_entry
                * (sum_min_linear(from, n, s, self.top_k)
                    + sum_min_linear(from, n, 1.0, self.window))
                + self.indexer_flops * s * sum_min_linear(from, n, 1.0, f64::INFINITY)
                + self.state_flops * n)
    }
}

/// Whether `name` is one of a model's names (case-insensitive).
pub(crate) fn names_include(id: &str, hf_id: &str, aliases: &[String], name: &str) -> bool {
    [id, hf_id]
        .into_iter()
        .chain(aliases.iter().map(String::as_str))
        .any(|n| n.eq_ignore_ascii_case(name))
}

/// Σ over integers i in `from..from + n` of min(slope × i, cap).
fn sum_min_linear(from: f64, n: f64, slope: f64, cap: f64) -> f64 {
    let to = from + n;
    // i below `cut` is under the cap.
    let cut = if cap.is_finite() {
        (cap / slope).ceil().clamp(from, to)
    } else {
        to
    };
    slope * (cut - from) * (from + cut - 1.0) / 2.0
        + if cap.is_finite() {
            cap * (to - cut)
        } else {
            0.0
        }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Model {
    pub kind: String,
    pub id: String,
    pub name: String,
    pub hf_id: String,
    /// Other names recipes use for this model: InferenceX model-prefix codes (`dsr1`) and
    /// quantised checkpoints of it.
    #[serde(default)]
    pub aliases: Vec<String>,
    pub layers: Figure,
    pub hidden_size: Figure,
    pub vocab: Figure,
    /// Longest sequence (prompt and output) the model takes, tokens.
    pub context: Figure,
    pub attention: Attention,
    pub ffn: Ffn,
    #[serde(default)]
    pub sliding_window: Option<SlidingWindow>,
    /// Full-attention layers that attend sparsely (an indexer picks what each query reads).
    #[serde(default)]
    pub sparse_attention: Option<SparseAttention>,
    /// Linear-attention layers (the rest use `attention`).
    #[serde(default)]
    pub linear_attention: Option<LinearAttention>,
    /// Multi-token-prediction layers usable as a draft (DeepSeek's MTP).
    #[serde(default)]
    pub mtp_layers: Option<Figure>,
    pub params_total_b: Figure,
    pub params_active_b: Figure,
    pub precisions: BTreeMap<Precision, PrecisionBytes>,
    /// Checkpoints (by Hugging Face id) whose weights take other bytes than their precision's
    /// figure: an MXFP4 build (4.25 bit) of a model whose FP4 figure is NVFP4 (4.5 bit).
    #[serde(default)]
    pub checkpoints: BTreeMap<String, Checkpoint>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    pub precision: Precision,
    pub weight_bytes: Figure,
}

impl Model {
    /// Whether `name` is this model: its id, Hugging Face id or an alias (case-insensitive).
    pub fn is_named(&self, name: &str) -> bool {
        names_include(&self.id, &self.hf_id, &self.aliases, name)
    }

    fn n(f: &Figure) -> f64 {
        f.value
    }

    pub fn precision(&self, p: Precision) -> Option<&PrecisionBytes> {
        self.precisions.get(&p)
    }

    /// This model as the checkpoint `hf_id` stores it: its weight bytes replace the
    /// precision's figure where the file lists the checkpoint (names compare case-insensitively).
    pub fn with_checkpoint(mut self, hf_id: &str) -> Model {
        let found = self
            .checkpoints
            .iter()
            .find(|(id, _)| id.eq_ignore_ascii_case(hf_id))
            .map(|(_, c)| c.clone());
        if let Some(c) = found {
            if let Some(pb) = self.precisions.get_mut(&c.precision) {
                pb.weight_bytes = c.weight_bytes;
            }
        }
        self
    }

    /// Bytes of all weights at precision `p`.
    pub fn weight_bytes(&self, p: Precision) -> Option<f64> {
        self.precision(p)
            .map(|b| self.params_total_b.value * 1e9 * b.weight_bytes.value)
    }

    /// Layers that keep a full-length KV cache (all but the sliding-window and linear ones).
    pub fn full_attention_layers(&self) -> f64 {
        Self::n(&self.layers)
            - self.sliding_window.as_ref().map_or(0.0, |s| s.layers.value)
            - self
                .linear_attention
                .as_ref()
                .map_or(0.0, |l| l.layers.value)
    }

    /// KV-cache bytes each further token adds once the context is long (windows full,
    /// compressed entries averaged over the tokens they fold):
    /// GQA 2 × layers × kv_heads × head_dim × b; MLA layers × (kv_lora_rank + rope dim) × b.
    pub fn kv_bytes_per_token(&self, p: Precision) -> Option<f64> {
        Some(
            self.attention_groups(p)?
                .iter()
                .map(AttentionGroup::bytes_per_token)
                .sum(),
        )
    }

    /// The attention layers as the simulator costs them: one group per kind of layer, with
    /// everything derived from this file's figures (`docs/sim.md`). Sliding-window layers are
    /// left out: their cache is bounded (gpt-oss: 128 tokens) and was left out when the
    /// engines' knobs were fitted.
    pub fn attention_groups(&self, p: Precision) -> Option<Vec<AttentionGroup>> {
        let b = self.precision(p)?.kv_bytes.value;
        let full = self.full_attention_layers();
        let mut groups = Vec::new();
        let plain = |layers: f64| match &self.attention {
            Attention::Gqa {
                query_heads,
                kv_heads,
                head_dim,
            } => Some(AttentionGroup {
                entry_bytes: 2.0 * kv_heads.value * head_dim.value * b,
                // QKᵀ and AV: 2 FLOPs per multiply-add each.
                flops_per_entry: 4.0 * query_heads.value * head_dim.value,
                split: kv_heads.value,
                ..AttentionGroup::plain(layers)
            }),
            Attention::Mla {
                query_heads,
                kv_lora_rank,
                qk_nope_head_dim,
                qk_rope_head_dim,
                v_head_dim,
                ..
            } => Some(AttentionGroup {
                entry_bytes: (kv_lora_rank.value + qk_rope_head_dim.value) * b,
                flops_per_entry: 2.0
                    * query_heads.value
                    * (qk_nope_head_dim.value + qk_rope_head_dim.value + v_head_dim.value),
                split: 1.0,
                ..AttentionGroup::plain(layers)
            }),
            Attention::Compressed { .. } => None,
        };
        match &self.attention {
            Attention::Compressed {
                query_heads,
                head_dim,
                window,
                groups: by_ratio,
                ..
            } => groups.extend(by_ratio.iter().map(|g| AttentionGroup {
                entry_bytes: head_dim.value * b,
                flops_per_entry: 4.0 * query_heads.value * head_dim.value,
                compress: g.compress.value,
                window: window.value,
                split: 1.0,
                ..AttentionGroup::plain(g.layers.value).indexed(g.indexer.as_ref(), b)
            })),
            _ => {
                let sparse = self.sparse_attention.as_ref();
                let sparse_layers = sparse.map_or(0.0, |s| s.layers.value);
                groups.extend(plain(full - sparse_layers));
                if let Some(s) = sparse {
                    groups.extend(plain(sparse_layers).map(|g| g.indexed(Some(&s.indexer), b)));
                }
            }
        }
        if let Some(l) = &self.linear_attention {
            let (kh, vh, dk, dv) = (
                l.key_heads.value,
                l.value_heads.value,
                l.key_head_dim.value,
                l.value_head_dim.value,
            );
            let conv = (2.0 * kh * dk + vh * dv) * (l.conv_kernel.value - 1.0);
            groups.push(AttentionGroup {
                state_bytes: (vh * dk * dv + conv) * l.state_bytes.value,
                // The delta rule per value head: S·k, the rank-one update and S·q, each a
                // dk × dv multiply-add.
                state_flops: 6.0 * vh * dk * dv,
                split: vh,
                ..AttentionGroup::plain(l.layers.value)
            });
        }
        groups.retain(|g| g.layers > 0.0);
        Some(groups)
    }

    /// Bounded KV bytes a sequence of `len` tokens holds in sliding-window layers.
    pub fn sliding_kv_bytes_per_seq(&self, p: Precision, len: f64) -> f64 {
        let (Some(sw), Some(pb)) = (&self.sliding_window, self.precision(p)) else {
            return 0.0;
        };
        let Attention::Gqa {
            kv_heads, head_dim, ..
        } = &self.attention
        else {
            return 0.0;
        };
        2.0 * sw.layers.value
            * kv_heads.value
            * head_dim.value
            * pb.kv_bytes.value
            * len.min(sw.tokens.value)
    }

    pub(crate) fn validate(&self) -> Result<(), (&'static str, String)> {
        if self.kind != "model" {
            return Err(("kind", format!("expected 'model', got '{}'", self.kind)));
        }
        if self.precisions.is_empty() {
            return Err(("precisions", "at least one precision is needed".into()));
        }
        if let Some((id, c)) = self
            .checkpoints
            .iter()
            .find(|(_, c)| !self.precisions.contains_key(&c.precision))
        {
            return Err((
                "checkpoints",
                format!(
                    "{id} is {} but the model lists no such precision",
                    c.precision
                ),
            ));
        }
        self.validate_layers()?;
        if let Ffn::Moe {
            experts,
            experts_per_token,
            ..
        } = &self.ffn
        {
            if experts_per_token.value > experts.value {
                return Err((
                    "ffn.experts_per_token",
                    format!(
                        "{} experts per token but only {} experts",
                        experts_per_token.value, experts.value
                    ),
                ));
            }
        }
        if self.params_active_b.value > self.params_total_b.value {
            return Err((
                "params_active_b",
                "more active than total parameters".into(),
            ));
        }
        Ok(())
    }

    /// Every kind of layer fits in the model's layers.
    fn validate_layers(&self) -> Result<(), (&'static str, String)> {
        let layers = self.layers.value;
        let too_many = |field: &'static str, what: &str, n: f64| {
            Err((
                field,
                format!("{n} {what} layers but the model has {layers} layers"),
            ))
        };
        let sliding = self.sliding_window.as_ref().map_or(0.0, |s| s.layers.value);
        let linear = self
            .linear_attention
            .as_ref()
            .map_or(0.0, |l| l.layers.value);
        if sliding > layers {
            return too_many("sliding_window.layers", "sliding-window", sliding);
        }
        if sliding + linear > layers {
            return too_many("linear_attention.layers", "linear-attention", linear);
        }
        if let Some(s) = &self.sparse_attention {
            if matches!(self.attention, Attention::Compressed { .. }) {
                return Err((
                    "sparse_attention",
                    "compressed attention carries its indexers in its groups".into(),
                ));
            }
            if s.layers.value > self.full_attention_layers() {
                return too_many("sparse_attention.layers", "sparse", s.layers.value);
            }
        }
        if let Some(l) = &self.linear_attention {
            if l.conv_kernel.value < 1.0 {
                return Err(("linear_attention.conv_kernel", "expected at least 1".into()));
            }
        }
        if let Attention::Compressed { groups, .. } = &self.attention {
            let sum: f64 = groups.iter().map(|g| g.layers.value).sum();
            if sum != layers - sliding - linear {
                return Err((
                    "attention.groups",
                    format!("the groups have {sum} layers but the model has {layers}"),
                ));
            }
            if groups.iter().any(|g| g.compress.value < 1.0) {
                return Err((
                    "attention.groups.compress",
                    "expected at least 1 token per entry".into(),
                ));
            }
        }
        Ok(())
    }

    pub(crate) fn figures(&self) -> Vec<(&'static str, &Figure)> {
        let mut v = vec![
            ("layers", &self.layers),
            ("hidden_size", &self.hidden_size),
            ("vocab", &self.vocab),
            ("context", &self.context),
            ("params_total_b", &self.params_total_b),
            ("params_active_b", &self.params_active_b),
        ];
        match &self.attention {
            Attention::Gqa {
                query_heads,
                kv_heads,
                head_dim,
            } => v.extend([
                ("attention.query_heads", query_heads),
                ("attention.kv_heads", kv_heads),
                ("attention.head_dim", head_dim),
            ]),
            Attention::Mla {
                query_heads,
                q_lora_rank,
                kv_lora_rank,
                qk_nope_head_dim,
                qk_rope_head_dim,
                v_head_dim,
            } => v.extend(
                [
                    ("attention.query_heads", Some(query_heads)),
                    ("attention.q_lora_rank", q_lora_rank.as_ref()),
                    ("attention.kv_lora_rank", Some(kv_lora_rank)),
                    ("attention.qk_nope_head_dim", Some(qk_nope_head_dim)),
                    ("attention.qk_rope_head_dim", Some(qk_rope_head_dim)),
                    ("attention.v_head_dim", Some(v_head_dim)),
                ]
                .into_iter()
                .filter_map(|(n, f)| Some((n, f?))),
            ),
            Attention::Compressed {
                query_heads,
                head_dim,
                qk_rope_head_dim,
                q_lora_rank,
                window,
                groups,
            } => {
                v.extend([
                    ("attention.query_heads", query_heads),
                    ("attention.head_dim", head_dim),
                    ("attention.qk_rope_head_dim", qk_rope_head_dim),
                    ("attention.window", window),
                ]);
                v.extend(q_lora_rank.iter().map(|f| ("attention.q_lora_rank", f)));
                for g in groups {
                    v.extend([
                        ("attention.groups.layers", &g.layers),
                        ("attention.groups.compress", &g.compress),
                    ]);
                    if let Some(i) = &g.indexer {
                        v.extend(i.figures(&[
                            "attention.groups.indexer.heads",
                            "attention.groups.indexer.head_dim",
                            "attention.groups.indexer.top_k",
                            "attention.groups.indexer.block_tokens",
                            "attention.groups.indexer.local_blocks",
                        ]));
                    }
                }
            }
        }
        if let Some(s) = &self.sparse_attention {
            v.push(("sparse_attention.layers", &s.layers));
            v.extend(s.indexer.figures(&[
                "sparse_attention.indexer.heads",
                "sparse_attention.indexer.head_dim",
                "sparse_attention.indexer.top_k",
                "sparse_attention.indexer.block_tokens",
                "sparse_attention.indexer.local_blocks",
            ]));
        }
        if let Some(l) = &self.linear_attention {
            v.extend([
                ("linear_attention.layers", &l.layers),
                ("linear_attention.key_heads", &l.key_heads),
                ("linear_attention.value_heads", &l.value_heads),
                ("linear_attention.key_head_dim", &l.key_head_dim),
                ("linear_attention.value_head_dim", &l.value_head_dim),
                ("linear_attention.conv_kernel", &l.conv_kernel),
                ("linear_attention.state_bytes", &l.state_bytes),
            ]);
        }
        match &self.ffn {
            Ffn::Dense { intermediate } => v.push(("ffn.intermediate", intermediate)),
            Ffn::Moe {
                dense_layers,
                dense_intermediate,
                experts,
                experts_per_token,
                shared_experts,
                expert_intermediate,
                expert_load,
            } => {
                if let Some(l) = expert_load {
                    v.extend([
                        ("ffn.expert_load.expert_cv", &l.expert_cv),
                        ("ffn.expert_load.eplb_rank_cv", &l.eplb_rank_cv),
                    ]);
                }
                v.extend([
                    ("ffn.dense_layers", dense_layers),
                    ("ffn.experts", experts),
                    ("ffn.experts_per_token", experts_per_token),
                    ("ffn.shared_experts", shared_experts),
                    ("ffn.expert_intermediate", expert_intermediate),
                ]);
                v.extend(
                    dense_intermediate
                        .iter()
                        .map(|f| ("ffn.dense_intermediate", f)),
                );
            }
        }
        if let Some(sw) = &self.sliding_window {
            v.extend([
                ("sliding_window.tokens", &sw.tokens),
                ("sliding_window.layers", &sw.layers),
            ]);
        }
        if let Some(m) = &self.mtp_layers {
            v.push(("mtp_layers", m));
        }
        for c in self.checkpoints.values() {
            v.push(("checkpoints.*.weight_bytes", &c.weight_bytes));
        }
        for pb in self.precisions.values() {
            v.extend([
                ("precisions.*.weight_bytes", &pb.weight_bytes),
                ("precisions.*.kv_bytes", &pb.kv_bytes),
            ]);
        }
        v
    }
}
