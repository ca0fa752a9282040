#![allow(dead_code)]

/// The tokenizer crate's own tiny tokenizer.json writers, shared rather than copied.
#[path = "../../../servebench-tokenizer/tests/common/mod.rs"]
pub mod tok_files;

use servebench_core::Api;
use servebench_dataset::{Dataset, DatasetKind, DatasetSpec, Prompt};
use servebench_tokenizer::Tokenizer;
use std::path::PathBuf;

pub fn cl100k() -> Tokenizer {
    Tokenizer::builtin("cl100k_base").unwrap()
}

pub fn random_spec(isl: u32, osl: u32, ratio: f64, seed: u64, n: usize, w: usize) -> DatasetSpec {
    DatasetSpec {
        kind: DatasetKind::Random,
        path: None,
        isl,
        osl,
        osl_override: false,
        range_ratio: ratio,
        seed,
        num_prompts: n,
        num_warmups: w,
        api: Api::Completions,
    }
}

pub fn file_spec(kind: DatasetKind, path: PathBuf, n: usize, w: usize) -> DatasetSpec {
    DatasetSpec {
        kind,
        path: Some(path),
        isl: 0,
        osl: 100,
        osl_override: false,
        range_ratio: 1.0,
        seed: 0,
        num_prompts: n,
        num_warmups: w,
        api: Api::Completions,
    }
}

pub fn text(p: &Prompt<'_>) -> String {
    match p {
        Prompt::Text(t) => t.to_string(),
        Prompt::Messages(m) => panic!("expected a text prompt, got messages {m}"),
    }
}

pub fn measured_texts(ds: &Dataset) -> Vec<String> {
    (0..ds.len()).map(|i| text(&ds.request(i).prompt)).collect()
}

pub fn warmup_texts(ds: &Dataset) -> Vec<String> {
    (0..ds.warmup_len())
        .map(|j| text(&ds.warmup(j).prompt))
        .collect()
}

/// Asserts that every measured and warmup prompt re-encodes to its recorded input_len,
/// checking on several threads.
pub fn assert_counts_exact(ds: &Dataset, tok: &Tokenizer) {
    let total = ds.len() + ds.warmup_len();
    let threads = 4;
    std::thread::scope(|s| {
        for t in 0..threads {
            s.spawn(move || {
                for k in (t..total).step_by(threads) {
                    let r = if k < ds.len() {
                        ds.request(k)
                    } else {
                        ds.warmup(k - ds.len())
                    };
                    assert_eq!(
                        tok.count(r.prompt.as_str()) as u32,
                        r.input_len,
                        "request {k}"
                    );
                }
            });
        }
    });
}
