//! Energy over exactly a benchmark window from timestamped power samples: per GPU, the
//! trapezoid rule over the samples, with the power (and the energy counter) interpolated
//! linearly at both ends of the window; then the checks that make the figure trustworthy.

use crate::Sample;
use servebench_core::power::{GpuEnergy, InvalidReason, MeasuredPower};
use std::collections::{BTreeMap, BTreeSet};

/// The benchmark window on the `CLOCK_MONOTONIC` clock the samples carry.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    pub start_ns: u64,
    pub end_ns: u64,
}

/// What the window's work was, for the per-token figures.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Work {
    pub completed_requests: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
}

/// The checks' limits.
#[derive(Debug, Clone, PartialEq)]
pub struct Checks {
    /// The deployment's GPUs: each must be seen; samples of other GPUs are ignored. Empty:
    /// every GPU seen counts.
    pub expected_gpus: Vec<u32>,
    /// Largest allowed time between two samples of one GPU across the window, seconds.
    pub max_gap_s: f64,
}

impl Default for Checks {
    fn default() -> Checks {
        Checks {
            expected_gpus: Vec::new(),
            // Five periods of the 10 Hz default: a stalled sampler, not jitter.
            max_gap_s: 0.5,
        }
    }
}

/// Integrates `samples` (any order, any GPUs) over `window`. Sampler errors seen during the
/// run are passed in `sampler_errors` and make the result invalid.
pub fn integrate(
    source: &str,
    samples: &[Sample],
    window: Window,
    work: Work,
    checks: &Checks,
    sampler_errors: &[String],
) -> MeasuredPower {
    let mut reasons = Vec::new();
    let mut why = |code: &str, detail: String| {
        reasons.push(InvalidReason {
            code: code.into(),
            detail,
        })
    };
    let window_s = window.end_ns.saturating_sub(window.start_ns) as f64 / 1e9;
    if window.end_ns <= window.start_ns {
        why(
            "empty_window",
            format!("window {} → {} ns", window.start_ns, window.end_ns),
        );
    }
    for e in sampler_errors.iter().take(3) {
        why("sampler_error", e.clone());
    }
    if sampler_errors.len() > 3 {
        why(
            "sampler_error",
            format!("and {} more errors", sampler_errors.len() - 3),
        );
    }

    let mut by_gpu: BTreeMap<u32, Vec<&Sample>> = BTreeMap::new();
    for s in samples {
        by_gpu.entry(s.gpu).or_default().push(s);
    }
    let seen: Vec<u32> = by_gpu.keys().copied().collect();
    let expected: Vec<u32> = if checks.expected_gpus.is_empty() {
        seen.clone()
    } else {
        let set: BTreeSet<u32> = checks.expected_gpus.iter().copied().collect();
        set.into_iter().collect()
    };
    if samples.is_empty() {
        why("no_samples", "the sampler recorded nothing".into());
    }
    let missing: Vec<u32> = expected
        .iter()
        .filter(|g| !by_gpu.contains_key(g))
        .copied()
        .collect();
    if !missing.is_empty() && !samples.is_empty() {
        why(
            "expected_gpu_missing",
            format!("expected GPUs {expected:?}, no samples from {missing:?} (seen {seen:?})"),
        );
    }

    let mut per_gpu = Vec::new();
    for gpu in &expected {
        let Some(mut s) = by_gpu.remove(gpu) else {
            continue;
        };
        s.sort_by_key(|x| x.mono_ns);
        let g = one_gpu(*gpu, &s, window);
        if let Some(side) = g.unbracketed {
            why(
                "window_not_bracketed",
                format!("GPU {gpu}: no sample at or {side} the window"),
            );
        }
        if g.energy.max_gap_s > checks.max_gap_s {
            why(
                "sampling_gap_exceeded",
                format!(
                    "GPU {gpu}: {:.3} s between two samples (limit {:.3} s)",
                    g.energy.max_gap_s, checks.max_gap_s
                ),
            );
        }
        per_gpu.push(g.energy);
    }
    if work.completed_requests == 0 || work.output_tokens == 0 {
        why(
            "no_completed_tokens",
            format!(
                "{} requests, {} output tokens",
                work.completed_requests, work.output_tokens
            ),
        );
    }

    let total_energy_j: f64 = per_gpu.iter().map(|g| g.energy_j).sum();
    let counter_energy_j = (!per_gpu.is_empty() && missing.is_empty())
        .then(|| {
            per_gpu
                .iter()
                .map(|g| g.counter_energy_j)
                .sum::<Option<f64>>()
        })
        .flatten();
    let n = per_gpu.len().max(1) as f64;
    let avg_total_power_w = if window_s > 0.0 {
        total_energy_j / window_s
    } else {
        0.0
    };
    let valid = reasons.is_empty();
    let per = |count: u64| (valid && count > 0).then(|| total_energy_j / count as f64);
    let total_tokens = work.input_tokens + work.output_tokens;
    let per_kw = |tokens: u64| {
        (valid && avg_total_power_w > 0.0)
            .then(|| tokens as f64 / window_s / (avg_total_power_w / 1000.0))
    };
    MeasuredPower {
        source: source.into(),
        valid,
        invalid_reasons: reasons,
        window_s,
        expected_gpus: expected,
        seen_gpus: seen,
        sample_hz: per_gpu
            .iter()
            .map(|g| g.sample_hz)
            .reduce(f64::min)
            .unwrap_or(0.0),
        max_gap_s: per_gpu.iter().map(|g| g.max_gap_s).fold(0.0, f64::max),
        total_energy_j,
        counter_energy_j,
        avg_power_per_gpu_w: avg_total_power_w / n,
        avg_total_power_w,
        joules_per_request: per(work.completed_requests),
        joules_per_input_token: per(work.input_tokens),
        joules_per_output_token: per(work.output_tokens),
        joules_per_total_token: per(total_tokens),
        tokens_per_s_per_kw: per_kw(total_tokens),
        output_tokens_per_s_per_kw: per_kw(work.output_tokens),
        per_gpu,
    }
}

