mod common;

use common::*;
use serde_json::{json, Value};
use servebench_core::Api;
use servebench_dataset::{Dataset, DatasetError, DatasetKind, Prompt};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// `k` cl100k tokens: "word word word ...".
fn words(k: usize) -> String {
    vec!["word"; k].join(" ")
}

fn turn(from: &str, value: &str) -> Value {
    json!({"from": from, "value": value})
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// Rows 0, 6, 7, 8 pass vLLM's filter; 2, 3, 4 pass only with an output length override.
fn sharegpt_file(dir: &Path) -> PathBuf {
    let rows = json!([
        {"id": "r0", "conversations": [turn("human", &words(10)), turn("gpt", &words(20))]},
        {"id": "r1", "conversations": [turn("human", &words(2)), turn("gpt", &words(20))]},
        {"id": "r2", "conversations": [turn("human", &words(11)), turn("gpt", &words(2))]},
        {"id": "r3", "conversations": [turn("human", &words(1100)), turn("gpt", &words(20))]},
        {"id": "r4", "conversations": [turn("human", &words(1000)), turn("gpt", &words(1100))]},
        {"id": "r5", "conversations": [turn("human", &words(30))]},
        {"id": "r6", "conversations": [turn("gpt", &words(5)), turn("human", &words(6)), turn("gpt", &words(8))]},
        {"id": "r7", "conversations": [{"role": "user", "content": words(12)}, {"role": "assistant", "content": words(5)}]},
        {"id": "r8", "conversations": [turn("system", "be nice"), turn("human", &words(7)), turn("gpt", &words(9)), turn("human", "more")]},
        {"id": "r9", "conversations": []},
    ]);
    write(
        dir,
        "sharegpt.json",
        &serde_json::to_string_pretty(&rows).unwrap(),
    )
}

fn all_requests(ds: &Dataset) -> Vec<(String, u32, u32)> {
    (0..ds.len())
        .map(|i| ds.request(i))
        .chain((0..ds.warmup_len()).map(|j| ds.warmup(j)))
        .map(|r| (text(&r.prompt), r.input_len, r.output_len))
        .collect()
}

#[test]
fn sharegpt_filters_like_vllm() {
    let dir = tempfile::tempdir().unwrap();
    let path = sharegpt_file(dir.path());
    let tok = cl100k();
    let ds = Dataset::build(&file_spec(DatasetKind::ShareGpt, path, 3, 1), &tok, 2).unwrap();
    let got: HashSet<(String, u32, u32)> = all_requests(&ds).into_iter().collect();
    let want: HashSet<(String, u32, u32)> = [(10, 20), (6, 8), (12, 5), (7, 9)]
        .into_iter()
        .map(|(p, o)| (words(p), p as u32, o as u32))
        .collect();
    assert_eq!(
        got, want,
        "4 usable rows, all used once (3 measured + 1 warmup)"
    );
    let st = ds.input_lengths();
    assert_eq!((st.count, st.mismatched), (3, 0));
    assert_eq!(ds.output_lengths().mismatched, 0);
    assert_eq!(ds.storage().recipe_prompts, 0);
}

#[test]
fn sharegpt_shuffles_with_the_seed_and_cycles() {
    let dir = tempfile::tempdir().unwrap();
    let path = sharegpt_file(dir.path());
    let tok = cl100k();
    let mut spec = file_spec(DatasetKind::ShareGpt, path, 4, 0);
    let order = |seed| {
        let mut s = spec.clone();
        s.seed = seed;
        let ds = Dataset::build(&s, &tok, 1).unwrap();
        (all_requests(&ds), ds.sha256().to_string())
    };
    assert_eq!(order(1), order(1));
    let orders: HashSet<Vec<(String, u32, u32)>> = (0..8).map(|s| order(s).0).collect();
    assert!(orders.len() > 1, "the seed does not change the order");

    // 10 measured + 3 warmups from 4 usable rows: cycle through them in order.
    spec.num_prompts = 10;
    spec.num_warmups = 3;
    let ds = Dataset::build(&spec, &tok, 2).unwrap();
    let reqs = all_requests(&ds);
    assert_eq!(reqs.len(), 13);
    for k in 4..13 {
        assert_eq!(reqs[k], reqs[k % 4], "request {k}");
    }
    assert_eq!(reqs[..4].iter().collect::<HashSet<_>>().len(), 4);
}

#[test]
fn sharegpt_output_override() {
    let dir = tempfile::tempdir().unwrap();
    let path = sharegpt_file(dir.path());
    let tok = cl100k();
    let mut spec = file_spec(DatasetKind::ShareGpt, path, 7, 0);
    spec.osl_override = true;
    spec.osl = 50;
    let ds = Dataset::build(&spec, &tok, 2).unwrap();
    let reqs = all_requests(&ds);
    let prompts: HashSet<u32> = reqs.iter().map(|r| r.1).collect();
    // Rows 2, 3 and 4 now pass too (only the prompt's minimum length applies).
    assert_eq!(
        prompts,
        [10, 11, 1100, 1000, 6, 12, 7].into_iter().collect()
    );
    assert!(reqs.iter().all(|r| r.2 == 50));
    let plain = Dataset::build(
        &file_spec(DatasetKind::ShareGpt, spec.path.clone().unwrap(), 7, 0),
        &tok,
        1,
    )
    .unwrap();
    assert_ne!(plain.sha256(), ds.sha256());
}

#[test]
fn sharegpt_errors_name_file_and_entry() {
    let dir = tempfile::tempdir().unwrap();
    let tok = cl100k();
    let build = |name: &str, content: &str| {
        let p = write(dir.path(), name, content);
        let e = Dataset::build(&file_spec(DatasetKind::ShareGpt, p.clone(), 2, 0), &tok, 1)
            .unwrap_err();
        (e.to_string(), p.display().to_string())
    };
    let ok_row = json!({"conversations": [turn("human", &words(5)), turn("gpt", &words(5))]});

    let bad = json!([ok_row, ok_row, {"conversations": [{"from": "human", "value": 5}, turn("gpt", "x")]}]);
    let (e, f) = build("bad_value.json", &bad.to_string());
    assert_eq!(
        e,
        format!("{f}: entry 2: field \"conversations[0].value\": expected a string, got a number")
    );

    let (e, f) = build(
        "bad_convs.json",
        &json!([ok_row, {"conversations": "hi"}]).to_string(),
    );
    assert_eq!(
        e,
        format!("{f}: entry 1: field \"conversations\": expected an array of turns, got a string")
    );

    let (e, f) = build(
        "bad_role.json",
        &json!([{"conversations": [{"from": 1, "value": "x"}]}]).to_string(),
    );
    assert_eq!(
        e,
        format!("{f}: entry 0: field \"conversations[0].from\": expected a string, got a number")
    );

    let (e, f) = build(
        "no_convs.json",
        &json!([ok_row, ok_row, ok_row, {"id": 3}]).to_string(),
    );
    assert_eq!(e, format!("{f}: entry 3: missing field \"conversations\""));

    let (e, f) = build(
        "syntax.json",
        &format!("[{ok_row}, {{\"conversations\": [}}]"),
    );
    assert!(
        e.starts_with(&format!("{f}: entry 1: invalid JSON: ")),
        "{e}"
    );

    let (e, f) = build("object.json", "{\"conversations\": []}");
    assert!(
        e.starts_with(&format!("{f}: expected a JSON array of conversations")),
        "{e}"
    );

    let (e, f) = build(
        "empty.json",
        &json!([{"conversations": [turn("human", "hi"), turn("gpt", "yo")]}]).to_string(),
    );
    assert!(
        e.starts_with(&format!("{f}: no usable conversations: 1 entries, 1 with")),
        "{e}"
    );

    let missing = dir.path().join("missing.json");
    let e = Dataset::build(
        &file_spec(DatasetKind::ShareGpt, missing.clone(), 1, 0),
        &tok,
        1,
    )
    .unwrap_err();
    assert!(matches!(e, DatasetError::Io { .. }));
    assert!(
        e.to_string().starts_with(&missing.display().to_string()),
        "{e}"
    );

    let mut spec = file_spec(DatasetKind::ShareGpt, missing, 1, 0);
    spec.path = None;
    let e = Dataset::build(&spec, &tok, 1).unwrap_err();
    assert!(e.to_string().contains("needs a dataset path"), "{e}");
}

#[test]
fn jsonl_happy_path_and_cycling() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "data.jsonl",
        "{\"prompt\": \"hello world\", \"output_len\": 7}\n\n  \n{\"prompt\": \"a b c\", \"max_tokens\": 3}\r\n{\"prompt\": \"default osl\", \"extra\": true}\n",
    );
    let tok = cl100k();
    let ds = Dataset::build(&file_spec(DatasetKind::Jsonl, path.clone(), 5, 2), &tok, 2).unwrap();
    let reqs = all_requests(&ds);
    let rows = [
        (
            "hello world".to_string(),
            tok.count("hello world") as u32,
            7,
        ),
        ("a b c".to_string(), tok.count("a b c") as u32, 3),
        (
            "default osl".to_string(),
            tok.count("default osl") as u32,
            100,
        ),
    ];
    for (k, r) in reqs.iter().enumerate() {
        assert_eq!(r, &rows[k % 3], "request {k}");
    }
    assert_eq!(ds.input_lengths().count, 5);
    assert_eq!(ds.output_lengths().max, 100);
    assert_eq!(ds.recompute_sha256(), ds.sha256());

    let mut spec = file_spec(DatasetKind::Jsonl, path, 2, 0);
    spec.osl_override = true;
    spec.osl = 9;
    let ds = Dataset::build(&spec, &tok, 1).unwrap();
    assert_eq!(ds.request(0).output_len, 9);
    assert_eq!(ds.request(1).output_len, 9);
}

