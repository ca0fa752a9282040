//! `servebench calibrate`: the simulator against published InferenceMAX results, point by point.

use anyhow::Context;
use servebench_catalog::{Catalog, Precision};
use servebench_sim::calibration::{compare, fit, load_v1_dashboard, share_within, Comparison, Fit};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct CalibrateArgs {
    /// Directory of the published v1 dashboard files (*_interactivity.json).
    #[arg(long)]
    published: PathBuf,
    /// Measured requests per unit of concurrency in each simulated point (InferenceX uses 10).
    #[arg(long, default_value_t = 10)]
    requests_per_conc: usize,
    /// A directory of extra catalog files (e.g. fitted engine knobs).
    #[arg(long)]
    catalog: Option<PathBuf>,
    /// Write every comparison as JSON here.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Fit each engine's efficiency knobs per accelerator to the published points first.
    #[arg(long)]
    fit: bool,
    /// With --fit: write one calibration file per engine into this directory
    /// (the repository's is catalog/calibration).
    #[arg(long, requires = "fit")]
    write: Option<PathBuf>,
    /// With --fit: measured requests per unit of concurrency while fitting (fewer is faster).
    #[arg(long, default_value_t = 2)]
    fit_requests_per_conc: usize,
}

/// The calibration file of one engine (fits sorted by accelerator, then precision).
fn calibration_yaml(engine: &str, fits: &[&Fit]) -> String {
    let mut s = format!(
        "# servebench catalog: efficiency knobs of {engine} per accelerator, fitted by\n\
         # `servebench calibrate --fit` to the published InferenceMAX v1 points (mean squared log\n\
         # error of tok/s/GPU and tok/s/user). Regenerate rather than edit by hand.\n\
         kind: calibration\nengine: {engine}\nagainst: InferenceMAX v1 dashboard data of 2025-10-25\naccelerators:\n"
    );
    let mut last_accel = "";
    for f in fits {
        if f.accelerator != last_accel {
            s.push_str(&format!("  {}:\n", f.accelerator));
            last_accel = &f.accelerator;
        }
        s.push_str(&format!(
            "    {}:  # {} points, error {:.3} -> {:.3}\n      compute_efficiency: {{value: {:.4}, source: servebench-fit-ix-v1}}\n      memory_efficiency: {{value: {:.4}, source: servebench-fit-ix-v1}}\n      step_overhead_us: {{value: {:.0}, source: servebench-fit-ix-v1}}\n",
            f.precision, f.points, f.objective_before, f.objective_after, f.compute_efficiency, f.memory_efficiency, f.step_overhead_us
        ));
    }
    s
}

fn median_abs(v: impl Iterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = v.map(f64::abs).collect();
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

pub fn run(a: CalibrateArgs) -> anyhow::Result<ExitCode> {
    let mut catalog = Catalog::builtin()?;
    if let Some(d) = &a.catalog {
        catalog.load_dir(d)?;
    }
    let (points, skipped) = load_v1_dashboard(&a.published)
        .with_context(|| format!("reading {}", a.published.display()))?;
    if a.fit {
        let mut groups: Vec<(String, String, Precision)> = points
            .iter()
            .filter_map(|p| {
                Some((
                    p.engine.clone(),
                    p.accelerator.clone(),
                    p.precision.parse().ok()?,
                ))
            })
            .collect();
        groups.sort();
        groups.dedup();
        let mut fits = Vec::new();
        for (engine, accel, precision) in &groups {
            let t = std::time::Instant::now();
            let f = fit(
                &catalog,
                engine,
                accel,
                *precision,
                &points,
                a.fit_requests_per_conc,
            )
            .map_err(anyhow::Error::msg)?;
            eprintln!(
                "fitted {engine} on {accel} {precision}: compute {:.3}, memory {:.3}, overhead {:.0} µs; error {:.3} -> {:.3} ({} points, {:.1} s)",
                f.compute_efficiency, f.memory_efficiency, f.step_overhead_us, f.objective_before, f.objective_after, f.points, t.elapsed().as_secs_f64()
            );
            fits.push(f);
        }
        // Apply the fits to this run, and write them when asked.
        for f in &fits {
            let fig = |v: f64| servebench_catalog::Figure {
                value: v,
                source: "servebench-fit-ix-v1".into(),
            };
            catalog.calibrations.insert(
                (f.engine.clone(), f.accelerator.clone(), f.precision),
                servebench_catalog::Knobs {
                    compute_efficiency: fig(f.compute_efficiency),
                    memory_efficiency: fig(f.memory_efficiency),
                    step_overhead_us: fig(f.step_overhead_us),
                },
            );
        }
        if let Some(dir) = &a.write {
            std::fs::create_dir_all(dir)?;
            let mut engines: Vec<&str> = fits.iter().map(|f| f.engine.as_str()).collect();
            engines.dedup();
            for e in engines {
                let mine: Vec<&Fit> = fits.iter().filter(|f| f.engine == e).collect();
                let path = dir.join(format!("{e}.yaml"));
                std::fs::write(&path, calibration_yaml(e, &mine))
                    .with_context(|| format!("writing {}", path.display()))?;
                eprintln!("wrote {}", path.display());
            }
        }
    }
    let t0 = std::time::Instant::now();
    let cmp = compare(&catalog, &points, a.requests_per_conc);
    let mut groups: BTreeMap<(String, String, String), Vec<&Comparison>> = BTreeMap::new();
    for c in &cmp {
        let p = &c.published;
        groups
            .entry((p.model.clone(), p.hw_key.clone(), p.precision.clone()))
            .or_default()
            .push(c);
    }
    println!(
        "{:<18} {:<10} {:<5} {:>6} {:>15} {:>15} {:>10}",
        "model", "hw", "prec", "points", "|tput err| med", "|intv err| med", "within 35%"
    );
    for ((m, hw, p), cs) in &groups {
        let ok: Vec<&Comparison> = cs.iter().copied().filter(|c| c.error.is_none()).collect();
        if ok.is_empty() {
            println!(
                "{m:<18} {hw:<10} {p:<5} {:>6}  not simulated: {}",
                cs.len(),
                cs[0].error.as_deref().unwrap_or("")
            );
            continue;
        }
        let owned: Vec<Comparison> = ok.iter().map(|c| (*c).clone()).collect();
        println!(
            "{m:<18} {hw:<10} {p:<5} {:>6} {:>14.0}% {:>14.0}% {:>9.0}%",
            ok.len(),
            100.0 * median_abs(ok.iter().map(|c| c.tput_error)),
            100.0 * median_abs(ok.iter().map(|c| c.interactivity_error)),
            100.0 * share_within(&owned, 0.35)
        );
    }
    let simulated = cmp.iter().filter(|c| c.error.is_none()).count();
    println!(
        "\n{} published points: {} simulated in {:.1} s, {} not simulated, {} skipped (not modelled yet: {}).",
        points.len() + skipped.len(),
        simulated,
        t0.elapsed().as_secs_f64(),
        cmp.len() - simulated,
        skipped.len(),
        skipped.first().map_or("", |s| s.reason.as_str())
    );
    println!(
        "Within ±35% on both tok/s/GPU and tok/s/user: {:.0}% of simulated points.",
        100.0 * share_within(&cmp, 0.35)
    );
    if let Some(out) = &a.out {
        std::fs::write(out, serde_json::to_string_pretty(&cmp)? + "\n")
            .with_context(|| format!("writing {}", out.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}
