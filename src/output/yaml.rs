//! The YAML form of the documents, written while they are serialized.
//!
//! Owns: [`to_writer`], a [`serde::Serializer`] that streams any document into a writer as
//! block YAML which every YAML reader reads back as the JSON document `serde_json` makes of it
//! (the text is exactly what rendering its `serde_json::Value` would give): every string
//! double-quoted (so `no`, `on`, `2026-01-01`, `<<` or `0x1f` stay strings under YAML 1.1
//! readers such as `PyYAML`), with control characters, line separators and the BOM escaped;
//! mapping keys plain only when they are simple lowercase identifiers and no keyword; numbers
//! as `serde_json` prints them (`null` for a NaN or an infinity). Must not: hold the document in
//! memory (no `serde_json::Value`, no whole-text buffer), or buffer or flush the writer (the
//! caller passes a buffered one and flushes it).

use std::fmt::{self, Display};
use std::io::{self, Write};

use serde::Serialize;
use serde::ser::{self, Impossible};

/// Writes `document` to `out` as YAML. An error may come after part of the text was written.
pub(crate) fn to_writer<W, T>(out: &mut W, document: &T) -> io::Result<()>
where
    W: Write + ?Sized,
    T: Serialize + ?Sized,
{
    let node = Node {
        out,
        slot: Slot::Top,
        indent: 0,
    };
    document.serialize(node).map_err(|e| match e {
        Error::Io(e) => e,
        Error::Message(m) => io::Error::other(m),
    })
}

/// Why a document could not be written.
#[derive(Debug)]
enum Error {
    /// The writer failed.
    Io(io::Error),
    /// The document cannot be YAML (a non-string key, a number out of range, a custom error).
    Message(String),
}

impl Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => e.fmt(f),
            Error::Message(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            Error::Message(_) => None,
        }
    }
}

impl ser::Error for Error {
    fn custom<T: Display>(msg: T) -> Self {
        Error::Message(msg.to_string())
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Error::Io(e)
    }
}

/// As `serde_json` says it.
fn key_must_be_a_string() -> Error {
    Error::Message("key must be a string".into())
}

/// Where a value sits, which decides the text before it.
#[derive(Debug, Clone, Copy)]
enum Slot {
    /// The whole document: a scalar alone on its line, a collection from column 0.
    Top,
    /// After `key:`: ` scalar` on the same line, or a newline and the collection below.
    Value,
    /// After `- `: the scalar, or the collection's first line right there (`- first: …`,
    /// `- - …`), the rest of it aligned under that first line.
    Item,
}

/// Serializes one value in its slot.
struct Node<'a, W: ?Sized> {
    /// Where the text goes.
    out: &'a mut W,
    /// What was written before the value.
    slot: Slot,
    /// The column of a collection's lines, if the value is one.
    indent: usize,
}

impl<'a, W: Write + ?Sized> Node<'a, W> {
    /// A scalar (or an empty collection) that `text` writes, on the line of its slot.
    fn scalar_with(self, text: impl FnOnce(&mut W) -> Result<(), Error>) -> Result<(), Error> {
        if matches!(self.slot, Slot::Value) {
            self.out.write_all(b" ")?;
        }
        text(self.out)?;
        self.out.write_all(b"\n")?;
        Ok(())
    }

    /// A scalar written as it is.
    fn plain(self, text: &str) -> Result<(), Error> {
        self.scalar_with(|out| Ok(out.write_all(text.as_bytes())?))
    }

    /// A double-quoted string.
    fn string(self, text: &str) -> Result<(), Error> {
        self.scalar_with(|out| Ok(quoted(out, text)?))
    }

    /// A mapping or sequence; `empty` (`{}` or `[]`) is written if it gets no entry.
    fn block(self, empty: &'static str) -> Block<'a, W> {
        Block {
            out: self.out,
            slot: self.slot,
            indent: self.indent,
            started: false,
            empty,
        }
    }

    /// The one-key mapping `variant: …` of an enum variant with data (as `serde_json` has it);
    /// returns the slot of its value.
    fn variant(self, variant: &str) -> Result<Node<'a, W>, Error> {
        let mut block = self.block("{}");
        block.line()?;
        key_text(block.out, variant)?;
        block.out.write_all(b":")?;
        Ok(Node {
            out: block.out,
            slot: Slot::Value,
            indent: block.indent + 2,
        })
    }
}

