//! Kubernetes label selectors: parsing, matching and rendering.
//!
//! Owns: [`LabelSelector`], the parsed form of a selector string such as
//! `team=etl,tier in (gold,silver),!canary`, with the grammar and matching rules of
//! `k8s.io/apimachinery/pkg/labels`. The same parsed selector is matched locally against pods
//! read from a file and rendered into the `labelSelector` query sent to an API server, so both
//! pod sources select exactly the same pods. Must not: know about Kyuubi or do I/O.

use std::collections::BTreeMap;
use std::fmt;

/// The candidate selector every pod source applies (design §2): Kyuubi's tag and Spark's app id
/// must exist, and the pod must be a driver (executors go with their driver).
pub(crate) const CANDIDATE_SELECTOR: &str =
    "kyuubi-unique-tag,spark-app-selector,spark-role=driver";

/// Why a selector string could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{problem} (at character {position})")]
pub struct SelectorError {
    /// What is wrong.
    pub problem: String,
    /// 1-based character position where the problem was found.
    pub position: usize,
}

/// One requirement of a selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Requirement {
    /// `key`: the label exists.
    Exists(String),
    /// `!key`: the label does not exist.
    NotExists(String),
    /// `key=value`, `key==value` or `key in (a,b)`: the label exists with one of the values.
    In(String, Vec<String>),
    /// `key!=value` or `key notin (a,b)`: the label is absent or has none of the values.
    NotIn(String, Vec<String>),
}

/// A pod's labels, however they are held.
pub(crate) trait Labels {
    /// The value of label `key`.
    fn label(&self, key: &str) -> Option<&str>;
}

impl Labels for BTreeMap<String, String> {
    fn label(&self, key: &str) -> Option<&str> {
        self.get(key).map(String::as_str)
    }
}

impl Requirement {
    fn matches(&self, labels: &dyn Labels) -> bool {
        let has = |v: &str, values: &[String]| values.iter().any(|x| x == v);
        match self {
            Requirement::Exists(key) => labels.label(key).is_some(),
            Requirement::NotExists(key) => labels.label(key).is_none(),
            Requirement::In(key, values) => labels.label(key).is_some_and(|v| has(v, values)),
            Requirement::NotIn(key, values) => labels.label(key).is_none_or(|v| !has(v, values)),
        }
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Requirement::Exists(key) => write!(f, "{key}"),
            Requirement::NotExists(key) => write!(f, "!{key}"),
            Requirement::In(key, values) if values.len() == 1 => write!(f, "{key}={}", values[0]),
            Requirement::In(key, values) => write!(f, "{key} in ({})", values.join(",")),
            Requirement::NotIn(key, values) if values.len() == 1 => {
                write!(f, "{key}!={}", values[0])
            }
            Requirement::NotIn(key, values) => write!(f, "{key} notin ({})", values.join(",")),
        }
    }
}

/// A parsed label selector: all requirements must hold (they are ANDed).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct LabelSelector {
    requirements: Vec<Requirement>,
}

impl LabelSelector {
    /// Parses a selector string. The empty string selects everything.
    pub(crate) fn parse(input: &str) -> Result<Self, SelectorError> {
        Parser::new(input).parse()
    }

    /// The candidate selector, ANDed with an optional extra selector from `--selector`.
    pub(crate) fn candidates(extra: Option<&str>) -> Result<Self, SelectorError> {
        let mut selector = Self::parse(CANDIDATE_SELECTOR)?;
        if let Some(extra) = extra {
            selector
                .requirements
                .extend(Self::parse(extra)?.requirements);
        }
        Ok(selector)
    }

    /// Whether a pod with these labels is selected.
    #[must_use]
    pub(crate) fn matches(&self, labels: &dyn Labels) -> bool {
        self.requirements.iter().all(|r| r.matches(labels))
    }
}

impl fmt::Display for LabelSelector {
    /// Renders the selector in the canonical form an API server accepts as `labelSelector`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, requirement) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{requirement}")?;
        }
        Ok(())
    }
}

