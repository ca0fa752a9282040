//! Simulated board power, integrated exactly: the power of every GPU is piecewise constant
//! (the simulated board power of the step running, idle power between steps), so the energy
//! counter is the sum of power × duration of the pieces.

use crate::engine::{GpuPower, PowerReading};

/// One deployment's GPUs (all of a tensor-parallel group do the same work, so they draw the
/// same power). Times are simulated seconds.
#[derive(Debug, Clone)]
pub struct PowerMeter {
    gpus: u32,
    /// Power since `since_s`, W per GPU.
    power_w: f64,
    since_s: f64,
    /// Energy per GPU up to `since_s`, J.
    energy_j: f64,
}

impl PowerMeter {
    /// `gpus` GPUs drawing `idle_w` from time 0.
    pub fn new(gpus: u32, idle_w: f64) -> PowerMeter {
        PowerMeter {
            gpus,
            power_w: idle_w,
            since_s: 0.0,
            energy_j: 0.0,
        }
    }

    /// From `t_s` on the GPUs draw `power_w`. Times before the last change are clamped to it
    /// (the counter never runs backwards).
    pub fn set(&mut self, t_s: f64, power_w: f64) {
        let t = t_s.max(self.since_s);
        self.energy_j += self.power_w * (t - self.since_s);
        self.since_s = t;
        self.power_w = power_w;
    }

    /// Energy per GPU at `t_s`, J.
    pub fn energy_j(&self, t_s: f64) -> f64 {
        self.energy_j + self.power_w * (t_s - self.since_s).max(0.0)
    }

    /// What a sampler reads at simulated time `t_s`.
    pub fn reading(&self, mono_ns: u64, t_s: f64, time_scale: f64) -> PowerReading {
        let energy_j = self.energy_j(t_s);
        PowerReading {
            mono_ns,
            sim_time_s: t_s,
            time_scale,
            gpus: (0..self.gpus)
                .map(|index| GpuPower {
                    index,
                    power_w: self.power_w,
                    energy_j,
                })
                .collect(),
        }
    }
}

/// The reading in the layout of
/// `nvidia-smi --query-gpu=index,power.draw,total_energy_consumption --format=csv`, one line per
/// GPU (energy in J, where NVML counts mJ), for samplers that parse that output.
pub fn nvidia_smi_csv(r: &PowerReading) -> String {
    let mut s = String::from("index, power.draw [W], total_energy_consumption [J]\n");
    for g in &r.gpus {
        s.push_str(&format!(
            "{}, {:.2} W, {:.3} J\n",
            g.index, g.power_w, g.energy_j
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn energy_is_the_integral_of_the_pieces() {
        let mut m = PowerMeter::new(2, 100.0);
        m.set(1.0, 700.0); // idle 0..1: 100 J
        m.set(1.5, 100.0); // busy 1..1.5: 350 J
        assert!((m.energy_j(1.5) - 450.0).abs() < 1e-9);
        assert!((m.energy_j(3.5) - 650.0).abs() < 1e-9);
        let r = m.reading(7, 3.5, 1.0);
        assert_eq!(r.gpus.len(), 2);
        assert_eq!(r.gpus[1].power_w, 100.0);
        assert!((r.gpus[1].energy_j - 650.0).abs() < 1e-9);
        // A change dated before the last one does not run the counter backwards.
        m.set(1.2, 500.0);
        assert!((m.energy_j(1.5) - 450.0).abs() < 1e-9);
        let csv = nvidia_smi_csv(&r);
        assert_eq!(
            csv,
            "index, power.draw [W], total_energy_consumption [J]\n0, 100.00 W, 650.000 J\n1, 100.00 W, 650.000 J\n"
        );
    }
}
