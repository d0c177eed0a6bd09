//! Splits a saved YAML pod list into its items, line by line, so that a pod file is parsed one
//! item at a time (memory follows the largest item, not the file).
//!
//! Owns: cutting what `kubectl get pods -o yaml` writes into one YAML text per entry of the
//! top-level `items` block sequence, re-indented to stand alone, and the rest of the document
//! (`apiVersion`, `kind`, `metadata`, … with `items: []` in place of the sequence) as one text.
//! Must not: parse the items (the caller does), guess at a layout it cannot split exactly.
//!
//! # Rules
//!
//! Lines end where the YAML parser ends them: LF, CRLF, CR, NEL, and the line and paragraph
//! separators U+2028 and U+2029 (kept as they are; the others become LF, which reads the same).
//!
//! - A top-level line `items:` (also `"items":`, `'items':`, with nothing after it but a comment)
//!   followed by a line `- …` or `-` opens the sequence; its entries stand at that line's
//!   indentation `n` (0 as kubectl writes it, or more: `items:\n  - a: 1`). The `items:` line is
//!   only taken as a key when all the text before it parses as a YAML document of its own: so it
//!   cannot be inside a quoted scalar or flow collection of an earlier key. Otherwise the whole
//!   document is left in the rest (read as one document by the caller, as before).
//! - An entry starts at a line of indentation `n` that is `-` or starts with `- `. Its content
//!   starts at column `w`: after the `- ` and its spaces, or, when the `-` stands alone (maybe
//!   with a comment), at the indentation of the next line with content. Each line of the entry
//!   loses its first `w` columns (the first one loses its `- `, so `- a: 1\n  b: 2` becomes
//!   `a: 1\nb: 2`).
//! - A blank line or a comment belongs to the entry at any indentation (a comment at column 0
//!   does not end the sequence); when indented less than `w`, its indentation is removed.
//! - A line with content at column 0 that does not start an entry (`kind: List`, `---`,
//!   `...`) ends the sequence.
//! - Everything that is not the sequence goes, in order, to the rest; a flow `items: [...]`, a
//!   flow document `{kind: List, items: [...]}`, or `items` holding anything but a block
//!   sequence is not split: it stays in the rest, parsed whole.
//!
//! Refused, with an error, rather than split into texts that could mean something else:
//! - a second document (`---` after content, content after `...`), `items` twice at top level;
//! - a tab in the indentation of a line of the sequence (YAML indents with spaces only); a tab
//!   right of the `w` columns removed is the entry's own text, judged by the parser as in place;
//! - a line of an entry with content left of its column `w` but right of its `-` (valid only
//!   for entries that are not pods, such as multi-line scalars), and one left of the entries but
//!   not at column 0;
//! - an entry that is a block scalar (`- |`, `- &a >`): it could hold lines left of `w`;
//! - a line that, once re-indented, would start at column 0 with `---`, `...`, `%` or a
//!   byte-order mark, which mean something else there;
//! - a line longer than [`MAX_LINE`] bytes, an entry larger than the caller's bound.
//!
//! What is left to the caller, which must parse every item text as it comes and stop at the
//! first error, and parse the rest last (an error, never a different value):
//! - an alias (`*a`) in one entry of an anchor (`&a`) set in another, or in the rest of one set
//!   in an entry: parsed alone, the text fails with an unknown anchor;
//! - a quoted scalar or flow collection whose continuation line stands at or left of the
//!   entries' column (which YAML forbids, though the parser takes it): the entry is cut there,
//!   so its text has an unclosed quote or bracket and does not parse;
//! - nesting: an item parsed alone is two levels shallower than in the whole document, so a
//!   depth bound applies to each item text;
//! - the size of the rest, which is not bounded here: when nothing is split it is the whole
//!   document, as large as the file.

use std::io::{self, BufRead, Read as _};

/// The longest line read, in bytes (without its line end): a line without end cannot grow the
/// memory without bound.
pub(crate) const MAX_LINE: usize = 16 << 20;

/// The text of the rest when the sequence was split out.
const EMPTY_ITEMS: &str = "items: []\n";

/// What [`YamlItems`] yields: the items, in order, then the rest, once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Chunk {
    /// One entry of the top-level `items` block sequence, as a YAML text of its own.
    Item {
        /// Position in `items`: 0, 1, …
        index: usize,
        /// The entry, re-indented to column 0.
        text: String,
    },
    /// The rest of the document, after the last item.
    Rest {
        /// Every line outside the sequence, with `items: []` where the sequence stood.
        text: String,
        /// `Some(n)` when the `items` block sequence was split into `n` items (and `text` holds
        /// `items: []` in its place); `None` when nothing was split: `text` is the whole
        /// document, `items` included if it has one.
        streamed: Option<usize>,
    },
}

