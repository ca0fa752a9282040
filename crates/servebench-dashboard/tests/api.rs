//! The dashboard's API over real HTTP on loopback, on a seeded store (published InferenceMAX
//! files and a sweep with its server log), on SQLite and on PostgreSQL; and the static export
//! holding the same answers.

use serde_json::{json, Value};
use servebench_catalog::Catalog;
use servebench_dashboard::{api::Api, server, site};
use servebench_store::{import, Store};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;

#[path = "../../servebench-store/tests/backends/mod.rs"]
mod backends;
mod published;

/// (status, content type, body) of one request.
fn request(addr: &str, method: &str, path: &str) -> (u16, String, Vec<u8>) {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    let split = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&buf[..split]).to_string();
    let status = head[9..12].parse().unwrap();
    let ctype = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Type: "))
        .unwrap_or("")
        .to_string();
    (status, ctype, buf[split + 4..].to_vec())
}

fn get(addr: &str, path: &str) -> Value {
    let (status, ctype, body) = request(addr, "GET", path);
    assert_eq!(
        (status, ctype.as_str()),
        (200, "application/json"),
        "{path}: {}",
        String::from_utf8_lossy(&body)
    );
    serde_json::from_slice(&body).unwrap()
}

/// A sweep results directory with one point and the log of the server that measured it.
fn sweep_dir(dir: &Path) {
    let pdir = dir.join("points/k");
    std::fs::create_dir_all(&pdir).unwrap();
    std::fs::create_dir_all(dir.join("logs/k")).unwrap();
    let log: String = (0..5000).map(|i| format!("server line {i}\n")).collect();
    std::fs::write(dir.join("logs/k/a_c4.log"), log).unwrap();
    std::fs::write(
        pdir.join("a_c4.json"),
        serde_json::to_vec(&json!({
            "config_key": "k",
            "job": {"image": "vllm/vllm-openai:v0.10.2", "model": "gpt-oss-120b", "precision": "fp4",
                    "framework": "vllm", "runner": "h200", "spec-decoding": "none", "tp": 8, "pp": 1,
                    "dcp-size": 1, "pcp-size": 1, "ep": 1, "dp-attn": false, "isl": 1024, "osl": 1024,
                    "conc": 4, "disagg": false, "recipe-fingerprint": "ff"},
            "concurrency": 4,
            "server_command": "vllm serve openai/gpt-oss-120b --tensor-parallel-size 8",
            "server_log": "logs/k/a_c4.log",
            "result": {"tput_per_gpu": 1234.5, "input_tput_per_gpu": 617.25, "output_tput_per_gpu": 617.25,
                       "median_intvty": 80.0, "num_gpus": 8, "completed": 40, "failed": 2,
                       "date": "20261128-120000", "tokenizer_id": "openai/gpt-oss-120b",
                       "ttft": {"mean_ms": 50.0, "median_ms": 48.0, "p99_ms": 90.0},
                       "config": {"seed": 0}, "provenance": {"servebench_version": "0.1.0", "host": "h",
                       "dataset_sha256": "d5", "tokenizer": {"sha256": "t5"}}}
        }))
        .unwrap(),
    )
    .unwrap();
}

fn seed(url: &str, dir: &Path) {
    let mut s = Store::open(url).unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../servebench-store/tests/fixtures/inferencemax-v1");
    let (r, p) = import::inferencemax_v1(&fixtures).unwrap();
    s.ingest(&r, &p).unwrap();
    sweep_dir(dir);
    let (r, p) = import::sweep_dir(dir, "nightly-1", "ops").unwrap();
    s.ingest(&r, &p).unwrap();
    // The sweep's jobs: its one point, and a job that failed.
    let failed = servebench_store::FailedJob {
        config: p[0].config.clone(),
        isl: 1024,
        osl: 1024,
        conc: 8,
        attempts: 2,
        reason: "server exited (code 137)".into(),
    };
    let stat = servebench_store::JobStat {
        hardware: "h200".into(),
        succeeded: 1,
        total: 2,
    };
    s.ingest_jobs(&r, &[stat], &[failed]).unwrap();
}

/// A view's point columns as numbers (null: none), by name: source 0 own, 1 reference.
type NumColumns = std::collections::BTreeMap<String, Vec<Option<f64>>>;

