//! The server's threads are a fixed pool: more idle connections than workers and queue add no
//! thread; the surplus is answered 503 at once, and once the idle ones time out the server
//! answers again. Alone in its test binary, so the process's threads are this test's.

mod support;

use servebench_dashboard::server::Limits;
use std::io::{ErrorKind, Read};
use std::net::TcpStream;
use std::time::{Duration, Instant};
use support::*;

/// (all threads of this process, the server's workers, and its threads in all: the workers
/// and the one that builds answers ahead, `sb-dashboard-warm`).
fn threads() -> (usize, usize, usize) {
    let mut all = 0;
    let mut workers = 0;
    let mut server = 0;
    for t in std::fs::read_dir("/proc/self/task").unwrap() {
        all += 1;
        let comm = std::fs::read_to_string(t.unwrap().path().join("comm")).unwrap_or_default();
        if let Some(rest) = comm.strip_prefix("sb-dashboard-") {
            server += 1;
            if rest.starts_with(|c: char| c.is_ascii_digit()) {
                workers += 1;
            }
        }
    }
    (all, workers, server)
}

#[test]
fn idle_connections_beyond_the_pool_get_503_and_no_thread() {
    const WORKERS: usize = 2;
    const QUEUE: usize = 2;
    const SURPLUS: usize = 10;
    let head_timeout = Duration::from_secs(3);
    let t = start(Limits {
        workers: WORKERS,
        queue: QUEUE,
        head_timeout,
        ..Limits::default()
    });

    // The pool and the warming thread start before the first accept; wait for them.
    let deadline = Instant::now() + Duration::from_secs(20);
    while threads().2 < WORKERS + 1 {
        assert!(
            Instant::now() < deadline,
            "no worker threads: {:?}",
            threads()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let before = threads();
    assert_eq!(before.1, WORKERS);

    // Connections that send nothing: the pool holds WORKERS..=WORKERS + QUEUE of them, the
    // rest must be answered 503 at once, well before any idle one times out.
    let t0 = Instant::now();
    let n = WORKERS + QUEUE + SURPLUS;
    let conns: Vec<TcpStream> = (0..n)
        .map(|_| TcpStream::connect(&t.addr).unwrap())
        .collect();
    let mut got = vec![Vec::new(); n];
    let mut closed = vec![false; n];
    for c in &conns {
        c.set_nonblocking(true).unwrap();
    }
    let mut buf = [0u8; 4096];
    // Polling the server's answers until SURPLUS came or the idle ones could time out.
    let answered = |closed: &[bool]| closed.iter().filter(|c| **c).count();
    while answered(&closed) < SURPLUS && t0.elapsed() < head_timeout / 2 {
        for (i, mut c) in conns.iter().enumerate() {
            while !closed[i] {
                match c.read(&mut buf) {
                    Ok(0) => closed[i] = true,
                    Ok(k) => got[i].extend_from_slice(&buf[..k]),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) => panic!("connection {i}: {e}"),
                }
            }
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(
        threads(),
        before,
        "(threads, workers) with {n} open connections"
    );
    let rejected: Vec<usize> = (0..n).filter(|&i| closed[i]).collect();
    assert!(
        (SURPLUS..=SURPLUS + WORKERS).contains(&rejected.len()),
        "{} of {n} idle connections answered within {:?}, {SURPLUS} to {} expected",
        rejected.len(),
        t0.elapsed(),
        SURPLUS + WORKERS
    );
    for &i in &rejected {
        let r = parse(&got[i]);
        assert_eq!(r.status, 503, "connection {i}");
        assert_eq!(r.header("retry-after"), "1");
        assert_eq!(r.header("cache-control"), "no-store");
        assert!(r.has("content-security-policy"));
    }

    // The held ones: closed without an answer when their time is up, first the workers'
    // then the queue's.
    for (i, c) in conns.iter().enumerate().filter(|(i, _)| !closed[*i]) {
        c.set_nonblocking(false).unwrap();
        c.set_read_timeout(Some(4 * head_timeout)).unwrap();
        let mut rest = Vec::new();
        (&*c)
            .read_to_end(&mut rest)
            .unwrap_or_else(|e| panic!("connection {i} not closed: {e}"));
        got[i].extend_from_slice(&rest);
        assert!(got[i].is_empty(), "connection {i}: {:?}", got[i]);
        assert!(t0.elapsed() >= head_timeout - Duration::from_millis(100));
    }
    // And then the server answers again, with the same threads.
    let r = request(&t.addr, "GET", "/app.js", "");
    assert_eq!(r.status, 200);
    assert_eq!(threads(), before);
}
