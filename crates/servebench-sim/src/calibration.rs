//! The simulator against published InferenceMAX v1 results (the dashboard data of 2025-10-25,
//! `shared/data/inferencemax-v1-dashboard-2025-10-25/`): every published point is simulated with
//! the same model, accelerator, engine, precision, TP, concurrency and sequence lengths, and the
//! two are compared point by point. Fitting the efficiency knobs to these comparisons is the
//! next step; this module is the measuring stick.

use crate::perf::{Deployment, PerfModel};
use crate::virtual_time::{simulate, VirtualPoint};
use serde::Serialize;
use servebench_catalog::{Catalog, DeploymentKind, Figure, Knobs, Precision};
use std::path::Path;

/// A published point (the reader's type: the calibration compares the aggregated ones).
pub use servebench_published::DashboardPoint as PublishedPoint;

/// Read the `*_interactivity.json` files of a v1 dashboard dump: the single-node points, and
/// the disaggregated ones (GB200 Dynamo), which need their deployment to be simulated
/// ([`PointSimulator`]).
pub fn load_v1_dashboard(
    dir: &Path,
) -> std::io::Result<(Vec<PublishedPoint>, Vec<PublishedPoint>)> {
    Ok(servebench_published::load_v1_dashboard(dir)?
        .into_iter()
        .partition(|p| !p.disagg))
}

/// A published point beside its simulation.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    #[serde(flatten)]
    pub published: PublishedPoint,
    pub sim_tput_per_gpu: f64,
    pub sim_interactivity: f64,
    /// simulated / published − 1.
    pub tput_error: f64,
    pub interactivity_error: f64,
    /// Set when the deployment could not be simulated.
    pub error: Option<String>,
}

/// How a published point is simulated: `(catalog, point, requests per unit of concurrency)` to
/// (tok/s/GPU, tok/s/user). [`single_engine`] for single-node points; a caller that knows the
/// deployment of a disaggregated one (its recipe) supplies its own.
pub type PointSimulator<'a> =
    dyn Fn(&Catalog, &PublishedPoint, usize) -> Result<(f64, f64), String> + Sync + 'a;

/// A single-node point: one engine at the point's accelerator, engine, precision and TP.
pub fn single_engine(
    catalog: &Catalog,
    p: &PublishedPoint,
    requests_per_conc: usize,
) -> Result<(f64, f64), String> {
    let precision: Precision = p.precision.parse()?;
    let dep = Deployment::from_catalog(
        catalog,
        &p.accelerator,
        &p.model,
        &p.engine,
        precision,
        p.tp,
    )
    .map_err(|e| e.to_string())?;
    let perf = PerfModel::new(dep).map_err(|e| e.to_string())?;
    let mut vp = VirtualPoint::inferencex(p.conc, p.isl, p.osl);
    vp.requests = (requests_per_conc * p.conc).max(1);
    vp.warmups = vp.warmups.min(vp.requests);
    let r = simulate(&perf, &vp);
    Ok((r.tput_per_gpu(p.tp), r.median_interactivity()))
}

/// Simulate every point (`requests_per_conc` × C measured requests; InferenceX uses 10).
pub fn compare(
    catalog: &Catalog,
    points: &[PublishedPoint],
    requests_per_conc: usize,
) -> Vec<Comparison> {
    compare_using(catalog, points, requests_per_conc, &single_engine)
}

/// [`compare`], each point simulated by `sim`.
pub fn compare_using(
    catalog: &Catalog,
    points: &[PublishedPoint],
    requests_per_conc: usize,
    sim: &PointSimulator<'_>,
) -> Vec<Comparison> {
    points
        .iter()
        .map(|p| match sim(catalog, p, requests_per_conc) {
            Ok((t, i)) => Comparison {
                published: p.clone(),
                sim_tput_per_gpu: t,
                sim_interactivity: i,
                tput_error: t / p.tput_per_gpu - 1.0,
                interactivity_error: i / p.interactivity - 1.0,
                error: None,
            },
            Err(e) => Comparison {
                published: p.clone(),
                sim_tput_per_gpu: f64::NAN,
                sim_interactivity: f64::NAN,
                tput_error: f64::NAN,
                interactivity_error: f64::NAN,
                error: Some(e),
            },
        })
        .collect()
}

