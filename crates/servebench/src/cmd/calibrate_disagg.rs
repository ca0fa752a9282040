//! `servebench calibrate` for the published disaggregated points (InferenceMAX v1's GB200
//! NVL72 Dynamo deployments): each resolved to its deployment in the shipped v1 recipes
//! (data/inferencemax-v1-gb200-dynamo.yaml), simulated behind the router, compared and fitted
//! like the single-node points.

use servebench_analysis::interp::frontier_at;
use servebench_catalog::{Catalog, Precision};
use servebench_sim::calibration::{
    compare_using, fit_using, share_within, Comparison, Fit, PublishedPoint,
};
use servebench_sweep::plan::{plan, Evals, Job, PlanOptions, Workload};
use servebench_sweep::virtual_time::simulate_job;

/// The multi-node jobs of the shipped v1 recipes.
pub struct Deployments {
    jobs: Vec<Job>,
}

impl Deployments {
    pub fn v1() -> anyhow::Result<Deployments> {
        let (name, text) = servebench_sweep::INFERENCEMAX_V1;
        let recipes = servebench_sweep::load_recipe_texts(&[(name.into(), text.to_string())])?;
        let opts = PlanOptions {
            single_node: false,
            multi_node: true,
            agentic: false,
            evals: Evals::None,
            ..PlanOptions::default()
        };
        Ok(Deployments {
            jobs: plan(&recipes, &Default::default(), &opts)?,
        })
    }

    /// The job that measured `p`: same engine, precision, speculation, workload, concurrency
    /// and GPUs.
    fn job(&self, p: &PublishedPoint) -> Option<&Job> {
        self.jobs.iter().find(|j| {
            j.framework == p.engine
                && j.precision == p.precision
                && j.spec_decoding.as_str() == p.spec_decoding
                && j.workload
                    == (Workload::Fixed {
                        isl: p.isl as u32,
                        osl: p.osl as u32,
                    })
                && j.conc.contains(&(p.conc as u32))
                && j.gpus() == p.tp
        })
    }

    /// Simulates `p` on its deployment.
    pub fn simulate(
        &self,
        catalog: &Catalog,
        p: &PublishedPoint,
        requests_per_conc: usize,
    ) -> Result<(f64, f64), String> {
        let job = self.job(p).ok_or_else(|| {
            format!(
                "{} {} {} at {} GPUs, concurrency {}: no deployment in the v1 recipes",
                p.hw_key, p.engine, p.precision, p.tp, p.conc
            )
        })?;
        simulate_job(job, p.conc as u32, catalog, requests_per_conc)
    }

