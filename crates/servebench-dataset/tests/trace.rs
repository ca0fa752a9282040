//! Trace files read into sessions: InferenceX's agentic corpus format (as its builder writes
//! it and AIPerf reads it), Mooncake's, and servebench's own, with errors naming file, line and
//! field.

use servebench_dataset::trace::{read, Format, Session, Subagent, Turn};
use servebench_dataset::DatasetError;
use std::path::Path;

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn all(path: &Path, f: Format) -> Result<Vec<Session>, DatasetError> {
    read(path, f)?.collect()
}

/// A session as InferenceX's `proxy_to_weka.py` writes one (fields from its schema): three
/// main turns, a subagent of two requests started between the first and second, and fields
/// the replay does not use.
const WEKA: &str = r#"{"id": "sess-a", "models": ["claude-opus"], "block_size": 64, "hash_id_scope": "local", "requests": [{"type": "s", "t": 0.0, "model": "claude-opus", "in": 100, "out": 20, "hash_ids": [0, 1], "api_time": 2.5, "ttft": 0.4}, {"type": "subagent", "t": 3.0, "agent_id": "explore_001", "subagent_type": "Subagent", "duration_ms": 4000, "total_tokens": 300, "tool_use_count": null, "status": "completed", "models": ["claude-haiku"], "requests": [{"type": "n", "t": 3.0, "model": "claude-haiku", "in": 130, "out": 10, "hash_ids": [0, 1, 4], "api_time": 1.0}, {"type": "n", "t": 5.0, "model": "claude-haiku", "in": 150, "out": 10, "hash_ids": [0, 1, 4], "api_time": 1.0, "think_time": 1.0}]}, {"type": "s", "t": 8.0, "model": "claude-opus", "in": 250, "out": 30, "hash_ids": [0, 1, 2, 3], "api_time": 3.0, "think_time": 5.5}, {"type": "n", "t": 12.0, "model": "claude-opus", "in": 300, "out": 5, "hash_ids": [0, 1, 2, 3, 5], "api_time": 1.0, "think_time": 1.0, "input_types": ["tool_result"]}]}
"#;

fn turn(
    start: f64,
    input: u32,
    output: u32,
    ids: &[u64],
    think: Option<f64>,
    streaming: bool,
) -> Turn {
    Turn {
        start,
        input_tokens: input,
        output_tokens: output,
        hash_ids: ids.to_vec(),
        think_time: think,
        duration: None,
        streaming,
    }
}

#[test]
fn inferencex_agentic_traces_read_into_sessions_with_their_subagents() {
    let d = tempfile::tempdir().unwrap();
    let f = write(d.path(), "traces.jsonl", &format!("{WEKA}\n{WEKA}"));
    let s = all(&f, Format::Weka).unwrap();
    assert_eq!(s.len(), 2);
    let mut expected = Session {
        id: "sess-a".into(),
        block_size: 64,
        shared_blocks: false,
        turns: vec![
            turn(0.0, 100, 20, &[0, 1], None, true),
            turn(8.0, 250, 30, &[0, 1, 2, 3], Some(5.5), true),
            turn(12.0, 300, 5, &[0, 1, 2, 3, 5], Some(1.0), false),
        ],
        subagents: vec![Subagent {
            id: "explore_001".into(),
            start: 3.0,
            // Forked after the first main turn (the last one started before it).
            after_turn: Some(0),
            turns: vec![
                turn(3.0, 130, 10, &[0, 1, 4], None, false),
                turn(5.0, 150, 10, &[0, 1, 4], Some(1.0), false),
            ],
        }],
    };
    // The recorded `api_time`s.
    for (t, d) in expected.turns.iter_mut().zip([2.5, 3.0, 1.0]) {
        t.duration = Some(d);
    }
    for t in &mut expected.subagents[0].turns {
        t.duration = Some(1.0);
    }
    assert_eq!(s[0], expected);
    // In start order: [0,1] 0 of 2 cached; [0,1,4] 2 of 3; [0,1,4] 3 of 3; [0,1,2,3] 2 of 4;
    // [0,1,2,3,5] 4 of 5: 11 of 17 blocks (hand-counted).
    assert_eq!(s[0].theoretical_hit_blocks(), (11, 17));
}

#[test]
fn servebench_sessions_round_trip() {
    let d = tempfile::tempdir().unwrap();
    let f = write(d.path(), "t.jsonl", WEKA);
    let original = all(&f, Format::Weka).unwrap().remove(0);
    let own = write(
        d.path(),
        "own.jsonl",
        &format!("{}\n", original.to_json_line()),
    );
    assert_eq!(all(&own, Format::Sessions).unwrap(), [original]);
}

