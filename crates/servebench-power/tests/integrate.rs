//! Integration over a benchmark window on synthetic sample streams, against energies worked
//! out by hand.

use servebench_power::{integrate, Checks, Sample, Window, Work};

const S: u64 = 1_000_000_000;

/// Samples of `gpus` every `step_ms` over [0, `end_s`], power `p(t)` and counter `e(t)`.
fn stream(
    gpus: &[u32],
    step_ms: u64,
    end_s: f64,
    p: impl Fn(f64) -> f64,
    e: impl Fn(f64) -> Option<f64>,
) -> Vec<Sample> {
    let mut v = Vec::new();
    let mut t_ms = 0;
    while t_ms as f64 <= end_s * 1000.0 {
        let t = t_ms as f64 / 1000.0;
        for &gpu in gpus {
            v.push(Sample {
                mono_ns: t_ms * 1_000_000,
                gpu,
                power_w: p(t),
                energy_j: e(t),
            });
        }
        t_ms += step_ms;
    }
    v
}

fn window(a: f64, b: f64) -> Window {
    Window {
        start_ns: (a * S as f64) as u64,
        end_ns: (b * S as f64) as u64,
    }
}

const WORK: Work = Work {
    completed_requests: 10,
    input_tokens: 3000,
    output_tokens: 1000,
};

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6 * b.abs().max(1.0)
}

#[test]
fn constant_power_on_two_gpus_over_a_window_between_samples() {
    // 100 W each, sampled at 10 Hz; the window [1.05 s, 3.05 s] starts and ends mid-interval.
    let s = stream(&[0, 1], 100, 10.0, |_| 100.0, |t| Some(100.0 * t));
    let checks = Checks {
        expected_gpus: vec![0, 1],
        ..Default::default()
    };
    let m = integrate("sim", &s, window(1.05, 3.05), WORK, &checks, &[]);
    assert!(m.valid, "{:?}", m.invalid_reasons);
    assert!(close(m.window_s, 2.0));
    assert_eq!(m.per_gpu.len(), 2);
    for g in &m.per_gpu {
        assert!(close(g.energy_j, 200.0), "{g:?}");
        assert!(close(g.counter_energy_j.unwrap(), 200.0), "{g:?}");
        assert!(close(g.avg_power_w, 100.0));
        assert_eq!(g.samples, 20, "1.1 s … 3.0 s");
    }
    assert!(close(m.total_energy_j, 400.0));
    assert!(close(m.counter_energy_j.unwrap(), 400.0));
    assert!(close(m.avg_power_per_gpu_w, 100.0));
    assert!(close(m.avg_total_power_w, 200.0));
    assert!(close(m.sample_hz, 10.0));
    assert!(close(m.max_gap_s, 0.1));
    // 400 J over 10 requests, 3,000 input and 1,000 output tokens.
    assert!(close(m.joules_per_request.unwrap(), 40.0));
    assert!(close(m.joules_per_input_token.unwrap(), 400.0 / 3000.0));
    assert!(close(m.joules_per_output_token.unwrap(), 0.4));
    assert!(close(m.joules_per_total_token.unwrap(), 0.1));
    // 4,000 tokens in 2 s at 0.2 kW: 10,000 tok/s/kW; output 2,500.
    assert!(close(m.tokens_per_s_per_kw.unwrap(), 10_000.0));
    assert!(close(m.output_tokens_per_s_per_kw.unwrap(), 2_500.0));
}

#[test]
fn a_linear_ramp_is_integrated_exactly() {
    // P = 10·t W sampled each second; ∫ from 2.5 to 7.5 s = 5·(7.5² − 2.5²) = 250 J.
    let s = stream(&[0], 1000, 10.0, |t| 10.0 * t, |t| Some(5.0 * t * t));
    let checks = Checks {
        max_gap_s: 1.5,
        ..Default::default()
    };
    let m = integrate("nvml", &s, window(2.5, 7.5), WORK, &checks, &[]);
    assert!(m.valid, "{:?}", m.invalid_reasons);
    assert!(close(m.total_energy_j, 250.0), "{}", m.total_energy_j);
    // The counter is interpolated linearly between readings: E(2.5) ≈ (20 + 45)/2 = 32.5,
    // E(7.5) ≈ (245 + 320)/2 = 282.5 (the true values are 31.25 and 281.25).
    assert!(close(m.counter_energy_j.unwrap(), 250.0));
}

