//! One SSE `data:` payload of an OpenAI-compatible stream (`servebench_client::chunk::parse`):
//! no panic; the result does not depend on whether the text is captured; the captured text is
//! no longer than the raw output bytes counted, and valid UTF-8 when the payload is.
//!
//! With `SERVEBENCH_FUZZ_STRICT_JSON=1`, also: a payload the walker accepts is JSON that
//! serde_json accepts (the walker's doc says it validates the full JSON syntax). Known
//! differences are reported, not fixed, so this is off by default.
#![no_main]

use libfuzzer_sys::fuzz_target;
use servebench_client::chunk::{parse, Chunk};
use std::sync::OnceLock;

fn strict() -> bool {
    static S: OnceLock<bool> = OnceLock::new();
    *S.get_or_init(|| std::env::var_os("SERVEBENCH_FUZZ_STRICT_JSON").is_some_and(|v| v == "1"))
}

fuzz_target!(|data: &[u8]| {
    let plain = parse(data, None);
    let mut text = Vec::new();
    let captured = parse(data, Some(&mut text));
    assert_eq!(plain, captured, "capturing text changed the result");
    match captured {
        Ok(Chunk::Done) => assert!(text.is_empty()),
        Ok(Chunk::Data(info)) => {
            assert!(
                text.len() <= info.output_bytes as usize,
                "unescaped text ({}) longer than the raw output bytes ({})",
                text.len(),
                info.output_bytes
            );
            if std::str::from_utf8(data).is_ok() {
                assert!(
                    std::str::from_utf8(&text).is_ok(),
                    "captured text of a UTF-8 payload is not UTF-8"
                );
            }
            if strict() {
                let ok = serde_json::from_slice::<serde_json::Value>(data.trim_ascii());
                assert!(ok.is_ok(), "walker accepted what serde_json refuses: {ok:?}");
            }
        }
        Err(e) => {
            assert!(e.offset <= data.len(), "error offset past the end");
            assert!(text.len() <= data.len());
        }
    }
});
