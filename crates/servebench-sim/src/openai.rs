//! The OpenAI side: request bodies, output words, and the SSE events pre-rendered as byte
//! templates (no serde on the per-chunk path).

use crate::counter::PromptCounter;
use crate::engine::Handoff;
use crate::http::{push_chunk, push_hex};
use crate::prefix_cache::prompt_block_hashes;
use serde::Deserialize;
use serde_json::Value;
use servebench_core::Api;
use std::io::Write;

/// The output words, cycled: output token `i` is `WORDS[i % WORDS.len()]`. Each is one token in
/// `cl100k_base` and in `o200k_base`, and so is each in any concatenation of them (the leading
/// space makes every word its own pre-token). Plain ASCII: nothing to escape in JSON.
pub const WORDS: [&str; 16] = [
    " the", " of", " and", " to", " in", " is", " that", " for", " it", " with", " as", " on",
    " was", " be", " at", " by",
];

const fn word_lens() -> [usize; 16] {
    let mut out = [0; 16];
    let mut i = 0;
    while i < 16 {
        out[i] = WORDS[i].len();
        i += 1;
    }
    out
}
const WORD_LENS: [usize; 16] = word_lens();
const CYCLE_LEN: usize = {
    let mut s = 0;
    let mut i = 0;
    while i < 16 {
        s += WORD_LENS[i];
        i += 1;
    }
    s
};

/// Byte length of output tokens `[first, first + n)`.
pub(crate) fn words_len(first: u32, n: u32) -> usize {
    let cycles = n as usize / WORDS.len();
    let mut len = cycles * CYCLE_LEN;
    let start = first as usize + cycles * WORDS.len();
    for i in start..first as usize + n as usize {
        len += WORD_LENS[i % WORDS.len()];
    }
    len
}

pub(crate) fn push_words(out: &mut Vec<u8>, first: u32, n: u32) {
    for i in first..first + n {
        out.extend_from_slice(WORDS[i as usize % WORDS.len()].as_bytes());
    }
}

/// The text of output tokens `[first, first + n)`.
pub fn output_text(first: u32, n: u32) -> String {
    let mut v = Vec::with_capacity(words_len(first, n));
    push_words(&mut v, first, n);
    String::from_utf8(v).expect("ASCII words")
}

/// An error answered with an OpenAI-style body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub status: u16,
    pub message: String,
}

impl ApiError {
    pub(crate) fn bad(message: impl Into<String>) -> ApiError {
        ApiError {
            status: 400,
            message: message.into(),
        }
    }
}

fn error_type(status: u16) -> &'static str {
    match status {
        429 => "rate_limit_error",
        500 => "server_error",
        503 => "service_unavailable_error",
        _ => "invalid_request_error",
    }
}

/// `{"error":{"message":...,"type":...,"code":status}}`
pub(crate) fn error_body(status: u16, message: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "error": {"message": message, "type": error_type(status), "code": status}
    }))
    .expect("serializes")
}

/// The `error_mid_stream` event.
pub(crate) const ENGINE_FAILURE_EVENT: &[u8] = b"data: {\"error\":{\"message\":\"simulated engine failure\",\"type\":\"server_error\",\"code\":500}}\n\n";
pub(crate) const DONE_EVENT: &[u8] = b"data: [DONE]\n\n";

#[derive(Deserialize)]
struct StreamOptions {
    #[serde(default)]
    include_usage: Option<bool>,
}

#[derive(Deserialize)]
struct GenBody {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    prompt: Option<Value>,
    #[serde(default)]
    messages: Option<Vec<Value>>,
    #[serde(default)]
    max_tokens: Option<i64>,
    #[serde(default)]
    max_completion_tokens: Option<i64>,
    #[serde(default)]
    stream: Option<bool>,
    #[serde(default)]
    stream_options: Option<StreamOptions>,
    #[serde(default)]
    ignore_eos: Option<bool>,
    #[serde(default)]
    n: Option<i64>,
    #[serde(default)]
    kv_transfer_params: Option<Value>,
}