/// `views/<slug>.bin` read as docs/dashboard.md describes it: its header and its columns.
fn decode_view_bin(b: &[u8]) -> (Value, NumColumns) {
    assert_eq!(&b[..4], b"SBV1");
    let len = u32::from_le_bytes(b[4..8].try_into().unwrap()) as usize;
    assert_eq!((8 + len) % 8, 0, "columns start 8-aligned");
    let head: Value = serde_json::from_slice(&b[8..8 + len]).unwrap();
    let n = head["n"].as_u64().unwrap() as usize;
    let mut at = 8 + len;
    let mut cols = NumColumns::new();
    for c in head["columns"].as_array().unwrap() {
        at = at.div_ceil(8) * 8;
        let width = match c["type"].as_str().unwrap() {
            "f64" => 8,
            "u32" | "i32" => 4,
            "u8" => 1,
            t => panic!("column type {t}"),
        };
        let v = (0..n)
            .map(|i| {
                let x = &b[at + i * width..at + (i + 1) * width];
                match c["type"].as_str().unwrap() {
                    "f64" => {
                        Some(f64::from_le_bytes(x.try_into().unwrap())).filter(|v| !v.is_nan())
                    }
                    "u32" => Some(u32::from_le_bytes(x.try_into().unwrap()) as f64),
                    "i32" => Some(i32::from_le_bytes(x.try_into().unwrap()))
                        .filter(|&v| v >= 0)
                        .map(f64::from),
                    _ => Some(x[0] as f64),
                }
            })
            .collect();
        at += n * width;
        cols.insert(c["name"].as_str().unwrap().to_string(), v);
    }
    assert_eq!(at, b.len(), "nothing after the last column");
    (head, cols)
}

/// The JSON view's columns in the same terms.
fn json_columns(view: &Value) -> NumColumns {
    let p = &view["points"];
    let nums = |v: &Value| -> Vec<Option<f64>> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| match x {
                Value::String(s) => Some(if s == "reference" { 1.0 } else { 0.0 }),
                x => x.as_f64(),
            })
            .collect()
    };
    let mut cols = NumColumns::new();
    for k in [
        "id",
        "config",
        "source",
        "run",
        "conc",
        "num_gpus",
        "image",
        "completed",
        "failed",
    ] {
        cols.insert(k.to_string(), nums(&p[k]));
    }
    for group in ["metrics", "y"] {
        for (k, v) in p[group].as_object().unwrap() {
            cols.insert(format!("{group}.{k}"), nums(v));
        }
    }
    cols
}

fn start(url: &str) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let api = Api::new(Store::open(url).unwrap(), Catalog::builtin().unwrap());
    std::thread::spawn(move || server::serve(listener, api));
    addr
}

