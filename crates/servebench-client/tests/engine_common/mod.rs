//! What the tests of `bench` against the simulated engine in real time share: one InferenceX
//! point (10 × concurrency requests after 2 × concurrency warmups) with the client's tokenizer,
//! and the request lengths it sent, to replay in virtual time.

use servebench_client::runner::Progress;
use servebench_client::{Bench, BenchOptions};
use servebench_core::result::BenchResult;
use std::sync::Arc;
use std::time::Duration;

/// One point of `isl`/`osl` tokens at `conc` against `url`, per GPU over `gpus`.
pub fn bench_point(url: &str, isl: u32, osl: u32, conc: usize, gpus: u32) -> BenchResult {
    let bench = Bench::prepare(BenchOptions {
        base_url: url.parse().unwrap(),
        model: "servebench-sim".into(),
        isl,
        osl,
        concurrency: vec![conc],
        tokenizer: Some("cl100k_base".into()),
        tokenize_probe: 0,
        num_gpus: Some(gpus),
        request_timeout: Duration::from_secs(60),
        idle_timeout: Duration::from_secs(30),
        ..Default::default()
    })
    .unwrap();
    let point = bench.points()[0];
    let ds = bench.dataset(point).unwrap();
    bench
        .run_point(point, ds, Arc::new(Progress::default()))
        .result
}

/// The (input, output) lengths of the requests the client completed, in its order.
pub fn lengths(r: &BenchResult) -> Vec<(u64, u64)> {
    r.input_lens
        .iter()
        .copied()
        .zip(r.output_lens.iter().copied())
        .collect()
}
