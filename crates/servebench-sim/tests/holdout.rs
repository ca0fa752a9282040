//! Hold-out validation (`servebench calibrate --hold-out`): an accelerator held out is predicted
//! with the knobs the family rule borrows from the others' fits, exactly as a catalog without
//! its fits would simulate it; the agreement figures are the shares and medians they say.

use servebench_catalog::{Catalog, Precision};
use servebench_sim::calibration::{compare, load_v1_dashboard, Comparison, PublishedPoint};
use servebench_sim::holdout::{leave_one_accelerator_out, pooled, Agreement};
use std::path::Path;

fn published(hw: &[&str]) -> Vec<PublishedPoint> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/inferencemax-v1-dashboard-2025-10-25");
    let (points, _) = load_v1_dashboard(&dir).unwrap();
    points
        .into_iter()
        .filter(|p| p.model == "gpt-oss-120b" && (p.isl, p.osl) == (1024, 1024))
        .filter(|p| hw.contains(&p.hw_key.as_str()))
        .collect()
}

#[test]
fn a_held_out_accelerator_is_simulated_with_its_familys_fit() {
    let catalog = Catalog::builtin().unwrap();
    let points = published(&["h100", "h200"]);
    assert!(points.len() > 30, "{}", points.len());
    let sets = leave_one_accelerator_out(&catalog, &points, 2);
    assert_eq!(
        sets.iter().map(|s| s.held.as_str()).collect::<Vec<_>>(),
        ["h100", "h200"]
    );
    // H100 held out: vLLM's H200 FP4 fit, its Hopper sibling's, by the family rule.
    let h100 = &sets[0];
    assert_eq!(
        h100.knobs,
        ["vllm h100 fp4: borrowed (same family, same precision: median of h200 fp4)"]
    );
    // The same predictions as a catalog where H100 simply has H200's knobs.
    let mut sibling = catalog.clone();
    sibling.calibrations.retain(|(_, a, _, _), _| a != "h100");
    let h200_fp4 =
        catalog.calibrations[&("vllm".into(), "h200".into(), Precision::Fp4, None)].clone();
    sibling.calibrations.insert(
        ("vllm".into(), "h100".into(), Precision::Fp4, None),
        h200_fp4,
    );
    let h100_points: Vec<PublishedPoint> = points
        .iter()
        .filter(|p| p.accelerator == "h100")
        .cloned()
        .collect();
    let want = compare(&sibling, &h100_points, 2);
    let got = &h100.comparisons.1;
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(
            (g.sim_tput_per_gpu, g.sim_interactivity),
            (w.sim_tput_per_gpu, w.sim_interactivity)
        );
    }
    // In sample is the fitted catalog's own prediction.
    let fitted = compare(&catalog, &h100_points, 2);
    assert_eq!(h100.in_sample, Agreement::of(&fitted));
    let (i, h) = pooled(&sets);
    assert_eq!(i.points, points.len());
    assert_eq!(h.points, points.len());
}

fn cmp(tput_error: f64, interactivity_error: f64) -> Comparison {
    Comparison {
        published: PublishedPoint::default(),
        sim_tput_per_gpu: 1.0,
        sim_interactivity: 1.0,
        tput_error,
        interactivity_error,
        error: None,
    }
}

#[test]
fn agreement_is_shares_and_medians_of_absolute_errors() {
    let mut c = vec![
        cmp(0.10, -0.05),
        cmp(-0.40, 0.0),   // tok/s/GPU off by more than 35%
        cmp(0.20, 0.50),   // tok/s/user off by more than 35%
        cmp(-0.30, -0.34), // both within
    ];
    let mut broken = cmp(f64::NAN, f64::NAN);
    broken.error = Some("does not fit".into());
    c.push(broken);
    let a = Agreement::of(&c);
    assert_eq!((a.points, a.not_simulated), (5, 1));
    assert_eq!(a.within_35, 0.5, "2 of the 4 simulated");
    // |tput errors| 0.1, 0.2, 0.3, 0.4: median 0.25; |intv errors| 0, 0.05, 0.34, 0.5: 0.195.
    assert!((a.median_tput_error - 0.25).abs() < 1e-12);
    assert!((a.median_interactivity_error - 0.195).abs() < 1e-12);
}

#[test]
fn a_fit_tries_its_own_knobs_even_where_the_family_rule_would_borrow() {
    // H100 without its fits would borrow H200's; fitting it must move off them.
    let mut catalog = Catalog::builtin().unwrap();
    catalog.calibrations.retain(|(_, a, _, _), _| a != "h100");
    let points: Vec<PublishedPoint> = published(&["h100"]).into_iter().take(8).collect();
    let f = servebench_sim::calibration::fit(
        &catalog,
        "vllm",
        None,
        "h100",
        Precision::Fp4,
        &points,
        1,
    )
    .unwrap();
    assert_eq!(f.points, 8);
    assert!(f.objective_after < f.objective_before, "{f:?}");
    let borrowed = &catalog.calibrations[&("vllm".into(), "h200".into(), Precision::Fp4, None)];
    assert_ne!(f.knobs.compute_efficiency, borrowed.compute_efficiency);
}
