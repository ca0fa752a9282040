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
        dense_intermediate: Figure,
        experts: Figure,
        experts_per_token: Figure,
        shared_experts: Figure,
        expert_intermediate: Figure,
    },
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
    pub attention: Attention,
    pub ffn: Ffn,
    #[serde(default)]
    pub sliding_window: Option<SlidingWindow>,
    /// Multi-token-prediction layers usable as a draft (DeepSeek's MTP).
    #[serde(default)]
    pub mtp_layers: Option<Figure>,
    pub params_total_b: Figure,
    pub params_active_b: Figure,
    pub precisions: BTreeMap<Precision, PrecisionBytes>,
}

impl Model {
    /// Whether `name` is this model: its id, Hugging Face id or an alias (case-insensitive).
    pub fn is_named(&self, name: &str) -> bool {
        [&self.id, &self.hf_id]
            .into_iter()
            .chain(&self.aliases)
            .any(|n| n.eq_ignore_ascii_case(name))
    }

    fn n(f: &Figure) -> f64 {
        f.value
    }

    pub fn precision(&self, p: Precision) -> Option<&PrecisionBytes> {
        self.precisions.get(&p)
    }

    /// Bytes of all weights at precision `p`.
    pub fn weight_bytes(&self, p: Precision) -> Option<f64> {
        self.precision(p)
            .map(|b| self.params_total_b.value * 1e9 * b.weight_bytes.value)
    }

    /// Layers that keep a full-length KV cache (all but the sliding-window ones).
    pub fn full_attention_layers(&self) -> f64 {
        Self::n(&self.layers) - self.sliding_window.as_ref().map_or(0.0, |s| s.layers.value)
    }

    /// KV-cache bytes each token adds over the full-attention layers:
    /// GQA 2 × layers × kv_heads × head_dim × b; MLA layers × (kv_lora_rank + rope dim) × b.
    pub fn kv_bytes_per_token(&self, p: Precision) -> Option<f64> {
        let b = self.precision(p)?.kv_bytes.value;
        Some(match &self.attention {
            Attention::Gqa {
                kv_heads, head_dim, ..
            } => 2.0 * self.full_attention_layers() * kv_heads.value * head_dim.value * b,
            Attention::Mla {
                kv_lora_rank,
                qk_rope_head_dim,
                ..
            } => Self::n(&self.layers) * (kv_lora_rank.value + qk_rope_head_dim.value) * b,
        })
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
        if let Some(sw) = &self.sliding_window {
            if sw.layers.value > self.layers.value {
                return Err((
                    "sliding_window.layers",
                    format!(
                        "{} sliding-window layers but the model has {} layers",
                        sw.layers.value, self.layers.value
                    ),
                ));
            }
        }
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

    pub(crate) fn figures(&self) -> Vec<(&'static str, &Figure)> {
        let mut v = vec![
            ("layers", &self.layers),
            ("hidden_size", &self.hidden_size),
            ("vocab", &self.vocab),
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
            } => v.extend([
                ("ffn.dense_layers", dense_layers),
                ("ffn.dense_intermediate", dense_intermediate),
                ("ffn.experts", experts),
                ("ffn.experts_per_token", experts_per_token),
                ("ffn.shared_experts", shared_experts),
                ("ffn.expert_intermediate", expert_intermediate),
            ]),
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
        for pb in self.precisions.values() {
            v.extend([
                ("precisions.*.weight_bytes", &pb.weight_bytes),
                ("precisions.*.kv_bytes", &pb.kv_bytes),
            ]);
        }
        v
    }
}
