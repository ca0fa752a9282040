//! The dashboard's HTTP server over real TCP on loopback: the security and caching fields of
//! every answer, revalidation of the embedded files by entity tag, and the limits on a
//! request head (size, field count, time).

mod support;

use servebench_dashboard::server::Limits;
use servebench_dashboard::site;
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};
use support::*;

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

fn assert_security_fields(what: &str, a: &Answer) {
    assert_eq!(a.header("content-security-policy"), CSP, "{what}");
    assert_eq!(a.header("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(a.header("referrer-policy"), "no-referrer", "{what}");
    assert_eq!(a.header("connection"), "close", "{what}");
}

/// The tag the server must give an embedded file: the first 128 bits of its SHA-256, quoted.
fn expected_etag(bytes: &[u8]) -> String {
    format!("\"{}\"", hex::encode(&Sha256::digest(bytes)[..16]))
}

#[test]
fn every_answer_carries_the_security_fields_and_its_caching() {
    let t = start(Limits::default());
    let a = &t.addr;

    // The embedded files: stored by caches, revalidated before use.
    for (path, file, ctype) in [
        ("/", "index.html", "text/html; charset=utf-8"),
        ("/index.html", "index.html", "text/html; charset=utf-8"),
        ("/app.js", "app.js", "text/javascript; charset=utf-8"),
        ("/style.css", "style.css", "text/css; charset=utf-8"),
        (
            "/vendor/chart.umd.min.js",
            "vendor/chart.umd.min.js",
            "text/javascript; charset=utf-8",
        ),
        (
            "/vendor/chart.js.LICENSE.md",
            "vendor/chart.js.LICENSE.md",
            "text/markdown; charset=utf-8",
        ),
    ] {
        let bytes = site::asset(file).unwrap().0;
        for method in ["GET", "HEAD"] {
            let r = request(a, method, path, "");
            let what = format!("{method} {path}");
            assert_eq!(r.status, 200, "{what}");
            assert_security_fields(&what, &r);
            assert_eq!(r.header("content-type"), ctype, "{what}");
            assert_eq!(
                r.header("content-length"),
                bytes.len().to_string(),
                "{what}"
            );
            assert_eq!(r.header("cache-control"), "no-cache", "{what}");
            assert_eq!(r.header("etag"), expected_etag(bytes), "{what}");
            let body: &[u8] = if method == "GET" { bytes } else { &[] };
            assert_eq!(r.body, body, "{what}");
        }
    }

    // The API and every error: never stored, no tag.
    let raw = |bytes: &[u8]| send(a, bytes, Duration::from_secs(30));
    for (what, r, status) in [
        ("index", request(a, "GET", "/api/v1/index.json", ""), 200),
        (
            "index HEAD",
            request(a, "HEAD", "/api/v1/index.json", ""),
            200,
        ),
        (
            "no view",
            request(a, "GET", "/api/v1/views/nope.json", ""),
            404,
        ),
        ("no page", request(a, "GET", "/nope.js", ""), 404),
        (
            "bad report",
            request(a, "GET", "/api/v1/report/at?tier=free", ""),
            400,
        ),
        ("POST", request(a, "POST", "/api/v1/index.json", ""), 405),
        ("garbage", raw(b"\x01\x02 not http\r\n\r\n"), 400),
        (
            "too large",
            raw(format!("GET / HTTP/1.1\r\nX-Pad: {}\r\n\r\n", "a".repeat(20 << 10)).as_bytes()),
            431,
        ),
    ] {
        assert_eq!(
            r.status,
            status,
            "{what}: {}",
            String::from_utf8_lossy(&r.body)
        );
        assert_security_fields(what, &r);
        assert_eq!(r.header("cache-control"), "no-store", "{what}");
        assert!(!r.has("etag"), "{what}");
        assert_eq!(r.header("content-type"), "application/json", "{what}");
    }
    assert_eq!(request(a, "DELETE", "/", "").header("allow"), "GET, HEAD");
}

#[test]
fn embedded_files_revalidate_by_entity_tag() {
    let t = start(Limits::default());
    let a = &t.addr;
    let mut tags = Vec::new();
    for (path, bytes, _) in site::ASSETS {
        let url = format!("/{path}");
        let first = request(a, "GET", &url, "");
        let tag = first.header("etag").to_string();
        assert_eq!(tag, expected_etag(bytes), "{path}");
        assert_eq!(
            request(a, "GET", &url, "").header("etag"),
            tag,
            "{path}: stable"
        );
        tags.push(tag.clone());

        for inm in [
            tag.clone(),
            format!("W/{tag}"),
            format!("\"0123\", {tag}"),
            "*".to_string(),
        ] {
            for method in ["GET", "HEAD"] {
                let what = format!("{method} {path} If-None-Match: {inm}");
                let r = request(a, method, &url, &format!("If-None-Match: {inm}\r\n"));
                assert_eq!(r.status, 304, "{what}");
                assert!(r.body.is_empty(), "{what}");
                assert_eq!(r.header("etag"), tag, "{what}");
                assert_eq!(r.header("cache-control"), "no-cache", "{what}");
                assert_security_fields(&what, &r);
            }
        }
        // Another version of the file: the whole of this one.
        let r = request(a, "GET", &url, "If-None-Match: \"0123456789abcdef\"\r\n");
        assert_eq!((r.status, r.body.as_slice()), (200, *bytes), "{path}");
        assert_eq!(r.header("etag"), tag);
    }
    let mut unique = tags.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), tags.len(), "one tag per file: {tags:?}");

    // The `/` of the index page is the same file with the same tag.
    let index = request(a, "GET", "/", "");
    let r = request(
        a,
        "GET",
        "/",
        &format!("If-None-Match: {}\r\n", index.header("etag")),
    );
    assert_eq!(r.status, 304);

    // API answers have no tag and are never "not modified".
    let r = request(a, "GET", "/api/v1/index.json", "If-None-Match: *\r\n");
    assert_eq!(r.status, 200);
    assert!(!r.has("etag"));
}

