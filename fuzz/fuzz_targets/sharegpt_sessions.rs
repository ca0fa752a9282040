//! ShareGPT conversations as sessions (`servebench_dataset::sharegpt_sessions`, cl100k_base):
//! the first byte picks the block size, the rest is the file. No panic; every turn's blocks
//! cover its prompt, each turn's prompt is longer than the one before, and a session written in
//! servebench's own format reads back unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use servebench_dataset::trace::{read, Format};
use servebench_fuzz::{dataset::tokenizer, write};

fuzz_target!(|data: &[u8]| {
    let Some((&b, contents)) = data.split_first() else {
        return;
    };
    let block = u32::from(b % 64) + 1;
    let file = write("sharegpt/in.json", contents);
    let mut sessions = Vec::new();
    let _ = servebench_dataset::sharegpt_sessions(&file, tokenizer(), block, &mut |s| {
        sessions.push(s);
        Ok(())
    });
    for s in sessions {
        let mut before = 0;
        for t in &s.turns {
            assert_eq!(t.hash_ids.len() as u32, t.input_tokens.div_ceil(block));
            assert!(t.input_tokens >= before, "contexts only grow");
            before = t.input_tokens;
        }
        let again = write(
            "sharegpt/again.jsonl",
            format!("{}\n", s.to_json_line()).as_bytes(),
        );
        let back: Vec<_> = read(&again, Format::Sessions).unwrap().collect();
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].as_ref().unwrap(), &s, "round trip");
    }
});