#[test]
fn jsonl_chat_messages_pass_through() {
    let dir = tempfile::tempdir().unwrap();
    let messages = r#"[{"role": "system", "content": "be brief"},  {"role":"user","content":[{"type":"text","text":"hello world"}], "name": "x"}]"#;
    let path = write(
        dir.path(),
        "chat.jsonl",
        &format!("{{\"messages\": {messages}, \"max_tokens\": 5}}\n{{\"prompt\": \"plain\"}}\n"),
    );
    let tok = cl100k();
    let mut spec = file_spec(DatasetKind::Jsonl, path.clone(), 2, 0);
    spec.api = Api::Chat;
    let ds = Dataset::build(&spec, &tok, 1).unwrap();
    let r = ds.request(0);
    assert_eq!(
        r.prompt,
        Prompt::Messages(messages),
        "passed through byte for byte"
    );
    assert_eq!(
        r.input_len as usize,
        tok.count("be brief") + tok.count("hello world")
    );
    assert_eq!(r.output_len, 5);
    assert_eq!(ds.request(1).prompt, Prompt::Text("plain".into()));

    // Messages need the chat API.
    spec.api = Api::Completions;
    let e = Dataset::build(&spec, &tok, 1).unwrap_err().to_string();
    assert_eq!(
        e,
        format!(
            "{}:1: field \"messages\": chat messages need the chat API (--api chat)",
            path.display()
        )
    );
}

