//! The same results in SQLite and in PostgreSQL give identical answers to every query the
//! reports and the dashboard ask: published InferenceMAX files (real, in tests/fixtures) and
//! several nights of the user's own runs.

use servebench_store::{import, Config, Metrics, Point, Run, Source, Store};
use std::path::Path;

mod backends;

fn own_runs() -> Vec<(Run, Vec<Point>)> {
    (0..3)
        .map(|night| {
            let run = Run {
                key: format!("nightly-{night}"),
                started_at: format!("2026-11-2{}T02:00:00Z", 5 + night),
                who: "ci".into(),
                recipes_commit: Some(format!("c0ffee{night}")),
                executor: "slurm".into(),
                source: Source::Own,
            };
            let mut points = Vec::new();
            for (hw, base) in [("h200", 900.0), ("b200", 1700.0), ("mi355x", 1500.0)] {
                for conc in [4u32, 8, 16, 32, 64, 128] {
                    let c = conc as f64;
                    // An awkward binary fraction so any rounding on the way shows.
                    let tput = base * c.sqrt() * (1.0 + night as f64 / 7.0) / 3.0;
                    points.push(Point {
                        config: Config {
                            hardware: hw.into(),
                            engine: "vllm".into(),
                            model: "gpt-oss-120b".into(),
                            precision: if hw == "h200" { "fp8" } else { "fp4" }.into(),
                            spec_decoding: "none".into(),
                            disagg: false,
                            topology: "tp8-ep8".into(),
                        },
                        isl: 1024,
                        osl: 1024,
                        conc,
                        num_gpus: 8,
                        deployment: None,
                        metrics: Metrics {
                            tput_per_gpu: Some(tput),
                            input_tput_per_gpu: Some(tput / 2.0),
                            output_tput_per_gpu: Some(tput / 2.0),
                            median_intvty: Some(2000.0 / (c + 10.0) / 3.0),
                            median_ttft_ms: Some(40.0 + c / 3.0),
                            median_e2el_ms: Some(1e6 / (2000.0 / (c + 10.0))),
                            completed: Some(conc as u64 * 10),
                            failed: Some(0),
                            measured_j_per_token: (night == 2).then_some(0.1 + c / 1e4),
                            ..Default::default()
                        },
                        provenance: serde_json::json!({"host": "node-1", "seed": night}),
                        result: serde_json::json!({"night": night}),
                    });
                }
            }
            (run, points)
        })
        .collect()
}

#[test]
fn sqlite_and_postgres_answer_alike() {
    let Some(server) = backends::postgres_url() else {
        return;
    };
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/inferencemax-v1");
    let (reference, published) = import::inferencemax_v1(&fixtures).unwrap();
    assert_eq!(published.len(), 150 + 95, "both fixture files read");
    assert!(
        published
            .iter()
            .filter(|p| p.config.model == "gpt-oss-120b")
            .all(|p| p.metrics.median_e2el_ms.is_some()),
        "e2e latencies merged from the _e2e.json file"
    );
    let stores = [
        backends::sqlite(),
        backends::postgres(&server, "same_answers"),
    ];
    let mut opened: Vec<Store> = stores
        .iter()
        .map(|t| Store::open(&t.url).unwrap())
        .collect();
    for s in &mut opened {
        s.ingest(&reference, &published).unwrap();
        for (run, points) in own_runs() {
            s.ingest(&run, &points).unwrap();
        }
    }
    let [a, b] = &mut opened[..] else {
        unreachable!()
    };
    for src in [None, Some(Source::Own), Some(Source::Reference)] {
        assert_eq!(a.count_points(src).unwrap(), b.count_points(src).unwrap());
    }
    assert_eq!(a.count_points(Some(Source::Own)).unwrap(), 3 * 18);
    assert_eq!(a.runs().unwrap(), b.runs().unwrap());
    let views = a.views().unwrap();
    assert_eq!(views, b.views().unwrap());
    let g = views
        .iter()
        .find(|v| v.model == "gpt-oss-120b" && (v.isl, v.osl) == (1024, 1024))
        .unwrap();
    assert_eq!(
        g.points,
        150 + 54,
        "published and three nights of own points"
    );
    assert_eq!(g.sources, ["own", "reference"]);
    assert!(g.hardware.contains(&"mi355x".to_string()) && g.precisions == ["fp4", "fp8"]);
    // Ingesting again changes no count.
    a.ingest(&reference, &published).unwrap();
    assert_eq!(a.views().unwrap(), views);
    assert_eq!(a.runs().unwrap().len(), 4);
    let mut views = 0;
    for (model, isl, osl) in [
        ("gpt-oss-120b", 1024, 1024),
        ("deepseek-r1-0528", 8192, 1024),
    ] {
        for precision in [None, Some("fp4"), Some("fp8")] {
            for source in [Source::Own, Source::Reference] {
                let va = a.view(model, isl, osl, precision, source).unwrap();
                let vb = b.view(model, isl, osl, precision, source).unwrap();
                assert_eq!(va, vb, "{model} {isl}/{osl} {precision:?} {source:?}");
                views += (!va.is_empty()) as usize;
            }
        }
    }
    assert!(views >= 8, "the comparison saw data ({views} views)");
    // Ordering is bytewise in both (PostgreSQL's text columns collate "C").
    let v = a
        .view("gpt-oss-120b", 1024, 1024, None, Source::Reference)
        .unwrap();
    assert!(v.windows(2).all(|w| w[0].config_key <= w[1].config_key));
}