/// Why a YAML pod list could not be split into its items.
#[derive(Debug, thiserror::Error)]
pub(crate) enum YamlSplitError {
    /// The reader failed; its error, unchanged.
    #[error("cannot read the file")]
    Read(#[source] io::Error),
    /// The bytes of a line are not UTF-8 text.
    #[error("line {line} is not UTF-8 text")]
    NotUtf8 {
        /// The line, from 1.
        line: usize,
    },
    /// A line longer than [`MAX_LINE`].
    #[error("line {line} is longer than {limit} bytes")]
    LineTooLong {
        /// The line, from 1.
        line: usize,
        /// The bound.
        limit: usize,
    },
    /// An item larger than the caller's bound.
    #[error("items[{index}] (from line {line}) is larger than {limit} bytes")]
    ItemTooLarge {
        /// Position in `items`.
        index: usize,
        /// The line where the item starts.
        line: usize,
        /// The bound.
        limit: usize,
    },
    /// A second YAML document.
    #[error(
        "line {line}: more than one YAML document (a second `---`, or text after `...`); a pod \
         file holds one list"
    )]
    MultipleDocuments {
        /// The line.
        line: usize,
    },
    /// `items` twice at top level.
    #[error("line {line}: `items` is given twice")]
    DuplicateItems {
        /// The line of the second one.
        line: usize,
    },
    /// A tab in the indentation of a line of the sequence.
    #[error("line {line}: a tab indents a line of `items`; YAML indents with spaces only")]
    Tab {
        /// The line.
        line: usize,
    },
    /// A line of an entry left of the entry's content but right of its `-`.
    #[error(
        "line {line} (in items[{index}]) starts at column {column}, left of the item's content \
         (column {content}): not a layout of a pod list that can be read item by item"
    )]
    Shallow {
        /// The line.
        line: usize,
        /// The entry.
        index: usize,
        /// Where the line starts, from 1.
        column: usize,
        /// Where the entry's content starts, from 1.
        content: usize,
    },
    /// A line left of the entries but not at column 0.
    #[error(
        "line {line} starts at column {column}, left of the `items` entries (column {entries}) \
         but not at the top level"
    )]
    Dedent {
        /// The line.
        line: usize,
        /// Where the line starts, from 1.
        column: usize,
        /// Where the entries' `-` stand, from 1.
        entries: usize,
    },
    /// An entry that is a block scalar.
    #[error("items[{index}] (line {line}) is a block scalar (`|` or `>`), not a pod")]
    BlockScalarItem {
        /// The entry.
        index: usize,
        /// The line.
        line: usize,
    },
    /// A line that would mean something else at column 0.
    #[error(
        "line {line} (in items[{index}]) would start with `---`, `...`, `%` or a byte-order \
         mark once the item is read alone"
    )]
    ColumnZero {
        /// The line.
        line: usize,
        /// The entry.
        index: usize,
    },
}

/// Splits a YAML pod list read from `R` into its items and the rest (module documentation):
/// an iterator of [`Chunk`]s that ends after the [`Chunk::Rest`] or the first error.
pub(crate) struct YamlItems<R> {
    reader: R,
    /// The line read last (up to and with its `\n`), reused.
    line: String,
    /// Where the next line (by YAML's line ends) starts in `line`.
    pos: usize,
    /// The reader is at its end.
    eof: bool,
    /// The rest or an error was returned.
    done: bool,
    /// The bound on a line: [`MAX_LINE`].
    max_line: usize,
    split: Splitter,
}

impl<R: BufRead> YamlItems<R> {
    /// Splits `reader`'s text (UTF-8, without a byte-order mark); an item larger than
    /// `max_item` bytes is an error.
    #[must_use]
    pub(crate) fn new(reader: R, max_item: usize) -> Self {
        YamlItems {
            reader,
            line: String::new(),
            pos: 0,
            eof: false,
            done: false,
            max_line: MAX_LINE,
            split: Splitter {
                max_item,
                state: State::Top,
                rest: String::new(),
                chunk: String::new(),
                pending: String::new(),
                line: 0,
                started: false,
                items_seen: false,
                count: 0,
                entry_line: 0,
                width: None,
                root_known: false,
                last_len: 0,
            },
        }
    }

    /// Reads the next line into `line`; `false` at the end.
    fn fill(&mut self) -> Result<bool, YamlSplitError> {
        let mut bytes = std::mem::take(&mut self.line).into_bytes();
        bytes.clear();
        self.pos = 0;
        let limit = u64::try_from(self.max_line).map_or(u64::MAX, |l| l.saturating_add(1));
        (&mut self.reader)
            .take(limit)
            .read_until(b'\n', &mut bytes)
            .map_err(YamlSplitError::Read)?;
        if bytes.is_empty() {
            return Ok(false);
        }
        let line = self.split.line + 1;
        if bytes.len() - usize::from(bytes.ends_with(b"\n")) > self.max_line {
            return Err(YamlSplitError::LineTooLong {
                line,
                limit: self.max_line,
            });
        }
        self.line = String::from_utf8(bytes).map_err(|_| YamlSplitError::NotUtf8 { line })?;
        Ok(true)
    }

    fn advance(&mut self) -> Result<Chunk, YamlSplitError> {
        loop {
            if self.pos == self.line.len() && (self.eof || !self.fill()?) {
                self.eof = true;
                return Ok(self.split.end());
            }
            let (end, next, brk) = next_break(&self.line, self.pos);
            let text = &self.line[self.pos..end];
            self.pos = next;
            if let Some(chunk) = self.split.line(text, brk)? {
                return Ok(chunk);
            }
        }
    }
}

impl<R: BufRead> Iterator for YamlItems<R> {
    type Item = Result<Chunk, YamlSplitError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let next = self.advance();
        self.done = !matches!(next, Ok(Chunk::Item { .. }));
        Some(next)
    }
}

/// How a line ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Break {
    /// LF, CRLF, CR or NEL: written as LF.
    Lf,
    /// U+2028, kept.
    Ls,
    /// U+2029, kept.
    Ps,
    /// The end of the text.
    End,
}

impl Break {
    fn as_str(self) -> &'static str {
        match self {
            Break::Lf => "\n",
            Break::Ls => "\u{2028}",
            Break::Ps => "\u{2029}",
            Break::End => "",
        }
    }
}

/// The line of `line` starting at `from`, by the YAML parser's line ends: where its text ends,
/// where the next line starts, and how it ends. `line` holds at most one `\n`, at its end.
fn next_break(line: &str, from: usize) -> (usize, usize, Break) {
    let bytes = line.as_bytes();
    let body = bytes.len() - usize::from(bytes.ends_with(b"\n"));
    let mut at = from;
    while let Some(found) = memchr::memchr3(b'\r', 0xC2, 0xE2, &bytes[at..body]) {
        let i = at + found;
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            // CRLF is one line end.
            (b'\r', ..) => {
                return (
                    i,
                    if i + 1 == body { bytes.len() } else { i + 1 },
                    Break::Lf,
                );
            }
            (0xC2, Some(0x85), _) => return (i, i + 2, Break::Lf),
            (0xE2, Some(0x80), Some(0xA8)) => return (i, i + 3, Break::Ls),
            (0xE2, Some(0x80), Some(0xA9)) => return (i, i + 3, Break::Ps),
            _ => at = i + 1,
        }
    }
    if body < bytes.len() {
        (body, bytes.len(), Break::Lf)
    } else {
        (body, body, Break::End)
    }
}

