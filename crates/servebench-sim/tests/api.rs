//! The HTTP/OpenAI front end over real loopback, with a raw blocking client.

mod common;

use common::{chunk_text, Client};
use serde_json::{json, Value};
use servebench_sim::openai::output_text;
use servebench_sim::{spawn, FixedTiming, PromptCounter, SimConfig};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn sim(cfg: SimConfig) -> servebench_sim::SimHandle {
    spawn(cfg).expect("sim starts")
}

/// Splits a streamed response into (content events as JSON, usage event, saw [DONE]).
fn split_events(events: &[String]) -> (Vec<Value>, Option<Value>, bool) {
    let mut content = Vec::new();
    let mut usage = None;
    let mut done = false;
    for (i, e) in events.iter().enumerate() {
        if e == "[DONE]" {
            assert_eq!(i, events.len() - 1, "[DONE] is the last event");
            done = true;
            continue;
        }
        let v: Value = serde_json::from_str(e).unwrap();
        if v.get("usage").is_some() {
            assert!(usage.is_none(), "one usage event");
            assert_eq!(v["choices"], json!([]));
            usage = Some(v);
        } else {
            assert!(usage.is_none(), "usage comes after all content");
            content.push(v);
        }
    }
    (content, usage, done)
}

#[test]
fn streaming_completions_exact_tokens_usage_and_done() {
    let s = sim(SimConfig::default());
    let mut c = Client::connect(s.addr());
    c.post(
        "/v1/completions",
        &json!({"model":"m-one","prompt":"a b c","max_tokens":37,"ignore_eos":true,"stream":true,
                "stream_options":{"include_usage":true}}),
        &[],
    );
    let r = c.read_response().unwrap();
    assert_eq!(r.head.status, 200);
    assert!(r
        .head
        .header("content-type")
        .unwrap()
        .starts_with("text/event-stream"));
    assert_eq!(r.head.header("transfer-encoding"), Some("chunked"));
    let (content, usage, done) = split_events(&r.events());
    assert!(done);
    assert_eq!(content.len(), 37, "one token per chunk by default");
    let mut text = String::new();
    for (i, v) in content.iter().enumerate() {
        assert_eq!(v["id"], "cmpl-0");
        assert_eq!(v["object"], "text_completion");
        assert_eq!(v["model"], "m-one");
        assert!(v["created"].as_u64().unwrap() > 1_600_000_000);
        let (t, fin) = chunk_text(v);
        text.push_str(&t);
        if i + 1 < content.len() {
            assert_eq!(fin, Value::Null);
        } else {
            assert_eq!(fin, "length");
        }
    }
    assert_eq!(text.split_whitespace().count(), 37);
    assert_eq!(text, output_text(0, 37));
    let u = usage.expect("usage event when include_usage");
    assert_eq!(
        u["usage"],
        json!({"prompt_tokens":3,"completion_tokens":37,"total_tokens":40})
    );
    assert_eq!(u["id"], "cmpl-0");
}

#[test]
fn streaming_chat_role_first_no_usage_unless_asked() {
    let s = sim(SimConfig::default());
    let mut c = Client::connect(s.addr());
    c.post(
        "/v1/chat/completions",
        &json!({"model":"chatty","messages":[{"role":"user","content":"hello there"}],
                "max_completion_tokens":20,"ignore_eos":true,"stream":true}),
        &[],
    );
    let r = c.read_response().unwrap();
    assert_eq!(r.head.status, 200);
    let events = r.events();
    let role: Value = serde_json::from_str(&events[0]).unwrap();
    assert_eq!(role["object"], "chat.completion.chunk");
    assert_eq!(role["id"], "chatcmpl-0");
    assert_eq!(
        role["choices"][0]["delta"],
        json!({"role":"assistant","content":""})
    );
    let (content, usage, done) = split_events(&events[1..]);
    assert!(usage.is_none(), "no usage without include_usage");
    assert!(done);
    assert_eq!(content.len(), 20);
    let text: String = content.iter().map(|v| chunk_text(v).0).collect();
    assert_eq!(text.split_whitespace().count(), 20);
    for v in &content {
        assert!(v["choices"][0]["delta"].get("role").is_none());
        assert_eq!(v["model"], "chatty");
    }
    assert_eq!(
        content.last().unwrap()["choices"][0]["finish_reason"],
        "length"
    );
}