/// Mean squared log error of throughput and interactivity over the simulated points.
pub fn objective(c: &[Comparison]) -> f64 {
    let ok: Vec<&Comparison> = c.iter().filter(|x| x.error.is_none()).collect();
    if ok.is_empty() {
        return f64::INFINITY;
    }
    ok.iter()
        .map(|x| (1.0 + x.tput_error).ln().powi(2) + (1.0 + x.interactivity_error).ln().powi(2))
        .sum::<f64>()
        / ok.len() as f64
}

/// Fitted knobs of one engine on one accelerator at one precision (for one model, or pooled
/// over the models of the published points).
#[derive(Debug, Clone, Serialize)]
pub struct Fit {
    pub engine: String,
    pub model: Option<String>,
    pub accelerator: String,
    pub precision: Precision,
    pub points: usize,
    pub knobs: Knobs,
    pub objective_before: f64,
    pub objective_after: f64,
}

/// The source every fitted figure names.
pub const FIT_SOURCE: &str = "servebench-fit-ix-v1";

/// Fit compute efficiency, memory efficiency, step overhead and (where the points include
/// tensor parallelism) all-reduce latency and link efficiency of `engine` on `accelerator` at `precision` to the
/// published points of that combination (of `model`, or of every model): coordinate descent on the logarithms of the knobs,
/// golden-section search per coordinate, minimising the mean squared log error of tok/s/GPU and
/// tok/s/user. Deterministic (the simulation is).
pub fn fit(
    catalog: &Catalog,
    engine: &str,
    model: Option<&str>,
    accelerator: &str,
    precision: Precision,
    points: &[PublishedPoint],
    requests_per_conc: usize,
) -> Result<Fit, String> {
    let group: Vec<PublishedPoint> = points
        .iter()
        .filter(|p| {
            p.engine == engine
                && model.is_none_or(|m| p.model == m)
                && p.accelerator == accelerator
                && p.precision.parse::<Precision>() == Ok(precision)
        })
        .cloned()
        .collect();
    fit_using(
        catalog,
        (engine, model, accelerator, precision),
        &group,
        requests_per_conc,
        &single_engine,
    )
}

