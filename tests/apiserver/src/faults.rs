//! Deterministic fault injection: latency, 500/503 answers, 429 with `Retry-After`, connections
//! dropped mid-response, requests that hang without an answer and watch streams cut after N
//! events, optionally scoped to a method and a path pattern.
//!
//! A rule fires for the n-th request it matches when `hash(seed, rule index, n) < probability`
//! (and `n` is past `skip` and below `skip + times`), so a given seed and request order always
//! produce the same faults.

use std::time::Duration;

use crate::pod::mix64;

/// What a fault rule does to a request.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultAction {
    /// Wait this long before answering (rules of this kind add up).
    Latency(Duration),
    /// Answer with this HTTP status and a matching `Status` body (500, 503, ...).
    Error(u16),
    /// Answer 429 `TooManyRequests` with `Retry-After: secs`.
    Throttle {
        /// The `Retry-After` value in seconds.
        retry_after_secs: u64,
    },
    /// Send the status line, headers and this fraction (0.0–1.0) of the body, then close the
    /// socket.
    DropConnection {
        /// Fraction of the body to send before closing.
        fraction: f64,
    },
    /// For watch requests: end the stream abruptly after this many events.
    CutWatch {
        /// Events (not bookmarks) to send before the cut.
        after_events: usize,
    },
    /// Read the request and never answer it (not even a status line): the connection stays open
    /// until the client closes it or the server shuts down, when it is closed without a
    /// response. The request log records it at once, with status 0.
    Hang,
    /// Answer 200 with a chunked body that never ends (the start of a pod list, then padding),
    /// until the client goes away.
    Endless,
}

/// One fault rule.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultRule {
    /// Only requests with this method (`GET`, `DELETE`, ...); `None` = any.
    pub method: Option<String>,
    /// Only requests whose path matches this pattern (`*` matches any run of characters, other
    /// characters literally); `None` = any.
    pub path: Option<String>,
    /// Only watch requests (`Some(true)`), only non-watch requests (`Some(false)`), or both.
    pub watch: Option<bool>,
    /// What to do.
    pub action: FaultAction,
    /// Chance that a matching request is hit (1.0 = every one).
    pub probability: f64,
    /// Let this many matching requests through first.
    pub skip: u64,
    /// Hit at most this many requests (`None` = no limit).
    pub times: Option<u64>,
}

impl FaultRule {
    /// A rule that always applies `action` to every request.
    #[must_use]
    pub fn always(action: FaultAction) -> Self {
        Self {
            method: None,
            path: None,
            watch: None,
            action,
            probability: 1.0,
            skip: 0,
            times: None,
        }
    }

    /// Parse `action=503,p=0.2,method=DELETE,path=/api/v1/*,skip=1,times=3,watch=true`.
    ///
    /// Actions: `latency` (`ms=N`), `500`, `503` (or any status code), `429` (`retry-after=S`),
    /// `drop` (`fraction=F`), `cut-watch` (`events=N`), `hang`, `endless`.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let mut action = None;
        let mut r = Self::always(FaultAction::Error(500));
        let mut ms = None;
        let mut retry_after = 1;
        let mut fraction = 0.5;
        let mut events = 1;
        for part in spec.split(',').filter(|p| !p.is_empty()) {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| format!("fault spec: expected key=value, got {part:?}"))?;
            let bad = |e: &dyn std::fmt::Display| format!("fault spec: bad value for {k}: {e}");
            match k {
                "action" => action = Some(v.to_string()),
                "p" | "probability" => r.probability = v.parse().map_err(|e| bad(&e))?,
                "method" => r.method = Some(v.to_ascii_uppercase()),
                "path" => r.path = Some(v.to_string()),
                "skip" => r.skip = v.parse().map_err(|e| bad(&e))?,
                "times" => r.times = Some(v.parse().map_err(|e| bad(&e))?),
                "watch" => r.watch = Some(v.parse().map_err(|e| bad(&e))?),
                "ms" => ms = Some(v.parse::<u64>().map_err(|e| bad(&e))?),
                "retry-after" => retry_after = v.parse().map_err(|e| bad(&e))?,
                "fraction" => fraction = v.parse().map_err(|e| bad(&e))?,
                "events" => events = v.parse().map_err(|e| bad(&e))?,
                _ => return Err(format!("fault spec: unknown key {k:?}")),
            }
        }
        let action = action.ok_or("fault spec: missing action=")?;
        r.action = match action.as_str() {
            "latency" => FaultAction::Latency(Duration::from_millis(
                ms.ok_or("fault spec: latency needs ms=")?,
            )),
            "429" | "throttle" => FaultAction::Throttle {
                retry_after_secs: retry_after,
            },
            "drop" => FaultAction::DropConnection { fraction },
            "hang" => FaultAction::Hang,
            "endless" => FaultAction::Endless,
            "cut-watch" => FaultAction::CutWatch {
                after_events: events,
            },
            code => FaultAction::Error(
                code.parse()
                    .map_err(|_| format!("fault spec: unknown action {code:?}"))?,
            ),
        };
        Ok(r)
    }

    fn matches(&self, method: &str, path: &str, is_watch: bool) -> bool {
        self.method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && self.path.as_deref().is_none_or(|p| glob(p, path))
            && self.watch.is_none_or(|w| w == is_watch)
    }
}

