//! Trace files (`servebench_dataset::trace::read`): the first byte picks the format (InferenceX's
//! agentic corpus, Mooncake, servebench's own sessions), the rest is the file. No panic; a
//! session read is written back in servebench's own format and read again unchanged; its
//! theoretical hit blocks never exceed its blocks.
#![no_main]

use libfuzzer_sys::fuzz_target;
use servebench_dataset::trace::{read, Format};
use servebench_fuzz::write;

fuzz_target!(|data: &[u8]| {
    let Some((&which, contents)) = data.split_first() else {
        return;
    };
    let format = match which % 3 {
        0 => Format::Weka,
        1 => Format::Mooncake,
        _ => Format::Sessions,
    };
    let file = write("trace/in.jsonl", contents);
    let Ok(sessions) = read(&file, format) else {
        return;
    };
    for s in sessions.flatten() {
        let (hits, total) = s.theoretical_hit_blocks();
        assert!(hits <= total);
        let again = write(
            "trace/again.jsonl",
            format!("{}\n", s.to_json_line()).as_bytes(),
        );
        let back: Vec<_> = read(&again, Format::Sessions).unwrap().collect();
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].as_ref().unwrap(), &s, "round trip");
    }
});
