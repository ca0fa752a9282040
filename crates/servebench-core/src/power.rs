//! Measured GPU power over a benchmark window: what `bench` and `sweep` store beside a point,
//! kept apart from the modelled all-in figures (catalog kW per GPU) the cost views use.

use serde::{Deserialize, Serialize};

/// Board power measured while a point ran, integrated over exactly its benchmark window.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MeasuredPower {
    /// Where the samples came from: `nvml`, `nvidia-smi`, `amd-smi` or `sim`.
    pub source: String,
    /// Whether every check passed; the per-token figures are given only when it is.
    pub valid: bool,
    /// Why not, when invalid: one entry per failed check.
    pub invalid_reasons: Vec<InvalidReason>,
    /// The window integrated: the client's first send to its last completion, seconds.
    pub window_s: f64,
    /// The GPUs expected (the deployment's), and those the sampler saw.
    pub expected_gpus: Vec<u32>,
    pub seen_gpus: Vec<u32>,
    /// The sampling rate achieved across the window: intervals per second between the
    /// samples that bracket and fill it, the lowest of the GPUs'.
    pub sample_hz: f64,
    /// The largest time between two samples of one GPU across the window, seconds.
    pub max_gap_s: f64,
    pub per_gpu: Vec<GpuEnergy>,
    /// Board energy of all expected GPUs over the window, trapezoidal over the power samples
    /// with both ends interpolated, J.
    pub total_energy_j: f64,
    /// The same from the devices' energy counters, where every expected GPU has one, J.
    pub counter_energy_j: Option<f64>,
    /// Mean board power per GPU and of the deployment, W.
    pub avg_power_per_gpu_w: f64,
    pub avg_total_power_w: f64,
    /// Deployment energy divided by completed requests / tokens (valid windows only).
    pub joules_per_request: Option<f64>,
    pub joules_per_input_token: Option<f64>,
    pub joules_per_output_token: Option<f64>,
    pub joules_per_total_token: Option<f64>,
    /// Measured tokens per second per kW of GPU board power (total and output tokens).
    pub tokens_per_s_per_kw: Option<f64>,
    pub output_tokens_per_s_per_kw: Option<f64>,
}

/// One GPU over the window.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct GpuEnergy {
    pub gpu: u32,
    /// Samples inside the window (the two bracketing ones not counted).
    pub samples: usize,
    pub energy_j: f64,
    pub avg_power_w: f64,
    pub counter_energy_j: Option<f64>,
    pub max_gap_s: f64,
    /// Its sampling rate across the window, Hz.
    pub sample_hz: f64,
}

/// A failed validity check: a stable code and what was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct InvalidReason {
    /// `no_samples`, `window_not_bracketed`, `sampling_gap_exceeded`, `expected_gpu_missing`,
    /// `empty_window`, `no_completed_tokens`, `sampler_error`.
    pub code: String,
    pub detail: String,
}
