//! What throughput costs, and what power it takes: InferenceX's formulas
//! (`shared/reference/calibration.md` §0.2) over the catalog's prices and all-in power.

use servebench_catalog::Accelerator;

/// The three cost tiers InferenceX publishes, or a price of your own.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CostTier {
    OwnedHyperscaler,
    OwnedNeocloud,
    Rental3y,
    /// Your own $/GPU-hour.
    Custom(f64),
}

impl CostTier {
    /// $/GPU-hour of this tier on `a`.
    pub fn dollars_per_gpu_hour(self, a: &Accelerator) -> f64 {
        let t = &a.dollars_per_gpu_hour;
        match self {
            CostTier::OwnedHyperscaler => t.owned_hyperscaler.value,
            CostTier::OwnedNeocloud => t.owned_neocloud.value,
            CostTier::Rental3y => t.rental_3y.value,
            CostTier::Custom(v) => v,
        }
    }
}

/// $ per million tokens = $/GPU-hour ÷ (tok/s/GPU × 3600 / 10⁶). Pass total, input or output
/// tok/s/GPU for the cost of that kind of token. Infinite at zero throughput.
pub fn dollars_per_million_tokens(dollars_per_gpu_hour: f64, tok_s_per_gpu: f64) -> f64 {
    dollars_per_gpu_hour / (tok_s_per_gpu * 3600.0 / 1e6)
}

/// Tokens per second per all-in provisioned megawatt = tok/s/GPU × 1000 ÷ all-in kW/GPU.
pub fn tokens_per_s_per_mw(tok_s_per_gpu: f64, all_in_kw_per_gpu: f64) -> f64 {
    tok_s_per_gpu * 1000.0 / all_in_kw_per_gpu
}

/// Modelled all-in energy per token, J = all-in kW/GPU × 1000 ÷ tok/s/GPU.
pub fn joules_per_token(all_in_kw_per_gpu: f64, tok_s_per_gpu: f64) -> f64 {
    all_in_kw_per_gpu * 1000.0 / tok_s_per_gpu
}

/// Cost and power of a throughput on an accelerator.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Economics {
    pub dollars_per_mtok: f64,
    pub tokens_per_s_per_mw: f64,
    pub joules_per_token: f64,
}

pub fn economics(a: &Accelerator, tier: CostTier, tok_s_per_gpu: f64) -> Economics {
    let kw = a.all_in_kw_per_gpu.value;
    Economics {
        dollars_per_mtok: dollars_per_million_tokens(tier.dollars_per_gpu_hour(a), tok_s_per_gpu),
        tokens_per_s_per_mw: tokens_per_s_per_mw(tok_s_per_gpu, kw),
        joules_per_token: joules_per_token(kw, tok_s_per_gpu),
    }
}
