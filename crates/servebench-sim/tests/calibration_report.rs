//! The shipped calibration against the published InferenceMAX v1 points, through the committed
//! point-by-point report (`docs/calibration-v1.csv`, written by
//! `servebench calibrate --published DIR --csv docs/calibration-v1.csv`): the simulator still
//! produces what the report says, and the report still meets the goal.

use servebench_catalog::Catalog;
use servebench_sim::calibration::{compare, orderings, share_within, PublishedPoint};

const REPORT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/calibration-v1.csv");

/// (published point, simulated tok/s/GPU, simulated tok/s/user) per line of the report.
fn report() -> Vec<(PublishedPoint, f64, f64)> {
    let text = std::fs::read_to_string(REPORT).unwrap();
    let mut lines = text.lines();
    assert!(lines
        .next()
        .unwrap()
        .starts_with("model,isl,osl,hw_key,engine,precision,tp,conc,"));
    lines
        .enumerate()
        .map(|(i, l)| {
            let f: Vec<&str> = l.split(',').collect();
            assert_eq!(f.len(), 15, "{REPORT}:{}: 15 fields", i + 2);
            let num = |k: usize| -> f64 { f[k].parse().unwrap() };
            let p = PublishedPoint {
                file: "docs/calibration-v1.csv".into(),
                model: f[0].into(),
                isl: f[1].parse().unwrap(),
                osl: f[2].parse().unwrap(),
                hw_key: f[3].into(),
                accelerator: f[3].trim_end_matches("_trt").into(),
                engine: f[4].into(),
                precision: f[5].into(),
                tp: f[6].parse().unwrap(),
                conc: f[7].parse().unwrap(),
                tput_per_gpu: num(8),
                interactivity: num(11),
                spec_decoding: "none".into(),
                ..Default::default()
            };
            (p, num(9), num(12))
        })
        .collect()
}

#[test]
fn the_shipped_calibration_reproduces_its_report_and_meets_the_goal() {
    let rows = report();
    assert_eq!(rows.len(), 1328);
    let points: Vec<PublishedPoint> = rows.iter().map(|r| r.0.clone()).collect();
    let cmp = compare(&Catalog::builtin().unwrap(), &points, 10);
    for (c, (p, tput, intv)) in cmp.iter().zip(&rows) {
        assert!(c.error.is_none(), "{p:?}: {:?}", c.error);
        let close = |a: f64, b: f64| (a / b - 1.0).abs() < 0.002;
        assert!(
            close(c.sim_tput_per_gpu, *tput) && close(c.sim_interactivity, *intv),
            "the simulator changed; regenerate the report (servebench calibrate --csv): {p:?} now {} / {}, report {tput} / {intv}",
            c.sim_tput_per_gpu,
            c.sim_interactivity
        );
    }
    // Every published point within ±35% is the goal; 5 points of 1,328 still miss it.
    let within = share_within(&cmp, 0.35);
    assert!(within >= 1323.0 / 1328.0, "{within}");
    let (pairs, swapped) = orderings(&cmp)
        .iter()
        .fold((0, 0), |(p, s), o| (p + o.pairs, s + o.swapped.len()));
    assert_eq!((pairs, swapped), (706, 16));
}
