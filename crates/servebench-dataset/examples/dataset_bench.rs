//! Build time, storage and `request()` cost of a random dataset.
//!
//! `cargo run --release -p servebench-dataset --example dataset_bench -- [N] [ISL] [THREADS] [ENCODING]`
//! (defaults: 20480 1024 2 cl100k_base).

use servebench_core::Api;
use servebench_dataset::{Dataset, DatasetKind, DatasetSpec};
use servebench_tokenizer::Tokenizer;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |k: usize, d: &str| args.get(k).cloned().unwrap_or_else(|| d.to_string());
    let n: usize = arg(0, "20480").parse().expect("N");
    let isl: u32 = arg(1, "1024").parse().expect("ISL");
    let threads: usize = arg(2, "2").parse().expect("THREADS");
    let enc = arg(3, "cl100k_base");

    let t = Instant::now();
    let tok = Tokenizer::builtin(&enc).expect("encoding");
    println!("tokenizer {enc} loaded in {:?}", t.elapsed());

    let spec = DatasetSpec {
        kind: DatasetKind::Random,
        path: None,
        isl,
        osl: 1024,
        osl_override: false,
        range_ratio: 0.8,
        seed: 0,
        num_prompts: n,
        num_warmups: 0,
        api: Api::Completions,
    };
    let t = Instant::now();
    let ds = Dataset::build(&spec, &tok, threads).expect("build");
    let build = t.elapsed();
    let s = ds.storage();
    println!(
        "built {n} x ISL {isl} on {threads} threads in {build:?} ({:.0} prompts/s)",
        n as f64 / build.as_secs_f64()
    );
    println!(
        "storage: {s:?}; {:.1} heap bytes/prompt, {:.1} recipe bytes/prompt",
        s.heap_bytes as f64 / n as f64,
        s.recipe_bytes as f64 / n as f64
    );
    println!("input lengths: {:?}", ds.input_lengths());

    // request(): replay every prompt a few times.
    let mut bytes = 0usize;
    let rounds = 3;
    let t = Instant::now();
    for _ in 0..rounds {
        for i in 0..ds.len() {
            bytes += ds.request(i).prompt.as_str().len();
        }
    }
    let per = t.elapsed() / (rounds * ds.len()) as u32;
    println!(
        "request(): {per:?} per call (mean prompt {:.0} bytes)",
        bytes as f64 / (rounds * ds.len()) as f64
    );

    let t = Instant::now();
    assert_eq!(ds.recompute_sha256(), ds.sha256());
    println!("recompute_sha256 over {n} prompts: {:?}", t.elapsed());
}