/// A small hand-written parser for the selector grammar of `k8s.io/apimachinery/pkg/labels`:
///
/// ```text
/// selector    = [ requirement { "," requirement } ]
/// requirement = [ "!" ] key
///             | key ( "=" | "==" | "!=" ) value
///             | key ( "in" | "notin" ) "(" [ value { "," value } ] ")"
/// ```
struct Parser<'a> {
    input: &'a str,
    chars: Vec<(usize, char)>,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn new(input: &'a str) -> Self {
        Self {
            input,
            chars: input.char_indices().collect(),
            pos: 0,
        }
    }

    fn error(&self, problem: impl Into<String>) -> SelectorError {
        SelectorError {
            problem: problem.into(),
            position: self.pos + 1,
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).map(|&(_, c)| c)
    }

    fn skip_spaces(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, token: &str) -> bool {
        let rest = self.rest();
        if rest.starts_with(token) {
            self.pos += token.chars().count();
            true
        } else {
            false
        }
    }

    fn rest(&self) -> &'a str {
        let byte = self
            .chars
            .get(self.pos)
            .map_or(self.input.len(), |&(i, _)| i);
        &self.input[byte..]
    }

    /// A run of characters allowed in keys and values.
    fn word(&mut self) -> String {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
        {
            self.pos += 1;
        }
        self.chars[start..self.pos]
            .iter()
            .map(|&(_, c)| c)
            .collect()
    }

    fn parse(mut self) -> Result<LabelSelector, SelectorError> {
        let mut requirements = Vec::new();
        self.skip_spaces();
        if self.peek().is_none() {
            return Ok(LabelSelector { requirements });
        }
        loop {
            requirements.push(self.requirement()?);
            self.skip_spaces();
            match self.peek() {
                None => break,
                Some(',') => {
                    self.pos += 1;
                    self.skip_spaces();
                    if self.peek().is_none() {
                        return Err(self.error("expected a requirement after ','"));
                    }
                }
                Some(c) => return Err(self.error(format!("unexpected {c:?}"))),
            }
        }
        Ok(LabelSelector { requirements })
    }

    fn requirement(&mut self) -> Result<Requirement, SelectorError> {
        if self.eat("!") {
            self.skip_spaces();
            let key = self.key()?;
            return Ok(Requirement::NotExists(key));
        }
        let key = self.key()?;
        self.skip_spaces();
        if self.eat("==") || self.eat("=") {
            return Ok(Requirement::In(key, vec![self.value()?]));
        }
        if self.eat("!=") {
            return Ok(Requirement::NotIn(key, vec![self.value()?]));
        }
        let at = self.pos;
        match self.word().as_str() {
            "in" => Ok(Requirement::In(key, self.set()?)),
            "notin" => Ok(Requirement::NotIn(key, self.set()?)),
            "" => Ok(Requirement::Exists(key)),
            other => {
                self.pos = at;
                Err(self.error(format!(
                    "expected one of '=', '==', '!=', 'in', 'notin', ',' after key {key:?}, found {other:?}"
                )))
            }
        }
    }

    fn key(&mut self) -> Result<String, SelectorError> {
        let at = self.pos;
        let key = self.word();
        if key.is_empty() {
            return Err(self.error("expected a label key"));
        }
        if let Err(problem) = validate_key(&key) {
            self.pos = at;
            return Err(self.error(format!("invalid label key {key:?}: {problem}")));
        }
        Ok(key)
    }

    fn value(&mut self) -> Result<String, SelectorError> {
        self.skip_spaces();
        let at = self.pos;
        let value = self.word();
        if let Err(problem) = validate_value(&value) {
            self.pos = at;
            return Err(self.error(format!("invalid label value {value:?}: {problem}")));
        }
        Ok(value)
    }

    fn set(&mut self) -> Result<Vec<String>, SelectorError> {
        self.skip_spaces();
        if !self.eat("(") {
            return Err(self.error("expected '(' to open a set of values"));
        }
        let mut values = Vec::new();
        loop {
            values.push(self.value()?);
            self.skip_spaces();
            if self.eat(")") {
                break;
            }
            if !self.eat(",") {
                return Err(self.error("expected ',' or ')' in a set of values"));
            }
        }
        if values.iter().all(String::is_empty) && values.len() == 1 {
            return Err(self.error("a set of values must not be empty"));
        }
        Ok(values)
    }
}

/// A label name: at most 63 characters, alphanumeric at both ends, `-_.` inside.
fn validate_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the name part must not be empty".into());
    }
    if name.len() > 63 {
        return Err("must be no more than 63 characters".into());
    }
    let ok_inner = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    let ok_ends = name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if ok_inner && ok_ends {
        Ok(())
    } else {
        Err(
            "must consist of alphanumeric characters, '-', '_' or '.', and must start and end \
             with an alphanumeric character"
                .into(),
        )
    }
}