/// Where the splitter is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Outside the sequence: lines go to the rest.
    Top,
    /// After a top-level `items:` with nothing after it (in `Splitter::pending`): a block
    /// sequence may follow.
    Key,
    /// In the sequence, whose entries' `-` stand at this column.
    Seq(usize),
    /// The `items:` line did not follow a complete document: nothing is split, every line goes
    /// to the rest.
    Whole,
    /// After `...`: only blank lines and comments may follow.
    Ended,
}

/// The state of the split, fed one line at a time.
struct Splitter {
    max_item: usize,
    state: State,
    rest: String,
    /// The entry being read.
    chunk: String,
    /// The `items:` line, while it is not known whether a block sequence follows.
    pending: String,
    /// Lines read.
    line: usize,
    /// A `---` or content was seen.
    started: bool,
    items_seen: bool,
    /// Entries started: more than 0 once the sequence is split.
    count: usize,
    /// The line where the current entry starts.
    entry_line: usize,
    /// The column of the current entry's content; `None` while its `-` stood alone.
    width: Option<usize>,
    /// The current entry's node is known not to be a block scalar.
    root_known: bool,
    /// The length of the previous entry: the next one's first capacity.
    last_len: usize,
}

impl Splitter {
    /// Takes one line (`text`, without its end `brk`); returns an item when it completes one.
    fn line(&mut self, text: &str, brk: Break) -> Result<Option<Chunk>, YamlSplitError> {
        self.line += 1;
        match self.state {
            State::Top => self.top(text, brk, true).map(|()| None),
            State::Whole => self.top(text, brk, false).map(|()| None),
            State::Ended => {
                if !is_blank_or_comment(text.trim_start_matches([' ', '\t'])) {
                    return Err(YamlSplitError::MultipleDocuments { line: self.line });
                }
                push(&mut self.rest, text, brk);
                Ok(None)
            }
            State::Key => self.key(text, brk).map(|()| None),
            State::Seq(column) => self.seq(column, text, brk),
        }
    }

    /// The end of the text: the last item, then (on the next call) the rest.
    fn end(&mut self) -> Chunk {
        match self.state {
            State::Seq(_) => {
                self.state = State::Top;
                self.take_item()
            }
            State::Key => {
                self.state = State::Top;
                self.rest.push_str(&self.pending);
                self.end()
            }
            State::Top | State::Whole | State::Ended => Chunk::Rest {
                text: std::mem::take(&mut self.rest),
                streamed: (self.count > 0).then_some(self.count),
            },
        }
    }

    /// A line outside the sequence; `detect`: whether a top-level `items:` may open one.
    fn top(&mut self, text: &str, brk: Break, detect: bool) -> Result<(), YamlSplitError> {
        if let Some(marker) = document_marker(text) {
            if marker == "..." {
                self.state = State::Ended;
            } else if std::mem::replace(&mut self.started, true) {
                return Err(YamlSplitError::MultipleDocuments { line: self.line });
            }
            push(&mut self.rest, text, brk);
            return Ok(());
        }
        let body = text.trim_start_matches(' ');
        // Directives (`%YAML 1.2`) come before the document.
        if is_blank_or_comment(body) || (!self.started && text.starts_with('%')) {
            push(&mut self.rest, text, brk);
            return Ok(());
        }
        self.started = true;
        if detect
            && body.len() == text.len()
            && let Some(value) = items_key(text)
        {
            if std::mem::replace(&mut self.items_seen, true) {
                return Err(YamlSplitError::DuplicateItems { line: self.line });
            }
            if is_blank_or_comment(value.trim_start_matches([' ', '\t'])) {
                // Taken as a top-level key only after a document that is complete: not
                // within a quoted scalar or a flow collection begun before it.
                if serde_yaml::from_str::<serde::de::IgnoredAny>(&self.rest).is_ok() {
                    self.pending.clear();
                    push(&mut self.pending, text, brk);
                    self.state = State::Key;
                    return Ok(());
                }
                tracing::debug!(
                    "line {}: `items:` does not follow a complete YAML text; the pod file is \
                     read as one document",
                    self.line
                );
                self.state = State::Whole;
            }
        }
        push(&mut self.rest, text, brk);
        Ok(())
    }

    /// A line after `items:`, before it is known what `items` holds.
    fn key(&mut self, text: &str, brk: Break) -> Result<(), YamlSplitError> {
        let body = text.trim_start_matches(' ');
        if document_marker(text).is_none() {
            if is_blank_or_comment(body) {
                return Ok(());
            }
            if body.starts_with('\t') {
                return Err(YamlSplitError::Tab { line: self.line });
            }
            match entry_marker(body) {
                Marker::Entry => {
                    let column = text.len() - body.len();
                    self.rest.push_str(EMPTY_ITEMS);
                    self.pending.clear();
                    self.state = State::Seq(column);
                    return self.begin_entry(column, text, brk);
                }
                Marker::Tab => return Err(YamlSplitError::Tab { line: self.line }),
                Marker::None => {}
            }
        }
        // Not a block sequence: `items` is null or holds another node, read with the rest.
        self.rest.push_str(&self.pending);
        self.pending.clear();
        self.state = State::Top;
        self.top(text, brk, true)
    }

