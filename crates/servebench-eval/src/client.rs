//! One blocking, non-streaming chat-completions call: what an eval needs (the whole answer,
//! its finish reason and token counts), with the failure kinds that decide a retry. HTTP is
//! servebench's one library client (`servebench-http`).

use serde_json::Value;
use servebench_core::endpoint::BaseUrl;
use servebench_http::{Client, HttpError, Options, TlsOptions};
use std::time::Duration;

/// Where requests go.
#[derive(Debug, Clone)]
pub struct Endpoint {
    client: Client,
    /// The path of chat completions: PREFIX/v1/chat/completions.
    pub path: String,
}

impl Endpoint {
    /// From a base URL `http[s]://HOST:PORT[/PREFIX]`; each request must finish in `timeout`.
    pub fn new(
        base_url: &BaseUrl,
        api_key: Option<String>,
        tls: TlsOptions,
        timeout: Duration,
    ) -> Result<Endpoint, String> {
        let client = Client::new(
            base_url.clone(),
            Options {
                timeout,
                connect_timeout: timeout.min(Duration::from_secs(10)),
                api_key,
                tls,
                ..Options::default()
            },
        )
        .map_err(|e| e.to_string())?;
        Ok(Endpoint {
            path: base_url.api_path("/v1/chat/completions"),
            client,
        })
    }

    /// The server's HTTP client (for the pre-flight check).
    pub fn client(&self) -> &Client {
        &self.client
    }
}

/// What the server answered.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub content: String,
    /// `reasoning_content` (vLLM, SGLang), when the server separates it.
    pub reasoning: Option<String>,
    pub finish_reason: Option<String>,
    pub prompt_tokens: Option<u64>,
    pub completion_tokens: Option<u64>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CallError {
    /// Could not connect, or the connection broke: worth retrying.
    Transport(String),
    /// No complete answer within the deadline: worth retrying.
    Timeout,
    /// An HTTP error status (retrying helps for 408, 429 and 5xx).
    Status(u16, String),
    /// An answer that is not a chat completion: not worth retrying.
    Protocol(String),
}

impl CallError {
    pub fn retryable(&self) -> bool {
        match self {
            CallError::Transport(_) | CallError::Timeout => true,
            CallError::Status(s, _) => *s == 408 || *s == 429 || *s >= 500,
            CallError::Protocol(_) => false,
        }
    }
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Transport(e) => write!(f, "connection: {e}"),
            CallError::Timeout => f.write_str("no answer before the request timeout"),
            CallError::Status(s, body) => write!(f, "HTTP {s}: {body}"),
            CallError::Protocol(e) => write!(f, "not a chat completion: {e}"),
        }
    }
}

/// POSTs `body` and reads the whole answer (within the endpoint's timeout).
pub fn chat(ep: &Endpoint, body: &Value) -> Result<Reply, CallError> {
    let payload = serde_json::to_vec(body).expect("a JSON value serializes");
    let r = ep
        .client
        .post_json(&ep.path, &payload)
        .map_err(|e| match e {
            HttpError::Timeout { .. } => CallError::Timeout,
            e if e.retryable() => CallError::Transport(e.to_string()),
            e => CallError::Transport(e.to_string()),
        })?;
    let text = r.text();
    if !(200..300).contains(&r.status) {
        let short: String = text.chars().take(300).collect();
        return Err(CallError::Status(r.status, short));
    }
    let v: Value = serde_json::from_str(&text).map_err(|e| {
        CallError::Protocol(format!(
            "{e}: {}",
            text.chars().take(200).collect::<String>()
        ))
    })?;
    let choice = &v["choices"][0];
    if !choice.is_object() {
        return Err(CallError::Protocol(format!(
            "no choices: {}",
            text.chars().take(200).collect::<String>()
        )));
    }
    let msg = &choice["message"];
    let content = match &msg["content"] {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => return Err(CallError::Protocol(format!("message.content is {other}"))),
    };
    Ok(Reply {
        content,
        reasoning: msg["reasoning_content"]
            .as_str()
            .or(msg["reasoning"].as_str())
            .map(str::to_string),
        finish_reason: choice["finish_reason"].as_str().map(str::to_string),
        prompt_tokens: v["usage"]["prompt_tokens"].as_u64(),
        completion_tokens: v["usage"]["completion_tokens"].as_u64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        let ep = |u: &str| {
            Endpoint::new(
                &u.parse().unwrap(),
                None,
                TlsOptions::default(),
                Duration::from_secs(1),
            )
            .unwrap()
            .path
        };
        assert_eq!(ep("http://127.0.0.1:8000"), "/v1/chat/completions");
        assert_eq!(ep("http://h:1/v1/"), "/v1/chat/completions");
        assert_eq!(ep("http://[::1]:1/proxy/x"), "/proxy/x/v1/chat/completions");
    }

    #[test]
    fn what_is_worth_retrying() {
        assert!(CallError::Status(429, String::new()).retryable());
        assert!(CallError::Status(502, String::new()).retryable());
        assert!(!CallError::Status(400, String::new()).retryable());
        assert!(!CallError::Protocol(String::new()).retryable());
        assert!(CallError::Timeout.retryable());
    }
}
