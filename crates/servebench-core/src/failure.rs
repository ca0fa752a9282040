//! Why a request failed. Failures are never dropped: each is counted under one of these.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The TCP connection could not be opened.
    Connect,
    /// The server answered with a non-200 HTTP status (the code is kept beside it).
    HttpStatus,
    /// The whole-request deadline or the idle (no bytes) deadline passed.
    Timeout,
    /// The connection was reset or closed before the response was complete.
    Reset,
    /// Bytes that are not valid HTTP, SSE or JSON.
    Parse,
    /// The server sent an `error` object inside the stream.
    ServerError,
    /// The stream ended without the `data: [DONE]` terminator.
    Incomplete,
    /// The stream completed but carried no output token.
    Empty,
}

impl FailureKind {
    pub const ALL: [FailureKind; 8] = [
        FailureKind::Connect,
        FailureKind::HttpStatus,
        FailureKind::Timeout,
        FailureKind::Reset,
        FailureKind::Parse,
        FailureKind::ServerError,
        FailureKind::Incomplete,
        FailureKind::Empty,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Connect => "connect",
            FailureKind::HttpStatus => "http_status",
            FailureKind::Timeout => "timeout",
            FailureKind::Reset => "reset",
            FailureKind::Parse => "parse",
            FailureKind::ServerError => "server_error",
            FailureKind::Incomplete => "incomplete",
            FailureKind::Empty => "empty",
        }
    }
}

impl std::fmt::Display for FailureKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