/// A validated generation request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GenParams {
    /// The model name to echo (the request's, else the served one).
    pub model: Option<String>,
    pub prompt_tokens: u64,
    pub max_tokens: u32,
    pub stream: bool,
    pub include_usage: bool,
    pub ignore_eos: bool,
    pub handoff: Handoff,
    /// The chained hashes of the prompt's full blocks (with a prefix-caching engine).
    pub prefix: Option<Vec<u64>>,
}

/// Parses and validates a completions or chat body.
#[cfg(test)]
pub(crate) fn parse_gen(
    api: Api,
    body: &[u8],
    counter: &dyn PromptCounter,
    default_chat_max_tokens: u32,
) -> Result<GenParams, ApiError> {
    parse_gen_hashing(api, body, counter, default_chat_max_tokens, None)
}

/// [`parse_gen`], and with `block` the prompt's block hashes for the prefix cache (from its
/// token ids: a chat's message texts in order, each after a marker of its role).
pub(crate) fn parse_gen_hashing(
    api: Api,
    body: &[u8],
    counter: &dyn PromptCounter,
    default_chat_max_tokens: u32,
    block: Option<u32>,
) -> Result<GenParams, ApiError> {
    let b: GenBody = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad(format!("invalid request body: {e}")))?;
    if let Some(n) = b.n {
        if n != 1 {
            return Err(ApiError::bad(format!(
                "n = {n} is not supported; only n = 1"
            )));
        }
    }
    let mut prefix = None;
    let (prompt_tokens, max) = match api {
        Api::Completions => {
            let p = b
                .prompt
                .as_ref()
                .ok_or_else(|| ApiError::bad("field 'prompt' is required"))?;
            let n = match block {
                Some(k) => {
                    let ids = prompt_ids(p, counter)?;
                    prefix = Some(prompt_block_hashes(&ids, k as usize));
                    ids.len() as u64
                }
                None => count_prompt(p, counter)?,
            };
            (n, b.max_tokens)
        }
        Api::Chat => {
            let m = b
                .messages
                .as_ref()
                .ok_or_else(|| ApiError::bad("field 'messages' is required"))?;
            if m.is_empty() {
                return Err(ApiError::bad("field 'messages' must not be empty"));
            }
            let mut total = 0u64;
            let mut ids = Vec::new();
            for (i, msg) in m.iter().enumerate() {
                if block.is_some() {
                    let before = ids.len();
                    ids.push(role_marker(msg));
                    for t in message_texts(i, msg)? {
                        ids.extend(counter.encode(t));
                    }
                    total += (ids.len() - before - 1) as u64;
                } else {
                    total += count_message(i, msg, counter)?;
                }
            }
            if let Some(k) = block {
                prefix = Some(prompt_block_hashes(&ids, k as usize));
            }
            (total, b.max_completion_tokens.or(b.max_tokens))
        }
    };
    let max_tokens = match max {
        None => match api {
            Api::Completions => 16,
            Api::Chat => default_chat_max_tokens,
        },
        Some(m) if m < 1 => {
            return Err(ApiError::bad(format!(
                "max_tokens must be at least 1, got {m}"
            )))
        }
        Some(m) => {
            u32::try_from(m).map_err(|_| ApiError::bad(format!("max_tokens {m} is too large")))?
        }
    };
    Ok(GenParams {
        model: b.model,
        prompt_tokens,
        max_tokens,
        stream: b.stream.unwrap_or(false),
        include_usage: b
            .stream_options
            .and_then(|o| o.include_usage)
            .unwrap_or(false),
        ignore_eos: b.ignore_eos.unwrap_or(false),
        handoff: handoff(b.kv_transfer_params.as_ref())?,
        prefix,
    })
}

