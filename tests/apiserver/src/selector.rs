//! Label and field selectors, parsed like `k8s.io/apimachinery/pkg/labels` and
//! `k8s.io/apimachinery/pkg/fields` do (same grammar, same error messages).

use std::fmt::Write as _;

/// A label selector operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `key=value`
    Equals,
    /// `key==value`
    DoubleEquals,
    /// `key!=value`
    NotEquals,
    /// `key in (a,b)`
    In,
    /// `key notin (a,b)`
    NotIn,
    /// `key`
    Exists,
    /// `!key`
    DoesNotExist,
    /// `key>1`
    GreaterThan,
    /// `key<1`
    LessThan,
}

/// One requirement of a label selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    /// The label key.
    pub key: String,
    /// The operator.
    pub op: Op,
    /// The values (sorted, deduplicated).
    pub values: Vec<String>,
}

impl Requirement {
    /// Whether a label set (looked up through `get`) satisfies the requirement.
    pub fn matches<'a>(&self, get: impl Fn(&str) -> Option<&'a str>) -> bool {
        match self.op {
            Op::In | Op::Equals | Op::DoubleEquals => {
                get(&self.key).is_some_and(|v| self.values.iter().any(|x| x == v))
            }
            Op::NotIn | Op::NotEquals => {
                get(&self.key).is_none_or(|v| !self.values.iter().any(|x| x == v))
            }
            Op::Exists => get(&self.key).is_some(),
            Op::DoesNotExist => get(&self.key).is_none(),
            Op::GreaterThan | Op::LessThan => {
                let Some(v) = get(&self.key).and_then(|v| v.parse::<i64>().ok()) else {
                    return false;
                };
                let Some(r) = self.values.first().and_then(|r| r.parse::<i64>().ok()) else {
                    return false;
                };
                if self.op == Op::GreaterThan {
                    v > r
                } else {
                    v < r
                }
            }
        }
    }
}

/// A parsed label selector (the AND of its requirements). Empty matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector {
    /// The requirements, sorted by key.
    pub requirements: Vec<Requirement>,
}

impl LabelSelector {
    /// Parse a selector string; the error is the message a real server puts in its 400.
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut p = Parser::new(s);
        let mut reqs = p.parse()?;
        reqs.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(Self { requirements: reqs })
    }

    /// Whether the selector selects everything.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// Whether labels given as a sorted `(key, value)` slice match.
    #[must_use]
    pub fn matches_sorted(&self, labels: &[(String, String)]) -> bool {
        let get = |k: &str| {
            labels
                .binary_search_by(|(lk, _)| lk.as_str().cmp(k))
                .ok()
                .map(|i| labels[i].1.as_str())
        };
        self.requirements.iter().all(|r| r.matches(get))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Error,
    End,
    ClosedPar,
    Comma,
    DoesNotExist,
    DoubleEquals,
    Equals,
    GreaterThan,
    Identifier,
    In,
    LessThan,
    NotEquals,
    NotIn,
    OpenPar,
}

fn keyword(s: &str) -> Option<Tok> {
    Some(match s {
        ")" => Tok::ClosedPar,
        "," => Tok::Comma,
        "!" => Tok::DoesNotExist,
        "==" => Tok::DoubleEquals,
        "=" => Tok::Equals,
        ">" => Tok::GreaterThan,
        "in" => Tok::In,
        "<" => Tok::LessThan,
        "!=" => Tok::NotEquals,
        "notin" => Tok::NotIn,
        "(" => Tok::OpenPar,
        _ => return None,
    })
}

fn is_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_special(c: u8) -> bool {
    matches!(c, b'=' | b'!' | b'(' | b')' | b',' | b'>' | b'<')
}