#[test]
fn the_api_answers_from_the_store_and_the_export_holds_the_same() {
    let mut answers: Vec<Vec<Value>> = Vec::new();
    for t in backends::stores("dashboard_api") {
        let d = tempfile::tempdir().unwrap();
        seed(&t.url, &d.path().join("sweep"));
        let addr = start(&t.url);
        let catalog = Catalog::builtin().unwrap();

        let index = get(&addr, "/api/v1/index.json");
        let views = index["views"].as_array().unwrap();
        assert_eq!(views.len(), 2);
        let g = views.iter().find(|v| v["model"] == "gpt-oss-120b").unwrap();
        assert_eq!(
            (g["isl"].as_u64(), g["osl"].as_u64()),
            (Some(1024), Some(1024))
        );
        assert_eq!(g["points"], 151);
        assert_eq!(g["sources"], json!(["own", "reference"]));
        assert_eq!(g["path"], "views/gpt-oss-120b_1024x1024.json");
        let h200 = &index["hardware"]["h200"];
        let a = catalog.accelerator("h200").unwrap();
        assert_eq!(
            h200["dollars_per_gpu_hour"]["rental"],
            a.dollars_per_gpu_hour.rental_3y.value
        );
        assert_eq!(h200["all_in_kw_per_gpu"], a.all_in_kw_per_gpu.value);
        assert_eq!(h200["sources"][0]["date"], "2026-03-18");
        let runs = index["runs"].as_array().unwrap();
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[1]["key"], "nightly-1");

        let view = get(&addr, &format!("/api/v1/{}", g["path"].as_str().unwrap()));
        let points = published::point_rows(&view);
        assert_eq!(points.len(), 151);
        let mine = points.iter().find(|p| p["source"] == "own").unwrap();
        let config = &view["configs"][mine["config"].as_u64().unwrap() as usize];
        let mine_config = config.clone();
        assert_eq!(config["label"], "h200 vllm fp4 tp8");
        assert_eq!(config["hardware"], "h200");
        assert_eq!(mine["tput_per_gpu"], 1234.5);
        assert_eq!(mine["image"], "vllm/vllm-openai:v0.10.2");
        assert_eq!(
            (mine["completed"].as_u64(), mine["failed"].as_u64()),
            (Some(40), Some(2))
        );
        assert_eq!(mine["median_ttft_ms"], Value::Null);
        // A published point: the tpPerGpu and x the fixture file has.
        assert!(points.iter().any(|p| p["source"] == "reference"
            && p["tput_per_gpu"] == 980.389
            && p["median_intvty"] == 131.061
            && p["median_e2el_ms"] == 7213.0));

        // The point in full, with its server log's tail (the last 64 KiB, from a line start).
        let detail = get(
            &addr,
            &format!("/api/v1/{}", mine["detail"].as_str().unwrap()),
        );
        assert_eq!(
            detail["provenance"]["server_command"],
            "vllm serve openai/gpt-oss-120b --tensor-parallel-size 8"
        );
        assert_eq!(detail["provenance"]["engine_version"], "vllm v0.10.2");
        assert_eq!(detail["run"]["who"], "ops");
        assert_eq!(detail["result"]["result"]["ttft"]["p99_ms"], 90.0);
        let log = detail["server_log"].as_str().unwrap();
        assert!(log.starts_with("server line ") && log.ends_with("server line 4999\n"));
        assert!(log.len() <= 64 << 10 && !log.contains("server line 0\n"));

        // The reports, as `servebench report --format json` prints them.
        let r = get(
            &addr,
            "/api/v1/report/at?model=gpt-oss-120b&source=reference&at=131.061&tier=2&group=config",
        );
        let row = r["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["series"] == "mi300x vllm fp4 tp4 [published]")
            .unwrap();
        assert_eq!(row["tput_per_gpu"], 980.389);
        assert!(
            (row["dollars_per_mtok"].as_f64().unwrap() - 2.0 / (980.389 * 3600.0 / 1e6)).abs()
                < 1e-12
        );

        // What a run deployed, per config, from its points' provenance (the fixture's job).
        let builds = get(
            &addr,
            &format!(
                "/api/v1/builds/gpt-oss-120b_1024x1024/{}.json",
                servebench_dashboard::api::run_id("nightly-1")
            ),
        );
        assert_eq!(builds["run"], "nightly-1");
        assert_eq!(
            builds["builds"],
            json!([{"config_key": mine_config["key"], "images": ["vllm/vllm-openai:v0.10.2"], "recipe_fingerprints": ["ff"]}])
        );
        assert_eq!(
            request(
                &addr,
                "GET",
                "/api/v1/builds/gpt-oss-120b_1024x1024/00.json"
            )
            .0,
            404
        );

        // Job reliability: the run's jobs per accelerator, over any date range.
        let rel = get(&addr, "/api/v1/reliability.json");
        assert_eq!(
            rel["hardware"],
            json!([{"hardware": "h200", "succeeded": 1, "total": 2, "rate": 0.5, "runs": 1}])
        );
        assert_eq!(rel["failed"][0]["reason"], "server exited (code 137)");
        assert_eq!(rel["failed"][0]["conc"], 8);
        let later = get(&addr, "/api/v1/reliability.json?from=2026-11-29");
        assert_eq!(
            (
                later["hardware"].as_array().map(Vec::len),
                later["failed"].as_array().map(Vec::len)
            ),
            (Some(0), Some(0))
        );
        let on = get(
            &addr,
            "/api/v1/reliability.json?from=2026-11-28&to=2026-11-28",
        );
        assert_eq!(on["runs"].as_array().map(Vec::len), Some(1));
        let (s, _, b) = request(&addr, "GET", "/api/v1/reliability.json?to=nope");
        assert_eq!(s, 400);
        assert!(String::from_utf8_lossy(&b).contains("to: 'nope': expected a date"));

        // As of a past day: the runs that had started by its end. Our run started on
        // 2026-11-28, the published one in 2025.
        let path = g["path"].as_str().unwrap();
        let n_as_of =
            |d: &str| get(&addr, &format!("/api/v1/{path}?asof={d}"))["points"]["n"].as_u64();
        assert_eq!(n_as_of("2026-11-28"), Some(151));
        assert_eq!(n_as_of("2026-11-27"), Some(150));
        assert_eq!(n_as_of("2025-01-01"), Some(0));
        let past = get(&addr, "/api/v1/index.json?asof=2026-11-27");
        assert_eq!(past["as_of"]["date"], "2026-11-27");
        assert_eq!(past["runs"].as_array().unwrap().len(), 1);
        let figures = get(
            &addr,
            &format!(
                "/api/v1/{}?asof=2026-11-27",
                path.replace("views/", "figures/")
                    .replace(".json", "/hwkey.json")
            ),
        );
        let sources: Vec<&Value> = figures["series"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| &s["source"])
            .collect();
        assert!(!sources.is_empty() && sources.iter().all(|s| *s == "reference"));
        let (s, _, b) = request(&addr, "GET", &format!("/api/v1/{path}?asof=yesterday"));
        assert_eq!(s, 400);
        assert!(String::from_utf8_lossy(&b).contains("expected a date, YYYY-MM-DD"));

        // Errors say what is wrong, with the right status; nothing is writable.
        let (s, _, b) = request(&addr, "GET", "/api/v1/report/at?model=x&tier=free");
        assert_eq!(s, 400);
        assert!(String::from_utf8_lossy(&b).contains("tier: 'free'"));
        assert_eq!(request(&addr, "GET", "/api/v1/views/nope.json").0, 404);
        assert_eq!(request(&addr, "GET", "/api/v1/points/999999.json").0, 404);
        assert_eq!(request(&addr, "GET", "/../../etc/passwd").0, 404);
        assert_eq!(request(&addr, "POST", "/api/v1/index.json").0, 405);
        assert_eq!(request(&addr, "DELETE", "/api/v1/points/1.json").0, 405);
        let (s, ctype, body) = request(&addr, "GET", "/");
        assert_eq!((s, ctype.as_str()), (200, "text/html; charset=utf-8"));
        assert_eq!(body, site::asset("index.html").unwrap().0);
        let (s, _, body) = request(&addr, "HEAD", "/app.js");
        assert_eq!((s, body.len()), (200, 0));

        // The static export: the same documents at the same paths.
        let out = d.path().join("site");
        let mut api = Api::new(Store::open(&t.url).unwrap(), catalog);
        let n = site::export(&mut api, &out, true).unwrap();
        assert_eq!((n.views, n.points), (2, 150 + 95 + 1));
        let file = |rel: &str| -> Value {
            serde_json::from_slice(&std::fs::read(out.join(rel)).unwrap()).unwrap()
        };
        assert_eq!(
            file(&format!("api/v1/{}", g["path"].as_str().unwrap())),
            view
        );
        assert_eq!(
            file(&format!("api/v1/{}", mine["detail"].as_str().unwrap())),
            detail
        );
        // The figures the pages draw, for every grouping, as the server computes them.
        for g in ["hwkey", "hardware", "engine", "precision", "config"] {
            let rel = format!("api/v1/figures/gpt-oss-120b_1024x1024/{g}.json");
            let served = get(&addr, &format!("/{rel}"));
            assert_eq!(served["group"], g);
            assert_eq!(file(&rel), served, "{rel}");
        }
        assert_eq!(
            request(
                &addr,
                "GET",
                "/api/v1/figures/gpt-oss-120b_1024x1024/tp.json"
            )
            .0,
            404
        );
        let mut exported_index = file("api/v1/index.json");
        exported_index["generated_at"] = index["generated_at"].clone();
        // A static file server cannot answer `?asof=`: the export says so.
        assert_eq!(exported_index["as_of"]["supported"], false);
        assert_eq!(index["as_of"], json!({"supported": true, "date": null}));
        exported_index["as_of"] = index["as_of"].clone();
        assert_eq!(exported_index, index);
        assert_eq!(
            std::fs::read(out.join("index.html")).unwrap(),
            site::asset("").unwrap().0
        );

        // The view as binary columns (what the pages read): the JSON's numbers, bit for bit,
        // and the same file in the export.
        let bin_path = format!("/api/v1/{}", path.replace(".json", ".bin"));
        let (s, ctype, bin) = request(&addr, "GET", &bin_path);
        assert_eq!((s, ctype.as_str()), (200, "application/octet-stream"));
        let (head, cols) = decode_view_bin(&bin);
        assert_eq!(cols, json_columns(&view), "binary columns = JSON columns");
        for k in ["model", "configs", "runs", "images", "evals"] {
            assert_eq!(head[k], view[k], "{k}");
        }
        assert_eq!(head["n"], view["points"]["n"]);
        assert_eq!(std::fs::read(out.join(&bin_path[1..])).unwrap(), bin);

        // Answers are kept while the store does not change: a write by another connection
        // (a night's ingest) is in the very next answer.
        assert_eq!(get(&addr, &format!("/api/v1/{path}"))["points"]["n"], 151);
        let (r2, p2) = import::sweep_dir(&d.path().join("sweep"), "nightly-2", "ops").unwrap();
        Store::open(&t.url).unwrap().ingest(&r2, &p2).unwrap();
        assert_eq!(get(&addr, &format!("/api/v1/{path}"))["points"]["n"], 152);
        assert_eq!(
            decode_view_bin(&request(&addr, "GET", &bin_path).2).0["n"],
            152
        );
        assert_eq!(
            get(&addr, "/api/v1/index.json")["runs"]
                .as_array()
                .unwrap()
                .len(),
            3
        );

        // Row ids differ between backends; everything else must not.
        let mut view = view;
        view["points"]["id"] = Value::Null;
        answers.push(vec![
            index["views"].clone(),
            index["runs"].clone(),
            index["hardware"].clone(),
            view,
            r,
        ]);
    }
    if answers.len() == 2 {
        assert_eq!(
            answers[0], answers[1],
            "SQLite and PostgreSQL serve the same dashboard"
        );
    }
}

