//! The xerial snappy-java stream framing used by ZooKeeper's `.snappy` snapshots.
//!
//! Owns the framing only: the 16-byte header (magic `82 53 4E 41 50 50 59 00`, `int version`,
//! `int compatible`), then repeated `[int32 BE compressed length][raw snappy block]`, plus
//! snappy-java's concatenated streams (a second header where a length would be). Each block is
//! decoded with `snap::raw::Decoder`. This is *not* Google's snappy framing format.
//! This module must not interpret the decompressed bytes, and must never allocate more than the
//! configured maximum block size, whatever the lengths in the file say.

use std::io::{self, Read};

/// The 8-byte magic that starts a snappy-java stream.
pub const MAGIC: [u8; 8] = [0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0];

/// Default cap on one block, compressed or decompressed (snappy-java writes 32 KiB blocks).
pub const DEFAULT_MAX_BLOCK: usize = 16 << 20;

/// A `Read` adapter that decodes a snappy-java stream.
///
/// Errors are `io::ErrorKind::InvalidData` (or `UnexpectedEof` for truncation) whose message
/// names the compressed byte offset of the failing block.
pub struct XerialSnappyReader<R> {
    inner: R,
    decoder: snap::raw::Decoder,
    compressed: Vec<u8>,
    out: Vec<u8>,
    out_pos: usize,
    in_offset: u64,
    header_read: bool,
    done: bool,
    max_block: usize,
}

impl<R: Read> XerialSnappyReader<R> {
    /// Wraps `inner`, which must start with the snappy-java header.
    pub fn new(inner: R) -> Self {
        Self::with_max_block(inner, DEFAULT_MAX_BLOCK)
    }

    /// Like [`XerialSnappyReader::new`] with a custom cap on block sizes.
    pub fn with_max_block(inner: R, max_block: usize) -> Self {
        XerialSnappyReader {
            inner,
            decoder: snap::raw::Decoder::new(),
            compressed: Vec::new(),
            out: Vec::new(),
            out_pos: 0,
            in_offset: 0,
            header_read: false,
            done: false,
            max_block,
        }
    }

    /// Compressed bytes consumed so far.
    #[must_use]
    pub fn compressed_offset(&self) -> u64 {
        self.in_offset
    }

    fn read_full(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut n = 0;
        while n < buf.len() {
            match self.inner.read(&mut buf[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.in_offset += n as u64;
        Ok(n)
    }

    fn bad(at: u64, msg: &str) -> io::Error {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("snappy stream: {msg} (at compressed byte {at})"),
        )
    }

    fn eof(at: u64, msg: &str) -> io::Error {
        io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("snappy stream: {msg} (at compressed byte {at})"),
        )
    }

    /// Reads the 12 header bytes that follow the first 4 magic bytes.
    fn read_header_rest(&mut self, start: u64, first4: [u8; 4]) -> io::Result<()> {
        let mut rest = [0u8; 12];
        let n = self.read_full(&mut rest)?;
        if n < rest.len() {
            return Err(Self::eof(start, "the stream header is cut short"));
        }
        if first4 != MAGIC[..4] || rest[..4] != MAGIC[4..] {
            return Err(Self::bad(
                start,
                "missing the snappy-java magic 82 53 4E 41 50 50 59 00",
            ));
        }
        let version = i32::from_be_bytes([rest[4], rest[5], rest[6], rest[7]]);
        if version < 1 {
            return Err(Self::bad(
                start,
                &format!("unsupported snappy-java stream version {version}"),
            ));
        }
        Ok(())
    }

    /// Reads chunks until one yields data; returns the decompressed length placed either in
    /// `direct` (when it fits) or in `self.out`. Ok(None) at a clean end of stream.
    fn next_block(&mut self, direct: &mut [u8]) -> io::Result<Option<(usize, bool)>> {
        loop {
            let start = self.in_offset;
            let mut len_bytes = [0u8; 4];
            let n = self.read_full(&mut len_bytes)?;
            if n == 0 {
                return Ok(None);
            }
            if n < 4 {
                return Err(Self::eof(start, "a block length is cut short"));
            }
            if len_bytes == MAGIC[..4] {
                // snappy-java concatenated stream: another header.
                self.read_header_rest(start, len_bytes)?;
                continue;
            }
            let len = i32::from_be_bytes(len_bytes);
            let Ok(len) = usize::try_from(len) else {
                return Err(Self::bad(start, &format!("negative block length {len}")));
            };
            if len > self.max_block {
                return Err(Self::bad(
                    start,
                    &format!(
                        "block length {len} exceeds the limit of {} bytes",
                        self.max_block
                    ),
                ));
            }
            self.compressed.resize(len, 0);
            let mut compressed = std::mem::take(&mut self.compressed);
            let got = self.read_full(&mut compressed);
            let res = match got {
                Ok(got) if got < len => Err(Self::eof(
                    start,
                    &format!("block of {len} bytes is cut short after {got} bytes"),
                )),
                Ok(_) => self.decode(start, &compressed, direct),
                Err(e) => Err(e),
            };
            self.compressed = compressed;
            match res? {
                Some((0, _)) => {}
                other => return Ok(other),
            }
        }
    }

    fn decode(
        &mut self,
        start: u64,
        compressed: &[u8],
        direct: &mut [u8],
    ) -> io::Result<Option<(usize, bool)>> {
        let dlen = snap::raw::decompress_len(compressed)
            .map_err(|e| Self::bad(start, &format!("corrupt block header: {e}")))?;
        if dlen > self.max_block {
            return Err(Self::bad(
                start,
                &format!(
                    "block decompresses to {dlen} bytes, over the limit of {}",
                    self.max_block
                ),
            ));
        }
        if dlen <= direct.len() {
            let n = self
                .decoder
                .decompress(compressed, &mut direct[..dlen])
                .map_err(|e| Self::bad(start, &format!("corrupt block: {e}")))?;
            return Ok(Some((n, true)));
        }
        self.out.resize(dlen, 0);
        let mut out = std::mem::take(&mut self.out);
        let r = self.decoder.decompress(compressed, &mut out);
        self.out = out;
        let n = r.map_err(|e| Self::bad(start, &format!("corrupt block: {e}")))?;
        self.out.truncate(n);
        self.out_pos = 0;
        Ok(Some((n, false)))
    }
}

impl<R: Read> Read for XerialSnappyReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.out_pos < self.out.len() {
            let n = (self.out.len() - self.out_pos).min(buf.len());
            buf[..n].copy_from_slice(&self.out[self.out_pos..self.out_pos + n]);
            self.out_pos += n;
            return Ok(n);
        }
        if self.done {
            return Ok(0);
        }
        if !self.header_read {
            let mut first = [0u8; 4];
            let n = self.read_full(&mut first)?;
            if n < 4 {
                return Err(Self::eof(0, "the stream header is cut short"));
            }
            self.read_header_rest(0, first)?;
            self.header_read = true;
        }
        match self.next_block(buf)? {
            None => {
                self.done = true;
                Ok(0)
            }
            Some((n, true)) => Ok(n),
            Some((_, false)) => {
                let n = (self.out.len() - self.out_pos).min(buf.len());
                buf[..n].copy_from_slice(&self.out[..n]);
                self.out_pos = n;
                Ok(n)
            }
        }
    }
}