impl<'a, W: Write + ?Sized> ser::Serializer for Node<'a, W> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Block<'a, W>;
    type SerializeTuple = Block<'a, W>;
    type SerializeTupleStruct = Block<'a, W>;
    type SerializeTupleVariant = Block<'a, W>;
    type SerializeMap = Block<'a, W>;
    type SerializeStruct = Block<'a, W>;
    type SerializeStructVariant = Block<'a, W>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.plain(if v { "true" } else { "false" })
    }

    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        self.serialize_i64(i64::from(v))
    }

    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        self.serialize_i64(i64::from(v))
    }

    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        self.serialize_i64(i64::from(v))
    }

    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        self.scalar_with(|out| Ok(write!(out, "{v}")?))
    }

    fn serialize_i128(self, v: i128) -> Result<(), Error> {
        // serde_json's numbers are 64-bit.
        if let Ok(v) = u64::try_from(v) {
            self.serialize_u64(v)
        } else if let Ok(v) = i64::try_from(v) {
            self.serialize_i64(v)
        } else {
            Err(Error::Message("number out of range".into()))
        }
    }

    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        self.serialize_u64(u64::from(v))
    }

    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        self.serialize_u64(u64::from(v))
    }

    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        self.serialize_u64(u64::from(v))
    }

    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        self.scalar_with(|out| Ok(write!(out, "{v}")?))
    }

    fn serialize_u128(self, v: u128) -> Result<(), Error> {
        match u64::try_from(v) {
            Ok(v) => self.serialize_u64(v),
            Err(_) => Err(Error::Message("number out of range".into())),
        }
    }

    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        // serde_json keeps an `f32` as the `f64` of the same value.
        self.serialize_f64(f64::from(v))
    }

    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        match serde_json::Number::from_f64(v) {
            Some(n) => self.scalar_with(|out| Ok(write!(out, "{n}")?)),
            None => self.plain("null"),
        }
    }

    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.string(v.encode_utf8(&mut [0; 4]))
    }

    fn serialize_str(self, v: &str) -> Result<(), Error> {
        self.string(v)
    }

    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        let mut block = self.block("[]");
        for byte in v {
            ser::SerializeSeq::serialize_element(&mut block, byte)?;
        }
        ser::SerializeSeq::end(block)
    }

    fn serialize_none(self) -> Result<(), Error> {
        self.plain("null")
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), Error> {
        self.plain("null")
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        self.plain("null")
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _variant_index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.string(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _variant_index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self.variant(variant)?)
    }

    fn serialize_seq(self, _len: Option<usize>) -> Result<Block<'a, W>, Error> {
        Ok(self.block("[]"))
    }

    fn serialize_tuple(self, _len: usize) -> Result<Block<'a, W>, Error> {
        Ok(self.block("[]"))
    }

    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Block<'a, W>, Error> {
        Ok(self.block("[]"))
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _variant_index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Block<'a, W>, Error> {
        Ok(self.variant(variant)?.block("[]"))
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<Block<'a, W>, Error> {
        Ok(self.block("{}"))
    }

    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Block<'a, W>, Error> {
        // `len` counts fields that `skip_serializing_if` may yet skip: only entries tell.
        Ok(self.block("{}"))
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _variant_index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Block<'a, W>, Error> {
        Ok(self.variant(variant)?.block("{}"))
    }

    fn collect_str<T: Display + ?Sized>(self, value: &T) -> Result<(), Error> {
        self.scalar_with(|out| {
            out.write_all(b"\"")?;
            let mut escaper = Escaper { out, error: None };
            if fmt::write(&mut escaper, format_args!("{value}")).is_err() {
                return Err(escaper.error.map_or_else(
                    || Error::Message("a Display implementation returned an error".into()),
                    Error::Io,
                ));
            }
            out.write_all(b"\"")?;
            Ok(())
        })
    }
}

/// A mapping or sequence being written: its first entry decides the text before it.
struct Block<'a, W: ?Sized> {
    /// Where the text goes.
    out: &'a mut W,
    /// What was written before the collection.
    slot: Slot,
    /// The column of its lines.
    indent: usize,
    /// Whether an entry was written.
    started: bool,
    /// `{}` or `[]`, written when there is no entry.
    empty: &'static str,
}

impl<W: Write + ?Sized> Block<'_, W> {
    /// Starts the line of an entry; the first one also ends the text before the collection.
    fn line(&mut self) -> Result<(), Error> {
        if self.started {
            pad(self.out, self.indent)?;
        } else {
            self.started = true;
            // At the top the first line starts at column 0, and in an item right after its `- `.
            if matches!(self.slot, Slot::Value) {
                self.out.write_all(b"\n")?;
                pad(self.out, self.indent)?;
            }
        }
        Ok(())
    }

    /// The value of an entry whose `key:` is written.
    fn value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        value.serialize(Node {
            out: &mut *self.out,
            slot: Slot::Value,
            indent: self.indent + 2,
        })
    }

    /// `key: value`.
    fn field<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result<(), Error> {
        self.line()?;
        key_text(self.out, key)?;
        self.out.write_all(b":")?;
        self.value(value)
    }

    /// `- value`.
    fn item<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.line()?;
        self.out.write_all(b"- ")?;
        value.serialize(Node {
            out: &mut *self.out,
            slot: Slot::Item,
            indent: self.indent + 2,
        })
    }

    /// Writes `{}` or `[]` if there was no entry.
    fn finish(self) -> Result<(), Error> {
        if self.started {
            return Ok(());
        }
        let empty = self.empty;
        Node {
            out: self.out,
            slot: self.slot,
            indent: self.indent,
        }
        .plain(empty)
    }
}

