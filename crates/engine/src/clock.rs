//! The lab's virtual clock: real time plus an offset an exercise can advance, so that key
//! rotation and scheduled deletion really happen without waiting days. Signature checks use
//! the real clock; everything KMS and S3 record or schedule uses this one.

use std::sync::atomic::{AtomicI64, Ordering};

use time::OffsetDateTime;

/// Real time shifted by a persistent offset.
#[derive(Debug, Default)]
pub struct Clock {
    offset_secs: AtomicI64,
}

impl Clock {
    /// A clock with the given offset in seconds.
    pub fn with_offset(offset_secs: i64) -> Clock {
        Clock {
            offset_secs: AtomicI64::new(offset_secs),
        }
    }

    /// The current virtual time.
    pub fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
            + time::Duration::seconds(self.offset_secs.load(Ordering::Relaxed))
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: time::Duration) {
        self.offset_secs
            .fetch_add(by.whole_seconds().max(0), Ordering::Relaxed);
    }

    /// The offset from real time, in seconds.
    pub fn offset_secs(&self) -> i64 {
        self.offset_secs.load(Ordering::Relaxed)
    }
}

/// Seconds since the epoch as AWS JSON protocols write timestamps.
pub fn epoch_seconds(t: OffsetDateTime) -> f64 {
    t.unix_timestamp_nanos() as f64 / 1e9
}