    /// A line in the sequence whose entries stand at column `n`.
    fn seq(&mut self, n: usize, text: &str, brk: Break) -> Result<Option<Chunk>, YamlSplitError> {
        let body = text.trim_start_matches(' ');
        let column = text.len() - body.len();
        if let Some(w) = self.width
            && column >= w
        {
            let piece = &text[w..];
            if column == w {
                self.check_column_zero(piece)?;
            }
            if !self.root_known && !is_blank_or_comment(body) {
                self.check_root(body)?;
            }
            self.push_item(piece, brk)?;
            return Ok(None);
        }
        if body.is_empty() || body.starts_with('#') {
            // Dropped before the entry's content: nothing in it can be a scalar's yet.
            if self.width.is_some() {
                self.push_item(body, brk)?;
            }
            return Ok(None);
        }
        if body.starts_with('\t') {
            return Err(YamlSplitError::Tab { line: self.line });
        }
        if column > n {
            if self.width.is_some() {
                return Err(YamlSplitError::Shallow {
                    line: self.line,
                    index: self.count - 1,
                    column: column + 1,
                    content: self.width.map_or(0, |w| w + 1),
                });
            }
            // The content of an entry whose `-` stood alone.
            self.width = Some(column);
            self.check_column_zero(body)?;
            self.check_root(body)?;
            self.push_item(body, brk)?;
            return Ok(None);
        }
        if column == n {
            match entry_marker(body) {
                Marker::Entry => {
                    let done = self.take_item();
                    self.begin_entry(n, text, brk)?;
                    return Ok(Some(done));
                }
                Marker::Tab => return Err(YamlSplitError::Tab { line: self.line }),
                Marker::None => {}
            }
        }
        if column == 0 {
            let done = self.take_item();
            self.state = State::Top;
            self.top(text, brk, true)?;
            return Ok(Some(done));
        }
        Err(YamlSplitError::Dedent {
            line: self.line,
            column: column + 1,
            entries: n + 1,
        })
    }

    /// Starts an entry at its line `- …` (or `-`), whose `-` is at column `n`.
    fn begin_entry(&mut self, n: usize, text: &str, brk: Break) -> Result<(), YamlSplitError> {
        self.count += 1;
        self.entry_line = self.line;
        self.chunk = String::with_capacity(
            self.last_len
                .saturating_add(self.last_len / 8)
                .min(self.max_item),
        );
        self.width = None;
        self.root_known = false;
        let after = &text[n + 1..];
        let content = after.trim_start_matches(' ');
        if content.starts_with('\t') {
            return Err(YamlSplitError::Tab { line: self.line });
        }
        if is_blank_or_comment(content) {
            return Ok(());
        }
        self.width = Some(text.len() - content.len());
        self.check_column_zero(content)?;
        self.check_root(content)?;
        self.push_item(content, brk)
    }

    /// Refuses an entry whose node is a block scalar: its lines may stand left of its column.
    fn check_root(&mut self, body: &str) -> Result<(), YamlSplitError> {
        let mut rest = body;
        // Skip the node's properties: tags and anchors.
        while rest.starts_with(['!', '&']) {
            let end = rest.find([' ', '\t']).unwrap_or(rest.len());
            rest = rest[end..].trim_start_matches([' ', '\t']);
        }
        if is_blank_or_comment(rest) {
            // Only properties: the node follows on a later line.
            return Ok(());
        }
        if rest.starts_with(['|', '>']) {
            return Err(YamlSplitError::BlockScalarItem {
                index: self.count - 1,
                line: self.line,
            });
        }
        self.root_known = true;
        Ok(())
    }

    /// Refuses a line that means something else at column 0 than where it stands.
    fn check_column_zero(&self, piece: &str) -> Result<(), YamlSplitError> {
        if document_marker(piece).is_some() || piece.starts_with(['%', '\u{FEFF}']) {
            return Err(YamlSplitError::ColumnZero {
                line: self.line,
                index: self.count - 1,
            });
        }
        Ok(())
    }

    fn push_item(&mut self, piece: &str, brk: Break) -> Result<(), YamlSplitError> {
        let brk = brk.as_str();
        if self.chunk.len() + piece.len() + brk.len() > self.max_item {
            return Err(YamlSplitError::ItemTooLarge {
                index: self.count - 1,
                line: self.entry_line,
                limit: self.max_item,
            });
        }
        self.chunk.push_str(piece);
        self.chunk.push_str(brk);
        Ok(())
    }

    fn take_item(&mut self) -> Chunk {
        let text = std::mem::take(&mut self.chunk);
        self.last_len = text.len();
        Chunk::Item {
            index: self.count - 1,
            text,
        }
    }
}

fn push(out: &mut String, text: &str, brk: Break) {
    out.push_str(text);
    out.push_str(brk.as_str());
}

/// Empty (after the indentation) or a comment.
fn is_blank_or_comment(body: &str) -> bool {
    body.is_empty() || body.starts_with('#')
}

/// `---` or `...` when the line is a document marker.
fn document_marker(text: &str) -> Option<&'static str> {
    ["---", "..."].into_iter().find(|marker| {
        text.strip_prefix(marker)
            .is_some_and(|after| after.is_empty() || after.starts_with([' ', '\t']))
    })
}

/// What a line's text after its indentation starts with.
enum Marker {
    /// `-` alone or `- …`: a block sequence entry.
    Entry,
    /// `-` then a tab.
    Tab,
    /// Anything else.
    None,
}

fn entry_marker(body: &str) -> Marker {
    match body.strip_prefix('-') {
        Some("") => Marker::Entry,
        Some(after) if after.starts_with(' ') => Marker::Entry,
        Some(after) if after.starts_with('\t') => Marker::Tab,
        _ => Marker::None,
    }
}

/// What follows the `:` when the line (at column 0) is the key `items`.
fn items_key(text: &str) -> Option<&str> {
    let after = ["items", "\"items\"", "'items'"]
        .into_iter()
        .find_map(|key| text.strip_prefix(key))?;
    let value = after.trim_start_matches(' ').strip_prefix(':')?;
    (value.is_empty() || value.starts_with([' ', '\t'])).then_some(value)
}