/// [`fit`] of the knobs `(engine, model, accelerator, precision)` to `group`, each point
/// simulated by `sim` (disaggregated points: also the all-to-all latency).
pub fn fit_using(
    catalog: &Catalog,
    (engine, model, accelerator, precision): (&str, Option<&str>, &str, Precision),
    group: &[PublishedPoint],
    requests_per_conc: usize,
    sim: &PointSimulator<'_>,
) -> Result<Fit, String> {
    if group.is_empty() {
        return Err(format!(
            "no published points for {} {engine} on {accelerator} at {precision}",
            model.unwrap_or("any model on")
        ));
    }
    let base = catalog
        .engine_on(engine, model, accelerator, precision)
        .map_err(|e| e.to_string())?;
    let with_tp = group.iter().any(|p| p.tp > 1);
    let with_ep = group.iter().any(|p| p.disagg);
    let mut kinds: Vec<DeploymentKind> = group
        .iter()
        .map(|p| DeploymentKind::of(p.disagg, p.spec_decoding != "none"))
        .collect();
    kinds.sort();
    kinds.dedup();
    let fig = |v: f64| Figure {
        value: v,
        source: FIT_SOURCE.into(),
    };
    let knobs = |x: &[f64]| Knobs {
        compute_efficiency: fig(x[0].exp()),
        memory_efficiency: fig(x[1].exp()),
        step_overhead_us: fig(x[2].exp()),
        allreduce_latency_us: x.get(3).map(|v| fig(v.exp())),
        link_efficiency: x.get(4).map(|v| fig(v.exp())),
        alltoall_latency_us: x.get(5).map(|v| fig(v.exp())),
        kinds: kinds.clone(),
    };
    let eval = |x: &[f64]| -> f64 {
        // The trial knobs are the combination's only calibration (so neither an earlier fit
        // nor the family rule applies); knobs not being fitted keep the starting point's.
        let mut trial = knobs(x);
        trial.allreduce_latency_us = trial
            .allreduce_latency_us
            .or_else(|| Some(base.allreduce_latency_us.clone()));
        trial.link_efficiency = trial
            .link_efficiency
            .or_else(|| Some(base.link_efficiency.clone()));
        trial.alltoall_latency_us = trial
            .alltoall_latency_us
            .or_else(|| Some(base.alltoall_latency_us.clone()));
        let mut c = catalog.clone();
        c.calibrations.retain(|(e, a, p, _), _| {
            (e.as_str(), a.as_str(), *p) != (engine, accelerator, precision)
        });
        c.calibrations.insert(
            (
                engine.into(),
                accelerator.into(),
                precision,
                model.map(str::to_owned),
            ),
            trial,
        );
        objective(&compare_using(&c, group, requests_per_conc, sim))
    };
    // Bounds (natural log): efficiencies 5%..100%, overhead 50 µs..50 ms, all-reduce latency
    // 1..200 µs, link efficiency 2%..100%.
    let mut bounds = vec![
        (0.05f64.ln(), 0.0),
        (0.05f64.ln(), 0.0),
        (50f64.ln(), 50_000f64.ln()),
    ];
    let mut x = vec![
        base.compute_efficiency.value.ln(),
        base.memory_efficiency.value.ln(),
        base.step_overhead_us.value.ln(),
    ];
    if with_tp {
        bounds.push((1f64.ln(), 200f64.ln()));
        x.push(base.allreduce_latency_us.value.clamp(1.0, 200.0).ln());
        bounds.push((0.02f64.ln(), 0.0));
        x.push(base.link_efficiency.value.clamp(0.02, 1.0).ln());
    }
    if with_tp && with_ep {
        // All-to-all fixed cost 1..500 µs.
        bounds.push((1f64.ln(), 500f64.ln()));
        x.push(base.alltoall_latency_us.value.clamp(1.0, 500.0).ln());
    }
    let before = eval(&x);
    let mut best = before;
    let phi = (5f64.sqrt() - 1.0) / 2.0;
    for _sweep in 0..2 {
        for k in 0..x.len() {
            let (mut a, mut b) = bounds[k];
            let at = |v: f64, x: &[f64]| {
                let mut y = x.to_vec();
                y[k] = v;
                y
            };
            let mut c1 = b - phi * (b - a);
            let mut c2 = a + phi * (b - a);
            let mut f1 = eval(&at(c1, &x));
            let mut f2 = eval(&at(c2, &x));
            for _ in 0..10 {
                if f1 < f2 {
                    b = c2;
                    c2 = c1;
                    f2 = f1;
                    c1 = b - phi * (b - a);
                    f1 = eval(&at(c1, &x));
                } else {
                    a = c1;
                    c1 = c2;
                    f1 = f2;
                    c2 = a + phi * (b - a);
                    f2 = eval(&at(c2, &x));
                }
            }
            let (v, f) = if f1 < f2 { (c1, f1) } else { (c2, f2) };
            if f < best {
                best = f;
                x[k] = v;
            }
        }
    }
    Ok(Fit {
        engine: engine.into(),
        model: model.map(str::to_owned),
        accelerator: accelerator.into(),
        precision,
        points: group.len(),
        knobs: knobs(&x),
        objective_before: before,
        objective_after: best,
    })
}

/// Share of simulated points whose throughput and interactivity are both within `tol`.
pub fn share_within(c: &[Comparison], tol: f64) -> f64 {
    let ok = c.iter().filter(|x| x.error.is_none());
    let (n, good) = ok.fold((0usize, 0usize), |(n, g), x| {
        (
            n + 1,
            g + usize::from(x.tput_error.abs() <= tol && x.interactivity_error.abs() <= tol),
        )
    });
    if n == 0 {
        0.0
    } else {
        good as f64 / n as f64
    }
}

/// How one workload (model × ISL/OSL) ranks its deployments (hardware key × precision), published
/// against simulated, by one figure of the series: its best tok/s/GPU or its best tok/s/user.
#[derive(Debug, Clone, Serialize)]
pub struct Ordering {
    pub model: String,
    pub isl: u64,
    pub osl: u64,
    pub metric: &'static str,
    /// (hardware key/precision, published, simulated), published best first.
    pub series: Vec<(String, f64, f64)>,
    /// Pairs whose published values differ by more than the tie band.
    pub pairs: usize,
    /// Of those, the pairs the simulator orders the other way round.
    pub swapped: Vec<(String, String)>,
}