fn lex(s: &str) -> Vec<(Tok, String)> {
    let b = s.as_bytes();
    let mut pos = 0;
    let mut out = Vec::new();
    loop {
        while pos < b.len() && is_ws(b[pos]) {
            pos += 1;
        }
        if pos >= b.len() {
            out.push((Tok::End, String::new()));
            return out;
        }
        if is_special(b[pos]) {
            let mut buf = Vec::new();
            let mut last: Option<(Tok, String)> = None;
            while pos < b.len() && is_special(b[pos]) {
                buf.push(b[pos]);
                let text = String::from_utf8_lossy(&buf).into_owned();
                if let Some(t) = keyword(&text) {
                    last = Some((t, text));
                    pos += 1;
                } else if last.is_some() {
                    buf.pop();
                    break;
                } else {
                    pos += 1;
                }
            }
            match last {
                Some(item) => out.push(item),
                None => out.push((
                    Tok::Error,
                    format!(
                        "error expected: keyword found '{}'",
                        String::from_utf8_lossy(&buf)
                    ),
                )),
            }
        } else {
            let start = pos;
            while pos < b.len() && !is_special(b[pos]) && !is_ws(b[pos]) {
                pos += 1;
            }
            let text = s[start..pos].to_string();
            match keyword(&text) {
                Some(t) => out.push((t, text)),
                None => out.push((Tok::Identifier, text)),
            }
        }
    }
}

struct Parser {
    items: Vec<(Tok, String)>,
    pos: usize,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Ctx {
    KeyAndOperator,
    Values,
}

impl Parser {
    fn new(s: &str) -> Self {
        Self {
            items: lex(s),
            pos: 0,
        }
    }

    fn adjust(tok: Tok, ctx: Ctx) -> Tok {
        if ctx == Ctx::Values && matches!(tok, Tok::In | Tok::NotIn) {
            Tok::Identifier
        } else {
            tok
        }
    }

    fn lookahead(&self, ctx: Ctx) -> (Tok, String) {
        let (t, l) = &self.items[self.pos.min(self.items.len() - 1)];
        (Self::adjust(*t, ctx), l.clone())
    }

    fn consume(&mut self, ctx: Ctx) -> (Tok, String) {
        let r = self.lookahead(ctx);
        if self.pos < self.items.len() - 1 {
            self.pos += 1;
        }
        r
    }

    fn parse(&mut self) -> Result<Vec<Requirement>, String> {
        let mut reqs = Vec::new();
        loop {
            let (tok, lit) = self.lookahead(Ctx::Values);
            match tok {
                Tok::Identifier | Tok::DoesNotExist => {
                    let r = self
                        .parse_requirement()
                        .map_err(|e| format!("unable to parse requirement: {e}"))?;
                    reqs.push(r);
                    let (t, l) = self.consume(Ctx::Values);
                    match t {
                        Tok::End => return Ok(reqs),
                        Tok::Comma => {
                            let (t2, l2) = self.lookahead(Ctx::Values);
                            if t2 != Tok::Identifier && t2 != Tok::DoesNotExist {
                                return Err(format!(
                                    "found '{l2}', expected: identifier after ','"
                                ));
                            }
                        }
                        _ => return Err(format!("found '{l}', expected: ',' or 'end of string'")),
                    }
                }
                Tok::End => return Ok(reqs),
                _ => {
                    return Err(format!(
                        "found '{lit}', expected: !, identifier, or 'end of string'"
                    ));
                }
            }
        }
    }

    fn parse_requirement(&mut self) -> Result<Requirement, String> {
        let (key, op) = self.parse_key_and_infer_operator()?;
        if let Some(op) = op {
            return new_requirement(key, op, Vec::new());
        }
        let op = self.parse_operator()?;
        let values = match op {
            Op::In | Op::NotIn => self.parse_values()?,
            _ => self.parse_exact_value()?,
        };
        new_requirement(key, op, values)
    }