#[cfg(test)]
mod tests {
    use std::io::{BufReader, Cursor};

    use proptest::prelude::*;
    use serde_json::{Value, json};

    use super::*;

    /// The items (checked to be numbered in order), the rest and `streamed` of `text`, read in
    /// small pieces.
    fn split_with(
        text: &str,
        max_item: usize,
        max_line: usize,
    ) -> Result<(Vec<String>, String, Option<usize>), YamlSplitError> {
        let reader = BufReader::with_capacity(7, Cursor::new(text.as_bytes().to_vec()));
        let mut split = YamlItems::new(reader, max_item);
        split.max_line = max_line;
        let mut items = Vec::new();
        for chunk in split.by_ref() {
            match chunk? {
                Chunk::Item { index, text } => {
                    assert_eq!(index, items.len());
                    items.push(text);
                }
                Chunk::Rest { text, streamed } => {
                    assert!(split.next().is_none(), "nothing after the rest");
                    return Ok((items, text, streamed));
                }
            }
        }
        unreachable!("the rest comes last")
    }

    fn split(text: &str) -> Result<(Vec<String>, String, Option<usize>), YamlSplitError> {
        split_with(text, usize::MAX, MAX_LINE)
    }

    fn parse(text: &str) -> Result<Value, String> {
        serde_yaml::from_str(text).map_err(|e| e.to_string())
    }

    /// What the caller would read from the split: every item and the rest parsed alone, the
    /// items put back in place of the rest's `items: []`.
    fn reassemble(text: &str) -> Result<Value, String> {
        let (items, rest, streamed) = split(text).map_err(|e| e.to_string())?;
        let values = items
            .iter()
            .map(|item| parse(item))
            .collect::<Result<Vec<_>, _>>()?;
        let mut whole = parse(&rest)?;
        match streamed {
            Some(n) => {
                assert_eq!(n, values.len());
                let slot = whole.get_mut("items").ok_or("no `items` in the rest")?;
                if *slot != json!([]) {
                    return Err(format!("the rest's `items` is {slot}"));
                }
                *slot = Value::Array(values);
            }
            None => assert!(values.is_empty()),
        }
        Ok(whole)
    }

    /// Split into `n` items (`None`: not split) that read as the whole document does.
    fn assert_same(text: &str, streamed: Option<usize>) {
        let whole = parse(text).unwrap_or_else(|e| panic!("{text:?} is not YAML: {e}"));
        assert_eq!(reassemble(text), Ok(whole), "{text:?}");
        assert_eq!(split(text).unwrap().2, streamed, "{text:?}");
    }

    /// An error, or what the whole document reads as: never another value.
    fn assert_not_different(text: &str) {
        if let Ok(value) = reassemble(text) {
            assert_eq!(Ok(value), parse(text), "{text:?}");
        }
    }

    const KUBECTL: &str = r#"apiVersion: v1
items:
- apiVersion: v1
  kind: Pod
  metadata:
    annotations:
      note: |
        multi-line
        block scalar
    name: a
  status:
    phase: Running
- apiVersion: v1
  kind: Pod
  metadata:
    name: b
kind: List
metadata:
  resourceVersion: ""
"#;

    #[test]
    fn kubectl_layout_is_split_item_by_item() {
        let (items, rest, streamed) = split(KUBECTL).unwrap();
        assert_eq!(
            items,
            [
                "apiVersion: v1\nkind: Pod\nmetadata:\n  annotations:\n    note: |\n      \
                 multi-line\n      block scalar\n  name: a\nstatus:\n  phase: Running\n",
                "apiVersion: v1\nkind: Pod\nmetadata:\n  name: b\n",
            ]
        );
        assert_eq!(
            rest,
            "apiVersion: v1\nitems: []\nkind: List\nmetadata:\n  resourceVersion: \"\"\n"
        );
        assert_eq!(streamed, Some(2));
        assert_same(KUBECTL, Some(2));
    }

    #[test]
    fn other_block_layouts_are_split() {
        // Indented under `items:`.
        assert_same(
            "items:\n  - a: 1\n    b: 2\n  - a: 3\nkind: List\n",
            Some(2),
        );
        assert_same(
            "kind: List\nitems:\n    -   a: 1\n        b: [2]\n",
            Some(1),
        );
        // `-` alone on its line, with a comment, or with nothing after it (null).
        assert_same(
            "items:\n-\n  a: 1\n  b: 2\n- # pod\n    c: 3\n-\n- d: 4\nkind: List\n",
            Some(4),
        );
        assert_same("items:\n-\n", Some(1));
        // Nested sequences, flow items, explicit keys, anchors used within one item.
        assert_same(
            "items:\n- - a\n  - b\n- {a: 1, b: [x, y]}\n- ? |\n    k\n  : v\n- &p\n  a: &x 1\n  \
             b: *x\n- !!map\n  a: 1\n",
            Some(5),
        );
        // A quoted key, a key after the sequence, the end of the text without a line end.
        assert_same("\"items\": # pods\n- a: 1\n- b: |-\n    x", Some(2));
        assert_same("'items' :\n- a: 1\nkind: List", Some(1));
    }

    #[test]
    fn comments_and_blank_lines_belong_to_the_item() {
        let text = "# a pod list\napiVersion: v1\nitems: # pods\n\n# first\n- a: |+\n    x\n\n# \
                    at column 0\n #at column 1\n\n      # deeper\n  b: \"one\n# two\"\n\n- c: |\n \
                    \n    y\n   \n     \n    # not a comment\n\n# last\nkind: List # done\n";
        assert_same(text, Some(2));
        let (items, _, _) = split(text).unwrap();
        assert_eq!(
            items[0],
            "a: |+\n  x\n\n# at column 0\n#at column 1\n\n    # deeper\nb: \"one\n# two\"\n\n"
        );
        assert_eq!(
            parse(&items[1]).unwrap(),
            json!({"c": "\ny\n\n \n# not a comment\n"})
        );
    }

