//! Reading the small files a user names: passwords, credentials and certificates.
//!
//! Owns: [`read_small`], which opens a named file only when it is a regular file (checked on
//! the descriptor, which is opened without blocking: a FIFO without a writer would otherwise
//! hang the run before any timeout applies, and a device such as `/dev/zero` never ends) and
//! reads it whole up to a bound. Must not: interpret the bytes, or know which flag named the
//! file (callers put the flag and the file in their messages).

use std::io::Read as _;
use std::path::Path;

/// Reads `path` whole when it is a regular file of at most `max` bytes. The error completes a
/// sentence about the file: "cannot open it: …", "it is a FIFO, not a regular file", "cannot
/// read it: …", "larger than 64 KiB: not {what}".
pub(crate) fn read_small(path: &Path, max: u64, what: &str) -> Result<Vec<u8>, String> {
    let file = open_regular(path)?;
    let mut bytes = Vec::new();
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read it: {e}"))?;
    if bytes.len() as u64 > max {
        return Err(format!("larger than {} KiB: not {what}", max / 1024));
    }
    Ok(bytes)
}

/// Opens `path` for reading when the descriptor is a regular file.
#[cfg(unix)]
fn open_regular(path: &Path) -> Result<std::fs::File, String> {
    use rustix::fs::{FileType, Mode, OFlags};
    let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC;
    let fd = rustix::fs::open(path, flags, Mode::empty())
        .map_err(|e| format!("cannot open it: {}", std::io::Error::from(e)))?;
    let stat = rustix::fs::fstat(&fd).map_err(|e| format!("cannot open it: {e}"))?;
    let kind = match FileType::from_raw_mode(stat.st_mode) {
        FileType::RegularFile => None,
        FileType::Directory => Some("directory"),
        FileType::Fifo => Some("FIFO"),
        FileType::Socket => Some("socket"),
        FileType::CharacterDevice | FileType::BlockDevice => Some("device"),
        _ => Some("special file"),
    };
    if let Some(kind) = kind {
        return Err(format!("it is a {kind}, not a regular file"));
    }
    // Reads of a regular file never block anyway; the flag is cleared for the record.
    rustix::fs::fcntl_setfl(&fd, OFlags::empty()).map_err(|e| format!("cannot open it: {e}"))?;
    Ok(std::fs::File::from(fd))
}

/// Opens `path` for reading when it is a regular file.
#[cfg(not(unix))]
fn open_regular(path: &Path) -> Result<std::fs::File, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot open it: {e}"))?;
    if !meta.is_file() {
        return Err("it is not a regular file".into());
    }
    std::fs::File::open(path).map_err(|e| format!("cannot open it: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_within_the_bound_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, b"user:pw\n").unwrap();
        assert_eq!(read_small(&file, 8, "a file").unwrap(), b"user:pw\n");
        assert_eq!(
            read_small(&file, 7, "a password file").unwrap_err(),
            "larger than 0 KiB: not a password file"
        );
        let missing = read_small(&dir.path().join("nope"), 8, "x").unwrap_err();
        assert!(missing.starts_with("cannot open it: "), "{missing}");
        assert_eq!(
            read_small(dir.path(), 8, "x").unwrap_err(),
            "it is a directory, not a regular file"
        );
        let fifo = dir.path().join("fifo");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::RUSR | rustix::fs::Mode::WUSR,
            0,
        )
        .unwrap();
        // Without a writer: refused at once, not a hang.
        assert_eq!(
            read_small(&fifo, 8, "x").unwrap_err(),
            "it is a FIFO, not a regular file"
        );
        assert_eq!(
            read_small(Path::new("/dev/zero"), 8, "x").unwrap_err(),
            "it is a device, not a regular file"
        );
    }
}