    fn parse_key_and_infer_operator(&mut self) -> Result<(String, Option<Op>), String> {
        let mut op = None;
        let (mut tok, mut lit) = self.consume(Ctx::Values);
        if tok == Tok::DoesNotExist {
            op = Some(Op::DoesNotExist);
            (tok, lit) = self.consume(Ctx::Values);
        }
        if tok != Tok::Identifier {
            return Err(format!("found '{lit}', expected: identifier"));
        }
        if let Err(e) = validate_label_key(&lit) {
            return Err(field_invalid("<nil>", &lit, &e));
        }
        let (t, _) = self.lookahead(Ctx::Values);
        if (t == Tok::End || t == Tok::Comma) && op.is_none() {
            op = Some(Op::Exists);
        }
        Ok((lit, op))
    }

    fn parse_operator(&mut self) -> Result<Op, String> {
        let (tok, lit) = self.consume(Ctx::KeyAndOperator);
        Ok(match tok {
            Tok::In => Op::In,
            Tok::Equals => Op::Equals,
            Tok::DoubleEquals => Op::DoubleEquals,
            Tok::GreaterThan => Op::GreaterThan,
            Tok::LessThan => Op::LessThan,
            Tok::NotIn => Op::NotIn,
            Tok::NotEquals => Op::NotEquals,
            _ => {
                return Err(format!(
                    "found '{lit}', expected: in, notin, =, ==, !=, gt, lt"
                ));
            }
        })
    }

    fn parse_values(&mut self) -> Result<Vec<String>, String> {
        let (tok, lit) = self.consume(Ctx::Values);
        if tok != Tok::OpenPar {
            return Err(format!("found '{lit}' expected: '('"));
        }
        let (tok, lit) = self.lookahead(Ctx::Values);
        match tok {
            Tok::Identifier | Tok::Comma => {
                let s = self.parse_identifiers_list()?;
                let (t, _) = self.consume(Ctx::Values);
                if t != Tok::ClosedPar {
                    return Err(format!("found '{lit}', expected: ')'"));
                }
                Ok(s)
            }
            Tok::ClosedPar => {
                self.consume(Ctx::Values);
                Ok(vec![String::new()])
            }
            _ => Err(format!("found '{lit}', expected: ',', ')' or identifier")),
        }
    }

    fn parse_identifiers_list(&mut self) -> Result<Vec<String>, String> {
        let mut s: Vec<String> = Vec::new();
        let insert = |s: &mut Vec<String>, v: String| {
            if !s.contains(&v) {
                s.push(v);
            }
        };
        loop {
            let (tok, lit) = self.consume(Ctx::Values);
            match tok {
                Tok::Identifier => {
                    insert(&mut s, lit);
                    let (t2, l2) = self.lookahead(Ctx::Values);
                    match t2 {
                        Tok::Comma => {}
                        Tok::ClosedPar => return Ok(s),
                        _ => return Err(format!("found '{l2}', expected: ',' or ')'")),
                    }
                }
                Tok::Comma => {
                    if s.is_empty() {
                        insert(&mut s, String::new());
                    }
                    let (t2, _) = self.lookahead(Ctx::Values);
                    if t2 == Tok::ClosedPar {
                        insert(&mut s, String::new());
                        return Ok(s);
                    }
                    if t2 == Tok::Comma {
                        insert(&mut s, String::new());
                    }
                }
                _ => return Err(format!("found '{lit}', expected: ',', or identifier")),
            }
        }
    }

