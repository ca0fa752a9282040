//! Facts about the host, and the one process limit servebench raises.

pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most buf.len() bytes into our buffer.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr() as *mut libc::c_char, buf.len()) };
    if rc != 0 {
        return String::new();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

pub fn os_release() -> String {
    // SAFETY: uname fills the struct we own.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    if unsafe { libc::uname(&mut u) } != 0 {
        return std::env::consts::OS.into();
    }
    let field = |f: &[libc::c_char]| {
        let b: Vec<u8> = f
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| c as u8)
            .collect();
        String::from_utf8_lossy(&b).into_owned()
    };
    format!(
        "{} {} {}",
        field(&u.sysname),
        field(&u.release),
        field(&u.machine)
    )
}

/// Raise the soft limit on open files to the hard limit (a benchmark at concurrency 2048 needs
/// more descriptors than the common default of 1024). Returns the soft limit now in force.
#[allow(clippy::unnecessary_cast)] // rlim_t is not u64 on every target
pub fn raise_fd_limit() -> u64 {
    // SAFETY: getrlimit/setrlimit with a struct we own.
    unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 0;
        }
        if lim.rlim_cur < lim.rlim_max {
            let want = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &want) == 0 {
                return want.rlim_cur as u64;
            }
        }
        lim.rlim_cur as u64
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn fd_limit_is_at_least_what_it_was() {
        let before = unsafe {
            let mut l = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            libc::getrlimit(libc::RLIMIT_NOFILE, &mut l);
            l
        };
        let now = super::raise_fd_limit();
        assert_eq!(now, before.rlim_max as u64);
        assert!(!super::hostname().is_empty());
        assert!(super::os_release().starts_with("Linux"));
    }
}

/// Reads a whole file that comes from outside (results, recipes, datasets), refusing one over
/// `limit` bytes, and an allocation that fails, with an error rather than an abort. Reads at
/// most `limit + 1` bytes whatever the file claims (a FIFO or `/dev/zero` claims nothing).
pub fn read_limited(path: &std::path::Path, limit: u64) -> std::io::Result<Vec<u8>> {
    use std::io::{Error, ErrorKind, Read};
    let f = std::fs::File::open(path)?;
    let len = f.metadata()?.len();
    let too_big = |n: u64| {
        Error::new(
            ErrorKind::InvalidData,
            format!("{n} bytes or more: larger than the {limit} bytes servebench reads from such a file"),
        )
    };
    if len > limit {
        return Err(too_big(len));
    }
    let mut buf = Vec::new();
    buf.try_reserve_exact(len as usize).map_err(|_| {
        Error::new(
            ErrorKind::OutOfMemory,
            format!("{len} bytes do not fit in memory"),
        )
    })?;
    f.take(limit + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > limit {
        return Err(too_big(buf.len() as u64));
    }
    Ok(buf)
}

/// [`read_limited`] as UTF-8 text.
pub fn read_limited_string(path: &std::path::Path, limit: u64) -> std::io::Result<String> {
    String::from_utf8(read_limited(path, limit)?).map_err(|e| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("not UTF-8 text (at byte {})", e.utf8_error().valid_up_to()),
        )
    })
}

/// How much servebench reads of one file of each kind.
pub mod limits {
    /// A result, point, eval or published JSON file.
    pub const JSON: u64 = 256 << 20;
    /// A recipe (master config) or runner file.
    pub const RECIPE: u64 = 64 << 20;
    /// An eval's questions or a test server's scripted answers.
    pub const DATASET: u64 = 1 << 30;
}

#[cfg(test)]
mod read_tests {
    use super::*;

    #[test]
    fn reads_are_bounded_whatever_the_file_claims() {
        let d = std::env::temp_dir().join(format!("sb-read-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let f = d.join("x");
        std::fs::write(&f, b"0123456789").unwrap();
        assert_eq!(read_limited(&f, 10).unwrap(), b"0123456789");
        let e = read_limited(&f, 9).unwrap_err().to_string();
        assert!(
            e.contains("10 bytes or more: larger than the 9 bytes"),
            "{e}"
        );
        // /dev/zero says it is empty and never ends.
        let e = read_limited(std::path::Path::new("/dev/zero"), 1 << 20).unwrap_err();
        assert!(
            e.to_string().contains("larger than the 1048576 bytes"),
            "{e}"
        );
        std::fs::write(&f, b"\xff\xfe").unwrap();
        assert!(read_limited_string(&f, 10)
            .unwrap_err()
            .to_string()
            .contains("not UTF-8"));
        let _ = std::fs::remove_dir_all(&d);
    }
}