#[test]
fn a_request_head_is_bounded_in_size_and_fields() {
    let t = start(Limits::default());
    let a = &t.addr;
    let wait = Duration::from_secs(30);
    let head = |pad: usize, fields: usize| {
        let mut h = format!("GET /style.css HTTP/1.1\r\nHost: {a}\r\n");
        for i in 0..fields {
            h += &format!("X-F{i}: 1\r\n");
        }
        h += &format!("X-Pad: {}\r\n\r\n", "a".repeat(pad));
        h
    };
    // Just under 16 KiB: served.
    let r = send(a, head(15 << 10, 0).as_bytes(), wait);
    assert_eq!(r.status, 200);
    assert_eq!(r.body, site::asset("style.css").unwrap().0);
    // Over it: 431, whether the head ends or not.
    for (what, raw) in [
        ("17 KiB", head(17 << 10, 0)),
        ("40 KiB", head(40 << 10, 0)),
        (
            "unterminated",
            format!("GET / HTTP/1.1\r\nX-Pad: {}", "a".repeat(20 << 10)),
        ),
        ("100 fields", head(0, 100)),
    ] {
        let r = send(a, raw.as_bytes(), wait);
        assert_eq!(
            r.status,
            431,
            "{what}: {}",
            String::from_utf8_lossy(&r.body)
        );
        assert!(
            String::from_utf8_lossy(&r.body).contains("request head too large"),
            "{what}"
        );
    }
    // 60 fields are fine.
    assert_eq!(send(a, head(10, 60).as_bytes(), wait).status, 200);
}

#[test]
fn a_request_head_must_arrive_in_time() {
    let head_timeout = Duration::from_millis(300);
    let t = start(Limits {
        head_timeout,
        ..Limits::default()
    });
    let guard = Some(Duration::from_secs(20));

    // Part of a head, then nothing: 408 once the time is up.
    let mut s = TcpStream::connect(&t.addr).unwrap();
    s.set_read_timeout(guard).unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap();
    let t0 = Instant::now();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    assert!(t0.elapsed() >= head_timeout - Duration::from_millis(50));
    let r = parse(&buf);
    assert_eq!(r.status, 408);
    assert_security_fields("408", &r);

    // Nothing at all: closed without an answer.
    let mut s = TcpStream::connect(&t.addr).unwrap();
    s.set_read_timeout(guard).unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    assert!(buf.is_empty(), "{}", String::from_utf8_lossy(&buf));

    // A byte every 20 ms does not keep a connection: the time is for the whole head.
    let mut s = TcpStream::connect(&t.addr).unwrap();
    s.set_read_timeout(guard).unwrap();
    let mut w = s.try_clone().unwrap();
    let t0 = Instant::now();
    let trickle = std::thread::spawn(move || {
        let line = b"GET / HTTP/1.1\r\nX-Slow: "
            .iter()
            .chain([b'a'; 1000].iter());
        for b in line {
            if w.write_all(&[*b]).is_err() {
                return;
            }
            // Pacing of the slow client, not synchronisation.
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    let took = t0.elapsed();
    assert_eq!(parse(&buf).status, 408);
    assert!(
        took < Duration::from_secs(5),
        "a trickling client held the connection for {took:?}"
    );
    drop(s);
    trickle.join().unwrap();
}