/// Encodes `data` as a snappy-java stream with blocks of `block` bytes (32 KiB in snappy-java).
/// Used by tests and the benchmark generator.
#[must_use]
pub fn encode(data: &[u8], block: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() / 2 + 16);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&1i32.to_be_bytes());
    out.extend_from_slice(&1i32.to_be_bytes());
    let mut enc = snap::raw::Encoder::new();
    for chunk in data.chunks(block.max(1)) {
        let c = enc.compress_vec(chunk).unwrap_or_default();
        let len = i32::try_from(c.len()).unwrap_or(i32::MAX);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(bytes: &[u8]) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        XerialSnappyReader::new(bytes).read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn round_trip_with_small_and_large_reads() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let enc = encode(&data, 32 * 1024);
        assert_eq!(decode_all(&enc).unwrap(), data);
        // Tiny reads force the buffered path.
        let mut r = XerialSnappyReader::new(&enc[..]);
        let mut out = Vec::new();
        let mut buf = [0u8; 7];
        loop {
            let n = r.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        assert_eq!(out, data);
    }

    #[test]
    fn concatenated_streams_are_read_through() {
        let mut enc = encode(b"hello ", 4);
        enc.extend_from_slice(&encode(b"world", 4));
        assert_eq!(decode_all(&enc).unwrap(), b"hello world");
    }

    #[test]
    fn empty_stream_is_empty() {
        assert_eq!(decode_all(&encode(b"", 10)).unwrap(), b"");
    }

    #[test]
    fn errors_name_compressed_offset() {
        let enc = encode(b"abcdefgh", 4);
        let e = decode_all(&enc[..enc.len() - 1]).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
        assert!(e.to_string().contains("compressed byte"), "{e}");
        let mut bad = enc.clone();
        bad[0] = 0;
        assert!(decode_all(&bad).unwrap_err().to_string().contains("magic"));
        let mut neg = encode(b"", 4);
        neg.extend_from_slice(&(-5i32).to_be_bytes());
        assert!(
            decode_all(&neg)
                .unwrap_err()
                .to_string()
                .contains("negative block length")
        );
        let mut huge = encode(b"", 4);
        huge.extend_from_slice(&0x7fff_0000i32.to_be_bytes());
        let e = decode_all(&huge).unwrap_err();
        assert!(e.to_string().contains("exceeds the limit"), "{e}");
        let mut partial_len = encode(b"", 4);
        partial_len.extend_from_slice(&[0, 0]);
        assert_eq!(
            decode_all(&partial_len).unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics(tail in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let mut b = encode(b"", 4);
            b.extend_from_slice(&tail);
            let _ = decode_all(&b);
        }
    }
}