#[test]
fn chat_role_chunk_is_sent_before_ttft() {
    let s = sim(SimConfig {
        timing: FixedTiming {
            ttft: Duration::from_millis(800),
            ..Default::default()
        },
        ..Default::default()
    });
    let mut c = Client::connect(s.addr());
    let sent = Instant::now();
    c.post(
        "/v1/chat/completions",
        &json!({"messages":[{"role":"user","content":"x"}],"max_tokens":2,"stream":true}),
        &[],
    );
    let head = c.read_head().unwrap();
    assert_eq!(head.status, 200);
    let role = c.next_chunk().unwrap().unwrap();
    let role_at = sent.elapsed();
    let v: Value = serde_json::from_str(&common::event_data(&role)).unwrap();
    assert_eq!(v["choices"][0]["delta"]["role"], "assistant");
    let first = c.next_chunk().unwrap().unwrap();
    let first_at = sent.elapsed();
    let v: Value = serde_json::from_str(&common::event_data(&first)).unwrap();
    assert_eq!(v["choices"][0]["delta"]["content"], " the");
    // The first token cannot come before the TTFT (counted from the server's arrival, which is
    // after we sent); the role chunk comes well before it.
    assert!(first_at >= Duration::from_millis(800), "{first_at:?}");
    assert!(
        role_at < Duration::from_millis(400),
        "role chunk at {role_at:?}"
    );
}

#[test]
fn tokens_per_chunk_groups_tokens() {
    let s = sim(SimConfig {
        timing: FixedTiming {
            tokens_per_chunk: 4,
            ..Default::default()
        },
        ..Default::default()
    });
    let mut c = Client::connect(s.addr());
    c.post(
        "/v1/completions",
        &json!({"prompt":"p","max_tokens":10,"ignore_eos":true,"stream":true}),
        &[],
    );
    let r = c.read_response().unwrap();
    let (content, _, done) = split_events(&r.events());
    assert!(done);
    let per: Vec<usize> = content
        .iter()
        .map(|v| chunk_text(v).0.split_whitespace().count())
        .collect();
    assert_eq!(per, vec![4, 4, 2]);
    let text: String = content.iter().map(|v| chunk_text(v).0).collect();
    assert_eq!(text, output_text(0, 10));
}

#[test]
fn non_streaming_bodies_and_usage() {
    let s = sim(SimConfig::default());
    let mut c = Client::connect(s.addr());
    c.post(
        "/v1/completions",
        &json!({"model":"m","prompt":"one two three four","max_tokens":12,"ignore_eos":true}),
        &[],
    );
    let r = c.read_response().unwrap();
    assert_eq!(r.head.status, 200);
    assert_eq!(r.head.header("content-type"), Some("application/json"));
    let v = r.json();
    assert_eq!(v["object"], "text_completion");
    assert_eq!(v["choices"][0]["text"], output_text(0, 12));
    assert_eq!(v["choices"][0]["finish_reason"], "length");
    assert_eq!(
        v["usage"],
        json!({"prompt_tokens":4,"completion_tokens":12,"total_tokens":16})
    );

    // Chat: default max tokens from the config (256) when none is given.
    c.post(
        "/v1/chat/completions",
        &json!({"messages":[{"role":"system","content":"be brief"},
                            {"role":"user","content":[{"type":"text","text":"a b c"}]}]}),
        &[],
    );
    let v = c.read_response().unwrap().json();
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(v["choices"][0]["message"]["role"], "assistant");
    let text = v["choices"][0]["message"]["content"].as_str().unwrap();
    assert_eq!(text.split_whitespace().count(), 256);
    assert_eq!(v["usage"]["prompt_tokens"], 5);
    assert_eq!(v["usage"]["completion_tokens"], 256);

    // Completions default to 16 tokens.
    c.post("/v1/completions", &json!({"prompt":"x"}), &[]);
    let v = c.read_response().unwrap().json();
    assert_eq!(v["usage"]["completion_tokens"], 16);
}

