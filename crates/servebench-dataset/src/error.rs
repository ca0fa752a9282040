use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// The dataset file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The dataset settings are inconsistent (e.g. a sharegpt dataset without a path).
    #[error("{0}")]
    Invalid(String),
    /// A problem in the file's content. `location` is `FILE:LINE` (JSONL) or
    /// `FILE: entry N` (ShareGPT, N counted from 0).
    #[error("{location}: {message}")]
    Format { location: String, message: String },
}

impl DatasetError {
    pub(crate) fn format(location: impl Into<String>, message: impl Into<String>) -> Self {
        DatasetError::Format {
            location: location.into(),
            message: message.into(),
        }
    }
}