impl<W: Write + ?Sized> ser::SerializeSeq for Block<'_, W> {
    type Ok = ();
    type Error = Error;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.item(value)
    }

    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

impl<W: Write + ?Sized> ser::SerializeTuple for Block<'_, W> {
    type Ok = ();
    type Error = Error;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.item(value)
    }

    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

impl<W: Write + ?Sized> ser::SerializeTupleStruct for Block<'_, W> {
    type Ok = ();
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.item(value)
    }

    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

impl<W: Write + ?Sized> ser::SerializeTupleVariant for Block<'_, W> {
    type Ok = ();
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.item(value)
    }

    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

impl<W: Write + ?Sized> ser::SerializeMap for Block<'_, W> {
    type Ok = ();
    type Error = Error;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.line()?;
        key.serialize(Key {
            out: &mut *self.out,
        })?;
        self.out.write_all(b":")?;
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.value(value)
    }

    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

impl<W: Write + ?Sized> ser::SerializeStruct for Block<'_, W> {
    type Ok = ();
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.field(key, value)
    }

    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

impl<W: Write + ?Sized> ser::SerializeStructVariant for Block<'_, W> {
    type Ok = ();
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.field(key, value)
    }

    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

/// Serializes a mapping key as `serde_json` turns it into a string (strings, numbers, booleans,
/// chars, unit variants; nothing else), then writes it with [`key_text`].
struct Key<'a, W: ?Sized> {
    /// Where the text goes.
    out: &'a mut W,
}

impl<W: Write + ?Sized> Key<'_, W> {
    /// Writes the key's text.
    fn text(self, key: &str) -> Result<(), Error> {
        Ok(key_text(self.out, key)?)
    }
}

impl<W: Write + ?Sized> ser::Serializer for Key<'_, W> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Impossible<(), Error>;
    type SerializeTuple = Impossible<(), Error>;
    type SerializeTupleStruct = Impossible<(), Error>;
    type SerializeTupleVariant = Impossible<(), Error>;
    type SerializeMap = Impossible<(), Error>;
    type SerializeStruct = Impossible<(), Error>;
    type SerializeStructVariant = Impossible<(), Error>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.text(if v { "true" } else { "false" })
    }

    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        self.text(&v.to_string())
    }

    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        self.text(&v.to_string())
    }

    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        self.text(&v.to_string())
    }

    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        self.text(&v.to_string())
    }

    fn serialize_i128(self, v: i128) -> Result<(), Error> {
        self.text(&v.to_string())
    }

    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        self.text(&v.to_string())
    }

    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        self.text(&v.to_string())
    }

    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        self.text(&v.to_string())
    }

    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        self.text(&v.to_string())
    }

    fn serialize_u128(self, v: u128) -> Result<(), Error> {
        self.text(&v.to_string())
    }

    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        if v.is_finite() {
            // serde_json prints an `f32` key with the `f32`'s own shortest digits.
            let text = serde_json::to_string(&v).map_err(|e| Error::Message(e.to_string()))?;
            self.text(&text)
        } else {
            Err(Error::Message(
                "float key must be finite (got NaN or +/-inf)".into(),
            ))
        }
    }

    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        match serde_json::Number::from_f64(v) {
            Some(n) => self.text(&n.to_string()),
            None => Err(Error::Message(
                "float key must be finite (got NaN or +/-inf)".into(),
            )),
        }
    }

    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.text(v.encode_utf8(&mut [0; 4]))
    }

    fn serialize_str(self, v: &str) -> Result<(), Error> {
        self.text(v)
    }

    fn serialize_bytes(self, _v: &[u8]) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_none(self) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_some<T: Serialize + ?Sized>(self, _value: &T) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_unit(self) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _variant_index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.text(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _variant_index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _variant_index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _variant_index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(key_must_be_a_string())
    }

    fn collect_str<T: Display + ?Sized>(self, value: &T) -> Result<(), Error> {
        self.text(&value.to_string())
    }
}

/// `indent` spaces.
fn pad<W: Write + ?Sized>(out: &mut W, indent: usize) -> io::Result<()> {
    const SPACES: &[u8; 64] = &[b' '; 64];
    let mut left = indent;
    while left > 0 {
        let n = left.min(SPACES.len());
        out.write_all(&SPACES[..n])?;
        left -= n;
    }
    Ok(())
}

/// A mapping key: plain when it is a simple identifier that no YAML reader takes for anything
/// but a string (the documents' own field names), quoted otherwise.
fn key_text<W: Write + ?Sized>(out: &mut W, key: &str) -> io::Result<()> {
    let simple = key.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    let keyword = matches!(
        key,
        "y" | "n" | "yes" | "no" | "on" | "off" | "true" | "false" | "null"
    );
    if simple && !keyword {
        out.write_all(key.as_bytes())
    } else {
        quoted(out, key)
    }
}