#[test]
fn non_streaming_waits_for_the_last_token() {
    let s = sim(SimConfig {
        timing: FixedTiming {
            ttft: Duration::from_millis(50),
            itl: Duration::from_millis(10),
            tokens_per_chunk: 1,
        },
        ..Default::default()
    });
    let mut c = Client::connect(s.addr());
    let t0 = Instant::now();
    c.post(
        "/v1/completions",
        &json!({"prompt":"x","max_tokens":11,"ignore_eos":true}),
        &[],
    );
    let v = c.read_response().unwrap().json();
    let el = t0.elapsed();
    assert_eq!(v["usage"]["completion_tokens"], 11);
    // Last token due at ttft + 10 * itl = 150 ms.
    assert!(el >= Duration::from_millis(150), "{el:?}");
}

#[test]
fn eos_after_stops_early_unless_ignore_eos() {
    let s = sim(SimConfig {
        eos_after: Some(5),
        ..Default::default()
    });
    let mut c = Client::connect(s.addr());
    c.post(
        "/v1/completions",
        &json!({"prompt":"x","max_tokens":10,"stream":true,
        "stream_options":{"include_usage":true}}),
        &[],
    );
    let (content, usage, _) = split_events(&c.read_response().unwrap().events());
    assert_eq!(content.len(), 5);
    assert_eq!(content[4]["choices"][0]["finish_reason"], "stop");
    assert_eq!(usage.unwrap()["usage"]["completion_tokens"], 5);

    c.post(
        "/v1/completions",
        &json!({"prompt":"x","max_tokens":10,"ignore_eos":true}),
        &[],
    );
    let v = c.read_response().unwrap().json();
    assert_eq!(v["usage"]["completion_tokens"], 10);
    assert_eq!(v["choices"][0]["finish_reason"], "length");

    // max_tokens below eos_after: runs to max_tokens, finish "length".
    c.post(
        "/v1/completions",
        &json!({"prompt":"x","max_tokens":3}),
        &[],
    );
    let v = c.read_response().unwrap().json();
    assert_eq!(v["usage"]["completion_tokens"], 3);
    assert_eq!(v["choices"][0]["finish_reason"], "length");
}

#[test]
fn reasoning_tokens_go_to_reasoning_content() {
    let s = sim(SimConfig {
        reasoning_tokens: 3,
        ..Default::default()
    });
    let mut c = Client::connect(s.addr());
    c.post(
        "/v1/chat/completions",
        &json!({"messages":[{"role":"user","content":"q"}],"max_tokens":5,"ignore_eos":true,"stream":true,
                "stream_options":{"include_usage":true}}),
        &[],
    );
    let events = c.read_response().unwrap().events();
    let (content, usage, _) = split_events(&events[1..]);
    assert_eq!(content.len(), 5);
    for (i, v) in content.iter().enumerate() {
        let d = &v["choices"][0]["delta"];
        if i < 3 {
            assert!(
                d["reasoning_content"].is_string() && d.get("content").is_none(),
                "{d}"
            );
        } else {
            assert!(
                d["content"].is_string() && d.get("reasoning_content").is_none(),
                "{d}"
            );
        }
    }
    assert_eq!(usage.unwrap()["usage"]["completion_tokens"], 5);
    // Completions are unaffected.
    c.post(
        "/v1/completions",
        &json!({"prompt":"x","max_tokens":4,"ignore_eos":true}),
        &[],
    );
    assert_eq!(
        c.read_response().unwrap().json()["choices"][0]["text"],
        output_text(0, 4)
    );
}

#[test]
fn models_health_tokenize_and_stats() {
    let s = sim(SimConfig {
        model: "served-name".into(),
        max_model_len: 4096,
        ..Default::default()
    });
    let mut c = Client::connect(s.addr());
    c.send("GET", "/v1/models", &[], b"");
    let v = c.read_response().unwrap().json();
    assert_eq!(v["object"], "list");
    assert_eq!(v["data"][0]["id"], "served-name");
    assert_eq!(v["data"][0]["object"], "model");

    c.send("GET", "/health", &[], b"");
    let r = c.read_response().unwrap();
    assert_eq!(r.head.status, 200);

    c.post(
        "/tokenize",
        &json!({"model":"x","prompt":"alpha beta gamma delta"}),
        &[],
    );
    let v = c.read_response().unwrap().json();
    assert_eq!(v["count"], 4);
    assert_eq!(v["tokens"].as_array().unwrap().len(), 4);
    assert_eq!(v["max_model_len"], 4096);

    c.post(
        "/tokenize",
        &json!({"messages":[{"role":"user","content":"a b"},{"role":"user","content":"c"}]}),
        &[],
    );
    assert_eq!(c.read_response().unwrap().json()["count"], 3);

    c.post(
        "/v1/completions",
        &json!({"prompt":"x","max_tokens":2}),
        &[],
    );
    assert_eq!(c.read_response().unwrap().head.status, 200);
    c.send("GET", "/sim/stats", &[], b"");
    let v = c.read_response().unwrap().json();
    assert_eq!(v["accepted"], 1);
    assert_eq!(v["completed"], 1);
    assert_eq!(v["faults"]["stall"], 0);
    assert_eq!(v["faults"].as_object().unwrap().len(), 9);
    let st = s.shutdown();
    assert_eq!((st.accepted, st.completed, st.aborted), (1, 1, 0));
}

