//! Fixed budgets for what a server can make the proxy hold while the client reads slower than the
//! server writes, and the waits that turn a spent budget into backpressure.
//!
//! Two budgets: the stdout queue ([`StdoutBudget`], messages waiting for the client) and the spool
//! on disk ([`SPOOL_BUDGET`], large messages in temporary files). Taking from a budget never waits
//! and never fails, so no message is dropped and the proxy's own answers always go out; what waits
//! is reading: a transport waits for room before it reads the next piece of a server body (the
//! socket's buffers fill and TCP backpressure reaches the server), and the stdin reader waits before
//! it reads the next client line. A budget is so overrun by at most one read piece per reader.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use tokio::sync::Notify;

/// At most this many bytes of messages wait in memory for stdout before readers stop reading:
/// enough to keep a pipe busy, small against a desktop app's memory.
pub const STDOUT_BUDGET: usize = 4 << 20;
/// What a queued message costs beyond its bytes: its place in the queue.
const QUEUED_OVERHEAD: usize = 64;
/// At most this many bytes of spool files exist before spool writers stop reading; the one writer
/// that must go on for the others to make progress may pass it by one message (see
/// [`DiskClaim::room`]).
pub const SPOOL_BUDGET: u64 = 256 << 20;

/// The bytes queued for stdout; one per outbox, shared by its senders and its writer.
#[derive(Debug, Default)]
pub struct StdoutBudget {
    queued: AtomicUsize,
    /// The writer ended: nobody will release, nobody should wait.
    closed: AtomicBool,
    room: Notify,
}

impl StdoutBudget {
    /// A message of `bytes` was queued.
    pub(crate) fn take(&self, bytes: usize) {
        self.queued.fetch_add(bytes + QUEUED_OVERHEAD, Ordering::AcqRel);
    }

    /// A message of `bytes` was written (or dropped).
    pub(crate) fn give_back(&self, bytes: usize) {
        let cost = bytes + QUEUED_OVERHEAD;
        let before = self.queued.fetch_sub(cost, Ordering::AcqRel);
        if before >= STDOUT_BUDGET && before - cost < STDOUT_BUDGET {
            self.room.notify_waiters();
        }
    }

    /// The writer is gone: waiters go on (what they send next is dropped with the queue).
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.room.notify_waiters();
    }

    fn has_room(&self) -> bool {
        self.queued.load(Ordering::Acquire) < STDOUT_BUDGET || self.closed.load(Ordering::Acquire)
    }

    /// Waits until the queue is under [`STDOUT_BUDGET`]. Cancel-safe.
    pub async fn room(&self) {
        while !self.has_room() {
            let notified = self.room.notified();
            // Registered before the second look, so a release in between is not missed.
            if self.has_room() {
                return;
            }
            notified.await;
        }
    }

    /// The bytes queued now, overhead included.
    #[cfg(test)]
    pub(crate) fn queued(&self) -> usize {
        self.queued.load(Ordering::Acquire)
    }
}

/// Spool bytes in use.
#[derive(Debug)]
struct Disk {
    /// Bytes of messages still being written.
    partial: u64,
    /// Bytes of complete messages not yet written to stdout.
    complete: u64,
    /// The tickets of the writers at work; the first is the oldest.
    writers: BTreeSet<u64>,
    next_ticket: u64,
}

/// The spool's bytes on disk, one for the whole process ([`SPOOL`]): there is one disk.
#[derive(Debug)]
pub(crate) struct DiskBudget {
    disk: Mutex<Disk>,
    room: Notify,
}

/// The process's spool budget.
pub(crate) static SPOOL: DiskBudget = DiskBudget::new();

impl DiskBudget {
    const fn new() -> Self {
        let disk = Disk { partial: 0, complete: 0, writers: BTreeSet::new(), next_ticket: 0 };
        Self { disk: Mutex::new(disk), room: Notify::const_new() }
    }

    fn disk(&self) -> std::sync::MutexGuard<'_, Disk> {
        self.disk.lock().expect("poisoned")
    }
}

/// The spool bytes of one message being written.
#[derive(Debug)]
pub(crate) struct DiskClaim {
    budget: &'static DiskBudget,
    ticket: u64,
    bytes: u64,
}