/// A pseudo-token standing for a chat message's role (outside any vocabulary), so that the
/// same text under another role hashes differently.
fn role_marker(msg: &Value) -> u32 {
    let role = msg.get("role").and_then(Value::as_str).unwrap_or("");
    u32::MAX
        - role.bytes().fold(0u32, |h, b| {
            h.wrapping_mul(31).wrapping_add(u32::from(b)) % 1024
        })
}

/// The token ids of a completions `prompt` (strings encoded, token ids as they are).
fn prompt_ids(p: &Value, c: &dyn PromptCounter) -> Result<Vec<u32>, ApiError> {
    let bad = || {
        ApiError::bad(
            "'prompt' must be a string, an array of strings, an array of token ids or an array of arrays of token ids",
        )
    };
    let id = |x: &Value| {
        x.as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(bad)
    };
    let mut ids = Vec::new();
    match p {
        Value::String(s) => ids = c.encode(s),
        Value::Array(items) => {
            for it in items {
                match it {
                    Value::String(s) => ids.extend(c.encode(s)),
                    Value::Array(xs) => {
                        for x in xs {
                            ids.push(id(x)?);
                        }
                    }
                    x => ids.push(id(x)?),
                }
            }
        }
        _ => return Err(bad()),
    }
    Ok(ids)
}

/// A router's `kv_transfer_params`: `{"do_remote_decode": true}` to a prefill worker,
/// `{"do_remote_prefill": true, "kv_bytes_per_gpu": N}` (the prefill worker's answer) to a
/// decode worker; absent, null or both false for a whole request.
fn handoff(v: Option<&Value>) -> Result<Handoff, ApiError> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok(Handoff::None);
    };
    let o = v
        .as_object()
        .ok_or_else(|| ApiError::bad("'kv_transfer_params' must be an object"))?;
    let flag = |k: &str| match o.get(k) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(ApiError::bad(format!(
            "kv_transfer_params.{k} must be true or false"
        ))),
    };
    match (flag("do_remote_decode")?, flag("do_remote_prefill")?) {
        (false, false) => Ok(Handoff::None),
        (true, true) => Err(ApiError::bad(
            "kv_transfer_params: do_remote_decode and do_remote_prefill cannot both be true",
        )),
        (true, false) => Ok(Handoff::ToDecode),
        (false, true) => {
            let bytes = o.get("kv_bytes_per_gpu").and_then(Value::as_u64).ok_or_else(|| {
                ApiError::bad(
                    "kv_transfer_params.kv_bytes_per_gpu (a whole number of bytes, from the prefill worker's answer) is required with do_remote_prefill",
                )
            })?;
            Ok(Handoff::FromPrefill {
                kv_bytes_per_gpu: bytes,
            })
        }
    }
}

fn count_prompt(p: &Value, c: &dyn PromptCounter) -> Result<u64, ApiError> {
    match p {
        Value::String(s) => Ok(c.count(s) as u64),
        Value::Array(items) => {
            let mut total = 0u64;
            for it in items {
                total += match it {
                    Value::Number(n) if n.is_u64() => 1,
                    Value::String(s) => c.count(s) as u64,
                    Value::Array(ids) if ids.iter().all(|x| x.is_u64()) => ids.len() as u64,
                    _ => {
                        return Err(ApiError::bad(
                            "'prompt' must be a string, an array of strings, an array of token ids or an array of arrays of token ids",
                        ))
                    }
                };
            }
            Ok(total)
        }
        _ => Err(ApiError::bad(
            "'prompt' must be a string or an array of strings or token ids",
        )),
    }
}

/// Texts of a message's `content`: a string, or `[{"type":"text","text":...}, ...]`.
fn message_texts(i: usize, msg: &Value) -> Result<Vec<&str>, ApiError> {
    let obj = msg
        .as_object()
        .ok_or_else(|| ApiError::bad(format!("messages[{i}] must be an object")))?;
    match obj.get("content") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s.as_str()]),
        Some(Value::Array(parts)) => {
            let mut out = Vec::new();
            for (j, part) in parts.iter().enumerate() {
                match part.get("text") {
                    Some(Value::String(t)) => out.push(t.as_str()),
                    Some(_) => {
                        return Err(ApiError::bad(format!(
                            "messages[{i}].content[{j}].text must be a string"
                        )))
                    }
                    // Non-text parts (images, ...) carry no text tokens here.
                    None => {}
                }
            }
            Ok(out)
        }
        Some(_) => Err(ApiError::bad(format!(
            "messages[{i}].content must be a string or an array of parts"
        ))),
    }
}

