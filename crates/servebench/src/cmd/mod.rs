pub mod bench;
pub mod calibrate;
pub mod calibrate_disagg;
pub mod dashboard;
pub mod deployment;
pub mod eval;
pub mod export;
pub mod ingest;
pub mod migrate;
pub mod nightly;
pub mod plan;
pub mod quickstart;
pub mod report;
pub mod retract;
pub mod selfbench;
pub mod sim;
pub mod simulate;
pub mod sweep;
pub mod trace;

/// How an `https://` server's certificate is checked (`bench`, `eval`).
#[derive(clap::Args, Debug, Clone)]
pub struct TlsArgs {
    /// https: accept any certificate (a self-signed test server); the connection is still
    /// encrypted.
    #[arg(long)]
    insecure: bool,
    /// https: trust the certificates in this PEM file instead of the built-in roots.
    #[arg(long, value_name = "FILE.pem", conflicts_with = "insecure")]
    ca_cert: Option<std::path::PathBuf>,
}

impl TlsArgs {
    pub fn options(&self) -> servebench_http::TlsOptions {
        servebench_http::TlsOptions {
            insecure: self.insecure,
            ca_cert: self.ca_cert.clone(),
        }
    }
}