/// Published values closer than this (relative) count as a tie and are not ranked.
pub const TIE_BAND: f64 = 0.05;

/// The ranking of deployments per workload, by best tok/s/GPU and by best tok/s/user.
pub fn orderings(c: &[Comparison]) -> Vec<Ordering> {
    type Key = (String, u64, u64);
    let mut by: std::collections::BTreeMap<Key, std::collections::BTreeMap<String, [f64; 4]>> =
        Default::default();
    for x in c.iter().filter(|x| x.error.is_none()) {
        let p = &x.published;
        let e = by
            .entry((p.model.clone(), p.isl, p.osl))
            .or_default()
            .entry(format!("{}/{}", p.hw_key, p.precision))
            .or_insert([0.0; 4]);
        e[0] = e[0].max(p.tput_per_gpu);
        e[1] = e[1].max(x.sim_tput_per_gpu);
        e[2] = e[2].max(p.interactivity);
        e[3] = e[3].max(x.sim_interactivity);
    }
    let mut out = Vec::new();
    for ((model, isl, osl), series) in by {
        for (metric, i) in [("best tok/s/GPU", 0), ("best tok/s/user", 2)] {
            let mut s: Vec<(String, f64, f64)> = series
                .iter()
                .map(|(k, v)| (k.clone(), v[i], v[i + 1]))
                .collect();
            s.sort_by(|a, b| b.1.total_cmp(&a.1));
            let (mut pairs, mut swapped) = (0, Vec::new());
            for (n, a) in s.iter().enumerate() {
                for b in &s[n + 1..] {
                    if a.1 > b.1 * (1.0 + TIE_BAND) {
                        pairs += 1;
                        if a.2 < b.2 {
                            swapped.push((a.0.clone(), b.0.clone()));
                        }
                    }
                }
            }
            out.push(Ordering {
                model: model.clone(),
                isl,
                osl,
                metric,
                series: s,
                pairs,
                swapped,
            });
        }
    }
    out
}

/// One line per comparison (with a header): the point-by-point report.
pub fn comparisons_csv(c: &[Comparison]) -> String {
    let mut s = String::from(
        "model,isl,osl,hw_key,engine,precision,tp,conc,published_tput_per_gpu,sim_tput_per_gpu,tput_error,published_intvty,sim_intvty,intvty_error,error\n",
    );
    for x in c {
        let p = &x.published;
        s.push_str(&format!(
            "{},{},{},{},{},{},{},{},{:.1},{:.1},{:.4},{:.2},{:.2},{:.4},{}\n",
            p.model,
            p.isl,
            p.osl,
            p.hw_key,
            p.engine,
            p.precision,
            p.tp,
            p.conc,
            p.tput_per_gpu,
            x.sim_tput_per_gpu,
            x.tput_error,
            p.interactivity,
            x.sim_interactivity,
            x.interactivity_error,
            x.error.as_deref().unwrap_or("").replace(',', ";")
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(hw: &str, publ: (f64, f64), sim: (f64, f64)) -> Comparison {
        Comparison {
            published: PublishedPoint {
                file: "f".into(),
                model: "m".into(),
                isl: 1024,
                osl: 1024,
                hw_key: hw.into(),
                accelerator: hw.into(),
                engine: "vllm".into(),
                precision: "fp8".into(),
                tp: 8,
                conc: 4,
                interactivity: publ.1,
                tput_per_gpu: publ.0,
                ..Default::default()
            },
            sim_tput_per_gpu: sim.0,
            sim_interactivity: sim.1,
            tput_error: sim.0 / publ.0 - 1.0,
            interactivity_error: sim.1 / publ.1 - 1.0,
            error: None,
        }
    }

    #[test]
    fn orderings_count_swapped_pairs_beyond_ties() {
        let c = vec![
            cmp("a", (1000.0, 50.0), (900.0, 60.0)),
            cmp("a", (500.0, 100.0), (450.0, 110.0)),
            cmp("b", (800.0, 90.0), (950.0, 80.0)),
            cmp("c", (790.0, 20.0), (700.0, 30.0)),
        ];
        let o = orderings(&c);
        assert_eq!(o.len(), 2);
        let tput = &o[0];
        assert_eq!(tput.metric, "best tok/s/GPU");
        let names: Vec<&str> = tput.series.iter().map(|s| s.0.as_str()).collect();
        assert_eq!(names, ["a/fp8", "b/fp8", "c/fp8"]);
        // a > b and a > c are ranked; b vs c (800 vs 790) is a tie. The simulator puts b above a.
        assert_eq!(tput.pairs, 2);
        assert_eq!(
            tput.swapped,
            vec![("a/fp8".to_string(), "b/fp8".to_string())]
        );
        let intv = &o[1];
        assert_eq!(intv.pairs, 3);
        assert!(intv.swapped.is_empty(), "{intv:?}");
        let csv = comparisons_csv(&c[..1]);
        assert_eq!(csv.lines().count(), 2);
        assert!(csv
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("m,1024,1024,a,vllm,fp8,8,4,1000.0,900.0,-0.1000,50.00,60.00,0.2000,"));
    }

    #[test]
    fn a_small_dump_is_read_and_compared() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("Llama_3_3_70B_Instruct_1K_1K_interactivity.json"),
            r#"{"metadata":{},"data":[
              {"x":125.9,"y":120.5,"conc":4,"tp":8,"hwKey":"h200","precision":"fp8","tpPerGpu":{"y":120.5,"roof":false}},
              {"x":10.0,"y":10.0,"conc":4,"tp":8,"hwKey":"gb200","precision":"fp8","tpPerGpu":{"y":10.0,"roof":false}}]}"#,
        )
        .unwrap();
        let (points, skipped) = load_v1_dashboard(dir.path()).unwrap();
        assert_eq!((points.len(), skipped.len()), (1, 1));
        let c = compare(&Catalog::builtin().unwrap(), &points, 2);
        assert!(c[0].error.is_none());
        let want = c[0].sim_tput_per_gpu / 120.5 - 1.0;
        assert!((c[0].tput_error - want).abs() < 1e-12);
        assert!(c[0].sim_interactivity > 0.0);
    }
}