fn count_message(i: usize, msg: &Value, c: &dyn PromptCounter) -> Result<u64, ApiError> {
    Ok(message_texts(i, msg)?
        .into_iter()
        .map(|t| c.count(t) as u64)
        .sum())
}

/// `/tokenize`: the tokens of `prompt` or of the `messages` contents.
pub(crate) fn parse_tokenize(body: &[u8], c: &dyn PromptCounter) -> Result<Vec<u32>, ApiError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad(format!("invalid request body: {e}")))?;
    let mut tokens = Vec::new();
    if let Some(p) = v.get("prompt") {
        let bad = || ApiError::bad("'prompt' must be a string, an array of strings or token ids");
        match p {
            Value::String(s) => tokens = c.encode(s),
            Value::Array(items) => {
                for it in items {
                    match it {
                        Value::String(s) => tokens.extend(c.encode(s)),
                        Value::Number(n) => tokens.push(
                            n.as_u64()
                                .and_then(|x| u32::try_from(x).ok())
                                .ok_or_else(bad)?,
                        ),
                        _ => return Err(bad()),
                    }
                }
            }
            _ => return Err(bad()),
        }
    } else if let Some(m) = v.get("messages") {
        let m = m
            .as_array()
            .ok_or_else(|| ApiError::bad("'messages' must be an array"))?;
        for (i, msg) in m.iter().enumerate() {
            for t in message_texts(i, msg)? {
                tokens.extend(c.encode(t));
            }
        }
    } else {
        return Err(ApiError::bad("field 'prompt' or 'messages' is required"));
    }
    Ok(tokens)
}

/// The per-request SSE templates.
pub(crate) struct Templates {
    api: Api,
    /// `data: {"id":"cmpl-7","object":"text_completion","created":T,"model":"m","choices":[`
    head: Vec<u8>,
    /// Output tokens `[0, reasoning)` are reasoning tokens (chat only).
    reasoning: u32,
}

const COMPL_OPEN: &[u8] = b"{\"index\":0,\"text\":\"";
const CHAT_OPEN: &[u8] = b"{\"index\":0,\"delta\":{";
const REASONING_KEY: &[u8] = b"\"reasoning_content\":\"";
const CONTENT_KEY: &[u8] = b"\"content\":\"";
const CLOSE_NULL: &[u8] = b",\"logprobs\":null,\"finish_reason\":null}]}\n\n";
const CLOSE_LENGTH: &[u8] = b",\"logprobs\":null,\"finish_reason\":\"length\"}]}\n\n";
const CLOSE_STOP: &[u8] = b",\"logprobs\":null,\"finish_reason\":\"stop\"}]}\n\n";
const ROLE: &[u8] = b"{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n";

/// `finish_reason` of the last content chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Finish {
    Length,
    Stop,
}

impl Finish {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Finish::Length => "length",
            Finish::Stop => "stop",
        }
    }
}

pub(crate) fn response_id(api: Api, seq: u64) -> String {
    match api {
        Api::Completions => format!("cmpl-{seq}"),
        Api::Chat => format!("chatcmpl-{seq}"),
    }
}

