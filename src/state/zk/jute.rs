//! Jute binary decoding: a bounds-checked big-endian cursor over a byte slice.
//!
//! Owns the primitive encodings of `org.apache.jute.BinaryInputArchive` (int, long, boolean,
//! ustring, buffer, vector count) and the length sanity limits (`jute.maxbuffer`). Every read is
//! bounds-checked and every error carries the absolute byte offset where the field starts.
//! This module must never panic, never allocate (it returns borrowed slices), and never trust a
//! length before checking it against both the limit and the bytes actually present.
//! It knows nothing about snapshots or logs.

use std::fmt;

use super::error::Problem;

/// ZooKeeper's default `jute.maxbuffer` (0xfffff bytes).
pub const DEFAULT_MAX_BUFFER: u32 = 0xfffff;

/// Sanity limits on lengths read from the wire, like ZooKeeper's `BinaryInputArchive`:
/// a length `len` is accepted when `0 <= len <= max_buffer + extra_buffer`.
///
/// ZooKeeper's defaults are `jute.maxbuffer = 0xfffff` and
/// `zookeeper.jute.maxbuffer.extrasize = jute.maxbuffer` (so about 2 MiB in total). Sites that
/// raised `jute.maxbuffer` must raise [`Limits::max_buffer`] too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `jute.maxbuffer`.
    pub max_buffer: u32,
    /// `zookeeper.jute.maxbuffer.extrasize` (ZooKeeper uses at least 1024).
    pub extra_buffer: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_buffer: DEFAULT_MAX_BUFFER,
            extra_buffer: DEFAULT_MAX_BUFFER,
        }
    }
}

impl Limits {
    /// Limits for a server whose `jute.maxbuffer` is `max_buffer` and whose extrasize is left at
    /// its default (equal to `max_buffer`, at least 1024), as ZooKeeper computes it.
    #[must_use]
    pub fn with_max_buffer(max_buffer: u32) -> Self {
        Limits {
            max_buffer,
            extra_buffer: max_buffer.max(1024),
        }
    }

    /// The largest accepted length in bytes.
    #[must_use]
    pub fn max_len(&self) -> usize {
        // u32 + u32 always fits in u64; usize is at least 32 bits, so saturate.
        usize::try_from(u64::from(self.max_buffer) + u64::from(self.extra_buffer))
            .unwrap_or(usize::MAX)
    }
}

/// A decoding error: what went wrong and the absolute byte offset where the failing field starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JuteError {
    /// Absolute offset (stream position) of the field that failed.
    pub offset: u64,
    /// What was wrong.
    pub problem: Problem,
}

impl fmt::Display for JuteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at byte {})", self.problem, self.offset)
    }
}

impl std::error::Error for JuteError {}

impl JuteError {
    /// True when the error only means "more bytes are needed".
    #[must_use]
    pub fn is_truncated(&self) -> bool {
        self.problem.is_truncated()
    }
}

/// A bounds-checked big-endian reader over a byte slice.
///
/// `base` is the absolute offset of `buf[0]` in the enclosing stream, so errors report stream
/// offsets. On error the cursor's position is unspecified; callers that want to retry a record
/// save [`Cursor::position`] first and restore it with [`Cursor::set_position`].
#[derive(Debug, Clone)]
pub struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
    base: u64,
    max_len: usize,
}

impl<'a> Cursor<'a> {
    /// A cursor over `buf`, whose first byte is at absolute offset `base`.
    #[must_use]
    pub fn new(buf: &'a [u8], base: u64, limits: &Limits) -> Self {
        Cursor {
            buf,
            pos: 0,
            base,
            max_len: limits.max_len(),
        }
    }

    /// Position relative to the start of the slice.
    #[must_use]
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Moves to a position relative to the start of the slice (clamped to the slice length).
    pub fn set_position(&mut self, pos: usize) {
        self.pos = pos.min(self.buf.len());
    }

    /// Absolute offset of the next byte.
    #[must_use]
    pub fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// Bytes left in the slice.
    #[must_use]
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// The unread rest of the slice.
    #[must_use]
    pub fn rest(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }

    /// True when every byte has been read.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    /// The largest length this cursor accepts.
    #[must_use]
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    #[cold]
    fn truncated(&self, at: usize, what: &'static str, needed: usize) -> JuteError {
        JuteError {
            offset: self.base + at as u64,
            problem: Problem::Truncated {
                what,
                needed: needed as u64,
            },
        }
    }

    /// Builds an error at the current position.
    #[cold]
    #[must_use]
    pub fn error(&self, problem: Problem) -> JuteError {
        JuteError {
            offset: self.offset(),
            problem,
        }
    }

    /// Builds an error at a position relative to the slice start.
    #[cold]
    #[must_use]
    pub fn error_at(&self, pos: usize, problem: Problem) -> JuteError {
        JuteError {
            offset: self.base + pos as u64,
            problem,
        }
    }

