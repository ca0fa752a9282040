//! The frontiers `servebench report` draws are InferenceMAX's: on every published v1 file
//! (`data/inferencemax-v1-dashboard-2025-10-25`), both x axes (interactivity and end-to-end
//! latency) and every published metric (tok/s/GPU, tok/s/MW, $/M in three tiers), the points
//! on our frontiers are exactly those the files flag `roof: true`. The oracle is the files'
//! own flags, read here straight from the JSON.

use serde_json::Value;
use servebench_analysis::economics::CostTier;
use servebench_analysis::grouping::{hardware_key, Grouping};
use servebench_catalog::Catalog;
use servebench_report::curves::{self, Query, RunPick};
use servebench_report::reports::{frontier_points, Prices, Tokens, XMetric, YMetric};
use servebench_store::{import, Source, Store, ViewPoint};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn published_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/inferencemax-v1-dashboard-2025-10-25")
}

/// (hwKey, precision, tp, conc): a published point's identity (unique within a file).
type Id = (String, String, u32, u32);

/// Per (file, metric): every published point and its roof flag.
fn published_roofs(dir: &Path) -> BTreeMap<(String, String), BTreeMap<Id, bool>> {
    let mut out: BTreeMap<(String, String), BTreeMap<Id, bool>> = BTreeMap::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let v: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        for p in v["data"].as_array().unwrap() {
            let id = (
                p["hwKey"].as_str().unwrap().to_string(),
                p["precision"].as_str().unwrap().to_string(),
                p["tp"].as_u64().unwrap() as u32,
                p["conc"].as_u64().unwrap() as u32,
            );
            for m in ["tpPerGpu", "tpPerMw", "costh", "costn", "costr"] {
                if let Some(roof) = p[m]["roof"].as_bool() {
                    let prev = out
                        .entry((name.clone(), m.to_string()))
                        .or_default()
                        .insert(id.clone(), roof);
                    assert!(prev.is_none(), "{name}: {id:?} twice");
                }
            }
        }
    }
    out
}

/// The published identity of a stored point, its hardware key derived from its deployment.
fn id_of(p: &ViewPoint) -> Id {
    let c = &p.config;
    let tp = c.topology.strip_prefix("tp").unwrap().parse().unwrap();
    (
        hardware_key(&c.hardware, &c.engine, &c.spec_decoding),
        c.precision.clone(),
        tp,
        p.conc,
    )
}

/// `Llama_3_3_70B_Instruct_1K_8K_e2e.json` → its file stem and x axis.
fn file_of(model: &str, isl: u32, osl: u32, x: XMetric) -> String {
    let m = match model {
        "llama-3.3-70b" => "Llama_3_3_70B_Instruct",
        "deepseek-r1-0528" => "DeepSeek_R1_0528",
        "gpt-oss-120b" => "gpt-oss_120B",
        m => panic!("{m}"),
    };
    let k = |n: u32| if n == 1024 { "1K" } else { "8K" };
    let axis = if x == XMetric::Interactivity {
        "interactivity"
    } else {
        "e2e"
    };
    format!("{m}_{}_{}_{axis}.json", k(isl), k(osl))
}