/// Fault configuration: a seed and rules.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultConfig {
    /// Seed of the decision hash.
    pub seed: u64,
    /// The rules, checked in order.
    pub rules: Vec<FaultRule>,
}

/// The faults decided for one request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Decision {
    /// Total latency to add.
    pub latency: Duration,
    /// Answer with this error status instead of handling the request.
    pub error: Option<u16>,
    /// Answer 429 with this `Retry-After`.
    pub throttle: Option<u64>,
    /// Drop the connection after this fraction of the body.
    pub drop: Option<f64>,
    /// Cut a watch after this many events.
    pub cut_watch: Option<usize>,
    /// Never answer: hold the connection until the client or the server closes it.
    pub hang: bool,
    /// Answer with a body that never ends.
    pub endless: bool,
}

impl Decision {
    /// A short description for the request log.
    #[must_use]
    pub fn describe(&self) -> Option<String> {
        let mut parts = Vec::new();
        if !self.latency.is_zero() {
            parts.push(format!("latency={}ms", self.latency.as_millis()));
        }
        if let Some(c) = self.error {
            parts.push(format!("status={c}"));
        }
        if let Some(r) = self.throttle {
            parts.push(format!("429 retry-after={r}"));
        }
        if let Some(f) = self.drop {
            parts.push(format!("drop={f}"));
        }
        if let Some(n) = self.cut_watch {
            parts.push(format!("cut-watch={n}"));
        }
        if self.hang {
            parts.push("hang".to_string());
        }
        if self.endless {
            parts.push("endless".to_string());
        }
        (!parts.is_empty()).then(|| parts.join(" "))
    }
}

/// Fault rules plus their match counters.
#[derive(Debug, Default)]
pub(crate) struct FaultState {
    config: FaultConfig,
    counters: Vec<u64>,
}

impl FaultState {
    pub(crate) fn new(config: FaultConfig) -> Self {
        let counters = vec![0; config.rules.len()];
        Self { config, counters }
    }

    /// Decide the faults of the next request.
    pub(crate) fn decide(&mut self, method: &str, path: &str, is_watch: bool) -> Decision {
        let mut d = Decision::default();
        for (i, rule) in self.config.rules.iter().enumerate() {
            if !rule.matches(method, path, is_watch) {
                continue;
            }
            let n = self.counters[i];
            self.counters[i] += 1;
            if n < rule.skip || rule.times.is_some_and(|t| n >= rule.skip + t) {
                continue;
            }
            let h = mix64(self.config.seed ^ mix64((i as u64) << 40 ^ n));
            #[allow(clippy::cast_precision_loss)]
            let roll = (h >> 11) as f64 / (1u64 << 53) as f64;
            if roll >= rule.probability {
                continue;
            }
            // The first rule that decides the answer (an error, a 429 or no answer) wins.
            let terminal = d.error.is_some() || d.throttle.is_some() || d.hang || d.endless;
            match &rule.action {
                FaultAction::Latency(l) => d.latency += *l,
                FaultAction::Error(c) if !terminal => d.error = Some(*c),
                FaultAction::Throttle { retry_after_secs } if !terminal => {
                    d.throttle = Some(*retry_after_secs);
                }
                FaultAction::DropConnection { fraction } if d.drop.is_none() => {
                    d.drop = Some(*fraction);
                }
                FaultAction::CutWatch { after_events } if d.cut_watch.is_none() => {
                    d.cut_watch = Some(*after_events);
                }
                FaultAction::Hang if !terminal => d.hang = true,
                FaultAction::Endless if !terminal => d.endless = true,
                _ => {}
            }
        }
        d
    }
}

