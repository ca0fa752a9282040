//! How fast can the sim emit tokens? Starts the sim (current-thread runtime, `--itl-ms 0`,
//! one token per chunk) and a minimal client (current-thread runtime on this thread) that keeps
//! CONC streaming completions of OSL tokens in flight for SECS seconds, only scanning for the end
//! of each chunked body. Reports tokens/s and the CPU time each side used.
//!
//! `cargo run --release -p servebench-sim --example throughput -- [CONC] [OSL] [SECS]`
//! (defaults: 1024 1024 5). Run it on an otherwise idle machine with at least two cores.
//! `SIM_RECORD=FILE` also writes the record.

use servebench_core::clock::{mono_ns, process_cpu_ns, thread_cpu_ns};
use servebench_sim::{spawn, SimConfig};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("numbers"))
        .collect();
    let conc = *args.first().unwrap_or(&1024) as usize;
    let osl = *args.get(1).unwrap_or(&1024);
    let secs = *args.get(2).unwrap_or(&5);
    // SIM_RECORD=FILE: also write the record (to see its cost).
    let sim = spawn(SimConfig {
        record: std::env::var_os("SIM_RECORD").map(Into::into),
        ..SimConfig::default()
    })
    .expect("sim");
    let addr = sim.addr();
    let body = format!(
        r#"{{"model":"m","prompt":"hello world","max_tokens":{osl},"ignore_eos":true,"stream":true,"stream_options":{{"include_usage":true}}}}"#
    );
    let req = Arc::new(
        format!(
            "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    );
    let done = Arc::new(AtomicU64::new(0));
    let bytes = Arc::new(AtomicU64::new(0));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let cpu0 = (process_cpu_ns(), thread_cpu_ns());
    let t0 = mono_ns();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(secs);
    rt.block_on(async {
        let mut tasks = Vec::new();
        for _ in 0..conc {
            let (req, done, bytes) = (req.clone(), done.clone(), bytes.clone());
            tasks.push(tokio::spawn(async move {
                let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
                s.set_nodelay(true).unwrap();
                let mut buf = vec![0u8; 256 * 1024];
                while tokio::time::Instant::now() < deadline {
                    s.write_all(&req).await.unwrap();
                    let mut tail = [0u8; 7];
                    loop {
                        let n = s.read(&mut buf).await.unwrap();
                        assert!(n > 0, "server closed");
                        bytes.fetch_add(n as u64, Relaxed);
                        if n >= 7 {
                            tail.copy_from_slice(&buf[n - 7..n]);
                        } else {
                            tail.copy_within(n.., 0);
                            tail[7 - n..].copy_from_slice(&buf[..n]);
                        }
                        if &tail == b"\r\n0\r\n\r\n" {
                            break;
                        }
                    }
                    done.fetch_add(1, Relaxed);
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
    let wall = (mono_ns() - t0) as f64 / 1e9;
    let client_cpu = (thread_cpu_ns() - cpu0.1) as f64 / 1e9;
    let server_cpu = (process_cpu_ns() - cpu0.0) as f64 / 1e9 - client_cpu;
    let st = sim.shutdown();
    let n = done.load(Relaxed);
    let tokens = n * osl;
    println!(
        "conc {conc} osl {osl}: {n} responses, {tokens} tokens in {wall:.2} s = {:.0} tokens/s ({:.1} MB/s); server CPU {server_cpu:.2} s ({:.0} tokens per server CPU-second), client CPU {client_cpu:.2} s; sim completed {}",
        tokens as f64 / wall,
        bytes.load(Relaxed) as f64 / wall / 1e6,
        tokens as f64 / server_cpu,
        st.completed
    );
}
