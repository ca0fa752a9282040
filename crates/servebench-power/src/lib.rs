//! Measured GPU board power for servebench.
//!
//! A [`Recorder`] samples board power (and energy counters where the device has them) on a
//! background thread from one [`Source`]: NVIDIA GPUs through NVML, or `nvidia-smi` where NVML
//! cannot be loaded; AMD GPUs through `amd-smi`; the simulated engine through its
//! `/sim/power` endpoint. Every sample is stamped on `CLOCK_MONOTONIC`, the clock the client
//! stamps its benchmark window with, and [`integrate`] turns the samples into energy over
//! exactly that window, with the checks that say whether the figure can be trusted.

mod integrate;
mod sources;

pub use integrate::{integrate, Checks, Window, Work};
pub use sources::Source;

use servebench_core::power::MeasuredPower;
use servebench_core::BenchResult;

use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// One reading of one GPU.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// `CLOCK_MONOTONIC` when the reading was taken, ns.
    pub mono_ns: u64,
    pub gpu: u32,
    /// Board power, W.
    pub power_w: f64,
    /// The device's energy counter, J (any origin), where it has one.
    pub energy_j: Option<f64>,
}

#[derive(Debug, thiserror::Error)]
pub enum PowerError {
    #[error("power source {name}: {message}")]
    Source { name: String, message: String },
}

#[derive(Default)]
struct Shared {
    samples: Vec<Sample>,
    errors: Vec<String>,
    stopped: bool,
}