impl DiskClaim {
    pub(crate) fn new(budget: &'static DiskBudget) -> Self {
        let mut disk = budget.disk();
        let ticket = disk.next_ticket;
        disk.next_ticket += 1;
        disk.writers.insert(ticket);
        Self { budget, ticket, bytes: 0 }
    }

    /// `bytes` more were written.
    pub(crate) fn grow(&mut self, bytes: u64) {
        self.budget.disk().partial += bytes;
        self.bytes += bytes;
    }

    /// Whether this writer may write on: the spool is under [`SPOOL_BUDGET`], or it is the oldest
    /// writer and every byte over the budget belongs to messages still being written. Without
    /// that exception, writers that between them hold the whole budget would wait for each other
    /// forever; with it, the spool stays under the budget plus one message
    /// ([`crate::spool::MAX_MESSAGE`]).
    fn may_grow(&self) -> bool {
        let disk = self.budget.disk();
        disk.partial + disk.complete < SPOOL_BUDGET
            || (disk.complete == 0 && disk.writers.first() == Some(&self.ticket))
    }

    /// Waits until this writer may write on. Cancel-safe.
    pub(crate) async fn room(&self) {
        while !self.may_grow() {
            let notified = self.budget.room.notified();
            // Registered before the second look, so a release in between is not missed.
            if self.may_grow() {
                return;
            }
            notified.await;
        }
    }

    /// The message is complete: its bytes now wait for stdout. Dropping `self` ends the writer's
    /// turn and wakes the waiters.
    pub(crate) fn finish(mut self) -> DiskHold {
        let bytes = std::mem::take(&mut self.bytes);
        let mut disk = self.budget.disk();
        disk.partial -= bytes;
        disk.complete += bytes;
        DiskHold { budget: self.budget, bytes }
    }
}

impl Drop for DiskClaim {
    fn drop(&mut self) {
        {
            let mut disk = self.budget.disk();
            disk.partial -= self.bytes;
            disk.writers.remove(&self.ticket);
        }
        self.budget.room.notify_waiters();
    }
}

/// The spool bytes of one complete message, given back when it is dropped (written or not).
#[derive(Debug)]
pub(crate) struct DiskHold {
    budget: &'static DiskBudget,
    bytes: u64,
}

impl Drop for DiskHold {
    fn drop(&mut self) {
        self.budget.disk().complete -= self.bytes;
        self.budget.room.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::FutureExt;
    use std::time::Duration;

    #[tokio::test]
    async fn a_full_stdout_queue_holds_readers_until_it_drains() {
        let budget = std::sync::Arc::new(StdoutBudget::default());
        budget.take(STDOUT_BUDGET);
        let waiter = tokio::spawn({
            let budget = budget.clone();
            async move { budget.room().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        budget.give_back(STDOUT_BUDGET);
        tokio::time::timeout(Duration::from_secs(5), waiter).await.expect("woken").unwrap();
        assert_eq!(budget.queued(), 0);
        budget.take(STDOUT_BUDGET);
        budget.close();
        budget.room().await;
    }

    fn may_write(claim: &DiskClaim) -> bool {
        claim.room().now_or_never().is_some()
    }

    #[test]
    fn writers_that_fill_the_spool_between_them_do_not_wait_for_each_other() {
        let budget: &'static DiskBudget = Box::leak(Box::new(DiskBudget::new()));
        let (mut older, mut younger) = (DiskClaim::new(budget), DiskClaim::new(budget));
        older.grow(SPOOL_BUDGET / 2);
        younger.grow(SPOOL_BUDGET / 2);
        assert!(may_write(&older), "the oldest writer goes on past the budget");
        assert!(!may_write(&younger));
        older.grow(SPOOL_BUDGET / 4);
        let waiting = older.finish();
        assert!(!may_write(&younger), "now the oldest, but a complete message can drain first");
        drop(waiting);
        assert!(may_write(&younger), "the complete message was written");
        younger.grow(SPOOL_BUDGET / 2);
        assert!(may_write(&younger), "the oldest again, with nothing complete in the way");
        let third = DiskClaim::new(budget);
        assert!(!may_write(&third), "over the budget, and not the oldest");
        drop(younger);
        assert!(may_write(&third));
        drop(third);
        let disk = budget.disk();
        assert_eq!((disk.partial, disk.complete, disk.writers.len()), (0, 0, 0));
    }
}