impl Templates {
    pub(crate) fn new(api: Api, seq: u64, created: u64, model: &str, reasoning: u32) -> Templates {
        let object = match api {
            Api::Completions => "text_completion",
            Api::Chat => "chat.completion.chunk",
        };
        let mut head = Vec::with_capacity(128 + model.len());
        head.extend_from_slice(b"data: {\"id\":\"");
        head.extend_from_slice(response_id(api, seq).as_bytes());
        let _ = write!(
            head,
            "\",\"object\":\"{object}\",\"created\":{created},\"model\":"
        );
        serde_json::to_writer(&mut head, model).expect("a string serializes");
        head.extend_from_slice(b",\"choices\":[");
        Templates {
            api,
            head,
            reasoning: if api == Api::Chat { reasoning } else { 0 },
        }
    }

    /// The chat role-only chunk.
    pub(crate) fn push_role(&self, out: &mut Vec<u8>) {
        push_hex(out, self.head.len() + ROLE.len());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&self.head);
        out.extend_from_slice(ROLE);
        out.extend_from_slice(b"\r\n");
    }

    /// One content chunk carrying output tokens `[first, first + n)`; `finish` on the last one.
    pub(crate) fn push_content(
        &self,
        out: &mut Vec<u8>,
        first: u32,
        n: u32,
        finish: Option<Finish>,
    ) {
        let close = match finish {
            None => CLOSE_NULL,
            Some(Finish::Length) => CLOSE_LENGTH,
            Some(Finish::Stop) => CLOSE_STOP,
        };
        match self.api {
            Api::Completions => {
                let len =
                    self.head.len() + COMPL_OPEN.len() + words_len(first, n) + 1 + close.len();
                push_hex(out, len);
                out.extend_from_slice(b"\r\n");
                out.extend_from_slice(&self.head);
                out.extend_from_slice(COMPL_OPEN);
                push_words(out, first, n);
                out.push(b'"');
                out.extend_from_slice(close);
                out.extend_from_slice(b"\r\n");
            }
            Api::Chat => {
                let end = first + n;
                let r_end = self.reasoning.clamp(first, end);
                let (rn, cn) = (r_end - first, end - r_end);
                let mut len = self.head.len() + CHAT_OPEN.len() + 1 + close.len();
                if rn > 0 {
                    len += REASONING_KEY.len() + words_len(first, rn) + 1;
                }
                if rn > 0 && cn > 0 {
                    len += 1;
                }
                if cn > 0 {
                    len += CONTENT_KEY.len() + words_len(r_end, cn) + 1;
                }
                push_hex(out, len);
                out.extend_from_slice(b"\r\n");
                out.extend_from_slice(&self.head);
                out.extend_from_slice(CHAT_OPEN);
                if rn > 0 {
                    out.extend_from_slice(REASONING_KEY);
                    push_words(out, first, rn);
                    out.push(b'"');
                }
                if rn > 0 && cn > 0 {
                    out.push(b',');
                }
                if cn > 0 {
                    out.extend_from_slice(CONTENT_KEY);
                    push_words(out, r_end, cn);
                    out.push(b'"');
                }
                out.push(b'}');
                out.extend_from_slice(close);
                out.extend_from_slice(b"\r\n");
            }
        }
    }

    /// A chunk whose JSON is cut off in the middle of a string (the `malformed_chunk` fault).
    pub(crate) fn push_malformed(&self, out: &mut Vec<u8>, first: u32) {
        let mut data = Vec::with_capacity(self.head.len() + 64);
        data.extend_from_slice(&self.head);
        data.extend_from_slice(match self.api {
            Api::Completions => COMPL_OPEN,
            Api::Chat => b"{\"index\":0,\"delta\":{\"content\":\"",
        });
        push_words(&mut data, first, 1);
        data.extend_from_slice(b"\n\n");
        push_chunk(out, &data);
    }

    /// The usage chunk (`stream_options.include_usage`).
    /// The usage chunk; `cached`: prompt tokens from the prefix cache, as vLLM gives them in
    /// `prompt_tokens_details`.
    pub(crate) fn push_usage(
        &self,
        out: &mut Vec<u8>,
        prompt: u64,
        completion: u64,
        cached: Option<u32>,
    ) {
        let mut data = Vec::with_capacity(self.head.len() + 140);
        data.extend_from_slice(&self.head);
        let _ = write!(
            data,
            "],\"usage\":{{\"prompt_tokens\":{prompt},\"completion_tokens\":{completion},\"total_tokens\":{}",
            prompt + completion
        );
        if let Some(c) = cached {
            let _ = write!(data, ",\"prompt_tokens_details\":{{\"cached_tokens\":{c}}}");
        }
        data.extend_from_slice(b"}}\n\n");
        push_chunk(out, &data);
    }
}

