//! Continue tokens, encoded exactly like `k8s.io/apiserver/pkg/storage.EncodeContinue`:
//! unpadded URL-safe base64 of `{"v":"meta.k8s.io/v1","rv":N,"start":"<key>\u0000"}`, where
//! `<key>` is relative to the list's key prefix.

use serde_json::json;

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Unpadded URL-safe base64.
#[must_use]
pub fn b64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

/// Decode unpadded URL-safe base64; the error mimics Go's `illegal base64 data at input byte N`.
pub fn b64_decode(s: &str) -> Result<Vec<u8>, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for (i, &c) in bytes.iter().enumerate() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return Err(format!("illegal base64 data at input byte {i}")),
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xFF).unwrap_or(0));
        }
    }
    if bytes.len() % 4 == 1 {
        return Err(format!(
            "illegal base64 data at input byte {}",
            bytes.len() - 1
        ));
    }
    Ok(out)
}

/// Encode a continue token for a list at `rv` that resumes after `last_key_rel`.
#[must_use]
pub fn encode(rv: i64, last_key_rel: &str) -> String {
    let token = json!({"v": "meta.k8s.io/v1", "rv": rv, "start": format!("{last_key_rel}\u{0}")});
    b64_encode(token.to_string().as_bytes())
}

/// A decoded continue token: the full key to start at (inclusive) and the resource version
/// (`-1` means "continue at the latest version").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// Full key (prefix + relative start key).
    pub from_key: String,
    /// The list's resource version, or -1.
    pub rv: i64,
}

fn clean_ok(key: &str) -> bool {
    // `path.Clean(key) == key` for a key that starts with '/'.
    if key.len() > 1 && key.ends_with('/') {
        return false;
    }
    !key.split('/')
        .skip(1)
        .any(|seg| seg.is_empty() || seg == "." || seg == "..")
        || key == "/"
}

/// Decode a token; the error is the text after `invalid continue token: `.
pub fn decode(token: &str, key_prefix: &str) -> Result<Decoded, String> {
    #[derive(serde::Deserialize)]
    struct Token {
        #[serde(default)]
        v: String,
        #[serde(default)]
        rv: i64,
        #[serde(default)]
        start: String,
    }
    let data = b64_decode(token).map_err(|e| format!("continue key is not valid: {e}"))?;
    let t: Token =
        serde_json::from_slice(&data).map_err(|e| format!("continue key is not valid: {e}"))?;
    if t.v != "meta.k8s.io/v1" {
        return Err(format!(
            "continue key is not valid: server does not recognize this encoded version {}",
            t.v
        ));
    }
    if t.rv == 0 {
        return Err(
            "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)"
                .into(),
        );
    }
    if t.start.is_empty() {
        return Err(
            "continue key is not valid: encoded start key empty (version meta.k8s.io/v1)".into(),
        );
    }
    let key = if t.start.starts_with('/') {
        t.start.clone()
    } else {
        format!("/{}", t.start)
    };
    if !clean_ok(&key) {
        return Err(format!("continue key is not valid: {}", t.start));
    }
    Ok(Decoded {
        from_key: format!("{key_prefix}{}", &key[1..]),
        rv: t.rv,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trip() {
        for s in ["", "a", "ab", "abc", "abcd", "hello world\u{0}"] {
            assert_eq!(b64_decode(&b64_encode(s.as_bytes())).unwrap(), s.as_bytes());
        }
        assert_eq!(b64_encode(b"\xfb\xff"), "-_8");
        assert_eq!(
            b64_decode("a b").unwrap_err(),
            "illegal base64 data at input byte 1"
        );
    }

    #[test]
    fn token_round_trip() {
        let t = encode(42, "spark-1/driver-a");
        let d = decode(&t, "").unwrap();
        assert_eq!(
            d,
            Decoded {
                from_key: "spark-1/driver-a\u{0}".into(),
                rv: 42
            }
        );
        let d = decode(&encode(42, "p1"), "ns/").unwrap();
        assert_eq!(d.from_key, "ns/p1\u{0}");
        // the exact JSON the Go server writes
        let raw = String::from_utf8(b64_decode(&t).unwrap()).unwrap();
        assert_eq!(
            raw,
            r#"{"v":"meta.k8s.io/v1","rv":42,"start":"spark-1/driver-a\u0000"}"#
        );
    }

    #[test]
    fn garbage_tokens() {
        assert!(
            decode("!!!", "")
                .unwrap_err()
                .starts_with("continue key is not valid: illegal base64")
        );
        let bad_json = b64_encode(b"nope");
        assert!(
            decode(&bad_json, "")
                .unwrap_err()
                .starts_with("continue key is not valid: ")
        );
        let zero = b64_encode(br#"{"v":"meta.k8s.io/v1","rv":0,"start":"a"}"#);
        assert_eq!(
            decode(&zero, "").unwrap_err(),
            "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)"
        );
        let trav = b64_encode(br#"{"v":"meta.k8s.io/v1","rv":3,"start":"../x"}"#);
        assert_eq!(
            decode(&trav, "ns/").unwrap_err(),
            "continue key is not valid: ../x"
        );
        let ver = b64_encode(br#"{"v":"v9","rv":3,"start":"x"}"#);
        assert!(decode(&ver, "").unwrap_err().contains("does not recognize"));
    }
}