    #[test]
    fn line_ends_document_markers_and_separators() {
        let crlf = KUBECTL.replace('\n', "\r\n");
        assert_same(&crlf, Some(2));
        let (items, rest, _) = split(&crlf).unwrap();
        assert!(!items[0].contains('\r') && !rest.contains('\r'));
        assert_same(&KUBECTL.replace('\n', "\r"), Some(2));
        assert_same(&KUBECTL.replace('\n', "\u{85}"), Some(2));
        assert_same(&format!("%YAML 1.1\n---\n{KUBECTL}...\n# end\n"), Some(2));
        assert_same(&format!("--- # list\n{KUBECTL}..."), Some(2));
        // The emitter writes U+2028 and U+2029 as line ends, within items too.
        for s in [
            "a\u{2028}b",
            "x\n\u{2028}",
            "\u{2028}x\ny\n",
            "a\u{2029}\nb\n",
            "\u{2028}\n",
        ] {
            let doc = json!({"items": [{"k": s}, {"k": [s]}], "kind": "List"});
            let text = serde_yaml::to_string(&doc).unwrap();
            assert_same(&text, Some(2));
            assert_eq!(reassemble(&text), Ok(doc));
        }
        // A separator in a line of an item that ends the sequence there.
        assert_same("items:\n- a: 1\u{2028}kind: List\n", Some(1));
        assert_same("items:\n- a: 1\u{2028}- b: 2\n", Some(2));
    }

    #[test]
    fn what_is_not_a_block_sequence_stays_in_the_rest() {
        for text in [
            "apiVersion: v1\nitems: []\nkind: List\n",
            "apiVersion: v1\nitems: [{a: 1},\n  {b: 2}]\nkind: List\n",
            "items: [\n- a]\n",
            "{kind: List, items: [{a: 1}]}\n",
            "{kind: List,\nitems:\n- a: 1\n}\n",
            "kind: List\nitems:\nmetadata: {}\n",
            "kind: List\nitems:\n  a: 1\n",
            "kind: List\nitems:\n\n  |\n   text\n",
            "kind: List\nitems: &x\n- a: 1\n",
            "kind: Pod\nmetadata:\n  name: a\n",
            "kind: List\nspec:\n  items:\n  - a: 1\n",
            "- a: 1\n- b: 2\n",
            "items:",
            "",
            "# nothing\n",
        ] {
            let whole = parse(text);
            let (items, rest, streamed) = split(text).unwrap();
            assert!(items.is_empty() && streamed.is_none(), "{text:?}");
            assert_eq!(parse(&rest), whole, "{text:?}");
        }
        // `items:` within a quoted scalar or a flow collection begun before it: the whole
        // document is left to the parser.
        for text in [
            "note: \"abc\nitems:\n- apiVersion: v1\n  kind: Pod\nkind: List\"\nkind: List\n",
            "note: [a,\nitems:\n- x\n]\nkind: List\n",
            "note: 'it''s\nitems:\n- a: 1'\n",
        ] {
            let (items, rest, streamed) = split(text).unwrap();
            assert!(items.is_empty() && streamed.is_none(), "{text:?}");
            assert_eq!(rest, text);
            assert_not_different(text);
        }
    }

    #[test]
    fn a_second_document_is_refused() {
        for (text, line) in [
            ("items:\n- a: 1\n---\nitems:\n- b: 2\n", 3),
            ("---\nkind: List\n---\n", 3),
            ("---\n---\n", 2),
            ("kind: List\n...\nkind: Pod\n", 3),
            ("items:\n- a: 1\n...\n# fine\n\n---\n", 6),
            ("kind: List\n--- # next\n", 2),
        ] {
            let err = split(text).unwrap_err();
            assert!(
                matches!(err, YamlSplitError::MultipleDocuments { line: l } if l == line),
                "{text:?}: {err}"
            );
            assert!(err.to_string().contains("more than one YAML document"));
        }
    }

    #[test]
    fn items_twice_is_refused() {
        for text in [
            "items:\n- a: 1\nkind: List\nitems:\n- b: 2\n",
            "items: []\nitems:\n- b: 2\n",
            "items:\n- a: 1\n\"items\": []\n",
            "items:\nitems:\n",
        ] {
            assert!(
                matches!(split(text), Err(YamlSplitError::DuplicateItems { .. })),
                "{text:?}"
            );
        }
        assert_eq!(
            split("items: []\n'items':\n- a\n").unwrap_err().to_string(),
            "line 2: `items` is given twice"
        );
    }

    #[test]
    fn tabs_in_the_indentation_of_items_are_refused() {
        for text in [
            "items:\n- a: 1\n\tb: 2\n",
            "items:\n- a: 1\n \tb: 2\n",
            "items:\n-\tb: 1\n",
            "items:\n- \tb: 1\n",
            "items:\n- a: 1\n\t# comment\n",
            "items:\n\t- a: 1\n",
            "items:\n-\n\ta: 1\n",
        ] {
            assert!(
                matches!(split(text), Err(YamlSplitError::Tab { .. })),
                "{text:?}"
            );
            assert_not_different(text);
        }
        // A tab right of the columns removed is the item's own text, for the parser to judge
        // as it would in place: an error here, text in a block scalar or a quoted scalar.
        let (items, _, _) = split("items:\n- a: 1\n  \tb: 2\n").unwrap();
        assert_eq!(items, ["a: 1\n\tb: 2\n"]);
        assert!(parse("items:\n- a: 1\n  \tb: 2\n").is_err() && parse(&items[0]).is_err());
        assert_same("items:\n- a: \"x\n  \ty\"\n", Some(1));
        assert_same("items:\n- a: |\n    x\n    \ty\n  b: 1\n", Some(1));
        assert_same("items:\n- a: 1 # \ttab\n", Some(1));
    }

