//! Pods from a saved pod list (`--pods FILE`).
//!
//! Owns: reading what `kubectl get pods -o json` or `-o yaml` writes (a `v1/List` or `PodList`,
//! or a single `Pod`; `-` reads standard input) and applying, locally, the same candidate
//! selector and namespace scope that the cluster path applies on the server. Must not: contact
//! a cluster.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, IsTerminal as _, Read};
use std::path::Path;

use serde::de::DeserializeSeed as _;

use super::wire::{self, Document, Found, Shape, Sink};
use super::yaml_items::{Chunk, YamlItems, YamlSplitError};
use super::{Listing, Namespaces, pod_info};
use crate::output::printable;
use crate::selector::LabelSelector;

/// Why a pod file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PodFileError {
    /// The file could not be read.
    #[error("cannot read the file")]
    Read(#[source] std::io::Error),
    /// The path is not a file that ends (a directory, a device).
    #[error("not a pod file: {0}")]
    NotAFile(String),
    /// The file is larger than `--max-pod-file-size`.
    #[error("larger than {0} bytes (--max-pod-file-size)")]
    TooLarge(u64),
    /// The bytes are not UTF-8 text.
    #[error("{0}")]
    Encoding(String),
    /// Nested deeper than any pod list is: refused before a parser recurses into it.
    #[error("nested more than {limit} levels deep at line {line}; a pod list is not")]
    TooDeep {
        /// The line where the limit was passed.
        line: usize,
        /// The limit: [`MAX_DEPTH`] for YAML, the JSON parser's own for JSON.
        limit: usize,
    },
    /// The file is not valid JSON.
    #[error("not valid JSON")]
    Json(#[source] serde_json::Error),
    /// The file is not valid YAML.
    #[error("not valid YAML: {0}")]
    Yaml(String),
    /// The document is not a pod list or a pod.
    #[error(
        "expected a pod list (kind List or PodList with `items`, as `kubectl get pods -o json` \
         writes) or a single Pod, found {0}"
    )]
    NotAPodList(String),
    /// One item of the list is not a well-formed pod.
    #[error("items[{index}] ({name}) is not a valid Pod: {problem}")]
    InvalidItem {
        /// Position in `items`.
        index: usize,
        /// `namespace/name` as far as known.
        name: String,
        /// What is wrong.
        problem: String,
    },
    /// Two items are the same pod: one listing never holds a pod twice, so the file was put
    /// together from several listings (or edited), and which item is current cannot be told.
    #[error(
        "items[{first}] and items[{second}] are both {what}: a pod list holds each pod once, so \
         this file mixes several listings; save one `kubectl get pods -o json` output"
    )]
    DuplicatePod {
        /// Position of the first item.
        first: usize,
        /// Position of the repeat.
        second: usize,
        /// `pod namespace/name` or `uid X`.
        what: String,
    },
}

/// Reads a pod file (`-` for standard input) and keeps the candidate pods in scope. The file
/// is read in one pass, item by item, JSON and YAML alike (memory follows the candidates kept and
/// the largest pod, not the file), at most `max_size` bytes.
pub(crate) fn read(
    path: &Path,
    selector: &LabelSelector,
    scope: &Namespaces,
    max_size: u64,
) -> Result<Listing, PodFileError> {
    let source = open(path, max_size)?;
    let failure = RefCell::new(None);
    let mut input = Checked {
        inner: source,
        read: 0,
        max: max_size,
        pending: Vec::new(),
        failure: &failure,
    };
    let head = head(&mut input)?;
    let mut sink = FileSink::new(selector, scope);
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let json = match extension.as_deref() {
        Some("json") => true,
        Some("yaml" | "yml") => false,
        _ => matches!(head.trim_ascii_start().first(), Some(b'{' | b'[')),
    };
    if json {
        let head_len = input.read;
        let parsed = {
            let reader = BufReader::with_capacity(
                READ_BUFFER,
                std::io::Cursor::new(&head[..]).chain(&mut input),
            );
            let mut de = serde_json::Deserializer::from_reader(reader);
            Document(&mut sink)
                .deserialize(&mut de)
                .and_then(|found| de.end().map(|()| found))
        };
        if let Some(failure) = failure.take() {
            return Err(failure);
        }
        match parsed {
            Ok(found) => return sink.finish(found),
            // Without a `.json` name, `{kind: List, items: [...]}` is a YAML flow mapping: read
            // it again as YAML, when the JSON parser stopped within the bytes already held.
            Err(e) if extension.as_deref() != Some("json") && input.read == head_len => {
                tracing::debug!("not JSON ({e}); reading the pod file as YAML");
                sink = FileSink::new(selector, scope);
            }
            Err(e) => return Err(sink.json_error(e)),
        }
    }
    read_yaml(head, &mut input, &failure, sink)
}

/// The largest item of a YAML pod list (a pod is at most 1.5 MiB in etcd).
const MAX_YAML_ITEM: usize = 64 << 20;