/// Samples one source on a background thread until stopped.
pub struct Recorder {
    name: String,
    shared: Arc<(Mutex<Shared>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl Recorder {
    /// Starts sampling `source` at `hz`; fails at once (naming the source and why) if the
    /// source cannot be read.
    pub fn start(source: &Source, hz: f64) -> Result<Recorder, PowerError> {
        assert!(hz.is_finite() && hz > 0.0, "sampling rate {hz}");
        let period = Duration::from_secs_f64(1.0 / hz);
        let mut reader = source.open(period).map_err(|message| PowerError::Source {
            name: source.to_string(),
            message,
        })?;
        let shared: Arc<(Mutex<Shared>, Condvar)> = Arc::default();
        let sh = shared.clone();
        let thread = std::thread::Builder::new()
            .name("power-sampler".into())
            .spawn(move || {
                let push = |r: Result<Vec<Sample>, String>| {
                    let (m, cv) = &*sh;
                    let mut g = m.lock().unwrap();
                    match r {
                        Ok(s) => g.samples.extend(s),
                        Err(e) => g.errors.push(e),
                    }
                    cv.notify_all();
                    !g.stopped
                };
                reader.run(period, &push);
            })
            .expect("spawning the power sampler");
        Ok(Recorder {
            name: source.name().into(),
            shared,
            thread: Some(thread),
        })
    }

    /// `nvml`, `nvidia-smi`, `amd-smi` or `sim`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Waits until every GPU seen has a sample at or after `mono_ns` (the window's end must be
    /// bracketed), or `timeout` passes; then the samples and errors so far.
    pub fn samples_through(&self, mono_ns: u64, timeout: Duration) -> (Vec<Sample>, Vec<String>) {
        let (m, cv) = &*self.shared;
        let covered = |g: &Shared| {
            let mut last: std::collections::BTreeMap<u32, u64> = Default::default();
            for s in &g.samples {
                let e = last.entry(s.gpu).or_default();
                *e = (*e).max(s.mono_ns);
            }
            !last.is_empty() && last.values().all(|&t| t >= mono_ns)
        };
        let g = m.lock().unwrap();
        let (g, _) = cv
            .wait_timeout_while(g, timeout, |g| !covered(g) && !g.stopped)
            .unwrap();
        (g.samples.clone(), g.errors.clone())
    }

    /// Stops sampling: every sample and error recorded.
    pub fn stop(mut self) -> (Vec<Sample>, Vec<String>) {
        self.halt();
        let g = self.shared.0.lock().unwrap();
        (g.samples.clone(), g.errors.clone())
    }

    fn halt(&mut self) {
        self.shared.0.lock().unwrap().stopped = true;
        self.shared.1.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// What to sample, as `bench --power` and `sweep --power` take it.
#[derive(Debug, Clone, PartialEq)]
pub struct PowerSpec {
    /// `nvml`, `nvidia-smi`, `amd-smi`, `sim:URL`, or `sim`: the simulated engine being
    /// benchmarked.
    pub source: String,
    pub hz: f64,
    /// The gap check's limit; `None`: the source's [`Source::default_max_gap_s`].
    pub max_gap_s: Option<f64>,
    /// The GPUs that count; empty: [`default_gpus`].
    pub gpus: Vec<u32>,
}

impl PowerSpec {
    /// Starts sampling for a deployment of `num_gpus` served at `base_url`.
    pub fn start(
        &self,
        base_url: &servebench_core::endpoint::BaseUrl,
        num_gpus: Option<u32>,
    ) -> Result<(Recorder, Checks), PowerError> {
        let source: Source = match self.source.as_str() {
            // The engine's own endpoint sits at its root, whatever the API prefix.
            "sim" => Source::Sim(
                format!("http://{}", base_url.authority())
                    .parse()
                    .expect("an authority makes a URL"),
            ),
            s => s.parse().map_err(|message| PowerError::Source {
                name: s.into(),
                message,
            })?,
        };
        let checks = Checks {
            expected_gpus: if self.gpus.is_empty() {
                default_gpus(&source, num_gpus)
            } else {
                self.gpus.clone()
            },
            max_gap_s: self.max_gap_s.unwrap_or(source.default_max_gap_s()),
        };
        Ok((Recorder::start(&source, self.hz)?, checks))
    }
}

/// The power of `result`'s benchmark window from what `rec` sampled: waits (up to two
/// seconds past the window) for the samples that close it, then integrates.
pub fn measure(rec: &Recorder, result: &BenchResult, checks: &Checks) -> MeasuredPower {
    let window = Window {
        start_ns: result.mono_start_ns,
        end_ns: result.mono_start_ns + (result.duration * 1e9).round() as u64,
    };
    let (samples, errors) = rec.samples_through(window.end_ns, Duration::from_secs(2));
    let work = Work {
        completed_requests: result.completed,
        input_tokens: result.total_input_tokens,
        output_tokens: result.total_output_tokens,
    };
    integrate(rec.name(), &samples, window, work, checks, &errors)
}

/// The GPUs a deployment of `num_gpus` uses, as the environment names them: the numeric
/// indices in `CUDA_VISIBLE_DEVICES` (NVIDIA) or `ROCR_VISIBLE_DEVICES` /
/// `HIP_VISIBLE_DEVICES` (AMD) when set, else the first `num_gpus`.
pub fn default_gpus(source: &Source, num_gpus: Option<u32>) -> Vec<u32> {
    let vars: &[&str] = match source {
        Source::Nvml | Source::NvidiaSmi => &["CUDA_VISIBLE_DEVICES"],
        Source::AmdSmi => &["ROCR_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES"],
        Source::Sim(_) => &[],
    };
    for v in vars {
        if let Ok(list) = std::env::var(v) {
            let ids: Result<Vec<u32>, _> = list.split(',').map(|x| x.trim().parse()).collect();
            if let Ok(ids) = ids {
                if !ids.is_empty() {
                    return ids;
                }
            }
        }
    }
    num_gpus.map(|n| (0..n).collect()).unwrap_or_default()
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.halt();
    }
}

/// The parsers of the samplers' outputs, for the fuzz targets (`fuzz/`).
#[doc(hidden)]
pub mod parsers {
    pub use crate::sources::{parse_amd_smi_json, parse_nvidia_smi_line, parse_sim_power};
}