#[test]
fn mooncake_requests_are_one_turn_sessions_at_their_timestamps() {
    let d = tempfile::tempdir().unwrap();
    let f = write(
        d.path(),
        "mooncake.jsonl",
        "{\"timestamp\": 0, \"input_length\": 6955, \"output_length\": 52, \"hash_ids\": [46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59]}\n\n{\"timestamp\": 27482, \"input_length\": 6472, \"output_length\": 26, \"hash_ids\": [46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 60]}\n",
    );
    let s = all(&f, Format::Mooncake).unwrap();
    assert_eq!(s.len(), 2);
    assert_eq!((s[0].id.as_str(), s[1].id.as_str()), ("line-1", "line-3"));
    assert_eq!(s[1].turns[0].start, 27.482);
    assert_eq!(s[1].block_size, 512);
    assert_eq!(s[1].turns[0].hash_ids.len(), 13);
    // Mooncake's ids are global: written in servebench's format they stay shared.
    assert!(s[0].shared_blocks);
    let own = write(d.path(), "own.jsonl", &format!("{}\n", s[0].to_json_line()));
    let back = all(&own, Format::Sessions).unwrap();
    assert!(back[0].shared_blocks);
    assert_eq!(back, [s[0].clone()]);
}

/// Each problem names the file, its line and the field, and what was expected.
#[test]
fn bad_lines_name_file_line_and_field() {
    let d = tempfile::tempdir().unwrap();
    let cases = [
        (Format::Weka, WEKA.replace("[0, 1, 4], \"api_time\": 1.0}, {", "[0, 1, -4], \"api_time\": 1.0}, {"), "requests[1].requests[0].hash_ids[2]: expected a block id (a whole number ≥ 0), got -4"),
        (Format::Weka, WEKA.replace("\"block_size\": 64, ", ""), "missing \"block_size\""),
        (Format::Weka, WEKA.replace("\"type\": \"s\", \"t\": 8.0", "\"type\": \"x\", \"t\": 8.0"), "requests[2].type: expected \"n\", \"s\" or \"subagent\", got \"x\""),
        (Format::Weka, WEKA.replace("\"in\": 250", "\"in\": 500"), "requests[2]: 500 input tokens do not fill 4 blocks of 64 (expected 193 to 256)"),
        (Format::Weka, WEKA.replace("\"t\": 12.0", "\"t\": -1"), "requests[3].t: expected a number of seconds ≥ 0, got -1"),
        (Format::Weka, "[1, 2]".into(), "expected an object, got an array"),
        (Format::Weka, "{\"id\": ".into(), "invalid JSON"),
        (Format::Mooncake, "{\"timestamp\": 5, \"input_length\": 10, \"hash_ids\": [1]}".into(), "missing \"output_length\""),
        (Format::Sessions, "{\"id\": \"a\", \"block_size\": 64, \"turns\": [], \"subagents\": [{\"id\": \"s\", \"after\": 3, \"turns\": []}]}".into(), "subagents[0].after: expected a turn index below 0, got 3"),
    ];
    for (format, line, says) in cases {
        let f = write(d.path(), "bad.jsonl", &format!("\n{line}\n"));
        let e = all(&f, format).unwrap_err().to_string();
        let at = format!("{}:2: ", f.display());
        assert!(
            e.starts_with(&at) && e.contains(says),
            "{e}\nexpected {at}…{says}"
        );
    }
    // Not UTF-8.
    let f = d.path().join("bin.jsonl");
    std::fs::write(&f, b"\xff\xfe\n").unwrap();
    let e = all(&f, Format::Weka).unwrap_err().to_string();
    assert!(e.contains("bin.jsonl:1: not UTF-8"), "{e}");
    // A file that is not there.
    let e = all(&d.path().join("none.jsonl"), Format::Weka)
        .unwrap_err()
        .to_string();
    assert!(e.contains("none.jsonl"), "{e}");
}

#[test]
fn block_text_shares_exactly_the_prefixes_the_block_ids_share() {
    use servebench_dataset::blocks::BlockText;
    let tok = servebench_tokenizer::Tokenizer::builtin("cl100k_base").unwrap();
    let bt = BlockText::new(&tok).unwrap();
    let text = |salt, ids: &[u64], n| {
        let mut s = String::new();
        bt.write(&mut s, salt, ids, 64, n);
        s
    };
    let t0 = text(7, &[1, 2, 3], 150);
    let t1 = text(7, &[1, 2, 3, 4], 250);
    let other = text(7, &[1, 5, 3], 150);
    // n words are n tokens.
    assert_eq!(tok.encode(&t0).len(), 150);
    assert_eq!(tok.encode(&t1).len(), 250);
    // Turn 1 extends turn 0 (whose last block is cut at 22 of 64 words).
    assert!(t1.starts_with(&t0));
    let (e0, e1, eo) = (tok.encode(&t0), tok.encode(&t1), tok.encode(&other));
    assert_eq!(e1[..150], e0[..]);
    // A different second block: the first 64 tokens are shared, then they differ.
    assert_eq!(eo[..64], e0[..64]);
    assert_ne!(eo[64..128], e0[64..128]);
    // Another salt (another play): nothing shared.
    let replayed = tok.encode(&text(8, &[1, 2, 3], 150));
    let common = replayed.iter().zip(&e0).take_while(|(a, b)| a == b).count();
    assert!(common < 4, "{common} leading tokens shared across salts");
    // Written range by range (a chat history's messages), the same words in the same order.
    let mut pieces = String::new();
    for r in [0..10, 10..64, 64..100, 100..250] {
        let mut part = String::new();
        bt.write_range(&mut part, 7, &[1, 2, 3, 4], 64, r.clone());
        assert_eq!(tok.encode(&part).len(), r.len(), "{r:?}");
        pieces.push_str(&part);
    }
    assert_eq!(pieces, t1);
}