/// The frontiers the pages draw (`figures/<slug>/hwkey.json`, over HTTP) are InferenceMAX's
/// roofs: on every published v1 file, each metric and both x axes, the reference series'
/// frontier points are exactly those the files flag. A price the user types cannot move
/// them (one accelerator per series); the figures hold the frontiers whatever the price.
#[test]
fn the_figures_frontiers_are_inferencemax_roofs_on_every_published_file() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/inferencemax-v1-dashboard-2025-10-25");
    let d = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", d.path().join("s.db").display());
    let mut s = Store::open(&url).unwrap();
    let (r, p) = import::inferencemax_v1(&dir).unwrap();
    s.ingest(&r, &p).unwrap();
    let published = servebench_published::load_v1_dashboard(&dir).unwrap();
    let addr = start(&url);
    let index = get(&addr, "/api/v1/index.json");
    let (mut checked, mut views) = (0, 0);
    for v in index["views"].as_array().unwrap() {
        views += 1;
        let path = v["path"].as_str().unwrap();
        let view = get(&addr, &format!("/api/v1/{path}"));
        let figures = get(
            &addr,
            &format!(
                "/api/v1/{}",
                path.replace("views/", "figures/")
                    .replace(".json", "/hwkey.json")
            ),
        );
        assert_eq!(figures["group"], "hwkey");
        let rows = published::point_rows(&view);
        // Point id → its published record.
        let configs = view["configs"].as_array().unwrap();
        let scope = (
            v["model"].as_str().unwrap(),
            v["isl"].as_u64().unwrap(),
            v["osl"].as_u64().unwrap(),
        );
        let record = |id: &Value| {
            let p = rows.iter().find(|p| &p["id"] == id).unwrap();
            published::record(
                &published,
                scope,
                &configs[p["config"].as_u64().unwrap() as usize],
                p,
            )
        };
        let latest: Vec<&Value> = figures["series"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["run"].is_null())
            .collect();
        for s in &latest {
            assert_eq!(s["source"], "reference");
            for (x, roofs) in [("intvty", false), ("e2el", true)] {
                for (metric, y) in [
                    ("tpPerGpu", "tput"),
                    ("tpPerMw", "tpmw"),
                    ("costh", "cost"),
                    ("costn", "cost"),
                    ("costr", "cost"),
                ] {
                    // The figures name the frontier each y metric is drawn with.
                    let basis = figures["metrics"]["y"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|m| m["key"] == y)
                        .unwrap()["frontier"]
                        .as_str()
                        .unwrap();
                    let on: Vec<&Value> = s["frontiers"][x][basis]
                        .as_array()
                        .unwrap()
                        .iter()
                        .collect();
                    for id in s["points"].as_array().unwrap() {
                        let q = record(id);
                        assert_eq!(q.hw_key, s["key"], "one hardware key per series");
                        let flags = if roofs { &q.roof_e2e } else { &q.roof };
                        assert_eq!(
                            on.contains(&id),
                            flags[metric],
                            "{} {}/{} {} {metric} against {x}: {q:?}",
                            q.model,
                            q.isl,
                            q.osl,
                            q.hw_key
                        );
                        checked += 1;
                    }
                }
            }
        }
    }
    assert_eq!(views, 9);
    assert_eq!(checked, 13_930, "every flag of the 18 files");
}