/// A label key: an optional DNS-subdomain prefix and `/`, then a name.
fn validate_key(key: &str) -> Result<(), String> {
    match key.split_once('/') {
        None => validate_name(key),
        Some((prefix, name)) => {
            let prefix_ok = !prefix.is_empty()
                && prefix.len() <= 253
                && prefix.split('.').all(|part| {
                    !part.is_empty()
                        && part
                            .chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                        && !part.starts_with('-')
                        && !part.ends_with('-')
                });
            if !prefix_ok {
                return Err(format!(
                    "prefix {prefix:?} must be a lowercase DNS subdomain"
                ));
            }
            validate_name(name)
        }
    }
}

/// A label value: empty, or a valid name.
fn validate_value(value: &str) -> Result<(), String> {
    if value.is_empty() {
        Ok(())
    } else if value.contains('/') {
        Err("must not contain '/'".into())
    } else {
        validate_name(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect()
    }

    #[test]
    fn parses_every_operator_and_renders_canonically() {
        let cases = [
            ("a", "a"),
            ("!a", "!a"),
            ("! a", "!a"),
            ("a=b", "a=b"),
            ("a==b", "a=b"),
            ("a = b", "a=b"),
            ("a!=b", "a!=b"),
            ("a in (x, y)", "a in (x,y)"),
            ("a notin (x,y)", "a notin (x,y)"),
            ("a in (x)", "a=x"),
            ("a=", "a="),
            (
                "example.com/team=etl, tier in (gold,silver),!canary",
                "example.com/team=etl,tier in (gold,silver),!canary",
            ),
            ("", ""),
            ("   ", ""),
        ];
        for (input, rendered) in cases {
            let selector = LabelSelector::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(selector.to_string(), rendered, "{input}");
            // Rendering is a fixed point: what we send parses back to the same selector.
            assert_eq!(LabelSelector::parse(rendered).unwrap(), selector, "{input}");
        }
    }

    #[test]
    fn rejects_malformed_selectors_with_a_position() {
        let cases = [
            ("a,", "expected a requirement"),
            (",a", "expected a label key"),
            ("a b", "expected one of"),
            ("a in x", "expected '('"),
            ("a in (x", "expected ',' or ')'"),
            ("a=b=c", "unexpected '='"),
            ("-a=b", "invalid label key"),
            ("a=-b", "invalid label value"),
            ("Bad_Prefix/a=b", "lowercase DNS subdomain"),
            ("a>1", "unexpected '>'"),
        ];
        for (input, expected) in cases {
            let err = LabelSelector::parse(input).expect_err(input);
            assert!(err.to_string().contains(expected), "{input}: {err}");
        }
        let long = format!("a={}", "x".repeat(64));
        assert!(LabelSelector::parse(&long).is_err());
    }

    #[test]
    fn matches_like_the_api_server() {
        let pod = labels(&[("app", "spark"), ("tier", "gold")]);
        let yes = [
            "app",
            "app=spark",
            "app==spark",
            "tier in (gold,silver)",
            "!canary",
            "canary!=x",
            "canary notin (x)",
            "app!=flink",
            "app,tier=gold",
            "",
        ];
        let no = [
            "canary",
            "!app",
            "app=flink",
            "tier notin (gold)",
            "app!=spark",
            "tier in (silver)",
            "app,canary",
        ];
        for s in yes {
            assert!(
                LabelSelector::parse(s).unwrap().matches(&pod),
                "{s} should match"
            );
        }
        for s in no {
            assert!(
                !LabelSelector::parse(s).unwrap().matches(&pod),
                "{s} should not match"
            );
        }
    }

    #[test]
    fn the_candidate_selector_requires_tag_app_id_and_driver_role() {
        let selector = LabelSelector::candidates(Some("team=etl")).unwrap();
        assert_eq!(
            selector.to_string(),
            "kyuubi-unique-tag,spark-app-selector,spark-role=driver,team=etl"
        );
        let driver = labels(&[
            ("kyuubi-unique-tag", "t"),
            ("spark-app-selector", "spark-1"),
            ("spark-role", "driver"),
            ("team", "etl"),
        ]);
        assert!(selector.matches(&driver));
        let mut executor = driver.clone();
        executor.insert("spark-role".into(), "executor".into());
        assert!(!selector.matches(&executor));
        let mut untagged = driver.clone();
        untagged.remove("kyuubi-unique-tag");
        assert!(!selector.matches(&untagged));
        let mut other_team = driver;
        other_team.insert("team".into(), "web".into());
        assert!(!selector.matches(&other_team));
    }
}