    fn parse_exact_value(&mut self) -> Result<Vec<String>, String> {
        let (tok, _) = self.lookahead(Ctx::Values);
        if tok == Tok::End || tok == Tok::Comma {
            return Ok(vec![String::new()]);
        }
        let (tok, lit) = self.consume(Ctx::Values);
        if tok == Tok::Identifier {
            Ok(vec![lit])
        } else {
            Err(format!("found '{lit}', expected: identifier"))
        }
    }
}

fn field_invalid(path: &str, value: &str, detail: &str) -> String {
    format!("{path}: Invalid value: {}: {detail}", go_quote(value))
}

/// Quote a string like Go's `%q`.
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn new_requirement(key: String, op: Op, mut values: Vec<String>) -> Result<Requirement, String> {
    let mut errs: Vec<String> = Vec::new();
    if let Err(e) = validate_label_key(&key) {
        errs.push(field_invalid("key", &key, &e));
    }
    let vals_repr = || {
        format!(
            "[]string{{{}}}",
            values
                .iter()
                .map(|v| go_quote(v))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    match op {
        Op::In | Op::NotIn if values.is_empty() => {
            errs.push(format!(
                "values: Invalid value: {}: for 'in', 'notin' operators, values set can't be empty",
                vals_repr()
            ));
        }
        Op::Equals | Op::DoubleEquals | Op::NotEquals if values.len() != 1 => {
            errs.push(format!(
                "values: Invalid value: {}: exact-match compatibility requires one single value",
                vals_repr()
            ));
        }
        Op::GreaterThan | Op::LessThan => {
            if values.len() != 1 {
                errs.push(format!(
                    "values: Invalid value: {}: for 'Gt', 'Lt' operators, exactly one value is required",
                    vals_repr()
                ));
            }
            for (i, v) in values.iter().enumerate() {
                if v.parse::<i64>().is_err() {
                    errs.push(field_invalid(
                        &format!("values[{i}]"),
                        v,
                        "for 'Gt', 'Lt' operators, the value must be an integer",
                    ));
                }
            }
        }
        _ => {}
    }
    for (i, v) in values.iter().enumerate() {
        if let Err(e) = validate_label_value(v) {
            errs.push(field_invalid(&format!("values[{i}][{key}]"), v, &e));
        }
    }
    match errs.len() {
        0 => {
            values.sort();
            Ok(Requirement { key, op, values })
        }
        1 => Err(errs.remove(0)),
        _ => Err(format!("[{}]", errs.join(", "))),
    }
}

const QUALIFIED_NAME_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const LABEL_VALUE_FMT: &str = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
const DNS1123_SUBDOMAIN_FMT: &str =
    "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";

fn is_alnum(c: u8) -> bool {
    c.is_ascii_alphanumeric()
}

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`
fn is_qualified_name_part(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && is_alnum(b[0])
        && is_alnum(b[b.len() - 1])
        && b.iter()
            .all(|&c| is_alnum(c) || matches!(c, b'-' | b'_' | b'.'))
}

fn is_dns1123_subdomain(s: &str) -> bool {
    s.len() <= 253
        && s.split('.').all(|l| {
            let b = l.as_bytes();
            !b.is_empty()
                && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
                && (b[b.len() - 1].is_ascii_lowercase() || b[b.len() - 1].is_ascii_digit())
                && b.iter()
                    .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
        })
}

fn regex_error(msg: &str, fmt: &str, examples: &[&str]) -> String {
    let mut s = format!("{msg} (e.g. ");
    for (i, e) in examples.iter().enumerate() {
        if i > 0 {
            s.push_str(",  or ");
        }
        let _ = write!(s, "'{e}'");
    }
    let _ = write!(s, ", regex used for validation is '{fmt}')");
    s
}

/// Validate a label key (a qualified name), returning the joined error details.
fn validate_label_key(k: &str) -> Result<(), String> {
    let mut errs = Vec::new();
    let parts: Vec<&str> = k.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errs.push("prefix part must be non-empty".to_string());
            } else if !is_dns1123_subdomain(prefix) {
                errs.push(format!(
                    "prefix part {}",
                    regex_error(
                        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
                        DNS1123_SUBDOMAIN_FMT,
                        &["example.com"],
                    )
                ));
            }
            name
        }
        _ => {
            return Err(format!(
                "{} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
                regex_error(
                    "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
                    QUALIFIED_NAME_FMT,
                    &["MyName", "my.name", "123-abc"],
                )
            ));
        }
    };
    if name.is_empty() {
        errs.push("name part must be non-empty".to_string());
    } else if name.len() > 63 {
        errs.push("name part must be no more than 63 characters".to_string());
    }
    if !is_qualified_name_part(name) {
        errs.push(format!(
            "name part {}",
            regex_error(
                "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
                QUALIFIED_NAME_FMT,
                &["MyName", "my.name", "123-abc"],
            )
        ));
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(errs.join("; "))
    }
}

fn validate_label_value(v: &str) -> Result<(), String> {
    let mut errs = Vec::new();
    if v.len() > 63 {
        errs.push("must be no more than 63 characters".to_string());
    }
    if !v.is_empty() && !is_qualified_name_part(v) {
        errs.push(regex_error(
            "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
            LABEL_VALUE_FMT,
            &["MyValue", "my_value", "12345"],
        ));
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(errs.join("; "))
    }
}

/// Why `name` is no valid object name (a DNS-1123 subdomain, `IsDNS1123Subdomain`), as the
/// details of `metadata.name: Invalid value: "x": <details>`; `None` when it is valid.
pub(crate) fn dns1123_subdomain_problems(name: &str) -> Option<String> {
    let mut errs = Vec::new();
    if name.len() > 253 {
        errs.push("must be no more than 253 characters".to_string());
    }
    if !is_dns1123_subdomain(name) || name.is_empty() {
        errs.push(regex_error(
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
            DNS1123_SUBDOMAIN_FMT,
            &["example.com"],
        ));
    }
    (!errs.is_empty()).then(|| errs.join("; "))
}

/// The `Invalid value` messages of a label map (`ValidateLabels`): `(message, field)` per bad
/// key or value, with `field` like `metadata.labels`.
pub(crate) fn label_map_problems(
    labels: &[(String, String)],
    field: &str,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (k, v) in labels {
        if let Err(e) = validate_label_key(k) {
            out.push((
                format!("Invalid value: {}: {e}", go_quote(k)),
                field.to_string(),
            ));
        }
        if let Err(e) = validate_label_value(v) {
            out.push((
                format!("Invalid value: {}: {e}", go_quote(v)),
                field.to_string(),
            ));
        }
    }
    out
}

/// The field selector label of a pod field (`metadata.name`, ...).
#[must_use]
pub(crate) fn field_label(f: PodField) -> &'static str {
    match f {
        PodField::Name => "metadata.name",
        PodField::Namespace => "metadata.namespace",
        PodField::NodeName => "spec.nodeName",
        PodField::RestartPolicy => "spec.restartPolicy",
        PodField::SchedulerName => "spec.schedulerName",
        PodField::ServiceAccountName => "spec.serviceAccountName",
        PodField::HostNetwork => "spec.hostNetwork",
        PodField::Phase => "status.phase",
        PodField::PodIp => "status.podIP",
        PodField::NominatedNodeName => "status.nominatedNodeName",
    }
}

/// A field of a pod that a field selector may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PodField {
    /// `metadata.name`
    Name,
    /// `metadata.namespace`
    Namespace,
    /// `spec.nodeName` (also `spec.host`)
    NodeName,
    /// `spec.restartPolicy`
    RestartPolicy,
    /// `spec.schedulerName`
    SchedulerName,
    /// `spec.serviceAccountName`
    ServiceAccountName,
    /// `spec.hostNetwork`
    HostNetwork,
    /// `status.phase`
    Phase,
    /// `status.podIP`
    PodIp,
    /// `status.nominatedNodeName`
    NominatedNodeName,
}

impl PodField {
    fn from_label(label: &str) -> Option<Self> {
        Some(match label {
            "metadata.name" => Self::Name,
            "metadata.namespace" => Self::Namespace,
            "spec.nodeName" | "spec.host" => Self::NodeName,
            "spec.restartPolicy" => Self::RestartPolicy,
            "spec.schedulerName" => Self::SchedulerName,
            "spec.serviceAccountName" => Self::ServiceAccountName,
            "spec.hostNetwork" => Self::HostNetwork,
            "status.phase" => Self::Phase,
            "status.podIP" => Self::PodIp,
            "status.nominatedNodeName" => Self::NominatedNodeName,
            _ => return None,
        })
    }
}

/// One term of a field selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldTerm {
    /// The field.
    pub field: PodField,
    /// `!=` when true, `=`/`==` otherwise.
    pub negated: bool,
    /// The (unescaped) value.
    pub value: String,
}

/// A parsed pod field selector.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSelector {
    /// The terms (AND).
    pub terms: Vec<FieldTerm>,
}

fn split_terms(s: &str) -> Vec<String> {
    if s.is_empty() {
        return Vec::new();
    }
    let mut terms = Vec::new();
    let mut cur = String::new();
    let mut escaped = false;
    for c in s.chars() {
        if escaped {
            cur.push(c);
            escaped = false;
        } else if c == '\\' {
            cur.push(c);
            escaped = true;
        } else if c == ',' {
            terms.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    terms.push(cur);
    terms
}

fn split_term(term: &str) -> Option<(&str, &str, &str)> {
    for i in 0..term.len() {
        if !term.is_char_boundary(i) {
            continue;
        }
        let rest = &term[i..];
        for op in ["!=", "==", "="] {
            if let Some(rhs) = rest.strip_prefix(op) {
                return Some((&term[..i], op, rhs));
            }
        }
    }
    None
}

fn unescape_value(s: &str) -> Result<String, String> {
    if !s.contains(['\\', '=', ',']) {
        return Ok(s.to_string());
    }
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(n @ ('\\' | ',' | '=')) => out.push(n),
                Some(n) => {
                    return Err(format!(
                        "invalid field selector: invalid escape sequence: \\{n}"
                    ));
                }
                None => {
                    return Err("invalid field selector: invalid escape sequence: \\".to_string());
                }
            },
            '=' | ',' => {
                return Err(format!(
                    "invalid field selector: unescaped character in value: {c}"
                ));
            }
            c => out.push(c),
        }
    }
    Ok(out)
}

impl FieldSelector {
    /// Parse a pod field selector; the error is the message of the real server's 400.
    pub fn parse(selector: &str) -> Result<Self, String> {
        let mut parts = split_terms(selector);
        parts.sort();
        let mut raw = Vec::new();
        for part in &parts {
            if part.is_empty() {
                continue;
            }
            let Some((lhs, op, rhs)) = split_term(part) else {
                return Err(format!(
                    "invalid selector: '{selector}'; can't understand '{part}'"
                ));
            };
            raw.push((lhs.to_string(), op == "!=", unescape_value(rhs)?));
        }
        let mut terms = Vec::new();
        for (label, negated, value) in raw {
            let Some(field) = PodField::from_label(&label) else {
                return Err(format!("field label not supported: {label}"));
            };
            terms.push(FieldTerm {
                field,
                negated,
                value,
            });
        }
        Ok(Self { terms })
    }

    /// Whether the selector selects everything.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Whether an object matches, given a lookup of its field values.
    pub fn matches<'a>(&self, get: impl Fn(PodField) -> &'a str) -> bool {
        self.terms
            .iter()
            .all(|t| (get(t.field) == t.value) != t.negated)
    }

    /// The value required for `metadata.name`, if the selector pins it.
    #[must_use]
    pub fn exact_name(&self) -> Option<&str> {
        self.terms
            .iter()
            .find(|t| t.field == PodField::Name && !t.negated)
            .map(|t| t.value.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect();
        v.sort();
        v
    }

    fn m(sel: &str, l: &[(&str, &str)]) -> bool {
        LabelSelector::parse(sel)
            .unwrap()
            .matches_sorted(&labels(l))
    }

    #[test]
    fn equality_based() {
        assert!(m("a=b", &[("a", "b")]));
        assert!(m("a==b", &[("a", "b")]));
        assert!(!m("a=b", &[("a", "c")]));
        assert!(m("a!=b", &[("a", "c")]));
        assert!(m("a!=b", &[]));
        assert!(!m("a!=b", &[("a", "b")]));
        assert!(m("a=b,c=d", &[("a", "b"), ("c", "d")]));
        assert!(!m("a=b,c=d", &[("a", "b")]));
        assert!(m("a=", &[("a", "")]));
    }

    #[test]
    fn set_based() {
        assert!(m("env in (prod, qa)", &[("env", "qa")]));
        assert!(!m("env in (prod,qa)", &[("env", "dev")]));
        assert!(!m("env in (prod,qa)", &[]));
        assert!(m("env notin (prod,qa)", &[("env", "dev")]));
        assert!(m("env notin (prod,qa)", &[]));
        assert!(m("kyuubi-unique-tag", &[("kyuubi-unique-tag", "x")]));
        assert!(!m("kyuubi-unique-tag", &[]));
        assert!(m("!spark-role", &[]));
        assert!(!m("!spark-role", &[("spark-role", "driver")]));
        assert!(m(
            "kyuubi-unique-tag,spark-app-selector,spark-role=driver",
            &[
                ("kyuubi-unique-tag", "u"),
                ("spark-app-selector", "s"),
                ("spark-role", "driver")
            ]
        ));
        assert!(m("x in (in)", &[("x", "in")]));
        assert!(m("n>3", &[("n", "4")]));
        assert!(!m("n<3", &[("n", "4")]));
        assert!(LabelSelector::parse("").unwrap().is_empty());
        assert!(m("example.com/app=x", &[("example.com/app", "x")]));
    }

    #[test]
    fn errors_like_the_real_parser() {
        assert_eq!(
            LabelSelector::parse("a in b").unwrap_err(),
            "unable to parse requirement: found 'b' expected: '('"
        );
        assert_eq!(
            LabelSelector::parse("a=b,").unwrap_err(),
            "found '', expected: identifier after ','"
        );
        assert_eq!(
            LabelSelector::parse("=b").unwrap_err(),
            "found '=', expected: !, identifier, or 'end of string'"
        );
        assert_eq!(
            LabelSelector::parse("a b").unwrap_err(),
            "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"
        );
        let e = LabelSelector::parse("a$=b").unwrap_err();
        assert!(e.starts_with("unable to parse requirement: <nil>: Invalid value: \"a$\": name part must consist of"), "{e}");
        let e = LabelSelector::parse("a=b c").unwrap_err();
        assert_eq!(e, "found 'c', expected: ',' or 'end of string'");
        let e = LabelSelector::parse("a=b$").unwrap_err();
        assert!(e.starts_with("unable to parse requirement: values[0][a]: Invalid value: \"b$\": a valid label must be"), "{e}");
    }

    #[test]
    fn field_selectors() {
        let f =
            FieldSelector::parse("status.phase=Succeeded,metadata.namespace!=kube-system").unwrap();
        assert_eq!(f.terms.len(), 2);
        let get = |p: PodField| match p {
            PodField::Phase => "Succeeded",
            PodField::Namespace => "spark",
            _ => "",
        };
        assert!(f.matches(get));
        assert_eq!(
            FieldSelector::parse("spec.foo=bar").unwrap_err(),
            "field label not supported: spec.foo"
        );
        assert_eq!(
            FieldSelector::parse("foo").unwrap_err(),
            "invalid selector: 'foo'; can't understand 'foo'"
        );
        assert_eq!(
            FieldSelector::parse("metadata.name==p1")
                .unwrap()
                .exact_name(),
            Some("p1")
        );
        let f = FieldSelector::parse(r"metadata.name=a\,b").unwrap();
        assert_eq!(f.terms[0].value, "a,b");
        assert!(FieldSelector::parse("").unwrap().is_empty());
    }
}
