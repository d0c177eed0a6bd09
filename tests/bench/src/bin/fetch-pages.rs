//! The physical limit of listing pods: a plain fetch loop over the pages of a pod list, with the
//! same HTTP stack as kyuubi-reaper (kube's `Client`, one-threaded tokio runtime), doing nothing
//! with the bodies but finding the continue token.
//!
//! Usage: `fetch-pages --kubeconfig FILE [-l SELECTOR] [-n NS | -A] [--limit N]`
//!
//! Fetches `GET /api/v1/pods?labelSelector=SELECTOR&limit=N` (or
//! `/api/v1/namespaces/NS/pods` with `-n NS`) with the kubeconfig's current context, following
//! `metadata.continue` until the last page, and prints the pages, bytes and elapsed seconds on
//! stderr. The selector defaults to `kyuubi-unique-tag` and the limit to 500, like `scan`.
//!
//! The token is read from the list's `metadata`, which both the Kubernetes API server and
//! test-apiserver write before `items` (`{"kind":"PodList","apiVersion":"v1","metadata":{...},
//! "items":[...]}`); tokens are unpadded URL-safe base64, so they hold no JSON escapes. A body
//! that does not look like that is an error, not a silently short list.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use kube::api::ListParams;
use kube::config::{Config, KubeConfigOptions, Kubeconfig};
use memchr::memmem;

/// How far into a body the list's `metadata` must end.
const HEAD: usize = 64 * 1024;

/// What to fetch.
struct Args {
    /// The kubeconfig file; its current context is used.
    kubeconfig: PathBuf,
    /// The label selector.
    selector: String,
    /// One namespace, or all of them.
    namespace: Option<String>,
    /// Page size.
    limit: u32,
}

const USAGE: &str = "usage: fetch-pages --kubeconfig FILE [-l SELECTOR] [-n NS | -A] [--limit N]";

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let mut kubeconfig = None;
    let mut selector = "kyuubi-unique-tag".to_string();
    let mut namespace = None;
    let mut limit = 500;
    while let Some(a) = args.next() {
        let mut value = || {
            args.next()
                .ok_or_else(|| format!("{a} needs a value; {USAGE}"))
        };
        match a.as_str() {
            "--kubeconfig" => kubeconfig = Some(PathBuf::from(value()?)),
            "-l" | "--selector" => selector = value()?,
            "-n" | "--namespace" => namespace = Some(value()?),
            "-A" | "--all-namespaces" => namespace = None,
            "--limit" => {
                limit = value()?
                    .parse()
                    .map_err(|e| format!("--limit: {e}; {USAGE}"))?;
            }
            "-h" | "--help" => return Err(USAGE.to_string()),
            _ => return Err(format!("unknown argument {a}; {USAGE}")),
        }
    }
    Ok(Args {
        kubeconfig: kubeconfig.ok_or_else(|| format!("--kubeconfig is required; {USAGE}"))?,
        selector,
        namespace,
        limit,
    })
}

/// The continue token of one list page: `None` on the last page.
///
/// The list's `metadata` is the first `"metadata":{` of the body (only `kind` and `apiVersion`
/// come before it) and ends at the next `}` (a list's metadata holds only strings and numbers).
/// Its `"continue"` must be written as `"continue":"TOKEN"` with no backslash in the token.
fn continue_token(body: &[u8]) -> Result<Option<&str>, String> {
    let head = &body[..body.len().min(HEAD)];
    let shown = || String::from_utf8_lossy(&head[..head.len().min(300)]).into_owned();
    let start = memmem::find(head, b"\"metadata\":{")
        .ok_or_else(|| format!("no list metadata in the first {HEAD} bytes: {}", shown()))?;
    if memmem::find(&head[..start], b"\"items\"").is_some() {
        return Err(format!(
            "the list's items come before its metadata: {}",
            shown()
        ));
    }
    let meta_start = start + b"\"metadata\":{".len();
    let meta_len = memchr::memchr(b'}', &head[meta_start..]).ok_or_else(|| {
        format!(
            "the list metadata does not end in the first {HEAD} bytes: {}",
            shown()
        )
    })?;
    let meta = &head[meta_start..meta_start + meta_len];
    let Some(at) = memmem::find(meta, b"\"continue\"") else {
        return Ok(None);
    };
    let rest = meta[at..]
        .strip_prefix(b"\"continue\":\"".as_slice())
        .ok_or_else(|| format!("\"continue\" is not followed by a string: {}", shown()))?;
    let end = memchr::memchr(b'"', rest)
        .ok_or_else(|| format!("the continue token does not end: {}", shown()))?;
    let token = &rest[..end];
    if token.contains(&b'\\') {
        return Err(format!(
            "the continue token has a JSON escape, which this reader does not decode: {}",
            shown()
        ));
    }
    let token =
        std::str::from_utf8(token).map_err(|e| format!("the continue token is not UTF-8: {e}"))?;
    Ok(Some(token).filter(|t| !t.is_empty()))
}