    #[test]
    fn layouts_that_cannot_be_cut_exactly_are_refused() {
        // A line left of the item's content.
        let err = split("items:\n- a: 1\n b: 2\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 3 (in items[0]) starts at column 2, left of the item's content (column 3): not \
             a layout of a pod list that can be read item by item"
        );
        for text in [
            "items:\n- foo\n bar\n",
            "items:\n- a: \"x\n y\"\n",
            "items:\n-   a: 1\n  b: 2\n",
            "items:\n- &a\n b: 1\n",
        ] {
            assert!(
                matches!(split(text), Err(YamlSplitError::Shallow { .. })),
                "{text:?}"
            );
        }
        // Left of the entries but not at column 0.
        assert!(matches!(
            split("items:\n  - a\n b: 1\n"),
            Err(YamlSplitError::Dedent {
                line: 3,
                column: 2,
                entries: 3
            })
        ));
        assert!(matches!(
            split("items:\n    - a\n  - b\n"),
            Err(YamlSplitError::Dedent { .. })
        ));
        // Block scalar items.
        for text in [
            "items:\n- |\n x\n",
            "items:\n- >-\n  x\n",
            "items:\n- &a !!str |\n #x\n",
            "items:\n- &a\n  |\n x\n",
            "items:\n-\n  |\n x\n",
        ] {
            assert!(
                matches!(split(text), Err(YamlSplitError::BlockScalarItem { .. })),
                "{text:?}"
            );
        }
        // Lines that mean something else at column 0.
        for text in [
            "items:\n- a\n  ...\n",
            "items:\n- a\n  --- b\n",
            "items:\n- a\n  %b\n",
            "items:\n- k: a\n  \u{feff}b: 1\n",
            "items:\n- ...\n",
        ] {
            assert!(
                matches!(split(text), Err(YamlSplitError::ColumnZero { .. })),
                "{text:?}"
            );
        }
    }

    #[test]
    fn lines_and_items_are_bounded() {
        let text = "items:\n- a: 12345\n- b: 123456789\n";
        assert!(split_with(text, usize::MAX, 14).is_ok());
        assert!(matches!(
            split_with(text, usize::MAX, 13),
            Err(YamlSplitError::LineTooLong { line: 3, limit: 13 })
        ));
        // With CRLF, the CR is part of the line.
        assert!(split_with(&text.replace('\n', "\r\n"), usize::MAX, 14).is_err());
        let endless = "a".repeat(100);
        assert!(matches!(
            split_with(&endless, usize::MAX, 99),
            Err(YamlSplitError::LineTooLong { line: 1, .. })
        ));
        assert!(split_with(text, 13, MAX_LINE).is_ok());
        let err = split_with(text, 12, MAX_LINE).unwrap_err();
        assert!(matches!(
            err,
            YamlSplitError::ItemTooLarge {
                index: 1,
                line: 3,
                limit: 12
            }
        ));
        assert_eq!(
            err.to_string(),
            "items[1] (from line 3) is larger than 12 bytes"
        );
        // The rest is not an item.
        assert!(split_with("kind: List\nmetadata: {name: a-long-name}\n", 1, MAX_LINE).is_ok());
    }