/// Counts bytes: proves the configured counter is the one used.
struct Bytes;
impl PromptCounter for Bytes {
    fn count(&self, text: &str) -> usize {
        text.len()
    }
    fn encode(&self, text: &str) -> Vec<u32> {
        text.bytes().map(u32::from).collect()
    }
}

#[test]
fn configured_counter_is_used() {
    let s = sim(SimConfig {
        counter: Some(Arc::new(Bytes)),
        ..Default::default()
    });
    let mut c = Client::connect(s.addr());
    c.post(
        "/v1/completions",
        &json!({"prompt":"hello","max_tokens":1}),
        &[],
    );
    assert_eq!(
        c.read_response().unwrap().json()["usage"]["prompt_tokens"],
        5
    );
    c.post("/v1/chat/completions", &json!({"messages":[{"role":"user","content":"abc"},{"role":"user","content":"de"}],"max_tokens":1}), &[]);
    assert_eq!(
        c.read_response().unwrap().json()["usage"]["prompt_tokens"],
        5
    );
    // Token ids count one each.
    c.post(
        "/v1/completions",
        &json!({"prompt":[5, 6, 7],"max_tokens":1}),
        &[],
    );
    assert_eq!(
        c.read_response().unwrap().json()["usage"]["prompt_tokens"],
        3
    );
    c.post("/tokenize", &json!({"prompt":"AB"}), &[]);
    assert_eq!(c.read_response().unwrap().json()["tokens"], json!([65, 66]));
}

fn assert_error(r: &common::Response, status: u16) {
    assert_eq!(
        r.head.status,
        status,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    let v = r.json();
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{v}"
    );
    assert!(v["error"]["type"].is_string(), "{v}");
    assert_eq!(v["error"]["code"], status, "{v}");
}

#[test]
fn errors_404_400_405_are_openai_style_and_keep_the_connection() {
    let s = sim(SimConfig {
        max_model_len: 100,
        ..Default::default()
    });
    let mut c = Client::connect(s.addr());
    c.send("GET", "/nope", &[], b"");
    assert_error(&c.read_response().unwrap(), 404);
    c.send("POST", "/v1/completions", &[], b"{not json");
    assert_error(&c.read_response().unwrap(), 400);
    c.post("/v1/completions", &json!({"prompt":"a","n":2}), &[]);
    assert_error(&c.read_response().unwrap(), 400);
    c.post(
        "/v1/completions",
        &json!({"prompt":"a","max_tokens":-1}),
        &[],
    );
    assert_error(&c.read_response().unwrap(), 400);
    c.post("/v1/chat/completions", &json!({"prompt":"a"}), &[]);
    assert_error(&c.read_response().unwrap(), 400);
    c.post(
        "/v1/completions",
        &json!({"prompt":"a b","max_tokens":99}),
        &[],
    );
    assert_error(&c.read_response().unwrap(), 400); // 2 + 99 > max_model_len 100
    c.post(
        "/v1/completions",
        &json!({"prompt":"a"}),
        &[("x-sim-fault", "bogus")],
    );
    assert_error(&c.read_response().unwrap(), 400);
    c.send("GET", "/v1/completions", &[], b"");
    assert_error(&c.read_response().unwrap(), 405);
    // Still usable after all of these.
    c.post(
        "/v1/completions",
        &json!({"prompt":"a b","max_tokens":98}),
        &[],
    );
    assert_eq!(c.read_response().unwrap().head.status, 200);
    let st = s.shutdown();
    assert_eq!(st.accepted, 1, "rejected requests are not accepted");
}