#[test]
fn jsonl_errors_name_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let tok = cl100k();
    let ok = "{\"prompt\": \"fine\"}";
    let cases: Vec<(&str, String, &str)> = vec![
        ("prompt", format!("{ok}\n{{\"prompt\": 42}}\n"), "2: field \"prompt\": expected a string, got a number"),
        ("blank", format!("{ok}\n\n{{\"prompt\": null}}\n"), "3: field \"prompt\": expected a string, got null"),
        ("neither", "{\"text\": \"x\"}\n".into(), "1: expected a \"prompt\" string or a \"messages\" array"),
        ("both", "{\"prompt\": \"x\", \"messages\": []}\n".into(), "1: expected either \"prompt\" or \"messages\", not both"),
        ("array", "[1, 2]\n".into(), "1: expected a JSON object with \"prompt\" or \"messages\", got an array"),
        ("neg", format!("{ok}\n{ok}\n{{\"prompt\": \"x\", \"output_len\": -3}}\n"), "3: field \"output_len\": expected a positive integer, got -3"),
        ("zero", "{\"prompt\": \"x\", \"max_tokens\": 0}\n".into(), "1: field \"max_tokens\": expected a positive integer, got 0"),
        ("float", "{\"prompt\": \"x\", \"max_tokens\": 2.5}\n".into(), "1: field \"max_tokens\": expected a positive integer, got 2.5"),
        ("str", "{\"prompt\": \"x\", \"output_len\": \"10\"}\n".into(), "1: field \"output_len\": expected a positive integer, got a string"),
        ("two_out", "{\"prompt\": \"x\", \"output_len\": 1, \"max_tokens\": 2}\n".into(), "1: expected either \"output_len\" or \"max_tokens\", not both"),
        ("msgs", "{\"messages\": \"hi\"}\n".into(), "1: field \"messages\": expected an array of chat messages, got a string"),
        ("msgs_empty", "{\"messages\": []}\n".into(), "1: field \"messages\": expected a non-empty array of chat messages"),
        ("role", "{\"messages\": [{\"role\": \"user\", \"content\": \"a\"}, {\"role\": 1}]}\n".into(), "1: field \"messages[1].role\": expected a string, got a number"),
        ("content", "{\"messages\": [{\"role\": \"user\", \"content\": 3}]}\n".into(), "1: field \"messages[0].content\": expected a string or an array of content parts, got a number"),
    ];
    for (name, content, want) in cases {
        let p = write(dir.path(), &format!("{name}.jsonl"), &content);
        let mut spec = file_spec(DatasetKind::Jsonl, p.clone(), 5, 0);
        spec.api = Api::Chat;
        let e = Dataset::build(&spec, &tok, 1).unwrap_err();
        assert!(matches!(e, DatasetError::Format { .. }), "{name}: {e}");
        assert_eq!(e.to_string(), format!("{}:{want}", p.display()), "{name}");
    }

    let p = write(dir.path(), "syntax.jsonl", "{\"prompt\": \"x\"\n");
    let e = Dataset::build(&file_spec(DatasetKind::Jsonl, p.clone(), 1, 0), &tok, 1)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with(&format!("{}:1: invalid JSON: ", p.display())),
        "{e}"
    );

    let p = write(dir.path(), "empty.jsonl", "\n\n");
    let e = Dataset::build(&file_spec(DatasetKind::Jsonl, p.clone(), 1, 0), &tok, 1)
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        format!("{}: no requests (the file is empty)", p.display())
    );

    // Rows after the N + W needed are not read, so a bad line there is not an error.
    let p = write(dir.path(), "tail.jsonl", &format!("{ok}\n{ok}\nnot json\n"));
    assert!(Dataset::build(&file_spec(DatasetKind::Jsonl, p, 2, 0), &tok, 1).is_ok());
}