#[test]
fn the_window_ends_are_interpolated() {
    // 100 W at 0 s, 200 W at 1 s: over [0.25, 0.75] the power runs 125 → 175 W: 75 J.
    let s = vec![
        Sample {
            mono_ns: 0,
            gpu: 3,
            power_w: 100.0,
            energy_j: None,
        },
        Sample {
            mono_ns: S,
            gpu: 3,
            power_w: 200.0,
            energy_j: None,
        },
    ];
    let checks = Checks {
        expected_gpus: vec![3],
        max_gap_s: 1.0,
    };
    let m = integrate("nvidia-smi", &s, window(0.25, 0.75), WORK, &checks, &[]);
    assert!(m.valid, "{:?}", m.invalid_reasons);
    assert!(close(m.total_energy_j, 75.0), "{}", m.total_energy_j);
    assert_eq!(m.per_gpu[0].samples, 0);
    assert_eq!(m.counter_energy_j, None, "no counter on this device");
}

#[test]
fn a_step_between_samples_is_seen_as_the_trapezoid_sees_it() {
    // 100 W before 5 s, 300 W from 5 s, sampled each second; over [4, 6]: (100 + 300)/2 + 300
    // = 500 J (the true energy is 400 J: a sampler sees a step only at its samples).
    let s = stream(
        &[0],
        1000,
        10.0,
        |t| if t < 5.0 { 100.0 } else { 300.0 },
        |_| None,
    );
    let checks = Checks {
        max_gap_s: 1.0,
        ..Default::default()
    };
    let m = integrate("amd-smi", &s, window(4.0, 6.0), WORK, &checks, &[]);
    assert!(close(m.total_energy_j, 500.0), "{}", m.total_energy_j);
}

#[test]
fn a_gap_over_the_limit_invalidates_and_says_where() {
    let mut s = stream(&[0, 1], 100, 10.0, |_| 100.0, |_| None);
    // GPU 1 loses 3.0 … 4.2 s.
    s.retain(|x| !(x.gpu == 1 && x.mono_ns > 3 * S && x.mono_ns < 4_200_000_000));
    let m = integrate("nvml", &s, window(1.0, 6.0), WORK, &Checks::default(), &[]);
    assert!(!m.valid);
    assert_eq!(m.invalid_reasons.len(), 1);
    assert_eq!(m.invalid_reasons[0].code, "sampling_gap_exceeded");
    assert_eq!(
        m.invalid_reasons[0].detail,
        "GPU 1: 1.200 s between two samples (limit 0.500 s)"
    );
    assert!(close(m.max_gap_s, 1.2));
    // The energy is still worked out (constant power: exact), but no per-token figure is
    // given for an invalid window.
    assert!(close(m.total_energy_j, 1000.0));
    assert_eq!(m.joules_per_output_token, None);
    assert_eq!(m.tokens_per_s_per_kw, None);
    // A gap outside the window does not count.
    let m = integrate("nvml", &s, window(5.0, 6.0), WORK, &Checks::default(), &[]);
    assert!(m.valid, "{:?}", m.invalid_reasons);
}

