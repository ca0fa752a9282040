//! One clock for the client and the test server.
//!
//! `CLOCK_MONOTONIC` is system-wide on Linux, so a timestamp taken by the test server
//! and one taken by the client in another process are directly comparable. That is
//! what lets tests and `selfbench` compare what the client measured with what the
//! server really did. `std::time::Instant` reads the same clock but cannot be
//! exchanged between processes, hence raw nanoseconds.

/// Nanoseconds on `CLOCK_MONOTONIC` (system-wide, never jumps).
#[inline]
pub fn mono_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own; CLOCK_MONOTONIC always exists on Linux.
    unsafe {
        libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts);
    }
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Seconds since the Unix epoch (wall clock), for human-facing timestamps only.
pub fn unix_time_s() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// CPU time consumed so far by the calling thread, in nanoseconds.
pub fn thread_cpu_ns() -> u64 {
    cpu_ns(libc::CLOCK_THREAD_CPUTIME_ID)
}

/// CPU time consumed so far by the whole process, in nanoseconds.
pub fn process_cpu_ns() -> u64 {
    cpu_ns(libc::CLOCK_PROCESS_CPUTIME_ID)
}

fn cpu_ns(clock: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: as above; the CPU-time clocks of the calling thread/process always exist.
    unsafe {
        libc::clock_gettime(clock, &mut ts);
    }
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Peak resident set size of this process in bytes (`ru_maxrss`).
pub fn peak_rss_bytes() -> u64 {
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage fills the struct we own.
    unsafe {
        libc::getrusage(libc::RUSAGE_SELF, &mut ru);
    }
    ru.ru_maxrss as u64 * 1024
}

/// Peak resident set size of waited-for children in bytes.
pub fn children_peak_rss_bytes() -> u64 {
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    unsafe {
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru);
    }
    ru.ru_maxrss as u64 * 1024
}

/// UTC calendar date and time of `unix` seconds: (year, month, day, hour, minute, second).
pub fn utc_civil(unix: i64) -> (i64, i64, i64, i64, i64, i64) {
    let (days, rem) = (unix.div_euclid(86_400), unix.rem_euclid(86_400));
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d, rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mono_is_monotonic_and_matches_instant_rate() {
        let a = mono_ns();
        let i = std::time::Instant::now();
        let mut x = 0u64;
        for k in 0..200_000u64 {
            x = x.wrapping_add(k * k);
        }
        std::hint::black_box(x);
        let b = mono_ns();
        let el = i.elapsed().as_nanos() as u64;
        assert!(b > a);
        // Both read CLOCK_MONOTONIC: the two elapsed readings agree to well under a millisecond.
        assert!((b - a).abs_diff(el) < 1_000_000, "{} vs {}", b - a, el);
    }

    #[test]
    fn civil_dates() {
        assert_eq!(utc_civil(0), (1970, 1, 1, 0, 0, 0));
        // 2024-02-29T12:34:56Z, a leap day.
        assert_eq!(utc_civil(1_709_210_096), (2024, 2, 29, 12, 34, 56));
    }
}