async fn fetch(args: &Args) -> Result<(), String> {
    let file = Kubeconfig::read_from(&args.kubeconfig)
        .map_err(|e| format!("{}: {e}", args.kubeconfig.display()))?;
    let mut config = Config::from_custom_kubeconfig(file, &KubeConfigOptions::default())
        .await
        .map_err(|e| format!("{}: {e}", args.kubeconfig.display()))?;
    // Like the tool: no retry layer of kube's.
    config.default_retry = false;
    let client = kube::Client::try_from(config).map_err(|e| e.to_string())?;
    let path = match &args.namespace {
        Some(ns) => format!("/api/v1/namespaces/{ns}/pods"),
        None => "/api/v1/pods".to_string(),
    };
    let started = Instant::now();
    let (mut pages, mut bytes) = (0usize, 0usize);
    let mut token: Option<String> = None;
    loop {
        let mut params = ListParams::default()
            .labels(&args.selector)
            .limit(args.limit);
        if let Some(t) = &token {
            params = params.continue_token(t);
        }
        let request = kube::core::Request::new(&path)
            .list(&params)
            .map_err(|e| e.to_string())?;
        let response = client
            .send(request.map(kube::client::Body::from))
            .await
            .map_err(|e| format!("page {}: {e}", pages + 1))?;
        let status = response.status();
        let body = response
            .into_body()
            .collect_bytes()
            .await
            .map_err(|e| format!("page {}: {e}", pages + 1))?;
        if !status.is_success() {
            return Err(format!(
                "page {}: HTTP {status}: {}",
                pages + 1,
                String::from_utf8_lossy(&body[..body.len().min(500)])
            ));
        }
        pages += 1;
        bytes += body.len();
        token = continue_token(&body)
            .map_err(|e| format!("page {pages}: {e}"))?
            .map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    #[allow(clippy::cast_precision_loss)] // a rate for people
    let rate = bytes as f64 / 1e6 / elapsed;
    eprintln!(
        "fetch-pages: {pages} pages, {bytes} bytes in {elapsed:.3} s ({rate:.0} MB/s) from {path}"
    );
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("fetch-pages: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("fetch-pages: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(fetch(&args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fetch-pages: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::continue_token;

    #[test]
    fn tokens_of_list_pages() {
        let page = br#"{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"7","continue":"eyJ2Ijo-_w"},"items":[{"metadata":{"continue":"no"}}]}"#;
        assert_eq!(continue_token(page).unwrap(), Some("eyJ2Ijo-_w"));
        let last = br#"{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"7"},"items":[{"metadata":{"annotations":{"continue":"x"}}}]}"#;
        assert_eq!(continue_token(last).unwrap(), None);
        let real = br#"{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"7","continue":"abc","remainingItemCount":3},"items":[]}"#;
        assert_eq!(continue_token(real).unwrap(), Some("abc"));
        let empty =
            br#"{"kind":"PodList","apiVersion":"v1","metadata":{"continue":""},"items":[]}"#;
        assert_eq!(continue_token(empty).unwrap(), None);
    }

    #[test]
    fn unreadable_pages_are_errors() {
        let spaced = br#"{"kind":"PodList","metadata":{"continue": "abc"},"items":[]}"#;
        assert!(continue_token(spaced).is_err());
        let escaped = br#"{"kind":"PodList","metadata":{"continue":"a\u0041"},"items":[]}"#;
        assert!(continue_token(escaped).is_err());
        let items_first = br#"{"kind":"PodList","items":[],"metadata":{"continue":"abc"}}"#;
        assert!(continue_token(items_first).is_err());
        assert!(continue_token(b"not json").is_err());
    }
}
