//! JSONL files: one request per line (format in the crate docs).

use crate::store::Body;
use crate::{cycle_rows, FileRow};
use crate::{json_kind, parallel_map, Built, DatasetError, DatasetSpec};
use serde_json::Value;
use servebench_core::Api;
use servebench_tokenizer::Tokenizer;
use std::io::BufRead;

#[derive(serde::Deserialize)]
struct RawMessages<'a> {
    #[serde(borrow, default)]
    messages: Option<&'a serde_json::value::RawValue>,
}

struct Row {
    body: Body,
    /// Prompt text, or the messages array as JSON.
    text: String,
    output_len: u32,
}

fn got(v: &Value) -> String {
    match v {
        Value::Number(n) => n.to_string(),
        _ => json_kind(v).to_string(),
    }
}

/// Parses one line into a row; `Err` is the message after `FILE:LINE: `.
fn parse_row(line: &str, spec: &DatasetSpec) -> Result<Row, String> {
    let v: Value = serde_json::from_str(line).map_err(|e| format!("invalid JSON: {e}"))?;
    let obj = match &v {
        Value::Object(o) => o,
        other => {
            return Err(format!(
                "expected a JSON object with \"prompt\" or \"messages\", got {}",
                json_kind(other)
            ))
        }
    };
    let (body, text) = match (obj.get("prompt"), obj.get("messages")) {
        (Some(_), Some(_)) => {
            return Err("expected either \"prompt\" or \"messages\", not both".into());
        }
        (None, None) => return Err("expected a \"prompt\" string or a \"messages\" array".into()),
        (Some(p), None) => match p {
            Value::String(s) => (Body::Text, s.clone()),
            other => {
                return Err(format!(
                    "field \"prompt\": expected a string, got {}",
                    json_kind(other)
                ))
            }
        },
        (None, Some(m)) => {
            let arr = match m {
                Value::Array(a) if !a.is_empty() => a,
                Value::Array(_) => {
                    return Err(
                        "field \"messages\": expected a non-empty array of chat messages".into(),
                    )
                }
                other => {
                    return Err(format!(
                        "field \"messages\": expected an array of chat messages, got {}",
                        json_kind(other)
                    ))
                }
            };
            for (k, msg) in arr.iter().enumerate() {
                let o = msg.as_object().ok_or_else(|| {
                    format!(
                        "field \"messages[{k}]\": expected an object, got {}",
                        json_kind(msg)
                    )
                })?;
                match o.get("role") {
                    Some(Value::String(_)) => {}
                    Some(other) => {
                        return Err(format!(
                            "field \"messages[{k}].role\": expected a string, got {}",
                            json_kind(other)
                        ))
                    }
                    None => return Err(format!("field \"messages[{k}].role\": missing")),
                }
                match o.get("content") {
                    None | Some(Value::Null | Value::String(_) | Value::Array(_)) => {}
                    Some(other) => {
                        return Err(format!(
                            "field \"messages[{k}].content\": expected a string or an array of \
                             content parts, got {}",
                            json_kind(other)
                        ))
                    }
                }
            }
            if spec.api != Api::Chat {
                return Err(
                    "field \"messages\": chat messages need the chat API (--api chat)".into(),
                );
            }
            // Pass the array through byte for byte (not re-serialized: key order and number
            // formatting stay as the user wrote them).
            let raw: RawMessages =
                serde_json::from_str(line).map_err(|e| format!("invalid JSON: {e}"))?;
            let text = raw
                .messages
                .map_or_else(|| m.to_string(), |r| r.get().to_string());
            (Body::Messages, text)
        }
    };
    let out_field = match (obj.get("output_len"), obj.get("max_tokens")) {
        (Some(_), Some(_)) => {
            return Err("expected either \"output_len\" or \"max_tokens\", not both".into())
        }
        (Some(v), None) => Some(("output_len", v)),
        (None, Some(v)) => Some(("max_tokens", v)),
        (None, None) => None,
    };
    let file_len = match out_field {
        None => None,
        Some((name, v)) => match v.as_u64() {
            Some(n) if n > 0 && n <= u64::from(u32::MAX) => Some(n as u32),
            _ => {
                return Err(format!(
                    "field \"{name}\": expected a positive integer, got {}",
                    got(v)
                ))
            }
        },
    };
    let output_len = match (spec.osl_override, file_len) {
        (false, Some(n)) => n,
        _ if spec.osl > 0 => spec.osl,
        _ => return Err("no output length: the row has no \"output_len\" and osl is 0".into()),
    };
    Ok(Row {
        body,
        text,
        output_len,
    })
}

/// Client token count of a row: the prompt, or the text contents of the messages.
fn count(tok: &Tokenizer, row: &Row) -> u32 {
    match row.body {
        Body::Messages => {
            let v: Value = serde_json::from_str(&row.text).unwrap_or(Value::Null);
            let mut n = 0usize;
            for m in v.as_array().into_iter().flatten() {
                match m.get("content") {
                    Some(Value::String(s)) => n += tok.count(s),
                    Some(Value::Array(parts)) => {
                        for p in parts {
                            if let Some(Value::String(s)) = p.get("text") {
                                n += tok.count(s);
                            }
                        }
                    }
                    _ => {}
                }
            }
            n as u32
        }
        _ => tok.count(&row.text) as u32,
    }
}

pub(crate) fn build(
    spec: &DatasetSpec,
    tok: &Tokenizer,
    threads: usize,
) -> Result<Built, DatasetError> {
    let path = spec.file()?;
    let file = path.display().to_string();
    let io_err = |source| DatasetError::Io {
        path: path.to_path_buf(),
        source,
    };
    let need = spec.num_prompts + spec.num_warmups;
    let mut reader = std::io::BufReader::new(std::fs::File::open(path).map_err(io_err)?);
    let mut rows: Vec<Row> = Vec::new();
    let mut line = String::new();
    let mut lineno = 0usize;
    while rows.len() < need.max(1) {
        line.clear();
        if reader.read_line(&mut line).map_err(io_err)? == 0 {
            break;
        }
        lineno += 1;
        let l = line.trim();
        if l.is_empty() {
            continue;
        }
        let row =
            parse_row(l, spec).map_err(|m| DatasetError::format(format!("{file}:{lineno}"), m))?;
        rows.push(row);
    }
    if rows.is_empty() {
        return Err(DatasetError::format(
            file,
            "no requests (the file is empty)",
        ));
    }
    let lens = parallel_map(&rows, threads, |r| count(tok, r));

    let rows: Vec<FileRow<'_>> = rows
        .iter()
        .zip(&lens)
        .map(|(r, &len)| FileRow {
            text: &r.text,
            body: r.body,
            input_len: len,
            output_len: r.output_len,
        })
        .collect();
    Ok(cycle_rows(spec, &rows))
}
