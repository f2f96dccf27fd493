//! The pool small batches' bytes are copied into before JS sees them.
//!
//! A fresh Buffer per batch (`napi_create_buffer_copy`: a malloc, a V8 backing store, an
//! ArrayBuffer and a Buffer object, and their finalization later) was 5% of a pipelining client's
//! CPU. Instead, small batches are appended to one pool Buffer, as Node's `Buffer.allocUnsafe`
//! slices its pool: JS gets the pool and the batch's offset in it, and the chunks handlers see are
//! views into it. Bytes are only ever appended, never rewritten, so a chunk a handler keeps stays
//! intact; a full pool is dropped (it lives on while chunks view it) and a new one made.

use std::ffi::c_void;
use std::ptr;

use napi::{sys, Env, Result};

use crate::dispatch::{check, keep};

/// One pool's size: Node's read size, so a retained chunk pins at most what a `node:net` read
/// buffer would.
const POOL_SIZE: usize = 64 << 10;
/// Bigger batches get a Buffer of their own (or the arena itself, see arena.rs).
pub const POOL_MAX_BATCH: usize = 16 << 10;

pub struct ReadPool {
  /// A strong reference to the pool Buffer.
  buffer: sys::napi_ref,
  /// Its memory, as Node reported it when the pool was made.
  data: *mut u8,
  used: usize,
}

impl ReadPool {
  /// Copies `bytes` (at most `POOL_MAX_BATCH`) into `pool`, making a new pool when it has no room.
  /// Returns the pool Buffer and the bytes' offset in it.
  pub fn append(
    pool: &mut Option<ReadPool>,
    env: &Env,
    untransferable: sys::napi_ref,
    bytes: &[u8],
  ) -> Result<(sys::napi_value, usize)> {
    debug_assert!(bytes.len() <= POOL_MAX_BATCH);
    if let Some(current) = pool.as_mut() {
      if current.used + bytes.len() <= POOL_SIZE {
        if let Some(buffer) = current.live_buffer(env)? {
          return Ok((buffer, current.put(bytes)));
        }
      }
    }
    if let Some(old) = pool.take() {
      // SAFETY: JS thread; the reference is ours and not used again. Chunks keep the Buffer.
      unsafe { sys::napi_delete_reference(env.raw(), old.buffer) };
    }
    let (fresh, buffer) = ReadPool::new(env, untransferable)?;
    let current = pool.insert(fresh);
    Ok((buffer, current.put(bytes)))
  }

  /// A new pool, its ArrayBuffer marked untransferable (by `untransferable`, a reference to
  /// `markAsUntransferable`).
  fn new(env: &Env, untransferable: sys::napi_ref) -> Result<(ReadPool, sys::napi_value)> {
    let mut data: *mut c_void = ptr::null_mut();
    let mut buffer = ptr::null_mut();
    let mut mark = ptr::null_mut();
    let mut array_buffer = ptr::null_mut();
    let mut ignored = ptr::null_mut();
    // SAFETY: JS thread, valid out-pointers; the reference below keeps the Buffer (and its memory)
    // alive.
    unsafe {
      check(
        sys::napi_create_buffer(env.raw(), POOL_SIZE, &mut data, &mut buffer),
        "napi_create_buffer",
      )?;
      check(
        sys::napi_get_typedarray_info(
          env.raw(),
          buffer,
          ptr::null_mut(),
          ptr::null_mut(),
          ptr::null_mut(),
          &mut array_buffer,
          ptr::null_mut(),
        ),
        "napi_get_typedarray_info",
      )?;
      check(
        sys::napi_get_reference_value(env.raw(), untransferable, &mut mark),
        "napi_get_reference_value",
      )?;
      check(
        sys::napi_call_function(env.raw(), mark, mark, 1, &array_buffer, &mut ignored),
        "markAsUntransferable",
      )?;
    }
    let pool = ReadPool {
      buffer: keep(env, buffer)?,
      data: data.cast(),
      used: 0,
    };
    Ok((pool, buffer))
  }

  /// The pool Buffer, or None if JS detached its memory (`ArrayBuffer.prototype.transfer`): then
  /// the memory may belong to someone else and is never written again.
  fn live_buffer(&self, env: &Env) -> Result<Option<sys::napi_value>> {
    let mut buffer = ptr::null_mut();
    let mut data: *mut c_void = ptr::null_mut();
    let mut len = 0usize;
    // SAFETY: JS thread; a strong reference to a live Buffer; valid out-pointers.
    unsafe {
      check(
        sys::napi_get_reference_value(env.raw(), self.buffer, &mut buffer),
        "napi_get_reference_value",
      )?;
      check(
        sys::napi_get_buffer_info(env.raw(), buffer, &mut data, &mut len),
        "napi_get_buffer_info",
      )?;
    }
    Ok((len == POOL_SIZE && data.cast() == self.data).then_some(buffer))
  }

  /// Appends `bytes` (which fit) and returns their offset; the next batch starts 8-aligned.
  fn put(&mut self, bytes: &[u8]) -> usize {
    let at = self.used;
    // SAFETY: `data` is the pool's live memory of POOL_SIZE bytes (checked by `live_buffer`, or
    // just made), `at + bytes.len() <= POOL_SIZE`, and JS runs nothing while we copy.
    unsafe { ptr::copy_nonoverlapping(bytes.as_ptr(), self.data.add(at), bytes.len()) };
    self.used = (at + bytes.len() + 7) & !7;
    at
  }
}