#[test]
fn agentic_views_carry_their_figures_and_frontiers_against_e2e_normalised_interactivity() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join(
        "../servebench-store/tests/fixtures/inferencex/qwen3.5_tp8_conc32_kvnone_fp8_sglang_tp8-pp1-dcp1-pcp1-ep1-dpafalse_disagg-false_spec-none_conc32_b300-nv_0.json",
    );
    let row: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    // The same deployment offloading to CPU memory: faster per user at P90, less per GPU.
    let mut dram = row.clone();
    dram["kv_offloading"] = "dram".into();
    dram["kv_offload_backend"] = json!({"name": "hicache"});
    dram["request_metrics"]["latency"]["e2e_norm_intvty"]["p90"] = 18.5.into();
    dram["request_metrics"]["throughput"]["per_gpu"]["total_tput_tps"] = 4000.0.into();
    let d = tempfile::tempdir().unwrap();
    let agg = d.path().join("agg_bmk.json");
    std::fs::write(&agg, serde_json::to_vec(&json!([row, dram])).unwrap()).unwrap();
    let url = format!("sqlite:{}", d.path().join("s.db").display());
    let points = import::inferencex_agg(&agg).unwrap();
    let run = servebench_store::Run {
        key: "ix".into(),
        started_at: "2026-08-21".into(),
        who: String::new(),
        recipes_commit: None,
        executor: "inferencex".into(),
        source: servebench_store::Source::Reference,
    };
    Store::open(&url).unwrap().ingest(&run, &points).unwrap();
    let addr = start(&url);
    let index = get(&addr, "/api/v1/index.json");
    let v = index["views"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["isl"] == 0 && v["osl"] == 0)
        .expect("an agentic view");
    let path = v["path"].as_str().unwrap();
    let view = get(&addr, &format!("/api/v1/{path}"));
    let rows = published::point_rows(&view);
    let mut p90: Vec<f64> = rows
        .iter()
        .map(|p| p["agentic"]["e2e_norm_intvty_p90"].as_f64().unwrap())
        .collect();
    p90.sort_by(f64::total_cmp);
    assert_eq!(p90, [14.6021, 18.5]);
    // One b300 series: each point is best on one side, so both are on the frontier.
    let figures = get(
        &addr,
        &format!(
            "/api/v1/{}",
            path.replace("views/", "figures/")
                .replace(".json", "/hwkey.json")
        ),
    );
    let series = &figures["series"].as_array().unwrap()[0];
    let on = series["frontiers"]["e2enorm"]["tput"].as_array().unwrap();
    assert_eq!(on.len(), 2, "{series}");
    // The cache-hit rates ride along for the tooltips and point pages.
    let theory: Vec<f64> = rows
        .iter()
        .map(|p| p["agentic"]["theoretical_hit_rate"].as_f64().unwrap())
        .collect();
    assert_eq!(theory, [0.91223, 0.91223]);
}
