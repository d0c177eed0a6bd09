//! The server's clock: real time plus a settable offset, or a fixed instant.
//!
//! Everything time-related in the server reads this clock: `Date` headers, `creationTimestamp`
//! of created pods, `deletionTimestamp`, table ages, and the expiry of graceful deletions.

use std::sync::Mutex;

use jiff::{SignedDuration, Timestamp};
use tokio::sync::Notify;

#[derive(Debug, Clone, Copy)]
enum Mode {
    Real { offset: SignedDuration },
    Fixed(Timestamp),
}

/// A clock that tests can move.
#[derive(Debug)]
pub struct Clock {
    mode: Mutex<Mode>,
    changed: Notify,
}

impl Default for Clock {
    fn default() -> Self {
        Self::real()
    }
}

impl Clock {
    /// A clock that follows real time.
    #[must_use]
    pub fn real() -> Self {
        Self {
            mode: Mutex::new(Mode::Real {
                offset: SignedDuration::ZERO,
            }),
            changed: Notify::new(),
        }
    }

    /// A clock stopped at `at` (it moves only when told to).
    #[must_use]
    pub fn fixed(at: Timestamp) -> Self {
        Self {
            mode: Mutex::new(Mode::Fixed(at)),
            changed: Notify::new(),
        }
    }

    fn mode(&self) -> std::sync::MutexGuard<'_, Mode> {
        self.mode
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The current server time.
    #[must_use]
    pub fn now(&self) -> Timestamp {
        match *self.mode() {
            Mode::Real { offset } => Timestamp::now()
                .saturating_add(offset)
                .unwrap_or(Timestamp::MAX),
            Mode::Fixed(t) => t,
        }
    }

    /// Stop the clock at `at`.
    pub fn set_fixed(&self, at: Timestamp) {
        *self.mode() = Mode::Fixed(at);
        self.changed.notify_waiters();
    }

    /// Follow real time shifted by `offset`.
    pub fn set_offset(&self, offset: SignedDuration) {
        *self.mode() = Mode::Real { offset };
        self.changed.notify_waiters();
    }

    /// Move the clock by `by` (forwards or backwards), keeping its mode.
    pub fn advance(&self, by: SignedDuration) {
        {
            let mut m = self.mode();
            *m = match *m {
                Mode::Real { offset } => Mode::Real {
                    offset: offset.saturating_add(by),
                },
                Mode::Fixed(t) => Mode::Fixed(t.saturating_add(by).unwrap_or(Timestamp::MAX)),
            };
        }
        self.changed.notify_waiters();
    }

    /// Whether the clock is stopped.
    #[must_use]
    pub fn is_fixed(&self) -> bool {
        matches!(*self.mode(), Mode::Fixed(_))
    }

    /// Resolves when the clock was set or moved.
    pub(crate) async fn changed(&self) {
        self.changed.notified().await;
    }
}

/// `2006-01-02T15:04:05Z`, the format of `metav1.Time`.
#[must_use]
pub fn format_rfc3339(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// RFC 7231 `IMF-fixdate`, as used in the `Date` header.
#[must_use]
pub fn format_http_date(t: Timestamp) -> String {
    t.strftime("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_and_advance() {
        let t: Timestamp = "2026-01-02T03:04:05Z".parse().unwrap();
        let c = Clock::fixed(t);
        assert_eq!(c.now(), t);
        c.advance(SignedDuration::from_secs(30));
        assert_eq!(format_rfc3339(c.now()), "2026-01-02T03:04:35Z");
        assert_eq!(format_http_date(c.now()), "Fri, 02 Jan 2026 03:04:35 GMT");
    }

    #[test]
    fn offset_clock_moves() {
        let c = Clock::real();
        c.set_offset(SignedDuration::from_hours(-24));
        let d = Timestamp::now().duration_since(c.now());
        assert!(d.as_secs() >= 86_399);
    }
}