    #[test]
    fn read_errors_pass_through_unchanged_after_the_items_before_them() {
        #[derive(Debug)]
        struct Boom;
        impl std::fmt::Display for Boom {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("boom")
            }
        }
        impl std::error::Error for Boom {}
        struct Failing;
        impl io::Read for Failing {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::new(io::ErrorKind::ConnectionReset, Boom))
            }
        }
        let input = Cursor::new(&b"items:\n- a: 1\n- b: 2\n  c: 3\n"[..]).chain(Failing);
        let mut split = YamlItems::new(BufReader::new(input), usize::MAX);
        assert_eq!(
            split.next().unwrap().unwrap(),
            Chunk::Item {
                index: 0,
                text: "a: 1\n".into()
            }
        );
        match split.next().unwrap() {
            Err(YamlSplitError::Read(e)) => {
                assert_eq!(e.kind(), io::ErrorKind::ConnectionReset);
                assert!(e.get_ref().unwrap().is::<Boom>());
            }
            other => panic!("{other:?}"),
        }
        assert!(split.next().is_none());
    }

    #[test]
    fn a_quoted_scalar_continued_left_of_the_entries_is_an_error_not_another_value() {
        // The parser reads these (YAML forbids them); cut at the continuation line, the item's
        // text has an unclosed quote or bracket.
        for text in [
            "items:\n- a: \"one\ntwo\"\n  b: 1\nkind: List\n",
            "items:\n- a: \"one\n- b: 2\"\nkind: List\n",
            "items:\n- a: 'one\nkind: List'\n",
            "items:\n- {a: 1,\nb: 2}\n",
            "items:\n  - a: \"one\n  - b: 2\"\n",
        ] {
            assert!(parse(text).is_ok(), "{text:?}");
            let (items, _, _) = split(text).unwrap();
            assert!(parse(&items[0]).is_err(), "{text:?}: {:?}", items[0]);
            assert!(reassemble(text).is_err(), "{text:?}");
        }
        // At column 0 but looking like a comment: kept, so the value is the same.
        assert_same("items:\n- a: \"one\n# two\"\n", Some(1));
    }

    #[test]
    fn an_alias_to_another_item_is_an_error() {
        let text = "items:\n- &p {a: 1}\n- *p\n";
        assert_eq!(parse(text).unwrap(), json!({"items": [{"a": 1}, {"a": 1}]}));
        let (items, _, _) = split(text).unwrap();
        assert!(parse(&items[1]).unwrap_err().contains("unknown anchor"));
        let text = "items:\n- &p {a: 1}\nkind: *p\n";
        assert!(reassemble(text).unwrap_err().contains("unknown anchor"));
    }

    #[test]
    fn many_items_are_split_in_one_pass() {
        use std::fmt::Write as _;
        const N: usize = 50_000;
        let mut text = String::from("apiVersion: v1\nitems:\n");
        for i in 0..N {
            writeln!(
                text,
                "- apiVersion: v1\n  kind: Pod\n  metadata:\n    name: pod-{i}"
            )
            .unwrap();
        }
        text.push_str("kind: List\nmetadata:\n  resourceVersion: \"\"\n");
        let started = std::time::Instant::now();
        let mut count = 0;
        let mut rest = None;
        for chunk in YamlItems::new(BufReader::new(Cursor::new(text.as_bytes())), 64 << 20) {
            match chunk.unwrap() {
                Chunk::Item { index, text } => {
                    assert_eq!(index, count);
                    assert_eq!(
                        text,
                        format!("apiVersion: v1\nkind: Pod\nmetadata:\n  name: pod-{index}\n")
                    );
                    count += 1;
                }
                Chunk::Rest { text, streamed } => rest = Some((text, streamed)),
            }
        }
        let elapsed = started.elapsed();
        assert_eq!(count, N);
        assert_eq!(
            rest,
            Some((
                "apiVersion: v1\nitems: []\nkind: List\nmetadata:\n  resourceVersion: \"\"\n"
                    .into(),
                Some(N)
            ))
        );
        if !cfg!(debug_assertions) {
            assert!(elapsed < std::time::Duration::from_secs(1), "{elapsed:?}");
        }
    }

    /// Text with what makes YAML scalars hard.
    fn text() -> impl Strategy<Value = String> {
        let special = prop::sample::select(vec![
            "\n", "\n\n", ": ", "- ", "-", "#", " #", "\"", "'", " ", "  ", "é", "日本",
            "\u{2028}", "\u{2029}", "\u{85}", "\r", "\t", "|", ">", "---", "...", "{", "]", "&a",
            "*a", "!t", "%", "@", "\\", "null", "true", "1", "~", "\u{feff}", "? ",
        ])
        .prop_map(str::to_string);
        prop::collection::vec(prop_oneof![2 => "[a-z0-9]{1,6}", 3 => special], 0..8)
            .prop_map(|pieces| pieces.concat())
    }

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            prop::sample::select(vec![0.5, -1.25e10, 3.0]).prop_map(Value::from),
            text().prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 48, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::vec((text(), inner), 0..5)
                    .prop_map(|entries| Value::Object(entries.into_iter().collect())),
            ]
        })
    }

    fn item() -> impl Strategy<Value = Value> {
        prop_oneof![
            (text(), value(), value()).prop_map(|(name, note, spec)| json!({
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": name, "annotations": {"note": note}},
                "spec": spec,
            })),
            prop::collection::vec((text(), value()), 0..5)
                .prop_map(|entries| Value::Object(entries.into_iter().collect())),
        ]
    }

    fn list(items: &[Value]) -> Value {
        json!({"apiVersion": "v1", "items": items, "kind": "List", "metadata": {"resourceVersion": ""}})
    }

    /// Indents the lines of the top-level `items` block sequence by `by` spaces.
    fn indent_items(text: &str, by: usize) -> String {
        let mut out = String::new();
        let mut inside = false;
        for line in text.split_inclusive(['\n', '\u{2028}', '\u{2029}']) {
            let body = line.trim_end_matches(['\n', '\u{2028}', '\u{2029}']);
            if !body.is_empty() && !body.starts_with([' ', '-']) {
                inside = false;
            }
            if inside && !body.is_empty() {
                out.push_str(&" ".repeat(by));
            }
            out.push_str(line);
            if body == "items:" {
                inside = true;
            }
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn split_items_read_as_the_whole_list(
            items in prop::collection::vec(item(), 0..6),
            by in 0usize..4,
            crlf in any::<bool>(),
        ) {
            let doc = list(&items);
            let mut text = serde_yaml::to_string(&doc).unwrap();
            if by > 0 {
                text = indent_items(&text, by);
            }
            if crlf {
                text = text.replace('\n', "\r\n");
            }
            prop_assert_eq!(&parse(&text).unwrap(), &doc, "{:?}", text);
            let (chunks, rest, streamed) = split(&text).unwrap();
            prop_assert_eq!(streamed, (!items.is_empty()).then_some(items.len()));
            prop_assert_eq!(chunks.len(), items.len());
            for (chunk, item) in chunks.iter().zip(&items) {
                prop_assert_eq!(&parse(chunk).unwrap(), item, "{:?}", chunk);
            }
            prop_assert_eq!(
                parse(&rest).unwrap(),
                json!({"apiVersion": "v1", "items": [], "kind": "List",
                       "metadata": {"resourceVersion": ""}})
            );
        }

        #[test]
        fn a_changed_list_never_splits_into_another_value(
            items in prop::collection::vec(item(), 1..4),
            edits in prop::collection::vec(
                (any::<prop::sample::Index>(), prop::sample::select(vec![
                    "", " ", "  ", "\t", "#", "\"", "'", "-", "- ", ":", ": ", "\n", "\n- ",
                    "\nkind: x\n", "|", "[", "{", "&a ", "*a", "\r", "\u{2028}", "---\n", "...",
                    "items:\n", "\n  ", "\n ",
                ])),
                1..4,
            ),
        ) {
            let mut text = serde_yaml::to_string(&list(&items)).unwrap();
            for (at, insert) in edits {
                let mut i = at.index(text.len() + 1);
                while !text.is_char_boundary(i) {
                    i -= 1;
                }
                if insert.is_empty() {
                    if let Some(c) = text[i..].chars().next() {
                        text.replace_range(i..i + c.len_utf8(), "");
                    }
                } else {
                    text.insert_str(i, insert);
                }
            }
            if let Ok(value) = reassemble(&text) {
                prop_assert_eq!(Ok(value), parse(&text), "{:?}", text);
            }
        }
    }
}