#[test]
fn missing_and_unexpected_gpus() {
    // The deployment is GPUs 0-2; the sampler sees 0, 1 and 5 (another job's GPU).
    let s = stream(&[0, 1, 5], 100, 5.0, |_| 50.0, |_| None);
    let checks = Checks {
        expected_gpus: vec![2, 1, 0],
        ..Default::default()
    };
    let m = integrate("nvml", &s, window(1.0, 2.0), WORK, &checks, &[]);
    assert!(!m.valid);
    assert_eq!(m.expected_gpus, [0, 1, 2]);
    assert_eq!(m.seen_gpus, [0, 1, 5]);
    assert_eq!(m.invalid_reasons[0].code, "expected_gpu_missing");
    assert_eq!(
        m.invalid_reasons[0].detail,
        "expected GPUs [0, 1, 2], no samples from [2] (seen [0, 1, 5])"
    );
    // GPU 5 is not counted: two GPUs × 50 W × 1 s.
    assert_eq!(m.per_gpu.iter().map(|g| g.gpu).collect::<Vec<_>>(), [0, 1]);
    assert!(close(m.total_energy_j, 100.0));
    // Without an expected set, every GPU seen counts.
    let m = integrate("nvml", &s, window(1.0, 2.0), WORK, &Checks::default(), &[]);
    assert!(m.valid);
    assert!(close(m.total_energy_j, 150.0));
}

#[test]
fn samples_must_bracket_the_window() {
    let s = stream(&[0], 100, 5.0, |_| 100.0, |t| Some(100.0 * t));
    // Sampling ended at 5 s; the window runs to 5.5 s.
    let m = integrate("nvml", &s, window(4.0, 5.5), WORK, &Checks::default(), &[]);
    assert!(!m.valid);
    assert_eq!(m.invalid_reasons[0].code, "window_not_bracketed");
    assert_eq!(
        m.invalid_reasons[0].detail,
        "GPU 0: no sample at or after the window"
    );
    // What was sampled is integrated (4 → 5 s), the counter is not used.
    assert!(close(m.total_energy_j, 100.0));
    assert_eq!(m.counter_energy_j, None);
    // Sampling began after the window started.
    let late: Vec<Sample> = s.iter().filter(|x| x.mono_ns >= 2 * S).copied().collect();
    let m = integrate(
        "nvml",
        &late,
        window(1.5, 3.0),
        WORK,
        &Checks::default(),
        &[],
    );
    assert_eq!(
        m.invalid_reasons[0].detail,
        "GPU 0: no sample at or before the window"
    );
}

#[test]
fn a_counter_that_runs_backwards_is_not_used() {
    // The counter resets to 0 at 2.5 s: over [1, 4] it reads 100 J then 150 J, which alone
    // would pass for 50 J; a reading that went down anywhere in the window discards it.
    let s = stream(
        &[0],
        100,
        5.0,
        |_| 100.0,
        |t| {
            Some(if t < 2.5 {
                100.0 * t
            } else {
                100.0 * (t - 2.5)
            })
        },
    );
    let m = integrate("nvml", &s, window(1.0, 4.0), WORK, &Checks::default(), &[]);
    assert!(m.valid);
    assert!(close(m.total_energy_j, 300.0));
    assert_eq!(m.per_gpu[0].counter_energy_j, None);
    assert_eq!(m.counter_energy_j, None);
    // Outside the reset, the counter is used.
    let m = integrate("nvml", &s, window(3.0, 4.5), WORK, &Checks::default(), &[]);
    assert!(close(m.counter_energy_j.unwrap(), 150.0));
}

#[test]
fn nothing_sampled_no_tokens_and_sampler_errors() {
    let m = integrate("nvml", &[], window(1.0, 2.0), WORK, &Checks::default(), &[]);
    assert!(!m.valid);
    assert_eq!(m.invalid_reasons[0].code, "no_samples");
    assert_eq!(m.total_energy_j, 0.0);
    let s = stream(&[0], 100, 5.0, |_| 100.0, |_| None);
    let m = integrate(
        "nvml",
        &s,
        window(1.0, 2.0),
        Work::default(),
        &Checks::default(),
        &["NVML GPU 0 power: Unknown".into()],
    );
    let codes: Vec<&str> = m.invalid_reasons.iter().map(|r| r.code.as_str()).collect();
    assert_eq!(codes, ["sampler_error", "no_completed_tokens"]);
    assert_eq!(m.joules_per_request, None);
}