/// A YAML double-quoted scalar.
fn quoted<W: Write + ?Sized>(out: &mut W, s: &str) -> io::Result<()> {
    out.write_all(b"\"")?;
    escaped(out, s)?;
    out.write_all(b"\"")
}

/// The inside of a YAML double-quoted scalar: `"`, `\`, newline and tab as `\"`, `\\`, `\n`
/// and `\t`; control characters, the line and paragraph separators, the BOM and the two
/// non-characters `U+FFFE`/`U+FFFF` as `\uXXXX`.
fn escaped<W: Write + ?Sized>(out: &mut W, s: &str) -> io::Result<()> {
    let mut plain_from = 0;
    for (at, c) in s.char_indices() {
        let short: &[u8] = match c {
            '"' => b"\\\"",
            '\\' => b"\\\\",
            '\n' => b"\\n",
            '\t' => b"\\t",
            c if c.is_control()
                || matches!(
                    c,
                    '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
                ) =>
            {
                b""
            }
            _ => continue,
        };
        out.write_all(&s.as_bytes()[plain_from..at])?;
        if short.is_empty() {
            write!(out, "\\u{:04x}", u32::from(c))?;
        } else {
            out.write_all(short)?;
        }
        plain_from = at + c.len_utf8();
    }
    out.write_all(&s.as_bytes()[plain_from..])
}

/// Escapes `Display` output straight into the writer, keeping the writer's error.
struct Escaper<'a, W: ?Sized> {
    /// Where the text goes.
    out: &'a mut W,
    /// The writer's error, when it failed.
    error: Option<io::Error>,
}

