//! InferenceX result rows (`servebench_store::import::inferencex_agg_row` and
//! `inferencex_eval_row` on each row of a JSON value; `inferencex_agg`, `inferencex_eval_agg`,
//! `inferencex_file` and `inferencex_by_content` on the file), and `vllm bench serve` results
//! (`bench_results`) from the same bytes. No panic; the file importers agree with the rows.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use servebench_fuzz::write;
use servebench_store::import::{
    bench_results, inferencex_agg, inferencex_agg_row, inferencex_by_content, inferencex_eval_agg,
    inferencex_eval_row, inferencex_file, Deployment, RowKind,
};
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let file = Path::new("agg_bmk.json");
    let rows: Option<Vec<Value>> = match serde_json::from_slice::<Value>(data) {
        Ok(Value::Array(a)) => Some(a),
        Ok(v @ Value::Object(_)) => Some(vec![v]),
        _ => None,
    };
    let (mut bmk_ok, mut evals_ok) = (rows.is_some(), rows.is_some());
    let (mut points, mut skipped) = (0, 0);
    for row in rows.iter().flatten() {
        match inferencex_agg_row(row, file) {
            Ok(Some(p)) => {
                points += 1;
                let _ = p.config.natural_key();
                let _ = serde_json::to_vec(&p).expect("a point serialises");
            }
            Ok(None) => skipped += 1,
            Err(_) => bmk_ok = false,
        }
        match inferencex_eval_row(row, file) {
            Ok(e) => {
                assert_eq!(e.data_sha256.len(), 64);
                let _ = serde_json::to_vec(&e).expect("an eval serialises");
            }
            Err(_) => evals_ok = false,
        }
    }
    let all_evals = rows
        .as_ref()
        .is_some_and(|r| !r.is_empty() && r.iter().all(|r| RowKind::of(r) == RowKind::Eval));
    let path = write("agg/agg_bmk.json", data);
    let from_file = inferencex_agg(&path);
    assert_eq!(from_file.is_ok(), bmk_ok, "file and row importers disagree");
    if let Ok(p) = &from_file {
        assert_eq!(p.len(), points);
    }
    let evals_path = write("agg/agg_eval_all.json", data);
    assert_eq!(
        inferencex_eval_agg(&evals_path).is_ok(),
        evals_ok,
        "eval file and row importers disagree"
    );
    // Whichever kind the file holds, the same answer by name and by content.
    let any = inferencex_file(&path);
    assert_eq!(any.is_ok(), if all_evals { evals_ok } else { bmk_ok });
    if let Ok(ix) = &any {
        if all_evals {
            assert!(ix.points.is_empty() && ix.skipped.is_empty());
        } else {
            assert_eq!(
                (ix.points.len(), ix.skipped.len(), ix.evals.len()),
                (points, skipped, 0)
            );
        }
    }
    if let Ok(Some(ix)) = inferencex_by_content(&path) {
        assert_eq!(Ok(&ix), any.as_ref().map_err(|_| ()));
    }
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
