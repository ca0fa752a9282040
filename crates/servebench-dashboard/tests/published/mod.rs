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
