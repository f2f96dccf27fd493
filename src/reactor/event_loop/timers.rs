//! Inactivity timers, the accept retry, lingering sockets' deadlines and connect attempts' time
//! limits, checked only when a deadline may have passed.

use std::sync::atomic::Ordering;

use super::{slot_in, EventLoop, Slot};
use crate::batch;
use crate::clock::now_ms;

impl EventLoop {
  pub(super) fn watch(&mut self, id: u32) {
    let Some(Slot::Open(open)) = self.slot_mut(id) else {
      return;
    };
    let ms = open.core.timeout_ms.load(Ordering::SeqCst);
    if ms == 0 {
      return;
    }
    let deadline = open
      .core
      .last_active_ms
      .load(Ordering::Relaxed)
      .saturating_add(ms);
    if !open.timed {
      open.timed = true;
      self.timed.push(id);
    }
    self.next_timer_check = Some(self.next_timer_check.map_or(deadline, |t| t.min(deadline)));
  }

  pub(super) fn run_timers(&mut self) {
    let now = now_ms();
    self.shared.arenas.trim(now);
    if self.accept_retry_at.is_some_and(|at| now >= at) {
      self.accept_retry_at = None;
      for id in std::mem::take(&mut self.accept_retry) {
        self.accept(id);
      }
    }
    if self.next_timer_check.is_none_or(|at| now < at) {
      return;
    }
    let mut next: Option<u64> = None;
    let mut keep = |at: u64| next = Some(next.map_or(at, |n: u64| n.min(at)));
    let mut fired = Vec::new();
    self.timed.retain(|&id| {
      let Some(Slot::Open(open)) = slot_in(&mut self.slots, id) else {
        return false;
      };
      let ms = open.core.timeout_ms.load(Ordering::SeqCst);
      let deadline = open
        .core
        .last_active_ms
        .load(Ordering::Relaxed)
        .saturating_add(ms);
      if ms != 0 && now < deadline {
        keep(deadline);
        return true;
      }
      // Disarm unless JS re-armed it meanwhile; JS arms it again from the handler if it wants.
      if ms != 0
        && open
          .core
          .timeout_ms
          .compare_exchange(ms, 0, Ordering::SeqCst, Ordering::SeqCst)
          .is_ok()
      {
        fired.push(id);
      }
      open.timed = false;
      false
    });
    for id in fired {
      self.local.push(batch::TIMEOUT, id, 0, 0);
    }
    let mut expired = Vec::new();
    let mut waiting = Vec::new();
    for &id in &self.lingering {
      if let Some(Slot::Lingering(l)) = self.slot(id) {
        if now >= l.deadline {
          expired.push(id);
        } else {
          keep(l.deadline);
          if l.fin_sent {
            waiting.push(id);
          }
        }
      }
    }
    for id in expired {
      self.drop_lingering(id);
    }
    for id in waiting {
      if let Some(at) = self.recheck_lingering(id) {
        keep(at);
      }
    }
    if let Some(at) = self.expire_attempts(now) {
      keep(at);
    }
    self.next_timer_check = next;
  }
}