/// Reads a YAML pod list item by item: the splitter cuts the top-level `items` sequence into one
/// text per pod, each parsed (and depth-checked) alone, then the rest of the document; a layout
/// it cannot cut exactly is refused, and a document without a block `items` sequence is read as
/// one text.
fn read_yaml(
    head: Vec<u8>,
    input: &mut Checked<'_, Box<dyn Read>>,
    failure: &RefCell<Option<PodFileError>>,
    mut sink: FileSink<'_>,
) -> Result<Listing, PodFileError> {
    let reader = BufReader::with_capacity(READ_BUFFER, std::io::Cursor::new(head).chain(input));
    let mut failed = |e: YamlSplitError| {
        failure.take().unwrap_or(match e {
            YamlSplitError::Read(e) => PodFileError::Read(e),
            other => PodFileError::Yaml(other.to_string()),
        })
    };
    for chunk in YamlItems::new(reader, MAX_YAML_ITEM) {
        match chunk.map_err(&mut failed)? {
            Chunk::Item { index, text } => {
                check_depth(&text)?;
                let mut name = None;
                let pod = wire::pod(serde_yaml::Deserializer::from_str(&text), &mut name).map_err(
                    |e| PodFileError::InvalidItem {
                        index,
                        name: printable(name.as_deref().unwrap_or("?/?")),
                        problem: e.to_string(),
                    },
                )?;
                if sink.item(index, pod).is_err() {
                    return Err(sink.failure.take().expect("a sink that stops says why"));
                }
            }
            Chunk::Rest { text, streamed } => {
                check_depth(&text)?;
                let found =
                    Document(&mut sink).deserialize(serde_yaml::Deserializer::from_str(&text));
                let found = match found {
                    Ok(Found::Object { kind, items, pod }) => Found::Object {
                        kind,
                        // The streamed sequence stands as `items: []` in the rest.
                        items: streamed.map(Shape::List).or(items),
                        pod,
                    },
                    Ok(other) => other,
                    Err(e) => {
                        return Err(sink
                            .failure
                            .take()
                            .unwrap_or_else(|| PodFileError::Yaml(e.to_string())));
                    }
                };
                return sink.finish(found);
            }
        }
    }
    Err(PodFileError::Yaml(
        "the document ended before it was read whole".into(),
    ))
}

/// Read buffer of the JSON reader.
const READ_BUFFER: usize = 256 << 10;
/// Bytes read before the format is decided: also what a failed JSON read can be read again
/// from as YAML.
const HEAD: usize = 64 << 10;

/// Opens the pod file, refusing what never ends or is not a file: a directory, a device
/// (`/dev/zero`, `/dev/urandom`), or standard input that is one. Pipes, sockets and process
/// substitution (`<(kubectl get pods -o json)`) are read, up to `max_size`.
fn open(path: &Path, max_size: u64) -> Result<Box<dyn Read>, PodFileError> {
    use rustix::fs::{FileType, fstat};
    let io = |e: rustix::io::Errno| PodFileError::Read(e.into());
    let from_stdin = path == Path::new("-");
    let (reader, stat, terminal): (Box<dyn Read>, _, _) = if from_stdin {
        let stdin = std::io::stdin();
        let stat = fstat(&stdin).map_err(io)?;
        let terminal = stdin.is_terminal();
        (Box::new(stdin), stat, terminal)
    } else {
        // Non-blocking, so that a FIFO nobody writes to does not block the open forever: its
        // writer is then waited for with a bound.
        let file = crate::files::open_nonblocking(path).map_err(PodFileError::Read)?;
        let stat = fstat(&file).map_err(io)?;
        if FileType::from_raw_mode(stat.st_mode) == FileType::Fifo {
            await_writer(&file)?;
        }
        (Box::new(file), stat, false)
    };
    let refuse = |what: &str| Err(PodFileError::NotAFile(what.to_string()));
    match FileType::from_raw_mode(stat.st_mode) {
        FileType::Directory => refuse("it is a directory"),
        // A terminal is read until end of input (Ctrl-D); another device never ends.
        FileType::CharacterDevice if terminal => Ok(reader),
        FileType::CharacterDevice | FileType::BlockDevice if from_stdin => {
            refuse("standard input is a device, not a pod list")
        }
        FileType::CharacterDevice | FileType::BlockDevice => {
            refuse("it is a device, not a file (it would be read without end)")
        }
        FileType::RegularFile if u64::try_from(stat.st_size).unwrap_or(0) > max_size => {
            Err(PodFileError::TooLarge(max_size))
        }
        _ => Ok(reader),
    }
}

/// How long a named FIFO may wait for its writer's first bytes.
const FIFO_WAIT: i64 = 60;

/// Waits, for at most [`FIFO_WAIT`] seconds, until a FIFO opened without blocking has something
/// to read (or its writer has come and gone), then makes it blocking again for the read.
fn await_writer(file: &File) -> Result<(), PodFileError> {
    use rustix::event::{PollFd, PollFlags, Timespec, poll};
    let io = |e: rustix::io::Errno| PodFileError::Read(e.into());
    let mut fds = [PollFd::new(file, PollFlags::IN)];
    let ready = poll(
        &mut fds,
        Some(&Timespec {
            tv_sec: FIFO_WAIT,
            tv_nsec: 0,
        }),
    )
    .map_err(io)?;
    if ready == 0 {
        return Err(PodFileError::NotAFile(format!(
            "a FIFO that nobody wrote to within {FIFO_WAIT} s"
        )));
    }
    crate::files::make_blocking(file).map_err(PodFileError::Read)
}

/// The first [`HEAD`] bytes (or all, when shorter), with a UTF-8 byte-order mark removed
/// (and said); UTF-16, as PowerShell's `>` writes, is refused with a message that says so.
fn head(input: &mut Checked<'_, Box<dyn Read>>) -> Result<Vec<u8>, PodFileError> {
    let mut head = Vec::with_capacity(HEAD);
    let read = (&mut input.inner).take(HEAD as u64).read_to_end(&mut head);
    read.map_err(PodFileError::Read)?;
    input.read = head.len() as u64;
    if input.read > input.max {
        return Err(PodFileError::TooLarge(input.max));
    }
    if head.is_empty() {
        return Err(PodFileError::NotAPodList(
            "nothing: the input is empty (a pipe nobody wrote to reads so too)".into(),
        ));
    }
    let mut start = 0;
    if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
        tracing::warn!("the pod file starts with a UTF-8 byte-order mark; it is ignored");
        start = 3;
    }
    let utf16 = head.starts_with(&[0xFF, 0xFE])
        || head.starts_with(&[0xFE, 0xFF])
        || (head.len() >= 4 && (head[1] == 0 && head[3] == 0 || head[0] == 0 && head[2] == 0));
    if utf16 {
        return Err(PodFileError::Encoding(
            "the file is UTF-16 text (as PowerShell's `>` writes it), not UTF-8: convert it \
             (`iconv -f UTF-16 -t UTF-8`), or save it with `Out-File -Encoding utf8`"
                .into(),
        ));
    }
    // The head is checked here, what follows as it is read: by the same check.
    input.check(0, Some(&head))?;
    head.drain(..start);
    Ok(head)
}