#[test]
fn post_without_content_length_is_411_and_closes() {
    let s = sim(SimConfig::default());
    let mut c = Client::connect(s.addr());
    c.send_raw(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\n\r\n");
    let r = c.read_response().unwrap();
    assert_error(&r, 411);
    assert_eq!(r.head.header("connection"), Some("close"));
    assert_eq!(c.read_to_close().unwrap(), b"");
}

#[test]
fn huge_body_is_413() {
    let s = sim(SimConfig::default());
    let mut c = Client::connect(s.addr());
    c.send_raw(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 67108865\r\n\r\n");
    assert_error(&c.read_response().unwrap(), 413);
    // Exactly 64 MiB is allowed through to the body read (we do not send it).
    let s2 = sim(SimConfig::default());
    let mut c2 = Client::connect(s2.addr());
    c2.s.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    c2.send_raw(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 67108864\r\n\r\n");
    let e = c2.read_response().unwrap_err();
    assert!(
        matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
        "{e:?}"
    );
}

#[test]
fn keep_alive_two_requests_then_connection_close() {
    let s = sim(SimConfig::default());
    let mut c = Client::connect(s.addr());
    c.post(
        "/v1/completions",
        &json!({"prompt":"x","max_tokens":3,"stream":true}),
        &[],
    );
    let r1 = c.read_response().unwrap();
    assert_eq!(r1.head.status, 200);
    assert_eq!(r1.events().last().unwrap(), "[DONE]");
    c.post(
        "/v1/chat/completions",
        &json!({"messages":[{"role":"user","content":"x"}],"max_tokens":2}),
        &[],
    );
    let r2 = c.read_response().unwrap();
    assert_eq!(r2.json()["usage"]["completion_tokens"], 2);
    // HTTP/1.1 with Connection: close: the server answers, then closes.
    c.post(
        "/v1/completions",
        &json!({"prompt":"x","max_tokens":2}),
        &[("Connection", "close")],
    );
    let r3 = c.read_response().unwrap();
    assert_eq!(r3.head.header("connection"), Some("close"));
    assert_eq!(c.read_to_close().unwrap(), b"");
    let st = s.shutdown();
    assert_eq!(st.connections, 1);
    assert_eq!(st.accepted, 3);
}

#[test]
fn expect_100_continue_is_answered() {
    let s = sim(SimConfig::default());
    let mut c = Client::connect(s.addr());
    let body = br#"{"prompt":"x","max_tokens":2}"#;
    c.send_raw(
        format!("POST /v1/completions HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: {}\r\n\r\n", body.len())
            .as_bytes(),
    );
    let mut line = [0u8; 25];
    std::io::Read::read_exact(&mut c.s, &mut line).unwrap();
    assert_eq!(&line, b"HTTP/1.1 100 Continue\r\n\r\n");
    c.send_raw(body);
    assert_eq!(
        c.read_response().unwrap().json()["usage"]["completion_tokens"],
        2
    );
}

#[test]
fn multi_thread_runtime_serves_concurrent_streams() {
    let s = sim(SimConfig {
        threads: 2,
        timing: FixedTiming {
            itl: Duration::from_millis(1),
            ..Default::default()
        },
        ..Default::default()
    });
    let addr = s.addr();
    let handles: Vec<_> = (0..8)
        .map(|_| {
            std::thread::spawn(move || {
                let mut c = Client::connect(addr);
                c.post(
                    "/v1/completions",
                    &json!({"prompt":"x","max_tokens":20,"ignore_eos":true,"stream":true}),
                    &[],
                );
                let (content, _, done) = split_events(&c.read_response().unwrap().events());
                assert!(done);
                content.len()
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), 20);
    }
    let st = s.shutdown();
    assert_eq!((st.accepted, st.completed), (8, 8));
}

#[test]
fn invalid_config_is_rejected() {
    let mut cfg = SimConfig::default();
    cfg.faults.status_429 = 0.7;
    cfg.faults.stall = 0.5;
    assert!(matches!(
        spawn(cfg),
        Err(servebench_sim::SimError::Config(_))
    ));
    let cfg = SimConfig {
        timing: FixedTiming {
            tokens_per_chunk: 0,
            ..Default::default()
        },
        ..Default::default()
    };
    assert!(spawn(cfg).is_err());
    let cfg = SimConfig {
        eos_after: Some(0),
        ..Default::default()
    };
    assert!(spawn(cfg).is_err());
}
