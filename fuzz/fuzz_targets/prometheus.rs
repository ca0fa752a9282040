//! A server's `/metrics` (Prometheus text format: llama.cpp, vLLM, SGLang), as the sweep reads
//! it (`servebench_core::server_metrics::parse`). No panic; every sample has a name without
//! surrounding whitespace; deterministic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use servebench_core::server_metrics::parse as parse_prometheus;

fuzz_target!(|data: &[u8]| {
    // The sweep reads the body lossily (`String::from_utf8_lossy`).
    let text = String::from_utf8_lossy(data);
    let m = parse_prometheus(&text);
    for k in m.keys() {
        assert!(!k.is_empty(), "a sample without a name");
        assert_eq!(k.trim(), k.as_str(), "a sample name with surrounding whitespace");
    }
    assert!(m.len() <= text.lines().count());
    let again = parse_prometheus(&text);
    assert_eq!(m.len(), again.len());
});