/// `*` matches any run of characters.
fn glob(pattern: &str, s: &str) -> bool {
    let p = pattern.as_bytes();
    let t = s.as_bytes();
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && p[pi] != b'*' && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some(pi);
            pi += 1;
            mark = ti;
        } else if let Some(sp) = star {
            pi = sp + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == b'*' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globbing() {
        assert!(glob(
            "/api/v1/namespaces/*/pods/*",
            "/api/v1/namespaces/a/pods/b"
        ));
        assert!(glob("*", ""));
        assert!(!glob("/api/v1/pods", "/api/v1/pods/x"));
        assert!(glob("/api/*", "/api/v1/pods"));
    }

    #[test]
    fn deterministic_for_a_seed() {
        let cfg = FaultConfig {
            seed: 42,
            rules: vec![FaultRule {
                probability: 0.3,
                ..FaultRule::always(FaultAction::Error(503))
            }],
        };
        let run = |cfg: &FaultConfig| {
            let mut s = FaultState::new(cfg.clone());
            (0..200)
                .map(|_| s.decide("GET", "/api/v1/pods", false).error.is_some())
                .collect::<Vec<_>>()
        };
        let a = run(&cfg);
        assert_eq!(a, run(&cfg));
        let hits = a.iter().filter(|x| **x).count();
        assert!((40..80).contains(&hits), "{hits}");
        let other = run(&FaultConfig {
            seed: 43,
            ..cfg.clone()
        });
        assert_ne!(a, other);
    }

    #[test]
    fn skip_times_and_scope() {
        let mut r = FaultRule::parse(
            "action=429,retry-after=2,method=delete,path=/api/v1/namespaces/*,skip=1,times=2",
        )
        .unwrap();
        assert_eq!(
            r.action,
            FaultAction::Throttle {
                retry_after_secs: 2
            }
        );
        r.probability = 1.0;
        let mut s = FaultState::new(FaultConfig {
            seed: 0,
            rules: vec![r],
        });
        let got: Vec<Option<u64>> = (0..5)
            .map(|_| {
                s.decide("DELETE", "/api/v1/namespaces/a/pods/b", false)
                    .throttle
            })
            .collect();
        assert_eq!(got, [None, Some(2), Some(2), None, None]);
        assert_eq!(
            s.decide("GET", "/api/v1/namespaces/a/pods/b", false)
                .throttle,
            None
        );
        let l = FaultRule::parse("action=latency,ms=15").unwrap();
        let mut s = FaultState::new(FaultConfig {
            seed: 0,
            rules: vec![l.clone(), l],
        });
        assert_eq!(
            s.decide("GET", "/", false).latency,
            Duration::from_millis(30)
        );
        assert!(FaultRule::parse("action=nope").is_err());
        assert_eq!(
            FaultRule::parse("action=cut-watch,events=3")
                .unwrap()
                .action,
            FaultAction::CutWatch { after_events: 3 }
        );
    }

    #[test]
    fn hang_is_scoped_and_decides_the_answer() {
        let r =
            FaultRule::parse("action=hang,method=DELETE,path=/api/v1/namespaces/*,skip=1,times=2")
                .unwrap();
        assert_eq!(r.action, FaultAction::Hang);
        let mut s = FaultState::new(FaultConfig {
            seed: 0,
            rules: vec![r, FaultRule::always(FaultAction::Error(503))],
        });
        let got: Vec<(bool, Option<u16>)> = (0..4)
            .map(|_| {
                let d = s.decide("DELETE", "/api/v1/namespaces/a/pods/b", false);
                (d.hang, d.error)
            })
            .collect();
        // a hang takes the place of the later 503 rule; outside its window the 503 applies
        assert_eq!(
            got,
            [
                (false, Some(503)),
                (true, None),
                (true, None),
                (false, Some(503))
            ]
        );
        let d = s.decide("GET", "/api/v1/namespaces/a/pods/b", false);
        assert!(!d.hang);
        // an earlier error rule wins over a later hang; latency adds up with a hang
        let mut s = FaultState::new(FaultConfig {
            seed: 0,
            rules: vec![
                FaultRule::parse("action=latency,ms=20").unwrap(),
                FaultRule::parse("action=hang,times=1").unwrap(),
                FaultRule::parse("action=hang").unwrap(),
            ],
        });
        let d = s.decide("GET", "/", false);
        assert!(d.hang);
        assert_eq!(d.describe().as_deref(), Some("latency=20ms hang"));
        let mut s = FaultState::new(FaultConfig {
            seed: 0,
            rules: vec![
                FaultRule::always(FaultAction::Error(500)),
                FaultRule::always(FaultAction::Hang),
            ],
        });
        let d = s.decide("GET", "/", false);
        assert_eq!((d.hang, d.error), (false, Some(500)));
    }
}