#[cfg(test)]
mod fit_tests {
    use super::*;

    /// Points "published" by the simulator itself with known knobs are fitted back.
    #[test]
    fn fit_recovers_known_knobs() {
        // Without the shipped calibration, so the engine file's defaults apply.
        let mut truth = Catalog::builtin().unwrap();
        truth.calibrations.clear();
        let e = truth.engines.get_mut("vllm").unwrap();
        e.memory_efficiency.value = 0.5;
        e.step_overhead_us.value = 4000.0;
        let mut points = Vec::new();
        for (conc, osl) in [(1, 256), (8, 256), (32, 256), (4, 1024)] {
            points.push(PublishedPoint {
                file: "synthetic".into(),
                model: "llama-3.3-70b".into(),
                isl: 1024,
                osl,
                hw_key: "h200".into(),
                accelerator: "h200".into(),
                engine: "vllm".into(),
                precision: "fp8".into(),
                tp: 8,
                conc,
                interactivity: 1.0,
                tput_per_gpu: 1.0,
                ..Default::default()
            });
        }
        let published = compare(&truth, &points, 2);
        for (p, c) in points.iter_mut().zip(published) {
            p.interactivity = c.sim_interactivity;
            p.tput_per_gpu = c.sim_tput_per_gpu;
        }
        let mut start = Catalog::builtin().unwrap();
        start.calibrations.clear();
        let f = fit(&start, "vllm", None, "h200", Precision::Fp8, &points, 2).unwrap();
        assert!(
            f.objective_before > 0.05,
            "the defaults are off: {}",
            f.objective_before
        );
        assert!(
            f.objective_after < f.objective_before / 50.0,
            "fitted: {f:?}"
        );
        // Memory efficiency and step overhead trade off against each other on these points, so
        // the knobs are not unique; what must hold is that the fitted model reproduces them.
        let mut fitted = start.clone();
        f.knobs.apply(fitted.engines.get_mut("vllm").unwrap());
        for c in compare(&fitted, &points, 2) {
            assert!(
                c.tput_error.abs() < 0.1 && c.interactivity_error.abs() < 0.1,
                "{c:?}"
            );
        }
    }
}