/// The body of a non-streaming response.
#[allow(clippy::too_many_arguments)]
pub(crate) fn unary_body(
    api: Api,
    seq: u64,
    created: u64,
    model: &str,
    prompt: u64,
    completion: u32,
    reasoning: u32,
    finish: Finish,
    scripted: Option<&str>,
) -> Vec<u8> {
    let usage = serde_json::json!({
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion as u64,
    });
    let v = match api {
        Api::Completions => serde_json::json!({
            "id": response_id(api, seq),
            "object": "text_completion",
            "created": created,
            "model": model,
            "choices": [{
                "index": 0,
                "text": scripted.map_or_else(|| output_text(0, completion), str::to_string),
                "logprobs": null,
                "finish_reason": finish.as_str(),
            }],
            "usage": usage,
        }),
        Api::Chat => {
            // A scripted answer is all content.
            let r = if scripted.is_some() {
                0
            } else {
                reasoning.min(completion)
            };
            let reasoning_content = if r > 0 {
                Value::String(output_text(0, r))
            } else {
                Value::Null
            };
            serde_json::json!({
                "id": response_id(api, seq),
                "object": "chat.completion",
                "created": created,
                "model": model,
                "choices": [{
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": scripted
                            .map_or_else(|| output_text(r, completion - r), str::to_string),
                        "reasoning_content": reasoning_content,
                    },
                    "logprobs": null,
                    "finish_reason": finish.as_str(),
                }],
                "usage": usage,
            })
        }
    };
    serde_json::to_vec(&v).expect("serializes")
}

/// A prefill worker's answer, with what the decode worker needs to take the cache over.
/// A non-streaming body with the prompt tokens taken from the prefix cache in its usage
/// (`prompt_tokens_details.cached_tokens`, as vLLM gives them), known once the engine admitted
/// the request.
pub(crate) fn with_cached_tokens(body: Vec<u8>, cached: u32) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(&body).expect("our own JSON");
    v["usage"]["prompt_tokens_details"] = serde_json::json!({ "cached_tokens": cached });
    serde_json::to_vec(&v).expect("serializes")
}

