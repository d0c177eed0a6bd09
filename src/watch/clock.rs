//! The API server's clock, as `watch` judges by it between requests.
//!
//! Owns: the estimate of how far the API server's clock is from the local one, from its `Date`
//! headers (whole seconds), erring only towards the past: a pod is never judged older than it
//! is on the server's clock, so it is never deleted early (design §3: ages are measured
//! against the API server's clock). Must not: send requests itself (the loop's probe task
//! does, through `k8s::cluster::clock_sample`).

use jiff::{SignedDuration, Timestamp};

use crate::k8s::cluster::ClockSample;

/// What one sample says of the offset (server minus local): it lies in `[low, high]`.
///
/// The server wrote the `Date` header at some local instant between sending and receiving, and
/// truncated its own time to the second: so its clock read at least `date` when the local one
/// read at most `received`, and less than `date + 1s` when the local one read at least `sent`.
#[must_use]
pub(crate) fn bounds(sample: &ClockSample) -> (SignedDuration, SignedDuration) {
    let low = sample.date.duration_since(sample.received);
    let high = sample.date.duration_since(sample.sent) + SignedDuration::from_secs(1);
    (low, high)
}

/// The offset to judge by after several samples: the highest lower bound, which is never more
/// than the true offset. A sample taken just after the server's second ticked over is within
/// the round trip of the truth, which is why the probe samples until it sees the tick.
#[must_use]
pub(crate) fn estimate(samples: &[ClockSample]) -> Option<SignedDuration> {
    samples.iter().map(|s| bounds(s).0).max()
}

/// Whether a new sample contradicts the estimate (the server's clock was moved, or the local
/// one): its bounds exclude it by more than `slack`.
#[must_use]
pub(crate) fn contradicts(
    estimate: SignedDuration,
    sample: &ClockSample,
    slack: SignedDuration,
) -> bool {
    let (low, high) = bounds(sample);
    low > estimate + slack || high < estimate
}

/// The server's time now, by the estimate.
#[must_use]
pub(crate) fn server_now(offset: SignedDuration) -> Timestamp {
    Timestamp::now()
        .checked_add(offset)
        .unwrap_or_else(|_| Timestamp::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: i64) -> Timestamp {
        Timestamp::from_millisecond(1_800_000_000_000 + ms).unwrap()
    }

    /// A sample of a server whose clock is `offset_ms` ahead, answering `rtt_ms` after `at_ms`
    /// (local), having written its header in the middle of the round trip.
    fn sample(at_ms: i64, rtt_ms: i64, offset_ms: i64) -> ClockSample {
        let written = at_ms + rtt_ms / 2 + offset_ms;
        let date_ms = (1_800_000_000_000 + written).div_euclid(1000) * 1000 - 1_800_000_000_000;
        ClockSample {
            date: t(date_ms),
            sent: t(at_ms),
            received: t(at_ms + rtt_ms),
        }
    }

    #[test]
    fn the_estimate_never_exceeds_the_true_offset_and_tightens_with_samples() {
        for offset in [-86_400_000, -1500, -1, 0, 1, 250, 999, 3_600_000] {
            let samples: Vec<ClockSample> =
                (0..12).map(|i| sample(i * 100 + 7, 4, offset)).collect();
            let estimate = estimate(&samples).unwrap();
            let truth = SignedDuration::from_millis(offset);
            assert!(estimate <= truth, "offset {offset}: {estimate:?}");
            assert!(
                truth - estimate <= SignedDuration::from_millis(110),
                "offset {offset}: estimate {estimate:?} is far from it"
            );
            for s in &samples {
                let (low, high) = bounds(s);
                assert!(low <= truth && truth <= high);
                assert!(!contradicts(estimate, s, SignedDuration::from_millis(250)));
            }
        }
    }

    #[test]
    fn a_moved_server_clock_contradicts_the_estimate() {
        let before = estimate(&[sample(0, 4, 0), sample(500, 4, 0)]).unwrap();
        assert!(contradicts(
            before,
            &sample(1000, 4, 600_000),
            SignedDuration::from_millis(250)
        ));
        assert!(contradicts(
            before,
            &sample(1000, 4, -5_000),
            SignedDuration::from_millis(250)
        ));
    }
}