#[test]
fn formats_parse_by_name_and_sessions_keep_the_recorded_duration() {
    assert_eq!("weka".parse::<Format>(), Ok(Format::Weka));
    assert_eq!("mooncake".parse::<Format>(), Ok(Format::Mooncake));
    assert_eq!("sessions".parse::<Format>(), Ok(Format::Sessions));
    assert!("aiperf".parse::<Format>().unwrap_err().contains("'weka'"));
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("w.jsonl");
    std::fs::write(
        &p,
        r#"{"id":"x","block_size":64,"requests":[{"type":"s","t":0.5,"in":70,"out":9,"hash_ids":[4,5],"api_time":2.25}]}"#,
    )
    .unwrap();
    let s = read(&p, Format::Weka).unwrap().next().unwrap().unwrap();
    assert_eq!(s.turns[0].duration, Some(2.25));
    assert!(!s.shared_blocks);
    let own = dir.path().join("own.jsonl");
    std::fs::write(&own, s.to_json_line() + "\n").unwrap();
    let back = read(&own, Format::Sessions)
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    assert_eq!(back, s);
}

#[test]
fn sharegpt_conversations_become_sessions_of_growing_context() {
    let d = tempfile::tempdir().unwrap();
    let f = write(
        d.path(),
        "sharegpt.json",
        r#"[
  {"id": "a", "conversations": [
    {"from": "human", "value": "Tell me about prefix caching in serving engines."},
    {"from": "gpt", "value": "It keeps the KV cache of prompt blocks for later requests."},
    {"from": "human", "value": "And when is it evicted?"},
    {"from": "gpt", "value": "When memory runs out, least recently used first."}]},
  {"id": "b", "conversations": [
    {"from": "human", "value": "Tell me about prefix caching in serving engines."},
    {"from": "gpt", "value": "Something else entirely, as it happens."}]},
  {"conversations": [{"from": "gpt", "value": "No question before me."}]}
]"#,
    );
    let tok = servebench_tokenizer::Tokenizer::builtin("cl100k_base").unwrap();
    let n = |s: &str| tok.count(s) as u32;
    let (q0, a0, q1, a1) = (
        "Tell me about prefix caching in serving engines.",
        "It keeps the KV cache of prompt blocks for later requests.",
        "And when is it evicted?",
        "When memory runs out, least recently used first.",
    );
    let mut got = Vec::new();
    let rows = servebench_dataset::sharegpt_sessions(&f, &tok, 2, &mut |s| {
        got.push(s);
        Ok(())
    })
    .unwrap();
    assert_eq!(rows, 3);
    // The third has no human turn before its reply: left out.
    assert_eq!(got.len(), 2);
    let a = &got[0];
    assert_eq!(
        (a.id.as_str(), a.block_size, a.shared_blocks),
        ("a", 2, true)
    );
    let lens: Vec<(u32, u32)> = a
        .turns
        .iter()
        .map(|t| (t.input_tokens, t.output_tokens))
        .collect();
    // The second prompt is the whole conversation before its reply.
    assert_eq!(lens, [(n(q0), n(a0)), (n(q0) + n(a0) + n(q1), n(a1))]);
    for t in &a.turns {
        assert_eq!(
            t.hash_ids.len() as u32,
            t.input_tokens.div_ceil(2),
            "every token's block"
        );
    }
    // The second turn resends the first's full blocks; the other conversation shares the
    // question.
    let (t0, t1) = (&a.turns[0].hash_ids, &a.turns[1].hash_ids);
    let full = (n(q0) / 2) as usize;
    assert_eq!(t1[..full], t0[..full]);
    let b0 = &got[1].turns[0].hash_ids;
    assert_eq!(b0[..], t0[..]);
    // As a trace, an unbounded cache hits every block a later turn resends (the first turn's
    // partial last block is not resent as it was: its tokens continue differently).
    let partial = t0.len() - full;
    assert_eq!(
        a.theoretical_hit_blocks(),
        (full as u64, (t0.len() + t1.len()) as u64)
    );
    assert!(partial <= 1);

    // A bad turn is named.
    let bad = write(
        d.path(),
        "bad.json",
        r#"[{"conversations": [{"from": "human", "value": 7}]}]"#,
    );
    let e = servebench_dataset::sharegpt_sessions(&bad, &tok, 2, &mut |_| Ok(()))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("bad.json: entry 0")
            && e.contains("conversations[0].value\": expected a string"),
        "{e}"
    );
}