#[test]
fn roof_flags_match_inferencemax_on_every_published_file_metric_and_axis() {
    let dir = published_dir();
    let want = published_roofs(&dir);
    assert_eq!(want.len(), 18 * 5, "18 files × 5 metrics");

    let tmp = tempfile::tempdir().unwrap();
    let mut store = Store::open(&format!("sqlite:{}", tmp.path().join("s.db").display())).unwrap();
    let (run, points) = import::inferencemax_v1(&dir).unwrap();
    store.ingest(&run, &points).unwrap();
    let catalog = Catalog::builtin().unwrap();

    let metrics = [
        (
            "tpPerGpu",
            YMetric::Throughput(Tokens::Total),
            CostTier::OwnedHyperscaler,
        ),
        (
            "tpPerMw",
            YMetric::TokensPerMw(Tokens::Total),
            CostTier::OwnedHyperscaler,
        ),
        (
            "costh",
            YMetric::Cost(Tokens::Total),
            CostTier::OwnedHyperscaler,
        ),
        (
            "costn",
            YMetric::Cost(Tokens::Total),
            CostTier::OwnedNeocloud,
        ),
        ("costr", YMetric::Cost(Tokens::Total), CostTier::Rental3y),
    ];
    let (mut checked, mut on_roof) = (0, 0);
    let mut mismatches: Vec<String> = Vec::new();
    for view in store.views().unwrap() {
        let q = Query {
            model: view.model.clone(),
            isl: view.isl,
            osl: view.osl,
            precision: None,
            sources: vec![Source::Reference],
            runs: RunPick::Latest,
            new_only: false,
        };
        let series = curves::series(
            &curves::load(&mut store, &q).unwrap(),
            Grouping::HardwareKey,
            false,
        );
        for x in [XMetric::Interactivity, XMetric::E2eLatency] {
            let file = file_of(&view.model, view.isl, view.osl, x);
            for (name, y, tier) in metrics {
                let prices = Prices {
                    catalog: &catalog,
                    tier,
                };
                let published = &want[&(file.clone(), name.to_string())];
                let mut got: BTreeSet<Id> = BTreeSet::new();
                let mut seen = 0;
                for s in &series {
                    // Each series is one published hardware key.
                    assert!(s.points.iter().all(|p| id_of(p).0 == s.key), "{}", s.key);
                    seen += s.points.len();
                    let e = prices.of(&s.hardware);
                    got.extend(frontier_points(s, x, y, e).into_iter().map(id_of));
                }
                assert_eq!(seen, published.len(), "{file}: every point stored");
                for (id, &roof) in published {
                    checked += 1;
                    on_roof += roof as usize;
                    if got.contains(id) != roof {
                        mismatches.push(format!("{file} {name} {id:?}: published roof {roof}"));
                    }
                }
            }
        }
    }
    assert_eq!(checked, 13_930, "every flag of the 18 files");
    assert!(on_roof > 1_000, "{on_roof}");
    assert!(
        mismatches.is_empty(),
        "{} of {checked} flags differ:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

#[test]
fn per_config_frontiers_are_not_inferencemax_roofs() {
    // The grouping matters: one frontier per config (the old default) puts points on a
    // "frontier" that another TP or precision of the same hardware key beats.
    let dir = published_dir();
    let want = published_roofs(&dir);
    let tmp = tempfile::tempdir().unwrap();
    let mut store = Store::open(&format!("sqlite:{}", tmp.path().join("s.db").display())).unwrap();
    let (run, points) = import::inferencemax_v1(&dir).unwrap();
    store.ingest(&run, &points).unwrap();
    let catalog = Catalog::builtin().unwrap();
    let prices = Prices {
        catalog: &catalog,
        tier: CostTier::OwnedHyperscaler,
    };
    let q = Query {
        model: "deepseek-r1-0528".into(),
        isl: 1024,
        osl: 1024,
        precision: None,
        sources: vec![Source::Reference],
        runs: RunPick::Latest,
        new_only: false,
    };
    let curves = curves::load(&mut store, &q).unwrap();
    let published = &want[&(
        "DeepSeek_R1_0528_1K_1K_interactivity.json".to_string(),
        "tpPerGpu".to_string(),
    )];
    let wrong = |g: Grouping| {
        let on: BTreeSet<Id> = curves::series(&curves, g, false)
            .iter()
            .flat_map(|s| {
                frontier_points(
                    s,
                    XMetric::Interactivity,
                    YMetric::Throughput(Tokens::Total),
                    prices.of(&s.hardware),
                )
                .into_iter()
                .map(id_of)
            })
            .collect();
        published
            .iter()
            .filter(|(id, &r)| on.contains(*id) != r)
            .count()
    };
    assert_eq!(wrong(Grouping::HardwareKey), 0);
    assert!(wrong(Grouping::Config) > 20, "{}", wrong(Grouping::Config));
    assert!(wrong(Grouping::Precision) > 0);
}
