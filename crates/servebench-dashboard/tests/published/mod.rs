//! The published InferenceMAX v1 record of a point as the dashboard's API serves it (shared by
//! the API test and the browser test).

use serde_json::Value;
use servebench_published::DashboardPoint;

/// The published point of view `(model, isl, osl)` that the API's `point` (with its `config`
/// entry) stands for: same deployment (accelerator, engine, speculative method, precision, TP)
/// and concurrency.
pub fn record<'a>(
    published: &'a [DashboardPoint],
    (model, isl, osl): (&str, u64, u64),
    config: &Value,
    point: &Value,
) -> &'a DashboardPoint {
    let tp: u32 = config["topology"].as_str().unwrap()[2..].parse().unwrap();
    published
        .iter()
        .find(|q| {
            (q.model.as_str(), q.isl, q.osl) == (model, isl, osl)
                && q.accelerator == config["hardware"]
                && q.engine == config["engine"]
                && q.spec_decoding == config["spec_decoding"]
                && q.precision == config["precision"]
                && q.tp == tp
                && q.conc as u64 == point["conc"].as_u64().unwrap()
        })
        .unwrap_or_else(|| panic!("no published point for {config} {point}"))
}

/// The points of a served view (`views/<slug>.json`, one array per field) as one object per
/// point: `id`, `config`, `source`, `run` (its key), `run_started_at`, `conc`, `num_gpus`,
/// `image`, every metric by name, `y` (each y metric by key), `simulated`, `agentic`, `detail`.
pub fn point_rows(view: &Value) -> Vec<Value> {
    let c = &view["points"];
    let n = c["n"].as_u64().unwrap() as usize;
    (0..n)
        .map(|i| {
            let mut p = serde_json::Map::new();
            for k in [
                "id",
                "config",
                "source",
                "conc",
                "num_gpus",
                "completed",
                "failed",
            ] {
                assert_eq!(c[k].as_array().unwrap().len(), n, "column {k}");
                p.insert(k.into(), c[k][i].clone());
            }
            let run = &view["runs"][c["run"][i].as_u64().unwrap() as usize];
            p.insert("run".into(), run["key"].clone());
            p.insert("run_started_at".into(), run["started_at"].clone());
            p.insert(
                "image".into(),
                match c["image"][i].as_u64() {
                    Some(k) => view["images"][k as usize].clone(),
                    None => Value::Null,
                },
            );
            for (k, col) in c["metrics"].as_object().unwrap() {
                assert_eq!(col.as_array().unwrap().len(), n, "metric {k}");
                p.insert(k.clone(), col[i].clone());
            }
            let y: serde_json::Map<String, Value> = c["y"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, col)| (k.clone(), col[i].clone()))
                .collect();
            p.insert("y".into(), Value::Object(y));
            let key = i.to_string();
            p.insert("simulated".into(), c["simulated"][&key].clone());
            p.insert("agentic".into(), c["agentic"][&key].clone());
            p.insert(
                "detail".into(),
                format!("points/{}.json", c["id"][i]).into(),
            );
            Value::Object(p)
        })
        .collect()
}