pub(crate) fn with_kv_transfer(body: Vec<u8>, kv_bytes_per_gpu: u64) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(&body).expect("our own JSON");
    v["kv_transfer_params"] = serde_json::json!({
        "do_remote_prefill": true,
        "do_remote_decode": false,
        "kv_bytes_per_gpu": kv_bytes_per_gpu,
    });
    serde_json::to_vec(&v).expect("serializes")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::counter::WhitespaceWords;

    /// Splits the chunked framing and checks each chunk's declared size.
    fn unchunk(mut b: &[u8]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        while !b.is_empty() {
            let nl = b.windows(2).position(|w| w == b"\r\n").unwrap();
            let n = usize::from_str_radix(std::str::from_utf8(&b[..nl]).unwrap(), 16).unwrap();
            let data = &b[nl + 2..nl + 2 + n];
            assert_eq!(&b[nl + 2 + n..nl + 4 + n], b"\r\n");
            out.push(data.to_vec());
            b = &b[nl + 4 + n..];
        }
        out
    }

    fn event_json(data: &[u8]) -> Value {
        let s = std::str::from_utf8(data).unwrap();
        let s = s
            .strip_prefix("data: ")
            .unwrap()
            .strip_suffix("\n\n")
            .unwrap();
        serde_json::from_str(s).unwrap()
    }

    #[test]
    fn words_len_matches_rendering() {
        for first in [0u32, 3, 15, 16, 17, 100] {
            for n in [0u32, 1, 2, 15, 16, 17, 33, 100] {
                assert_eq!(
                    words_len(first, n),
                    output_text(first, n).len(),
                    "{first} {n}"
                );
            }
        }
        assert_eq!(output_text(14, 3), " at by the");
    }

    #[test]
    fn completions_chunks_are_valid_json_with_the_right_fields() {
        let t = Templates::new(Api::Completions, 7, 1234, "m\"x", 0);
        let mut out = Vec::new();
        t.push_content(&mut out, 0, 2, None);
        t.push_content(&mut out, 2, 1, Some(Finish::Length));
        t.push_usage(&mut out, 5, 3, None);
        t.push_usage(&mut out, 5, 3, Some(4));
        let chunks = unchunk(&out);
        assert_eq!(chunks.len(), 4);
        let cached = event_json(&chunks[3]);
        assert_eq!(cached["usage"]["prompt_tokens_details"]["cached_tokens"], 4);
        assert_eq!(cached["usage"]["total_tokens"], 8);
        let a = event_json(&chunks[0]);
        assert_eq!(a["id"], "cmpl-7");
        assert_eq!(a["object"], "text_completion");
        assert_eq!(a["created"], 1234);
        assert_eq!(a["model"], "m\"x");
        assert_eq!(a["choices"][0]["text"], " the of");
        assert_eq!(a["choices"][0]["finish_reason"], Value::Null);
        let b = event_json(&chunks[1]);
        assert_eq!(b["choices"][0]["text"], " and");
        assert_eq!(b["choices"][0]["finish_reason"], "length");
        let u = event_json(&chunks[2]);
        assert_eq!(u["choices"], serde_json::json!([]));
        assert_eq!(u["usage"]["prompt_tokens"], 5);
        assert_eq!(u["usage"]["completion_tokens"], 3);
        assert!(u["usage"].get("prompt_tokens_details").is_none());
        assert_eq!(u["usage"]["total_tokens"], 8);
    }

    #[test]
    fn chat_chunks_role_reasoning_and_content() {
        let t = Templates::new(Api::Chat, 3, 1, "m", 3);
        let mut out = Vec::new();
        t.push_role(&mut out);
        t.push_content(&mut out, 0, 2, None);
        t.push_content(&mut out, 2, 2, None);
        t.push_content(&mut out, 4, 1, Some(Finish::Stop));
        let chunks = unchunk(&out);
        let role = event_json(&chunks[0]);
        assert_eq!(role["id"], "chatcmpl-3");
        assert_eq!(role["object"], "chat.completion.chunk");
        assert_eq!(
            role["choices"][0]["delta"],
            serde_json::json!({"role":"assistant","content":""})
        );
        let a = event_json(&chunks[1]);
        assert_eq!(
            a["choices"][0]["delta"],
            serde_json::json!({"reasoning_content":" the of"})
        );
        let b = event_json(&chunks[2]);
        assert_eq!(
            b["choices"][0]["delta"],
            serde_json::json!({"reasoning_content":" and","content":" to"})
        );
        let c = event_json(&chunks[3]);
        assert_eq!(
            c["choices"][0]["delta"],
            serde_json::json!({"content":" in"})
        );
        assert_eq!(c["choices"][0]["finish_reason"], "stop");
    }

    #[test]
    fn malformed_chunk_is_not_json() {
        let t = Templates::new(Api::Chat, 3, 1, "m", 0);
        let mut out = Vec::new();
        t.push_malformed(&mut out, 4);
        let chunks = unchunk(&out);
        let s = std::str::from_utf8(&chunks[0]).unwrap();
        let s = s.strip_prefix("data: ").unwrap().trim_end();
        assert!(serde_json::from_str::<Value>(s).is_err());
    }

    #[test]
    fn parse_gen_fields_and_defaults() {
        let c = WhitespaceWords;
        let p = parse_gen(
            Api::Completions,
            br#"{"model":"x","prompt":"a b c"}"#,
            &c,
            256,
        )
        .unwrap();
        assert_eq!(p.prompt_tokens, 3);
        assert_eq!(p.max_tokens, 16);
        assert!(!p.stream);
        assert_eq!(p.model.as_deref(), Some("x"));
        let p = parse_gen(Api::Completions, br#"{"prompt":[1,2,3,4],"max_tokens":9,"stream":true,"stream_options":{"include_usage":true},"ignore_eos":true}"#, &c, 256).unwrap();
        assert_eq!(
            (
                p.prompt_tokens,
                p.max_tokens,
                p.stream,
                p.include_usage,
                p.ignore_eos
            ),
            (4, 9, true, true, true)
        );
        let p = parse_gen(Api::Completions, br#"{"prompt":["a b","c"]}"#, &c, 256).unwrap();
        assert_eq!(p.prompt_tokens, 3);
        let p = parse_gen(Api::Chat, br#"{"messages":[{"role":"system","content":"a b"},{"role":"user","content":[{"type":"text","text":"c d e"},{"type":"image_url","image_url":{"url":"x"}}]}]}"#, &c, 256).unwrap();
        assert_eq!((p.prompt_tokens, p.max_tokens), (5, 256));
        let p = parse_gen(Api::Chat, br#"{"messages":[{"role":"user","content":"x"}],"max_tokens":5,"max_completion_tokens":7}"#, &c, 256).unwrap();
        assert_eq!(p.max_tokens, 7);
        for bad in [
            &br#"{"prompt":"a","n":2}"#[..],
            br#"{"prompt":"a","max_tokens":0}"#,
            br#"{"prompt":"a","max_tokens":"x"}"#,
            br#"{"prompt":{"a":1}}"#,
            br#"{"max_tokens":3}"#,
            br#"{"prompt":"a","stream":"yes"}"#,
            b"not json",
        ] {
            let e = parse_gen(Api::Completions, bad, &c, 256).unwrap_err();
            assert_eq!(e.status, 400, "{}", String::from_utf8_lossy(bad));
        }
        assert!(parse_gen(Api::Chat, br#"{"messages":[]}"#, &c, 256).is_err());
        assert!(parse_gen(Api::Chat, br#"{"prompt":"a"}"#, &c, 256).is_err());
    }

    #[test]
    fn unary_bodies() {
        let b: Value = serde_json::from_slice(&unary_body(
            Api::Chat,
            1,
            2,
            "m",
            4,
            5,
            2,
            Finish::Length,
            None,
        ))
        .unwrap();
        assert_eq!(b["object"], "chat.completion");
        assert_eq!(b["choices"][0]["message"]["reasoning_content"], " the of");
        assert_eq!(b["choices"][0]["message"]["content"], " and to in");
        assert_eq!(b["usage"]["total_tokens"], 9);
        let b: Value = serde_json::from_slice(&unary_body(
            Api::Completions,
            1,
            2,
            "m",
            4,
            3,
            2,
            Finish::Stop,
            None,
        ))
        .unwrap();
        assert_eq!(b["choices"][0]["text"], " the of and");
        // A scripted answer is the whole content, with no reasoning.
        let b: Value = serde_json::from_slice(&unary_body(
            Api::Chat,
            1,
            2,
            "m",
            4,
            3,
            2,
            Finish::Stop,
            Some("#### 72"),
        ))
        .unwrap();
        assert_eq!(b["choices"][0]["message"]["content"], "#### 72");
        assert_eq!(b["choices"][0]["message"]["reasoning_content"], Value::Null);
        assert_eq!(b["choices"][0]["finish_reason"], "stop");
        let c: Value =
            serde_json::from_slice(&with_cached_tokens(serde_json::to_vec(&b).unwrap(), 64))
                .unwrap();
        assert_eq!(c["usage"]["prompt_tokens_details"]["cached_tokens"], 64);
        assert_eq!(c["choices"], b["choices"]);
    }
}
