//! InferenceX aggregated results (`servebench_store::import::inferencex_agg_row` on each row
//! of a JSON value, and `inferencex_agg` on the file), and `vllm bench serve` results
//! (`bench_results`) from the same bytes. No panic; the file importer agrees with the rows.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use servebench_fuzz::write;
use servebench_store::import::{bench_results, inferencex_agg, inferencex_agg_row, Deployment};
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let file = Path::new("agg_bmk.json");
    let rows: Option<Vec<Value>> = match serde_json::from_slice::<Value>(data) {
        Ok(Value::Array(a)) => Some(a),
        Ok(v @ Value::Object(_)) => Some(vec![v]),
        _ => None,
    };
    let mut all_ok = rows.is_some();
    for row in rows.iter().flatten() {
        match inferencex_agg_row(row, file) {
            Ok(p) => {
                let _ = p.config.natural_key();
                let _ = serde_json::to_vec(&p).expect("a point serialises");
            }
            Err(_) => all_ok = false,
        }
    }
    let path = write("agg/agg_bmk.json", data);
    let from_file = inferencex_agg(&path);
    assert_eq!(from_file.is_ok(), all_ok, "file and row importers disagree");
    let d = Deployment {
        hardware: "h200".into(),
        engine: "vllm".into(),
        precision: "fp8".into(),
        topology: "tp8".into(),
        num_gpus: 8,
        isl: 1024,
        osl: 1024,
    };
    if let Ok(points) = bench_results(&path, &d) {
        for p in &points {
            let _ = serde_json::to_vec(p).expect("a point serialises");
        }
    }
});