impl<W: Write + ?Sized> fmt::Write for Escaper<'_, W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        escaped(self.out, s).map_err(|e| {
            self.error = Some(e);
            fmt::Error
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;
    use serde::ser::{SerializeMap as _, SerializeSeq as _, Serializer};
    use serde_json::{Value, json};

    use super::*;

    /// The emitter this module replaced, which rendered a whole `serde_json::Value` into one
    /// `String`: the oracle the streaming serializer must match byte for byte.
    mod oracle {
        use std::fmt::Write as _;

        use serde_json::Value;

        /// Appends `value` as a block at `indent` spaces.
        pub(super) fn block(value: &Value, indent: usize, out: &mut String) {
            let pad = " ".repeat(indent);
            match value {
                Value::Object(map) if !map.is_empty() => {
                    for (key, item) in map {
                        out.push_str(&pad);
                        key_text(key, out);
                        out.push(':');
                        nested(item, indent, out);
                    }
                }
                Value::Array(items) if !items.is_empty() => {
                    for item in items {
                        if is_collection(item) {
                            // `- first: …` with the rest of the item aligned under `first`.
                            let mut inner = String::new();
                            block(item, indent + 2, &mut inner);
                            out.push_str(&pad);
                            out.push_str("- ");
                            out.push_str(&inner[indent + 2..]);
                        } else {
                            out.push_str(&pad);
                            out.push('-');
                            nested(item, indent, out);
                        }
                    }
                }
                _ => {
                    out.push_str(&pad);
                    scalar(value, out);
                    out.push('\n');
                }
            }
        }

        fn is_collection(value: &Value) -> bool {
            match value {
                Value::Object(map) => !map.is_empty(),
                Value::Array(items) => !items.is_empty(),
                _ => false,
            }
        }

        /// A value after `key:` or `-`: a scalar on the same line, a collection below it.
        fn nested(value: &Value, indent: usize, out: &mut String) {
            match value {
                Value::Object(map) if !map.is_empty() => {
                    out.push('\n');
                    block(value, indent + 2, out);
                }
                Value::Array(items) if !items.is_empty() => {
                    out.push('\n');
                    block(value, indent + 2, out);
                }
                _ => {
                    out.push(' ');
                    scalar(value, out);
                    out.push('\n');
                }
            }
        }

        fn scalar(value: &Value, out: &mut String) {
            match value {
                Value::Null => out.push_str("null"),
                Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
                Value::Number(n) => {
                    let _ = write!(out, "{n}");
                }
                Value::String(s) => quoted(s, out),
                Value::Array(_) => out.push_str("[]"),
                Value::Object(_) => out.push_str("{}"),
            }
        }

        fn key_text(key: &str, out: &mut String) {
            let simple = key.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
                && key
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
            let keyword = matches!(
                key,
                "y" | "n" | "yes" | "no" | "on" | "off" | "true" | "false" | "null"
            );
            if simple && !keyword {
                out.push_str(key);
            } else {
                quoted(key, out);
            }
        }

        fn quoted(s: &str, out: &mut String) {
            out.push('"');
            for c in s.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\t' => out.push_str("\\t"),
                    c if c.is_control()
                        || matches!(
                            c,
                            '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
                        ) =>
                    {
                        let _ = write!(out, "\\u{:04x}", u32::from(c));
                    }
                    c => out.push(c),
                }
            }
            out.push('"');
        }
    }

    /// What the old emitter wrote, or the error that stopped it.
    fn old<T: Serialize + ?Sized>(document: &T) -> Result<String, String> {
        let value = serde_json::to_value(document).map_err(|e| e.to_string())?;
        let mut text = String::new();
        oracle::block(&value, 0, &mut text);
        Ok(text)
    }

    /// What the streaming serializer writes, or the error that stopped it.
    fn new<T: Serialize + ?Sized>(document: &T) -> Result<String, String> {
        let mut out = Vec::new();
        to_writer(&mut out, document).map_err(|e| e.to_string())?;
        Ok(String::from_utf8(out).expect("UTF-8"))
    }

    #[track_caller]
    fn same<T: Serialize + ?Sized>(document: &T) -> String {
        let old = old(document).expect("the old emitter takes it");
        let new = new(document).expect("the serializer takes it");
        assert_eq!(new, old);
        new
    }

    /// Serializes a `Value` with unknown lengths (`serialize_seq(None)`, `serialize_map(None)`)
    /// all the way down, as iterators and `#[serde(flatten)]` do.
    struct Unsized<'a>(&'a Value);

    impl Serialize for Unsized<'_> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            match self.0 {
                Value::Array(items) => {
                    let mut seq = serializer.serialize_seq(None)?;
                    for item in items {
                        seq.serialize_element(&Unsized(item))?;
                    }
                    seq.end()
                }
                Value::Object(map) => {
                    let mut m = serializer.serialize_map(None)?;
                    for (key, value) in map {
                        m.serialize_entry(key, &Unsized(value))?;
                    }
                    m.end()
                }
                other => other.serialize(serializer),
            }
        }
    }

    /// Checks a `Value` as it is and with unknown lengths.
    #[track_caller]
    fn same_value(value: &Value) -> String {
        let text = same(value);
        assert_eq!(new(&Unsized(value)).unwrap(), text, "unknown lengths");
        text
    }

    #[test]
    fn scalars_and_empty_collections_at_the_top() {
        for (value, text) in [
            (json!(null), "null\n"),
            (json!(true), "true\n"),
            (json!(-7), "-7\n"),
            (json!(1.5), "1.5\n"),
            (json!("no"), "\"no\"\n"),
            (json!([]), "[]\n"),
            (json!({}), "{}\n"),
        ] {
            assert_eq!(same_value(&value), text);
        }
    }

    #[test]
    fn the_layout_is_the_old_one() {
        let text = same_value(&json!({
            "a": 1,
            "list": [1, {"b": [], "c": {}}, [], {}, [[2, [3]], {"d": null}], {"e": [{"f": 1}]}],
            "map": {"g": {"h": [true]}},
        }));
        assert_eq!(
            text,
            "a: 1\n\
             list:\n\
             \x20 - 1\n\
             \x20 - b: []\n\
             \x20   c: {}\n\
             \x20 - []\n\
             \x20 - {}\n\
             \x20 - - - 2\n\
             \x20     - - 3\n\
             \x20   - d: null\n\
             \x20 - e:\n\
             \x20     - f: 1\n\
             map:\n\
             \x20 g:\n\
             \x20   h:\n\
             \x20     - true\n"
        );
    }

    #[test]
    fn json_documents_match_the_old_emitter() {
        let documents = [
            json!({"pods": [{"name": "a", "labels": {"x": "1"}, "evidence": [{"kind": "pod"}]}]}),
            json!([[1, 2], [[3], []], [{}], [[[[]]]]]),
            json!([{}, [], {"a": {}}, {"a": []}, [{}], [[]], null]),
            json!({"empty_map": {}, "empty_seq": [], "seq_of_empties": [{}, []]}),
            json!({"n": null, "t": true, "f": false, "nested": [null, [null], {"x": null}]}),
            json!({
                "int": 42, "neg": -42, "zero": 0, "max": u64::MAX, "min": i64::MIN,
                "float": 0.1, "neg_float": -2.5e-8, "big": 1e300, "whole": 3.0, "neg_zero": -0.0,
            }),
            json!([
                "new\nline",
                "tab\there",
                "quote\"d",
                "back\\slash",
                "\u{0}\u{1}\u{1b}\u{7f}",
                "\u{85}\u{9f}",
                "\u{2028}\u{2029}",
                "\u{feff}bom",
                "\u{fffe}\u{ffff}",
                "héllo wörld ✓ 日本 🦀",
                "",
                " ",
                "- x",
                "#c",
                "a: b",
                "'",
                "2026-01-01",
                "0x1f",
                "<<",
                "~",
                "null",
            ]),
            json!({
                "no": 1, "on": 2, "null": 3, "yes": 4, "off": 5, "y": 6, "n": 7, "true": 8,
                "false": 9, "with space": 10, "Upper": 11, "1digit": 12, "-dash": 13,
                "_under": 14, "kebab-case": 15, "snake_case2": 16, "": 17, "new\nline": 18,
                "ünï": 19, "a.b": 20, "a:b": 21,
            }),
        ];
        for document in &documents {
            same_value(document);
        }
    }

    #[derive(Serialize)]
    struct Inner {
        a: u32,
        #[serde(skip_serializing_if = "Option::is_none")]
        b: Option<String>,
    }

    #[derive(Serialize)]
    struct AllSkipped {
        #[serde(skip_serializing_if = "Option::is_none")]
        x: Option<u8>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        y: Vec<u8>,
    }

    #[derive(Serialize)]
    struct OnlyFlatten {
        #[serde(flatten)]
        inner: AllSkipped,
    }

    #[derive(Serialize)]
    struct Unit;

    #[derive(Serialize)]
    struct Newtype(String);

    #[derive(Serialize)]
    struct Pair(u8, &'static str);

    #[derive(Serialize)]
    enum Shape {
        Unit,
        Newtype(u32),
        NewtypeMap(BTreeMap<u32, String>),
        NewtypeEmpty(Vec<u8>),
        Tuple(u8, String),
        EmptyTuple(),
        Struct {
            w: f64,
            h: Option<f32>,
        },
        EmptyStruct {},
        Skipping {
            #[serde(skip_serializing_if = "Option::is_none")]
            only: Option<u8>,
        },
    }

    #[derive(Serialize)]
    #[serde(tag = "kind", rename_all = "kebab-case")]
    enum Tagged {
        Plain,
        Fields { n: i8 },
        Wrapped(Inner),
    }

    /// `Display` in many pieces, with characters to escape.
    struct Pieces;

    impl Display for Pieces {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            for piece in ["a\"", "\n", "b\\", "\u{2028}", "ü"] {
                f.write_str(piece)?;
            }
            write!(f, "{}", 12)
        }
    }

    /// Bytes through `serialize_bytes`.
    struct Bytes(&'static [u8]);

    impl Serialize for Bytes {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            serializer.serialize_bytes(self.0)
        }
    }

    /// A `collect_str` value.
    struct Shown<T>(T);

    impl<T: Display> Serialize for Shown<T> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            serializer.collect_str(&self.0)
        }
    }

    /// Keys of every kind `serde_json` turns into strings.
    struct OddKeys;

    impl Serialize for OddKeys {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            let mut m = serializer.serialize_map(None)?;
            m.serialize_entry(&true, &1)?;
            m.serialize_entry(&false, &[1])?;
            m.serialize_entry(&-3i8, &2)?;
            m.serialize_entry(&7u16, &3)?;
            m.serialize_entry(&i128::MIN, &4)?;
            m.serialize_entry(&u128::MAX, &5)?;
            m.serialize_entry(&1.5f64, &6)?;
            m.serialize_entry(&0.1f32, &7)?;
            m.serialize_entry(&1e300f64, &8)?;
            m.serialize_entry(&'c', &9)?;
            m.serialize_entry(&'N', &10)?;
            m.serialize_entry(&Shape::Unit, &11)?;
            m.serialize_entry(&Newtype("no".into()), &12)?;
            m.serialize_entry(&Shown(Pieces), &13)?;
            m.serialize_entry(&Shown("k"), &14)?;
            m.end()
        }
    }

    #[derive(Serialize)]
    struct Document {
        name: &'static str,
        #[serde(flatten)]
        inner: Inner,
        #[serde(flatten)]
        also: Option<Inner>,
        #[serde(flatten)]
        extra: BTreeMap<String, Value>,
        skipped: AllSkipped,
        skipped_items: Vec<AllSkipped>,
        only_flatten: OnlyFlatten,
        #[serde(skip_serializing_if = "Option::is_none")]
        never: Option<u8>,
        none: Option<u8>,
        some: Option<Vec<u8>>,
        some_empty: Option<Vec<u8>>,
        shape: Shape,
        shapes: Vec<Shape>,
        tagged: Vec<Tagged>,
        by_id: BTreeMap<u32, String>,
        empty_by_id: BTreeMap<u32, String>,
        nested_by_id: BTreeMap<u32, BTreeMap<u32, String>>,
        unit: (),
        unit_struct: Unit,
        newtype: Newtype,
        pair: Pair,
        tuple: (u8, &'static str, Vec<u8>, ()),
        char: char,
        chars: Vec<char>,
        floats: Vec<f64>,
        small_floats: Vec<f32>,
        ints: (i8, i16, i32, i64, u8, u16, u32, u64),
        wide: Vec<i128>,
        wide_unsigned: u128,
        bytes: Bytes,
        no_bytes: Bytes,
        shown: Vec<Shown<Pieces>>,
        shown_time: Shown<jiff::Timestamp>,
        time: jiff::Timestamp,
        odd_keys: OddKeys,
        odd_keys_in_a_list: Vec<OddKeys>,
    }

    fn document() -> Document {
        let by_id: BTreeMap<u32, String> = [
            (1, "one".into()),
            (20, "twenty\n".into()),
            (300, String::new()),
        ]
        .into();
        let time: jiff::Timestamp = "2026-11-27T00:00:00Z".parse().unwrap();
        Document {
            name: "doc",
            inner: Inner {
                a: 1,
                b: Some("b".into()),
            },
            also: None,
            extra: [
                ("Extra Key".to_string(), json!({"q": [1, {}]})),
                ("z".to_string(), json!([])),
            ]
            .into(),
            skipped: AllSkipped { x: None, y: vec![] },
            skipped_items: vec![
                AllSkipped { x: None, y: vec![] },
                AllSkipped {
                    x: Some(1),
                    y: vec![],
                },
                AllSkipped {
                    x: None,
                    y: vec![2, 3],
                },
            ],
            only_flatten: OnlyFlatten {
                inner: AllSkipped { x: None, y: vec![] },
            },
            never: None,
            none: None,
            some: Some(vec![1, 2]),
            some_empty: Some(vec![]),
            shape: Shape::Struct { w: 2.5, h: None },
            shapes: vec![
                Shape::Unit,
                Shape::Newtype(7),
                Shape::NewtypeMap(by_id.clone()),
                Shape::NewtypeMap(BTreeMap::new()),
                Shape::NewtypeEmpty(vec![]),
                Shape::Tuple(1, "t".into()),
                Shape::EmptyTuple(),
                Shape::Struct {
                    w: f64::NAN,
                    h: Some(0.1),
                },
                Shape::EmptyStruct {},
                Shape::Skipping { only: None },
                Shape::Skipping { only: Some(3) },
            ],
            tagged: vec![
                Tagged::Plain,
                Tagged::Fields { n: -1 },
                Tagged::Wrapped(Inner { a: 2, b: None }),
            ],
            by_id: by_id.clone(),
            empty_by_id: BTreeMap::new(),
            nested_by_id: [(5, by_id), (6, BTreeMap::new())].into(),
            unit: (),
            unit_struct: Unit,
            newtype: Newtype("on".into()),
            pair: Pair(9, "yes"),
            tuple: (1, "two", vec![], ()),
            char: '\n',
            chars: vec!['a', '"', '\u{feff}'],
            floats: vec![
                0.1,
                -0.0,
                1e300,
                5e-324,
                f64::MAX,
                f64::NAN,
                f64::INFINITY,
                f64::NEG_INFINITY,
                100.0,
                1e16,
                123_456.789,
            ],
            small_floats: vec![0.1, 1.5, f32::MAX, f32::NAN, f32::INFINITY],
            ints: (-8, -16, -32, i64::MIN, 8, 16, 32, u64::MAX),
            wide: vec![i128::from(i64::MIN), i128::from(u64::MAX), -1, 0],
            wide_unsigned: u128::from(u64::MAX),
            bytes: Bytes(b"\x00\x7f\xff"),
            no_bytes: Bytes(b""),
            shown: vec![Shown(Pieces)],
            shown_time: Shown(time),
            time,
            odd_keys: OddKeys,
            odd_keys_in_a_list: vec![OddKeys],
        }
    }

    #[test]
    fn serde_data_model_matches_the_old_emitter() {
        let text = same(&document());
        // A few things the oracle takes for granted, spelled out.
        assert!(text.contains("\nskipped: {}\n"), "{text}");
        assert!(text.contains("\nonly_flatten: {}\n"), "{text}");
        assert!(
            text.contains("\nskipped_items:\n  - {}\n  - x: 1\n"),
            "{text}"
        );
        assert!(text.contains("\nby_id:\n  \"1\": \"one\"\n"), "{text}");
        assert!(
            text.contains("\n  - \"Unit\"\n  - \"Newtype\": 7\n"),
            "{text}"
        );
        assert!(!text.contains("never"), "{text}");
    }

    #[test]
    fn structs_with_nothing_to_write_are_empty_mappings_everywhere() {
        let empty = || OnlyFlatten {
            inner: AllSkipped { x: None, y: vec![] },
        };
        assert_eq!(same(&empty()), "{}\n");
        assert_eq!(same(&vec![empty(), empty()]), "- {}\n- {}\n");
        assert_eq!(same(&vec![vec![empty()]]), "- - {}\n");
        let mut map = BTreeMap::new();
        map.insert("k", empty());
        assert_eq!(same(&map), "k: {}\n");
        assert_eq!(same(&Shape::EmptyStruct {}), "\"EmptyStruct\": {}\n");
        assert_eq!(same(&Shape::Skipping { only: None }), "\"Skipping\": {}\n");
        assert_eq!(same(&Shape::EmptyTuple()), "\"EmptyTuple\": []\n");
    }

    #[test]
    fn a_real_report_matches_the_old_emitter() {
        use crate::classify::{Class, Evidence, Judgement, Verdict};
        use crate::output::{Clock, ClockSource, PodReport, Report};
        use crate::pod::{PodInfo, PodPhase, Termination, TerminationSource};

        let now: jiff::Timestamp = "2026-11-27T00:00:00Z".parse().unwrap();
        let created: jiff::Timestamp = "2026-11-20T00:00:00Z".parse().unwrap();
        let pod = |name: &str, phase: PodPhase| PodInfo {
            context: Some("prod \"east\"".into()),
            namespace: "spark".into(),
            name: name.into(),
            uid: Some(format!("uid-{name}")),
            resource_version: None,
            tag: "no".into(),
            app_id: None,
            phase,
            created_at: created,
            deleting_since: None,
            terminated: phase.is_terminal().then(|| Termination {
                at: "2026-11-26T00:00:00Z".parse().unwrap(),
                source: TerminationSource::DriverContainer,
            }),
        };
        let judgement = |verdict, class, evidence| Judgement {
            verdict,
            class,
            rule: 6,
            reason: "because\nof \u{1b}[31m".into(),
            evidence,
        };
        let pods = vec![
            PodReport::new(
                &pod("a", PodPhase::Succeeded),
                judgement(
                    Verdict::Orphan,
                    Class::Terminated,
                    vec![
                        Evidence::Pod {
                            phase: PodPhase::Succeeded,
                            created_at: created,
                            terminated_at: Some(now),
                            terminated_at_from: Some(TerminationSource::DriverContainer),
                            deletion_timestamp: None,
                        },
                        Evidence::NoRecord {
                            sources: vec!["store".into(), "zk".into()],
                        },
                        Evidence::StateAsOf {
                            as_of: None,
                            sources: vec![],
                        },
                    ],
                ),
                now,
            ),
            PodReport::new(
                &pod("b", PodPhase::Running),
                judgement(Verdict::Keep, Class::NoEvidence, vec![]),
                now,
            ),
        ];
        let mut report = Report::new(
            pods,
            vec![],
            vec![Clock {
                context: None,
                now,
                from: ClockSource::ApiServer,
            }],
            vec!["skipped \"x\"".into()],
        );
        same(&report);
        report.generated_at = Some(now);
        same(&report);
        same(&Report::new(vec![], vec![], vec![], vec![]));
    }

    #[test]
    fn what_serde_json_refuses_is_refused() {
        struct VecKey;
        impl Serialize for VecKey {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut m = serializer.serialize_map(Some(1))?;
                m.serialize_entry(&[1, 2], &1)?;
                m.end()
            }
        }
        struct NanKey;
        impl Serialize for NanKey {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut m = serializer.serialize_map(Some(1))?;
                m.serialize_entry(&f64::NAN, &1)?;
                m.end()
            }
        }
        assert!(old(&VecKey).is_err());
        assert_eq!(new(&VecKey).unwrap_err(), "key must be a string");
        assert!(old(&NanKey).is_err());
        assert!(new(&NanKey).is_err());
        assert!(old(&u128::MAX).is_err());
        assert!(new(&u128::MAX).is_err());
        assert!(old(&i128::MIN).is_err());
        assert!(new(&i128::MIN).is_err());
    }

    #[test]
    fn a_failing_writer_s_error_comes_back_as_it_was() {
        struct Broken;
        impl Write for Broken {
            fn write(&mut self, _buf: &[u8]) -> io::Result<usize> {
                Err(io::Error::from(io::ErrorKind::BrokenPipe))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let error = to_writer(&mut Broken, &json!({"a": [1]})).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::BrokenPipe);
        let error = to_writer(&mut Broken, &Shown(Pieces)).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::BrokenPipe);
    }

    #[test]
    fn long_indents_are_padded() {
        let mut value = json!("deep");
        for i in 0..40 {
            value = if i % 2 == 0 {
                json!({ "k": value })
            } else {
                json!([0, value])
            };
        }
        let text = same_value(&value);
        let mut widest = 0;
        for line in text.lines() {
            widest = widest.max(line.len() - line.trim_start().len());
        }
        assert!(widest > 64, "{widest}");
    }

    /// Strings with much to escape, keywords and plain keys.
    fn text() -> impl Strategy<Value = String> {
        let special = prop::sample::select(vec![
            '\n', '\t', '"', '\\', '\u{0}', '\u{1f}', '\u{7f}', '\u{85}', '\u{a0}', '\u{2028}',
            '\u{2029}', '\u{feff}', '\u{fffe}', '\u{ffff}', 'é', '🦀', ' ', ':', '#', '-', 'a',
            'Z', '0', '_',
        ]);
        prop_oneof![
            "[a-z_][a-z0-9_-]{0,6}",
            prop::sample::select(vec![
                "y", "n", "yes", "no", "on", "off", "true", "false", "null", "", "~",
            ])
            .prop_map(str::to_string),
            any::<String>(),
            prop::collection::vec(prop_oneof![special, any::<char>()], 0..10)
                .prop_map(|chars| chars.into_iter().collect()),
        ]
    }

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            text().prop_map(Value::from),
        ];
        leaf.prop_recursive(5, 96, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec((text(), inner), 0..6)
                    .prop_map(|entries| Value::Object(entries.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn value_trees_match_the_old_emitter(value in value()) {
            let old = old(&value).unwrap();
            prop_assert_eq!(&new(&value).unwrap(), &old);
            prop_assert_eq!(&new(&Unsized(&value)).unwrap(), &old);
        }
    }
}