struct OneGpu {
    energy: GpuEnergy,
    /// `Some("before")` / `Some("after")` when no sample reaches that end of the window.
    unbracketed: Option<&'static str>,
}

/// One GPU's samples, sorted by time.
fn one_gpu(gpu: u32, s: &[&Sample], w: Window) -> OneGpu {
    let (a, b) = (w.start_ns, w.end_ns);
    let first = s.iter().rposition(|x| x.mono_ns <= a);
    let last = s.iter().position(|x| x.mono_ns >= b);
    let unbracketed = match (first, last) {
        (None, _) => Some("before"),
        (_, None) => Some("after"),
        _ => None,
    };
    // The samples that bear on the window: the bracketing pair and everything between.
    let lo = first.unwrap_or(0);
    let hi = last.unwrap_or(s.len() - 1);
    let span = &s[lo..=hi];
    let span_s = (span[span.len() - 1].mono_ns - span[0].mono_ns) as f64 / 1e9;
    let sample_hz = if span_s > 0.0 {
        (span.len() - 1) as f64 / span_s
    } else {
        0.0
    };
    let max_gap_s = span
        .windows(2)
        .map(|p| (p[1].mono_ns - p[0].mono_ns) as f64 / 1e9)
        .fold(0.0, f64::max);
    let samples = span
        .iter()
        .filter(|x| x.mono_ns > a && x.mono_ns < b)
        .count();
    // Power at any time inside the samples' span, linearly interpolated.
    let at = |t: u64, f: &dyn Fn(&Sample) -> Option<f64>| -> Option<f64> {
        let i = span.iter().position(|x| x.mono_ns >= t)?;
        let (p, q) = (span[i.saturating_sub(1)], span[i]);
        let (fp, fq) = (f(p)?, f(q)?);
        if q.mono_ns == p.mono_ns || i == 0 {
            return Some(fq);
        }
        let u = (t - p.mono_ns) as f64 / (q.mono_ns - p.mono_ns) as f64;
        Some(fp + u * (fq - fp))
    };
    let power = |x: &Sample| Some(x.power_w);
    // The integration points: the window's ends (interpolated, or clamped to the samples'
    // span when a side is missing) and every sample strictly inside.
    let t0 = a.max(span[0].mono_ns);
    let t1 = b.min(span[span.len() - 1].mono_ns);
    let mut pts: Vec<(u64, f64)> = Vec::new();
    if t1 > t0 {
        pts.push((t0, at(t0, &power).unwrap_or(0.0)));
        for x in span.iter().filter(|x| x.mono_ns > t0 && x.mono_ns < t1) {
            pts.push((x.mono_ns, x.power_w));
        }
        pts.push((t1, at(t1, &power).unwrap_or(0.0)));
    }
    let energy_j: f64 = pts
        .windows(2)
        .map(|p| (p[1].0 - p[0].0) as f64 / 1e9 * (p[0].1 + p[1].1) / 2.0)
        .sum();
    let counter = |x: &Sample| x.energy_j;
    // A counter that went backwards anywhere (reset, wrap) says nothing.
    let monotonic = span.windows(2).all(|p| p[1].energy_j >= p[0].energy_j);
    let counter_energy_j =
        if unbracketed.is_none() && monotonic && span.iter().all(|x| x.energy_j.is_some()) {
            match (at(a, &counter), at(b, &counter)) {
                (Some(e0), Some(e1)) => Some(e1 - e0),
                _ => None,
            }
        } else {
            None
        };
    let dur = (t1.saturating_sub(t0)) as f64 / 1e9;
    OneGpu {
        energy: GpuEnergy {
            gpu,
            samples,
            energy_j,
            avg_power_w: if dur > 0.0 { energy_j / dur } else { 0.0 },
            counter_energy_j,
            max_gap_s,
            sample_hz,
        },
        unbracketed,
    }
}