fn invalid_byte(offset: usize, byte: u8) -> PodFileError {
    PodFileError::Encoding(format!(
        "the file is not UTF-8 text: invalid byte 0x{byte:02x} at offset {offset}"
    ))
}

/// The pod file after its head: counted against the size bound and checked to be UTF-8 as it
/// is read. A failure is left in `failure` (the parser above sees only an I/O error).
struct Checked<'f, R> {
    inner: R,
    read: u64,
    max: u64,
    /// The start of a UTF-8 sequence that the last read cut.
    pending: Vec<u8>,
    failure: &'f RefCell<Option<PodFileError>>,
}

impl<R> Checked<'_, R> {
    /// Checks that `bytes`, read at offset `at`, continue the text as UTF-8; a sequence they
    /// leave cut is kept until the next bytes complete it. `None` for `bytes`: the end of the
    /// input, where no cut sequence may be left.
    fn check(&mut self, at: u64, bytes: Option<&[u8]>) -> Result<(), PodFileError> {
        let offset = |at: u64| usize::try_from(at).unwrap_or(usize::MAX);
        let Some(bytes) = bytes else {
            return match self.pending.first() {
                Some(&lead) => Err(invalid_byte(offset(at - self.pending.len() as u64), lead)),
                None => Ok(()),
            };
        };
        // Complete a sequence cut by the last read, then check the rest.
        let mut from = 0;
        if let Some(&lead) = self.pending.first() {
            let cut_at = at - self.pending.len() as u64;
            let take = utf8_width(lead)
                .saturating_sub(self.pending.len())
                .min(bytes.len());
            self.pending.extend_from_slice(&bytes[..take]);
            from = take;
            match std::str::from_utf8(&self.pending) {
                Ok(_) => self.pending.clear(),
                Err(e) if e.error_len().is_none() && take == bytes.len() => return Ok(()),
                Err(_) => return Err(invalid_byte(offset(cut_at), lead)),
            }
        }
        match std::str::from_utf8(&bytes[from..]) {
            Ok(_) => Ok(()),
            Err(e) if e.error_len().is_none() => {
                self.pending = bytes[from + e.valid_up_to()..].to_vec();
                Ok(())
            }
            Err(e) => {
                let bad = from + e.valid_up_to();
                Err(invalid_byte(offset(at + bad as u64), bytes[bad]))
            }
        }
    }
}

impl<R: Read> Read for Checked<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let start = self.read;
        self.read += n as u64;
        let checked = if self.read > self.max {
            Err(PodFileError::TooLarge(self.max))
        } else {
            self.check(start, (n > 0).then(|| &buf[..n]))
        };
        match checked {
            Ok(()) => Ok(n),
            Err(failure) => {
                let message = failure.to_string();
                *self.failure.borrow_mut() = Some(failure);
                Err(std::io::Error::other(message))
            }
        }
    }
}

/// The length of the UTF-8 sequence a lead byte starts (1 for a byte that cannot lead one: the
/// check then reports it).
fn utf8_width(lead: u8) -> usize {
    match lead {
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF7 => 4,
        _ => 1,
    }
}

/// Takes the pods of a file as they are decoded: counts them, refuses a pod that is there
/// twice, applies the namespace scope and the selector, and keeps the candidates.
struct FileSink<'c> {
    selector: &'c LabelSelector,
    scope: &'c Namespaces,
    listing: Listing,
    seen_names: HashMap<(String, String), usize>,
    seen_uids: HashMap<String, usize>,
    /// Why the decoding was stopped (the parser carries only a message).
    failure: Option<PodFileError>,
}

impl<'c> FileSink<'c> {
    fn new(selector: &'c LabelSelector, scope: &'c Namespaces) -> Self {
        Self {
            selector,
            scope,
            listing: Listing::default(),
            seen_names: HashMap::new(),
            seen_uids: HashMap::new(),
            failure: None,
        }
    }

    /// What a JSON error means: the sink's own reason when it stopped the decoding, the item
    /// that did not decode as a pod, or the syntax error.
    fn json_error(&mut self, e: serde_json::Error) -> PodFileError {
        use serde_json::error::Category;
        match (self.failure.take(), e.classify()) {
            (Some(failure), Category::Data) => failure,
            // serde_json's own bound on nesting, checked before it recurses.
            (_, Category::Syntax) if e.to_string().starts_with("recursion limit exceeded") => {
                PodFileError::TooDeep {
                    line: e.line(),
                    limit: JSON_MAX_DEPTH,
                }
            }
            _ => PodFileError::Json(e),
        }
    }

    fn stop(&mut self, failure: PodFileError) -> String {
        let message = failure.to_string();
        self.failure = Some(failure);
        message
    }

