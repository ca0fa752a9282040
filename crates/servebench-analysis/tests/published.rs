//! The cost and power formulas against InferenceMAX v1's published dashboard values: each
//! point's `costh`, `costn`, `costr` ($/M) and `tpPerMw` follow from its `tpPerGpu` and the
//! catalog's prices and all-in power (points copied from
//! shared/data/inferencemax-v1-dashboard-2025-10-25, rounded as published).

use servebench_analysis::economics::{economics, CostTier};
use servebench_catalog::Catalog;

/// (hardware, tpPerGpu, costh, costn, costr, tpPerMw)
const POINTS: &[(&str, f64, f64, f64, f64, f64)] = &[
    // DeepSeek_R1_0528_1K_1K_interactivity.json, mi355x fp4 TP8 c8
    ("mi355x", 139.664, 2.944, 3.779, 4.177, 52703.415),
    // Llama_3_3_70B_Instruct_1K_1K_interactivity.json, b200_trt fp4 TP2 c8
    ("b200", 853.898, 0.634, 0.761, 0.943, 393501.612),
    // Llama_3_3_70B_Instruct_1K_1K_interactivity.json, mi355x fp8 TP4 c4
    ("mi355x", 211.547, 1.943, 2.495, 2.757, 79829.045),
    // Llama_3_3_70B_Instruct_1K_1K_interactivity.json, mi325x fp8 TP1 c4
    ("mi325x", 366.713, 0.97, 1.204, 1.363, 168217.051),
    // Llama_3_3_70B_Instruct_1K_1K_interactivity.json, mi300x fp8 TP8 c16
    ("mi300x", 365.204, 0.852, 1.065, 1.179, 204024.596),
    // Llama_3_3_70B_Instruct_1K_1K_interactivity.json, h200_trt fp8 TP1 c16
    ("h200", 1353.715, 0.289, 0.357, 0.328, 782494.125),
    // Llama_3_3_70B_Instruct_1K_1K_interactivity.json, h100 fp8 TP8 c32
    ("h100", 624.913, 0.578, 0.751, 0.578, 361221.254),
];

#[test]
fn published_costs_and_megawatts_follow_from_throughput() {
    let c = Catalog::builtin().unwrap();
    for &(hw, tput, costh, costn, costr, mw) in POINTS {
        let a = c.accelerator(hw).unwrap();
        // Published to 3 decimals: $/M within half a thousandth, tok/s/MW within 1e-6.
        let cost_close = |x: f64, y: f64| (x - y).abs() <= 0.0005 + 1e-9;
        let close = |x: f64, y: f64| (x / y - 1.0).abs() < 1e-6;
        for (tier, want) in [
            (CostTier::OwnedHyperscaler, costh),
            (CostTier::OwnedNeocloud, costn),
            (CostTier::Rental3y, costr),
        ] {
            let e = economics(a, tier, tput);
            assert!(
                cost_close(e.dollars_per_mtok, want),
                "{hw} {tier:?}: {} vs {want}",
                e.dollars_per_mtok
            );
            assert!(
                close(e.tokens_per_s_per_mw, mw),
                "{hw}: {} vs {mw}",
                e.tokens_per_s_per_mw
            );
        }
    }
    // Hand-computed: 1,000 tok/s/GPU at $2/GPU-h is $0.5556/M; at 2 kW all-in, 500,000 tok/s/MW
    // and 2 J/token.
    let e = economics(
        c.accelerator("h100").unwrap(),
        CostTier::Custom(2.0),
        1000.0,
    );
    assert!((e.dollars_per_mtok - 2.0 / 3.6).abs() < 1e-12);
    let kw = c.accelerator("h100").unwrap().all_in_kw_per_gpu.value;
    assert!((e.tokens_per_s_per_mw - 1e6 / kw).abs() < 1e-9);
    assert!((e.joules_per_token - kw).abs() < 1e-12);
}
