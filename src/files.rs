//! Reading the small files a user names: passwords, credentials and certificates.
//!
//! Owns: opening a named file without blocking ([`open_nonblocking`]: a FIFO without a writer
//! would otherwise hang the run before any timeout applies), and [`read_small`], which reads a
//! file whole, up to a bound, only when the opened descriptor is a regular file (a device such
//! as `/dev/zero` never ends). Must not: interpret the bytes, or know which flag named the file
//! (callers put the flag and the file in their messages).

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
fn open_regular(path: &Path) -> Result<std::fs::File, String> {
    use rustix::fs::FileType;
    let cannot = |e: std::io::Error| format!("cannot open it: {e}");
    let file = open_nonblocking(path).map_err(cannot)?;
    let stat = rustix::fs::fstat(&file).map_err(|e| cannot(e.into()))?;
    let kind = match FileType::from_raw_mode(stat.st_mode) {
        // Reads of a regular file never block: the flag is left as it is.
        FileType::RegularFile => return Ok(file),
        FileType::Directory => "directory",
        FileType::Fifo => "FIFO",
        FileType::Socket => "socket",
        FileType::CharacterDevice | FileType::BlockDevice => "device",
        _ => "special file",
    };
    Err(format!("it is a {kind}, not a regular file"))
}

/// Opens `path` for reading without blocking (opening a FIFO nobody writes to would block
/// forever). What was opened is then told by the descriptor (`fstat`), which a check of the
/// path before the open could not promise. The descriptor stays non-blocking; see
/// [`make_blocking`].
pub(crate) fn open_nonblocking(path: &Path) -> std::io::Result<std::fs::File> {
    use rustix::fs::{Mode, OFlags};
    let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC;
    Ok(std::fs::File::from(rustix::fs::open(
        path,
        flags,
        Mode::empty(),
    )?))
}

/// Makes a descriptor from [`open_nonblocking`] blocking again (for a FIFO whose writer came).
pub(crate) fn make_blocking(file: &std::fs::File) -> std::io::Result<()> {
    let flags = rustix::fs::fcntl_getfl(file)?;
    rustix::fs::fcntl_setfl(file, flags - rustix::fs::OFlags::NONBLOCK)?;
    Ok(())
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