    /// Fits the knobs of each (simulated engine, accelerator, precision) of `points`.
    pub fn fit(
        &self,
        catalog: &Catalog,
        points: &[PublishedPoint],
        requests_per_conc: usize,
    ) -> anyhow::Result<Vec<Fit>> {
        let mut groups: Vec<(&'static str, String, Precision)> = Vec::new();
        for p in points {
            let engine = servebench_sweep::engine::simulated_engine(&p.engine).unwrap_or("vllm");
            let precision: Precision = p.precision.parse().map_err(anyhow::Error::msg)?;
            let key = (engine, p.accelerator.clone(), precision);
            if !groups.contains(&key) {
                groups.push(key);
            }
        }
        let sim = |c: &Catalog, p: &PublishedPoint, r: usize| self.simulate(c, p, r);
        groups
            .into_iter()
            .map(|(engine, accel, precision)| {
                let group: Vec<PublishedPoint> = points
                    .iter()
                    .filter(|p| {
                        p.accelerator == accel
                            && p.precision.parse() == Ok(precision)
                            && servebench_sweep::engine::simulated_engine(&p.engine) == Some(engine)
                    })
                    .cloned()
                    .collect();
                fit_using(
                    catalog,
                    (engine, None, &accel, precision),
                    &group,
                    requests_per_conc,
                    &sim,
                )
                .map_err(anyhow::Error::msg)
            })
            .collect()
    }

    pub fn compare(
        &self,
        catalog: &Catalog,
        points: &[PublishedPoint],
        requests_per_conc: usize,
    ) -> Vec<Comparison> {
        let sim = |c: &Catalog, p: &PublishedPoint, r: usize| self.simulate(c, p, r);
        compare_using(catalog, points, requests_per_conc, &sim)
    }
}

/// The disaggregated section of the report: per hardware key and precision, the medians and
/// shares within ±35% and ±20%; then MTP on against off at iso-interactivity.
pub fn print_report(cmp: &[Comparison]) {
    println!("\nDisaggregated (GB200 NVL72, Dynamo), each point on its v1 deployment:");
    let mut keys: Vec<(&str, &str)> = cmp
        .iter()
        .map(|c| (c.published.hw_key.as_str(), c.published.precision.as_str()))
        .collect();
    keys.sort();
    keys.dedup();
    for hw in keys.into_iter().map(Some).chain([None]) {
        // Each hardware key and precision, then all of them.
        let group: Vec<Comparison> = cmp
            .iter()
            .filter(|c| {
                hw.is_none_or(|(h, p)| c.published.hw_key == h && c.published.precision == p)
            })
            .cloned()
            .collect();
        let (hw, prec) = hw.unwrap_or(("all", ""));
        let ok: Vec<&Comparison> = group.iter().filter(|c| c.error.is_none()).collect();
        println!(
            "  {hw:<10} {prec:<5} {:>3} points: |tput err| median {:>4.0}%, |intv err| median {:>4.0}%, within ±35% {:>3.0}%, within ±20% {:>3.0}%{}",
            ok.len(),
            100.0 * super::calibrate::median_abs(ok.iter().map(|c| c.tput_error)),
            100.0 * super::calibrate::median_abs(ok.iter().map(|c| c.interactivity_error)),
            100.0 * share_within(&group, 0.35),
            100.0 * share_within(&group, 0.20),
            group
                .iter()
                .find_map(|c| c.error.as_deref())
                .map(|e| format!(" (not simulated: {e})"))
                .unwrap_or_default()
        );
    }
    for (isl, osl) in [(1024, 1024), (8192, 1024)] {
        if let Some(line) = mtp_ratio(cmp, isl, osl) {
            println!("  {line}");
        }
    }
}

/// FP4 MTP on against off at the same interactivity: the ratio of the two frontiers'
/// tok/s/GPU at interactivities both reach, published beside simulated.
fn mtp_ratio(cmp: &[Comparison], isl: u64, osl: u64) -> Option<String> {
    let curve = |mtp: bool, sim: bool| -> Vec<(f64, f64)> {
        cmp.iter()
            .filter(|c| c.error.is_none() && c.published.precision == "fp4")
            .filter(|c| (c.published.isl, c.published.osl) == (isl, osl))
            .filter(|c| (c.published.spec_decoding == "mtp") == mtp)
            .map(|c| match sim {
                true => (c.sim_interactivity, c.sim_tput_per_gpu),
                false => (c.published.interactivity, c.published.tput_per_gpu),
            })
            .collect()
    };
    // Interactivities both published curves reach; the simulated ones are read there too.
    let range = |c: &[(f64, f64)]| {
        c.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), p| {
            (lo.min(p.0), hi.max(p.0))
        })
    };
    let ((a0, a1), (b0, b1)) = (range(&curve(true, false)), range(&curve(false, false)));
    let (lo, hi) = (a0.max(b0), a1.min(b1));
    if lo >= hi {
        return None;
    }
    let at: Vec<f64> = (0..5)
        .map(|i| lo + (hi - lo) * (i as f64 + 0.5) / 5.0)
        .collect();
    let ratios = |sim: bool| -> Vec<String> {
        let (_, on) = frontier_at(&curve(true, sim), &at);
        let (_, off) = frontier_at(&curve(false, sim), &at);
        on.iter()
            .zip(&off)
            .map(|(a, b)| match (a, b) {
                (Some(a), Some(b)) => format!("{:.2}", a / b),
                _ => "-".into(),
            })
            .collect()
    };
    let (published, simulated) = (ratios(false), ratios(true));
    Some(format!(
        "MTP on/off, FP4 {isl}/{osl}, tok/s/GPU at {} tok/s/user: published {}; simulated {}",
        at.iter()
            .map(|t| format!("{t:.0}"))
            .collect::<Vec<_>>()
            .join(", "),
        published.join(" "),
        simulated.join(" ")
    ))
}
