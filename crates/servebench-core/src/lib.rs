//! Shared types of servebench: the versioned benchmark result, metric statistics
//! with their exact definitions, failure categories and the cross-process monotonic clock.

pub mod clock;
pub mod endpoint;
pub mod failure;
pub mod hash;
pub mod power;
pub mod redact;
pub mod result;
pub mod server_metrics;
pub mod shell;
pub mod stats;
pub mod sys;

pub use failure::FailureKind;
pub use result::{BenchResult, SCHEMA_VERSION};
pub use stats::Summary;

/// Which OpenAI API a request goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Api {
    /// `POST /v1/completions` with a `prompt`.
    Completions,
    /// `POST /v1/chat/completions` with `messages`.
    Chat,
}

impl Api {
    pub fn path(self) -> &'static str {
        match self {
            Api::Completions => "/v1/completions",
            Api::Chat => "/v1/chat/completions",
        }
    }

    /// vLLM's backend name for the result file.
    pub fn backend(self) -> &'static str {
        match self {
            Api::Completions => "openai",
            Api::Chat => "openai-chat",
        }
    }
}

impl std::str::FromStr for Api {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "completions" | "completion" => Ok(Api::Completions),
            "chat" | "chat-completions" => Ok(Api::Chat),
            _ => Err(format!("expected 'completions' or 'chat', got '{s}'")),
        }
    }
}