    /// The listing, once the whole document is read: a list, or a single pod.
    fn finish(mut self, found: Found<'_>) -> Result<Listing, PodFileError> {
        let (kind, items, pod) = match found {
            Found::Object { kind, items, pod } => (kind, items, pod),
            Found::Other(what) => return Err(PodFileError::NotAPodList(what.to_string())),
        };
        match (kind.as_deref(), items) {
            (Some("Pod"), _) => {
                // A single pod (whatever `items` it may carry).
                let mut single = FileSink::new(self.selector, self.scope);
                single
                    .item(0, *pod)
                    .map_err(|_| single.failure.take().expect("set"))?;
                Ok(single.listing)
            }
            (Some("List" | "PodList") | None, Some(Shape::List(_))) => Ok(self.listing),
            (Some("List" | "PodList"), Some(Shape::Null) | None) => {
                self.listing = Listing::default();
                Ok(self.listing)
            }
            (Some(other), _) => Err(PodFileError::NotAPodList(format!("kind {other:?}"))),
            (None, Some(Shape::Other(what))) => {
                Err(PodFileError::NotAPodList(format!("`items` that is {what}")))
            }
            (None, Some(Shape::Null)) => {
                Err(PodFileError::NotAPodList("`items` that is null".into()))
            }
            (None, None) => Err(PodFileError::NotAPodList(
                "an object without `kind` or `items`".into(),
            )),
        }
    }
}

impl<'de> Sink<'de> for FileSink<'_> {
    fn item(&mut self, index: usize, pod: wire::Pod<'de>) -> Result<(), String> {
        // Items of other kinds (`kubectl get pods,svc -o json`) are left out.
        if !pod.is_pod() {
            return Ok(());
        }
        self.listing.seen += 1;
        let meta = &pod.metadata;
        let text = |s: &Option<wire::Str<'_>>| s.as_ref().map(|s| s.as_str().to_string());
        let key = (
            text(&meta.namespace).unwrap_or_default(),
            text(&meta.name).unwrap_or_default(),
        );
        if !key.1.is_empty() {
            let what = format!("pod {}/{}", printable(&key.0), printable(&key.1));
            if let Some(first) = self.seen_names.insert(key, index) {
                return Err(self.stop(PodFileError::DuplicatePod {
                    first,
                    second: index,
                    what,
                }));
            }
        }
        if let Some(uid) = meta
            .uid
            .as_ref()
            .map(wire::Str::as_str)
            .filter(|u| !u.is_empty())
            && let Some(first) = self.seen_uids.insert(uid.to_string(), index)
        {
            let what = format!("uid {}", printable(uid));
            return Err(self.stop(PodFileError::DuplicatePod {
                first,
                second: index,
                what,
            }));
        }
        let in_scope = meta
            .namespace
            .as_ref()
            .is_none_or(|ns| self.scope.file_contains(ns.as_str()));
        if !in_scope || !self.selector.matches(&pod) {
            return Ok(());
        }
        self.listing.add(pod_info(&pod, None));
        Ok(())
    }

    fn invalid(&mut self, index: usize, name: Option<String>, problem: String) {
        // Stopped by this sink: that is the reason, not the parser's echo of it.
        if self.failure.is_none() {
            self.failure = Some(PodFileError::InvalidItem {
                index,
                name: printable(name.as_deref().unwrap_or("?/?")),
                problem,
            });
        }
    }
}

/// The deepest nesting accepted in a YAML pod file; a pod is about 10 levels deep.
pub(crate) const MAX_DEPTH: usize = 200;
/// The deepest nesting the JSON parser accepts (`serde_json`'s recursion limit), checked as it
/// reads.
const JSON_MAX_DEPTH: usize = 128;

