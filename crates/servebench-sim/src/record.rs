//! The record: what the server really did, one JSON line per generation request.
//!
//! A line is written when the request finishes (response complete, connection reset or dropped,
//! or server shut down with the request in flight). Lines go through a buffered writer that is
//! flushed at shutdown (library handle, SIGINT, SIGTERM).
//!
//! All `*_ns` offsets are nanoseconds after `arrival_ns`, which is an absolute
//! `CLOCK_MONOTONIC` reading ([`servebench_core::clock::mono_ns`]) comparable with the client's.
//! Each offset is taken right after the `write` that carried the bytes returned; chunks written
//! together in one `write` share its time.

use crate::faults::FaultKind;
use crate::SimError;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;
use std::sync::Mutex;

/// One generation request as the server handled it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerRecord {
    /// Arrival-order number (0-based) among generation requests.
    pub seq: u64,
    /// The `x-request-id` request header, if any.
    pub request_id: Option<String>,
    /// `/v1/completions` or `/v1/chat/completions`.
    pub path: String,
    pub stream: bool,
    /// `mono_ns()` when the request body had been fully read.
    pub arrival_ns: u64,
    /// The fault applied, if any.
    pub fault: Option<FaultKind>,
    /// HTTP status sent; `None` when the connection was reset before any status line.
    pub status: Option<u16>,
    /// Prompt tokens, as counted by the configured counter (what `usage` reports).
    pub prompt_tokens: u32,
    /// Output tokens planned for the response (what `usage` reports). The tokens actually
    /// delivered in well-formed content chunks are `chunk_tokens.iter().sum()`.
    pub completion_tokens: u32,
    /// When the chat role-only chunk was written (chat streams only).
    pub role_ns: Option<u64>,
    /// When each well-formed content chunk was written. A non-streaming response is one entry
    /// (the body). A malformed chunk (fault) is not listed.
    pub chunks_ns: Vec<u64>,
    /// Tokens in each content chunk listed in `chunks_ns`.
    pub chunk_tokens: Vec<u32>,
    /// When the usage (streaming: the usage chunk; non-streaming: the body) was written.
    pub usage_ns: Option<u64>,
    /// When `data: [DONE]` was written.
    pub done_ns: Option<u64>,
    /// When the response finished or the connection was dropped.
    pub end_ns: u64,
    /// `length` or `stop` (planned; also for faulted responses).
    #[serde(default)]
    pub finish_reason: Option<String>,
}

/// Appends records to a file, buffered.
pub(crate) struct Recorder {
    out: Mutex<BufWriter<File>>,
}

impl Recorder {
    pub(crate) fn create(path: &Path) -> Result<Recorder, SimError> {
        let f = File::create(path).map_err(|e| SimError::Record {
            path: path.to_owned(),
            source: e,
        })?;
        Ok(Recorder {
            out: Mutex::new(BufWriter::with_capacity(1 << 20, f)),
        })
    }

    pub(crate) fn write(&self, rec: &ServerRecord) {
        let mut line = serde_json::to_vec(rec).expect("a record always serializes");
        line.push(b'\n');
        let mut out = self.out.lock().unwrap_or_else(|p| p.into_inner());
        // A full disk cannot be reported from here; the flush at shutdown reports it.
        let _ = out.write_all(&line);
    }

    pub(crate) fn flush(&self) -> std::io::Result<()> {
        self.out.lock().unwrap_or_else(|p| p.into_inner()).flush()
    }
}

/// Reads a record file written by the sim.
pub fn read_records(path: &Path) -> Result<Vec<ServerRecord>, SimError> {
    let f = File::open(path).map_err(|e| SimError::Record {
        path: path.to_owned(),
        source: e,
    })?;
    let mut out = Vec::new();
    for (i, line) in BufReader::new(f).lines().enumerate() {
        let line = line.map_err(|e| SimError::Record {
            path: path.to_owned(),
            source: e,
        })?;
        if line.trim().is_empty() {
            continue;
        }
        let rec = serde_json::from_str(&line).map_err(|e| SimError::RecordParse {
            path: path.to_owned(),
            line: i + 1,
            message: e.to_string(),
        })?;
        out.push(rec);
    }
    Ok(out)
}