    #[inline]
    fn take_array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], JuteError> {
        match self.buf.get(self.pos..self.pos + N) {
            Some(s) => {
                let mut a = [0u8; N];
                a.copy_from_slice(s);
                self.pos += N;
                Ok(a)
            }
            None => Err(self.truncated(self.pos, what, self.pos + N - self.buf.len())),
        }
    }

    /// Reads `n` raw bytes.
    #[inline]
    pub fn read_bytes(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], JuteError> {
        if n > self.remaining() {
            return Err(self.truncated(self.pos, what, n - self.remaining()));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// Skips `n` bytes.
    #[inline]
    pub fn skip(&mut self, n: usize, what: &'static str) -> Result<(), JuteError> {
        self.read_bytes(n, what).map(|_| ())
    }

    /// Reads one byte.
    #[inline]
    pub fn read_byte(&mut self, what: &'static str) -> Result<u8, JuteError> {
        Ok(self.take_array::<1>(what)?[0])
    }

    /// Reads a jute `boolean` (one byte; like `DataInputStream.readBoolean`, non-zero is true).
    #[inline]
    pub fn read_bool(&mut self, what: &'static str) -> Result<bool, JuteError> {
        Ok(self.read_byte(what)? != 0)
    }

    /// Reads a jute `int` (4 bytes, big-endian, signed).
    #[inline]
    pub fn read_int(&mut self, what: &'static str) -> Result<i32, JuteError> {
        Ok(i32::from_be_bytes(self.take_array::<4>(what)?))
    }

    /// Reads a jute `long` (8 bytes, big-endian, signed).
    #[inline]
    pub fn read_long(&mut self, what: &'static str) -> Result<i64, JuteError> {
        Ok(i64::from_be_bytes(self.take_array::<8>(what)?))
    }

    /// Reads a length-prefixed byte run (`buffer` or `ustring`): `None` for length -1 (null).
    /// The length is checked against the limit before the bytes are looked at.
    #[inline]
    pub fn read_buffer(&mut self, what: &'static str) -> Result<Option<&'a [u8]>, JuteError> {
        let start = self.pos;
        let len = self.read_int(what)?;
        if len == -1 {
            return Ok(None);
        }
        let Ok(n) = usize::try_from(len) else {
            return Err(self.error_at(
                start,
                Problem::BadLength {
                    what,
                    len: i64::from(len),
                    max: self.max_len as u64,
                },
            ));
        };
        if n > self.max_len {
            return Err(self.error_at(
                start,
                Problem::BadLength {
                    what,
                    len: i64::from(len),
                    max: self.max_len as u64,
                },
            ));
        }
        if n > self.remaining() {
            let needed = n - self.remaining();
            return Err(self.truncated(start, what, needed));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(Some(s))
    }

    /// Reads a jute `ustring` as raw bytes (`None` for null). Jute writes Java strings as UTF-8
    /// (CESU-8 for surrogates); decode with `String::from_utf8_lossy` when text is needed.
    #[inline]
    pub fn read_ustring(&mut self, what: &'static str) -> Result<Option<&'a [u8]>, JuteError> {
        self.read_buffer(what)
    }

    /// Reads a `ustring` that must not be null.
    #[inline]
    pub fn read_ustring_nonnull(&mut self, what: &'static str) -> Result<&'a [u8], JuteError> {
        let start = self.pos;
        match self.read_ustring(what)? {
            Some(s) => Ok(s),
            None => Err(self.error_at(start, Problem::UnexpectedNull { what })),
        }
    }

    /// Reads a vector count: `None` for -1 (null vector). Other negative counts are rejected
    /// (ZooKeeper would silently treat them as empty; no writer produces them).
    #[inline]
    pub fn read_vector_count(&mut self, what: &'static str) -> Result<Option<usize>, JuteError> {
        let start = self.pos;
        let count = self.read_int(what)?;
        if count == -1 {
            return Ok(None);
        }
        match usize::try_from(count) {
            Ok(n) => Ok(Some(n)),
            Err(_) => Err(self.error_at(start, Problem::BadCount { what, count })),
        }
    }

    /// Reads and discards a `vector<ACL>` (`ACL = { int perms; Id { ustring scheme; ustring id } }`)
    /// and returns the number of entries (0 for a null vector).
    pub fn skip_acl_vector(&mut self, what: &'static str) -> Result<usize, JuteError> {
        let Some(n) = self.read_vector_count(what)? else {
            return Ok(0);
        };
        for _ in 0..n {
            self.read_int("ACL perms")?;
            self.read_ustring("ACL scheme")?;
            self.read_ustring("ACL id")?;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cur(b: &[u8]) -> Cursor<'_> {
        Cursor::new(b, 1000, &Limits::default())
    }

    #[test]
    fn reads_big_endian_primitives() {
        let b = [
            0, 0, 1, 2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 1, 0, 2,
        ];
        let mut c = cur(&b);
        assert_eq!(c.read_int("i").unwrap(), 258);
        assert_eq!(c.read_long("l").unwrap(), -2);
        assert!(c.read_bool("b").unwrap());
        assert!(!c.read_bool("b").unwrap());
        assert!(
            c.read_bool("b").unwrap(),
            "non-zero is true, like DataInputStream"
        );
        assert!(c.is_empty());
        assert_eq!(c.offset(), 1015);
    }

    #[test]
    fn truncation_reports_offset_of_field_and_missing_bytes() {
        let b = [0, 0, 0];
        let mut c = cur(&b);
        let e = c.read_int("node count").unwrap_err();
        assert_eq!(e.offset, 1000);
        assert_eq!(
            e.problem,
            Problem::Truncated {
                what: "node count",
                needed: 1
            }
        );
        assert!(e.is_truncated());
    }

    #[test]
    fn buffers_null_empty_and_data() {
        let b = [0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 2, b'h', b'i'];
        let mut c = cur(&b);
        assert_eq!(c.read_buffer("d").unwrap(), None);
        assert_eq!(c.read_buffer("d").unwrap(), Some(&b""[..]));
        assert_eq!(c.read_ustring("p").unwrap(), Some(&b"hi"[..]));
    }

    #[test]
    fn lengths_are_checked_against_limit_before_availability() {
        // Length 0x7fffffff with no bytes behind it: must be BadLength, not Truncated,
        // and must not allocate.
        let b = [0x7f, 0xff, 0xff, 0xff];
        let e = cur(&b).read_buffer("data").unwrap_err();
        assert_eq!(e.offset, 1000);
        assert!(
            matches!(
                e.problem,
                Problem::BadLength {
                    len: 0x7fff_ffff,
                    ..
                }
            ),
            "{e}"
        );
        let b = [0xff, 0xff, 0xff, 0xfe];
        let e = cur(&b).read_buffer("data").unwrap_err();
        assert!(
            matches!(e.problem, Problem::BadLength { len: -2, .. }),
            "{e}"
        );
        // Exactly at the limit is fine; one more is not.
        let limits = Limits {
            max_buffer: 3,
            extra_buffer: 2,
        };
        let b = [0, 0, 0, 5, 1, 2, 3, 4, 5];
        assert_eq!(
            Cursor::new(&b, 0, &limits)
                .read_buffer("d")
                .unwrap()
                .unwrap()
                .len(),
            5
        );
        let b = [0, 0, 0, 6, 1, 2, 3, 4, 5, 6];
        assert!(Cursor::new(&b, 0, &limits).read_buffer("d").is_err());
        // Within the limit but beyond the data: Truncated, counting the missing bytes.
        let b = [0, 0, 0, 4, 1];
        let e = cur(&b).read_buffer("d").unwrap_err();
        assert_eq!(
            e.problem,
            Problem::Truncated {
                what: "d",
                needed: 3
            }
        );
    }

    #[test]
    fn vector_counts() {
        let b = [0xff, 0xff, 0xff, 0xff, 0, 0, 0, 3, 0xff, 0xff, 0xff, 0xfe];
        let mut c = cur(&b);
        assert_eq!(c.read_vector_count("v").unwrap(), None);
        assert_eq!(c.read_vector_count("v").unwrap(), Some(3));
        let e = c.read_vector_count("v").unwrap_err();
        assert_eq!(e.offset, 1008);
        assert_eq!(
            e.problem,
            Problem::BadCount {
                what: "v",
                count: -2
            }
        );
    }

    #[test]
    fn nonnull_string_rejects_null() {
        let b = [0xff, 0xff, 0xff, 0xff];
        let e = cur(&b).read_ustring_nonnull("path").unwrap_err();
        assert_eq!(e.problem, Problem::UnexpectedNull { what: "path" });
    }

    #[test]
    fn acl_vector_skip() {
        let mut b = vec![0, 0, 0, 1, 0, 0, 0, 31];
        b.extend_from_slice(&[0, 0, 0, 5]);
        b.extend_from_slice(b"world");
        b.extend_from_slice(&[0, 0, 0, 6]);
        b.extend_from_slice(b"anyone");
        let mut c = cur(&b);
        assert_eq!(c.skip_acl_vector("acl").unwrap(), 1);
        assert!(c.is_empty());
    }

    #[test]
    fn limits() {
        assert_eq!(Limits::default().max_len(), 2 * 0xfffff);
        assert_eq!(Limits::with_max_buffer(4 << 20).max_len(), 8 << 20);
        assert_eq!(Limits::with_max_buffer(10).max_len(), 1034);
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_arbitrary_input(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            let mut c = cur(&bytes);
            loop {
                let before = c.position();
                let r = match before % 5 {
                    0 => c.read_int("a").map(|_| ()),
                    1 => c.read_buffer("b").map(|_| ()),
                    2 => c.read_vector_count("c").map(|_| ()),
                    3 => c.read_long("d").map(|_| ()),
                    _ => c.skip_acl_vector("e").map(|_| ()),
                };
                if r.is_err() || c.position() == before { break; }
            }
        }
    }
}