/// Refuses text nested deeper than [`MAX_DEPTH`] in one linear pass, before any parser
/// recurses: flow collections (`[`, `{`, outside quoted strings and comments) and compact
/// block sequences (`- - - x`) are counted; indentation cannot nest deeper than a line is
/// long, so it needs no check of its own.
fn check_depth(text: &str) -> Result<(), PodFileError> {
    let mut depth = 0usize;
    let mut quote: Option<u8> = None;
    let mut escaped = false;
    let mut line = 1;
    let mut line_start = true;
    let mut compact = 0usize;
    let mut previous = b'\n';
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'\n' {
            line += 1;
            line_start = true;
            compact = 0;
            previous = c;
            i += 1;
            continue;
        }
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if q == b'"' && c == b'\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
        } else if c == b'#' && (previous == b' ' || previous == b'\t' || line_start) {
            // A YAML comment: skip to the end of the line.
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
            continue;
        } else if line_start && c == b'-' && bytes.get(i + 1).is_none_or(|n| *n == b' ') {
            compact += 1;
            if compact > MAX_DEPTH {
                return Err(PodFileError::TooDeep {
                    line,
                    limit: MAX_DEPTH,
                });
            }
        } else if c == b'"' || c == b'\'' {
            line_start = false;
            quote = Some(c);
        } else if c == b'[' || c == b'{' {
            line_start = false;
            depth += 1;
            if depth > MAX_DEPTH {
                return Err(PodFileError::TooDeep {
                    line,
                    limit: MAX_DEPTH,
                });
            }
        } else if c == b']' || c == b'}' {
            line_start = false;
            depth = depth.saturating_sub(1);
        } else if c != b' ' && c != b'\t' {
            line_start = false;
        }
        previous = c;
        i += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    const DRIVER: &str = r#"{"kind":"Pod","apiVersion":"v1","metadata":{"name":"d","namespace":"a",
        "uid":"u","resourceVersion":"1","creationTimestamp":"2026-11-01T00:00:00Z",
        "labels":{"kyuubi-unique-tag":"t","spark-app-selector":"s","spark-role":"driver"}},
        "status":{"phase":"Succeeded"}}"#;
    const EXECUTOR: &str = r#"{"kind":"Pod","apiVersion":"v1","metadata":{"name":"e","namespace":"a",
        "uid":"v","resourceVersion":"2","creationTimestamp":"2026-11-01T00:00:00Z",
        "labels":{"kyuubi-unique-tag":"t","spark-app-selector":"s","spark-role":"executor"}},
        "status":{"phase":"Running"}}"#;

    /// The default `--max-pod-file-size`.
    const DEFAULT_MAX_SIZE: u64 = 4 << 30;

    fn candidates() -> LabelSelector {
        LabelSelector::candidates(None).unwrap()
    }

    #[test]
    fn reads_a_kubectl_list_and_keeps_only_drivers() {
        let list = format!(
            r#"{{"apiVersion":"v1","kind":"List","metadata":{{"resourceVersion":""}},"items":[{DRIVER},{EXECUTOR},
               {{"kind":"Service","apiVersion":"v1","metadata":{{"name":"svc"}}}}]}}"#
        );
        let (_dir, path) = write("pods.json", &list);
        let listing = read(&path, &candidates(), &Namespaces::All, DEFAULT_MAX_SIZE).unwrap();
        assert_eq!(listing.seen, 2);
        assert_eq!(listing.pods.len(), 1);
        assert_eq!(listing.pods[0].name, "d");
        assert_eq!(listing.pods[0].context, None);
    }

    #[test]
    fn reads_yaml_and_a_single_pod() {
        let yaml = "apiVersion: v1\nkind: PodList\nitems:\n- metadata:\n    name: d\n    namespace: a\n    creationTimestamp: \"2026-11-01T00:00:00Z\"\n    labels:\n      kyuubi-unique-tag: t\n      spark-app-selector: s\n      spark-role: driver\n  status:\n    phase: Running\n";
        let (_dir, path) = write("pods.yaml", yaml);
        let listing = read(&path, &candidates(), &Namespaces::All, DEFAULT_MAX_SIZE).unwrap();
        assert_eq!(listing.pods.len(), 1);
        assert_eq!(listing.pods[0].uid, None);

        let (_dir, path) = write("pod", DRIVER);
        assert_eq!(
            read(&path, &candidates(), &Namespaces::All, DEFAULT_MAX_SIZE)
                .unwrap()
                .pods
                .len(),
            1
        );
    }

    #[test]
    fn applies_the_namespace_scope() {
        let list = format!(r#"{{"kind":"List","items":[{DRIVER}]}}"#);
        let (_dir, path) = write("pods.json", &list);
        let only_b = Namespaces::Only(vec!["b".into()]);
        assert!(
            read(&path, &candidates(), &only_b, DEFAULT_MAX_SIZE)
                .unwrap()
                .pods
                .is_empty()
        );
        let only_a = Namespaces::Only(vec!["b".into(), "a".into()]);
        assert_eq!(
            read(&path, &candidates(), &only_a, DEFAULT_MAX_SIZE)
                .unwrap()
                .pods
                .len(),
            1
        );
    }

    #[test]
    fn malformed_files_give_clear_errors() {
        let cases = [
            (
                "bad.json",
                "{\"kind\": \"List\", \"items\": [",
                "not valid JSON",
            ),
            ("bad.yaml", "kind: [unclosed", "not valid YAML"),
            (
                "svc.json",
                r#"{"kind":"Service"}"#,
                "found kind \"Service\"",
            ),
            ("num.json", "42", "found a number"),
            ("obj.json", "{}", "without `kind` or `items`"),
            (
                "item.json",
                r#"{"kind":"List","items":[{"metadata":{"name":"x","namespace":"n"},"status":5}]}"#,
                "items[0] (n/x) is not a valid Pod",
            ),
        ];
        for (name, text, expected) in cases {
            let (_dir, path) = write(name, text);
            let err = read(&path, &candidates(), &Namespaces::All, DEFAULT_MAX_SIZE).unwrap_err();
            assert!(err.to_string().contains(expected), "{name}: {err}");
        }
        let missing = read(
            Path::new("/nonexistent/pods.json"),
            &candidates(),
            &Namespaces::All,
            DEFAULT_MAX_SIZE,
        );
        assert!(matches!(missing, Err(PodFileError::Read(_))));
    }

    #[test]
    fn a_candidate_without_a_creation_time_is_skipped_and_reported() {
        let broken = DRIVER.replace(r#""creationTimestamp":"2026-11-01T00:00:00Z","#, "");
        let (_dir, path) = write(
            "pods.json",
            &format!(r#"{{"kind":"List","items":[{broken}]}}"#),
        );
        let listing = read(&path, &candidates(), &Namespaces::All, DEFAULT_MAX_SIZE).unwrap();
        assert!(listing.pods.is_empty());
        assert_eq!(listing.invalid.len(), 1);
    }

    fn write_bytes(name: &str, bytes: &[u8]) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        (dir, path)
    }

    #[test]
    fn encodings_are_named() {
        let list = format!(r#"{{"kind":"List","items":[{DRIVER}]}}"#);
        let mut bom = vec![0xEF, 0xBB, 0xBF];
        bom.extend_from_slice(list.as_bytes());
        let (_d, path) = write_bytes("pods.json", &bom);
        let listing = read(&path, &candidates(), &Namespaces::All, DEFAULT_MAX_SIZE).unwrap();
        assert_eq!(
            listing.pods.len(),
            1,
            "a UTF-8 byte-order mark is tolerated"
        );

        let mut utf16 = vec![0xFF, 0xFE];
        for unit in list.encode_utf16() {
            utf16.extend_from_slice(&unit.to_le_bytes());
        }
        let (_d, path) = write_bytes("pods.json", &utf16);
        let err = read(&path, &candidates(), &Namespaces::All, DEFAULT_MAX_SIZE).unwrap_err();
        assert!(err.to_string().contains("UTF-16"), "{err}");
        let (_d, path) = write_bytes("pods.json", &utf16[2..]);
        let err = read(&path, &candidates(), &Namespaces::All, DEFAULT_MAX_SIZE).unwrap_err();
        assert!(
            err.to_string().contains("UTF-16"),
            "without a BOM too: {err}"
        );

        let mut latin1 = list.clone().into_bytes();
        latin1.insert(10, 0xE9);
        let (_d, path) = write_bytes("pods.json", &latin1);
        let err = read(&path, &candidates(), &Namespaces::All, DEFAULT_MAX_SIZE).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the file is not UTF-8 text: invalid byte 0xe9 at offset 10"
        );
    }

    #[test]
    fn a_yaml_flow_mapping_is_not_taken_for_json() {
        let flow = "{kind: List, items: [{kind: Pod, metadata: {name: d, namespace: a, uid: u, \
                    resourceVersion: '1', creationTimestamp: '2026-11-01T00:00:00Z', labels: \
                    {kyuubi-unique-tag: t, spark-app-selector: s, spark-role: driver}}, status: \
                    {phase: Succeeded}}]}";
        let (_d, path) = write("pods", flow);
        let listing = read(&path, &candidates(), &Namespaces::All, DEFAULT_MAX_SIZE).unwrap();
        assert_eq!(listing.pods.len(), 1);
        // Named .json, it must be JSON.
        let (_d, path) = write("pods.json", flow);
        assert!(matches!(
            read(&path, &candidates(), &Namespaces::All, DEFAULT_MAX_SIZE),
            Err(PodFileError::Json(_))
        ));
    }

    #[test]
    fn deep_nesting_is_refused_before_parsing() {
        let started = std::time::Instant::now();
        for (name, text) in [
            ("deep.yaml", "[".repeat(100_000) + &"]".repeat(100_000)),
            ("deep.yaml", "- ".repeat(100_000) + "x\n"),
            ("deep", "a:\n  ".to_string() + &"{b: ".repeat(300)),
        ] {
            let (_d, path) = write(name, &text);
            let err = read(&path, &candidates(), &Namespaces::All, DEFAULT_MAX_SIZE).unwrap_err();
            assert!(
                matches!(err, PodFileError::TooDeep { line: 1 | 2, .. }),
                "{name}: {err}"
            );
        }
        // JSON: the parser's own bound where a field is read; a field that is skipped is
        // skipped without recursion (bounded by the file size), so either way it ends at once.
        let items = format!(
            r#"{{"kind":"List","items":[{{"metadata":{{"labels":{}"#,
            "{\"a\":".repeat(100_000)
        );
        let skipped = "{\"a\":".repeat(100_000);
        let deep_status = format!(
            r#"{{"kind":"Pod","status":{{"conditions":[{}]}}}}"#,
            "[".repeat(100_000)
        );
        for text in [items, skipped, deep_status] {
            let (_d, path) = write("deep.json", &text);
            let err = read(&path, &candidates(), &Namespaces::All, DEFAULT_MAX_SIZE).unwrap_err();
            assert!(
                matches!(
                    err,
                    PodFileError::Json(_)
                        | PodFileError::TooDeep { .. }
                        | PodFileError::InvalidItem { .. }
                ),
                "{err}"
            );
        }
        let (_d, path) = write(
            "deep.json",
            &format!("{}1{}", "[".repeat(300), "]".repeat(300)),
        );
        let err = read(&path, &candidates(), &Namespaces::All, DEFAULT_MAX_SIZE).unwrap_err();
        assert!(
            matches!(err, PodFileError::NotAPodList(_)),
            "a deep array at the top is skipped and refused as not a pod list: {err}"
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
        // Brackets inside strings and comments do not count.
        let quoted = format!(
            "# [[[[ {}\nkind: List\nitems: []\nnote: \"{}\"\nother: '{}'\n",
            "[".repeat(500),
            "[".repeat(500),
            "{".repeat(500)
        );
        assert!(check_depth(&quoted).is_ok());
        assert!(check_depth(&format!("{}{}", "[".repeat(200), "]".repeat(200))).is_ok());
    }

    fn list_of(n: usize, extra_label: &str) -> String {
        let items: Vec<String> = (0..n)
            .map(|i| {
                DRIVER
                    .replace(r#""name":"d""#, &format!(r#""name":"d{i}""#))
                    .replace(r#""uid":"u""#, &format!(r#""uid":"u{i}""#))
                    .replace(
                        r#""spark-role":"driver""#,
                        &format!(r#""spark-role":"driver","note":"{extra_label}""#),
                    )
            })
            .collect();
        format!(r#"{{"kind":"List","items":[{}]}}"#, items.join(","))
    }

    /// A pipe whose read end is named by a path, as process substitution gives one.
    fn pipe_with(
        bytes: Vec<u8>,
    ) -> (
        std::path::PathBuf,
        std::thread::JoinHandle<()>,
        std::io::PipeReader,
    ) {
        use std::io::Write as _;
        use std::os::fd::AsRawFd as _;
        let (reader, mut writer) = std::io::pipe().unwrap();
        let path = std::path::PathBuf::from(format!("/proc/self/fd/{}", reader.as_raw_fd()));
        let feeder = std::thread::spawn(move || {
            // The reader may stop early (a refusal): a broken pipe is expected then.
            let _ = writer.write_all(&bytes);
        });
        (path, feeder, reader)
    }

    #[test]
    fn a_large_file_is_read_item_by_item_with_text_cut_across_reads() {
        // Far past the head and the read buffer, with two- and three-byte characters that the
        // reads cut in every position.
        let list = list_of(6000, "é€é€é€");
        assert!(list.len() > 4 * READ_BUFFER);
        let (_d, path) = write("pods.json", &list);
        let listing = read(&path, &candidates(), &Namespaces::All, DEFAULT_MAX_SIZE).unwrap();
        assert_eq!((listing.seen, listing.pods.len()), (6000, 6000));

        let (_d, path) = write("pods.json", &list);
        let err = read(&path, &candidates(), &Namespaces::All, 100_000).unwrap_err();
        assert_eq!(
            err.to_string(),
            "larger than 100000 bytes (--max-pod-file-size)"
        );
    }

    #[test]
    fn utf8_is_checked_as_it_is_read_one_byte_at_a_time() {
        /// Hands out one byte per read.
        struct Trickle(std::io::Cursor<Vec<u8>>);
        impl Read for Trickle {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let n = buf.len().min(1);
                self.0.read(&mut buf[..n])
            }
        }
        let check = |bytes: &[u8]| {
            let failure = RefCell::new(None);
            let mut checked = Checked {
                inner: Trickle(std::io::Cursor::new(bytes.to_vec())),
                read: 0,
                max: 1 << 20,
                pending: Vec::new(),
                failure: &failure,
            };
            let mut out = Vec::new();
            let result = checked.read_to_end(&mut out);
            (result.is_ok(), failure.take().map(|f| f.to_string()))
        };
        assert_eq!(check("aé€😀z".as_bytes()), (true, None));
        let (ok, failure) = check(b"ab\xe2\x82");
        assert!(!ok);
        assert_eq!(
            failure.as_deref(),
            Some("the file is not UTF-8 text: invalid byte 0xe2 at offset 2"),
            "a sequence cut by the end of the file"
        );
        let (ok, failure) = check(b"abc\xe2\x28\xa1");
        assert!(!ok);
        assert_eq!(
            failure.as_deref(),
            Some("the file is not UTF-8 text: invalid byte 0xe2 at offset 3")
        );
        let (ok, failure) = check(b"abcd\xff");
        assert!(!ok);
        assert_eq!(
            failure.as_deref(),
            Some("the file is not UTF-8 text: invalid byte 0xff at offset 4")
        );
    }

    #[test]
    fn devices_and_directories_are_refused_before_reading() {
        for path in ["/dev/zero", "/dev/urandom"] {
            let err = read(
                Path::new(path),
                &candidates(),
                &Namespaces::All,
                DEFAULT_MAX_SIZE,
            )
            .unwrap_err();
            assert!(matches!(err, PodFileError::NotAFile(_)), "{path}: {err}");
            assert!(err.to_string().contains("device"), "{err}");
        }
        let dir = tempfile::tempdir().unwrap();
        let err = read(
            dir.path(),
            &candidates(),
            &Namespaces::All,
            DEFAULT_MAX_SIZE,
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "not a pod file: it is a directory");
    }

    #[test]
    fn a_pipe_is_read_and_one_that_never_ends_is_cut_at_the_size_bound() {
        let list = format!(r#"{{"kind":"List","items":[{DRIVER}]}}"#);
        let (path, feeder, _reader) = pipe_with(list.into_bytes());
        let listing = read(&path, &candidates(), &Namespaces::All, DEFAULT_MAX_SIZE).unwrap();
        assert_eq!(listing.pods.len(), 1);
        feeder.join().unwrap();

        // Blank space without end (as `yes ' '` gives): JSON skips it without holding it,
        // so only the bound ends it.
        let mut endless = b"{\"kind\":\"List\",\"items\":[".to_vec();
        endless.resize(8 << 20, b' ');
        let (path, feeder, reader) = pipe_with(endless);
        let err = read(&path, &candidates(), &Namespaces::All, 1 << 20).unwrap_err();
        assert_eq!(
            err.to_string(),
            "larger than 1048576 bytes (--max-pod-file-size)"
        );
        drop(reader);
        feeder.join().unwrap();
    }

    #[test]
    fn a_flow_mapping_from_a_pipe_is_read_again_as_yaml() {
        let flow = "{kind: List, items: [{kind: Pod, metadata: {name: d, namespace: a, uid: u, \
                    resourceVersion: '1', creationTimestamp: '2026-11-01T00:00:00Z', labels: \
                    {kyuubi-unique-tag: t, spark-app-selector: s, spark-role: driver}}, status: \
                    {phase: Succeeded}}]}";
        let (path, feeder, _reader) = pipe_with(flow.as_bytes().to_vec());
        let listing = read(&path, &candidates(), &Namespaces::All, DEFAULT_MAX_SIZE).unwrap();
        assert_eq!(listing.pods.len(), 1);
        feeder.join().unwrap();
    }

    #[test]
    fn list_shapes() {
        let cases = [
            (r#"{"kind":"List","items":null}"#, Ok(0)),
            (r#"{"kind":"PodList"}"#, Ok(0)),
            (r#"{"items":[]}"#, Ok(0)),
            // A single pod, whatever `items` it carries.
            (
                &*format!(r#"{{"items":[{EXECUTOR}],{}"#, &DRIVER[1..]),
                Ok(1),
            ),
            (r#"{"items":5}"#, Err("found `items` that is a number")),
            (r#"{"items":"x"}"#, Err("found `items` that is a string")),
            ("[1,2]", Err("found an array")),
            ("null", Err("found null")),
            (
                r#"{"kind":"List","kind":"List","items":[]}"#,
                Err("duplicate field `kind`"),
            ),
        ];
        for (text, expected) in cases {
            let (_d, path) = write("pods.json", text);
            let got = read(&path, &candidates(), &Namespaces::All, DEFAULT_MAX_SIZE);
            match (got, expected) {
                (Ok(listing), Ok(n)) => assert_eq!(listing.pods.len(), n, "{text}"),
                (Err(e), Err(message)) => {
                    let chain = match &e {
                        PodFileError::Json(inner) => format!("{e}: {inner}"),
                        _ => e.to_string(),
                    };
                    assert!(chain.contains(message), "{text}: {chain}");
                }
                (got, expected) => panic!("{text}: {got:?}, expected {expected:?}"),
            }
        }
    }

    #[test]
    fn an_item_that_is_no_pod_is_named() {
        let broken = DRIVER.replace(
            r#""status":{"phase":"Succeeded"}"#,
            r#""status":{"phase":7}"#,
        );
        let (_d, path) = write(
            "pods.json",
            &format!(r#"{{"kind":"List","items":[{DRIVER},{broken}]}}"#),
        );
        let err = read(&path, &candidates(), &Namespaces::All, DEFAULT_MAX_SIZE).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("items[1] (a/d) is not a valid Pod: invalid type: integer `7`"),
            "{err}"
        );
        // Items of other kinds are skipped whatever their status holds.
        let service = r#"{"kind":"Service","metadata":{"name":"s"},"status":{"phase":7}}"#;
        let (_d, path) = write(
            "pods.json",
            &format!(r#"{{"kind":"List","items":[{service},{DRIVER}]}}"#),
        );
        let listing = read(&path, &candidates(), &Namespaces::All, DEFAULT_MAX_SIZE).unwrap();
        assert_eq!((listing.seen, listing.pods.len()), (1, 1));
    }

    #[test]
    fn yaml_is_read_item_by_item_with_the_json_twin_s_verdicts() {
        let json = list_of(300, "a: b # c\\n- d");
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        let yaml = serde_yaml::to_string(&value).unwrap();
        assert!(
            yaml.contains("\nitems:\n- "),
            "kubectl's layout: {}",
            &yaml[..200]
        );
        let (_d, json_path) = write("pods.json", &json);
        let (_d, yaml_path) = write("pods.yaml", &yaml);
        let from_json = read(
            &json_path,
            &candidates(),
            &Namespaces::All,
            DEFAULT_MAX_SIZE,
        )
        .unwrap();
        let from_yaml = read(
            &yaml_path,
            &candidates(),
            &Namespaces::All,
            DEFAULT_MAX_SIZE,
        )
        .unwrap();
        assert_eq!(from_yaml.pods.len(), 300);
        assert_eq!(from_yaml, from_json);
        // Through a pipe, without a name.
        let (path, feeder, _reader) = pipe_with(yaml.into_bytes());
        let piped = read(&path, &candidates(), &Namespaces::All, DEFAULT_MAX_SIZE).unwrap();
        assert_eq!(piped, from_json);
        feeder.join().unwrap();
    }

    #[test]
    fn yaml_items_that_fail_are_named_and_layouts_that_cannot_be_cut_are_refused() {
        let bad = "kind: List\nitems:\n- kind: Pod\n  metadata:\n    name: x\n    namespace: n\n  \
                   status:\n    phase: [1]\n";
        let (_d, path) = write("pods.yaml", bad);
        let err = read(&path, &candidates(), &Namespaces::All, DEFAULT_MAX_SIZE).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("items[0] (n/x) is not a valid Pod"),
            "{err}"
        );
        let shallow = "kind: List\nitems:\n- metadata:\n name: x\n";
        let (_d, path) = write("pods.yaml", shallow);
        let err = read(&path, &candidates(), &Namespaces::All, DEFAULT_MAX_SIZE).unwrap_err();
        assert!(matches!(err, PodFileError::Yaml(_)), "{err}");
        let twice = "kind: List\nitems: []\n---\nkind: List\n";
        let (_d, path) = write("pods.yaml", twice);
        assert!(read(&path, &candidates(), &Namespaces::All, DEFAULT_MAX_SIZE).is_err());
        // A deep item is refused before the parser recurses into it.
        let deep = format!("kind: List\nitems:\n- metadata: {}\n", "[".repeat(100_000));
        let (_d, path) = write("pods.yaml", &deep);
        let err = read(&path, &candidates(), &Namespaces::All, DEFAULT_MAX_SIZE).unwrap_err();
        assert!(matches!(err, PodFileError::TooDeep { .. }), "{err}");
    }

    #[test]
    fn a_named_fifo_waits_for_its_writer_and_one_that_writes_nothing_is_empty() {
        use std::io::Write as _;
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pods");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let list = format!(r#"{{"kind":"List","items":[{DRIVER}]}}"#);
        // The writer comes after the reader has opened it.
        let writer = {
            let fifo = fifo.clone();
            std::thread::spawn(move || {
                std::thread::sleep(std::time::Duration::from_millis(300));
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(&fifo)
                    .unwrap()
                    .write_all(list.as_bytes())
                    .unwrap();
            })
        };
        let listing = read(&fifo, &candidates(), &Namespaces::All, DEFAULT_MAX_SIZE).unwrap();
        assert_eq!(listing.pods.len(), 1);
        writer.join().unwrap();

        // A writer that goes away without a byte: empty, said as such.
        let writer = {
            let fifo = fifo.clone();
            std::thread::spawn(move || {
                std::thread::sleep(std::time::Duration::from_millis(300));
                drop(std::fs::OpenOptions::new().write(true).open(&fifo).unwrap());
            })
        };
        let err = read(&fifo, &candidates(), &Namespaces::All, DEFAULT_MAX_SIZE).unwrap_err();
        assert!(err.to_string().contains("the input is empty"), "{err}");
        writer.join().unwrap();
    }
}
