//! What one Node environment (the main thread or a worker) holds: its loop thread, the JS thread's
//! view of every socket and listener by id, and the threadsafe function that wakes its dispatcher.
//! Kept as Node-API instance data, so each environment has its own and none is shared.

use std::ffi::c_void;
use std::ptr;
use std::sync::Arc;

use napi::{sys, Env, Error, Result, Status};

use crate::batch::Batch;
use crate::ids::index;
use crate::listener::ListenerCore;
use crate::reactor::{Command, Shared};
use crate::read_pool::ReadPool;
use crate::socket_core::SocketCore;

pub struct EnvState {
  pub shared: Arc<Shared>,
  sockets: Vec<Option<Arc<SocketCore>>>,
  listeners: Vec<Option<Arc<ListenerCore>>>,
  /// The batch JS is dispatching; its buffers are reused turn after turn.
  pub inbox: Batch,
  /// The Int32Array every batch's events are copied into (JS reads it only during the dispatch
  /// call): one array for the environment's life rather than one per batch.
  pub events: Option<EventsArray>,
  /// Where small batches' bytes go for JS (read_pool.rs).
  pub read_pool: Option<ReadPool>,
  /// JS keeps the baton after a batch, to wait for the next event when its event loop is about to
  /// sleep (host_loop.rs); false where libuv is out of reach.
  pub lingers: bool,
  /// worker_threads' `markAsUntransferable`, applied to every read pool.
  pub untransferable: sys::napi_ref,
  pub tsfn: sys::napi_threadsafe_function,
  /// Commands issued from handlers, sent with one wake-up when the dispatch ends.
  deferred: Vec<Command>,
  pub in_dispatch: bool,
}

impl EnvState {
  pub fn new(
    shared: Arc<Shared>,
    tsfn: sys::napi_threadsafe_function,
    untransferable: sys::napi_ref,
    lingers: bool,
  ) -> Self {
    EnvState {
      shared,
      sockets: Vec::new(),
      listeners: Vec::new(),
      inbox: Batch::default(),
      events: None,
      read_pool: None,
      lingers,
      untransferable,
      tsfn,
      deferred: Vec::new(),
      in_dispatch: false,
    }
  }

  /// This environment's state. Every call from JS starts here, so it is one Node-API call: napi-rs's
  /// typed instance data checks the pointer in a process-wide locked registry on every access.
  pub fn get(env: &Env) -> Result<&'static mut EnvState> {
    let data = instance_data(env).ok_or_else(|| {
      Error::new(
        Status::GenericFailure,
        "node-bun-tcp: init() was not called",
      )
    })?;
    // SAFETY: `install` stored a leaked `Box<EnvState>`, freed only by `finalize` when the
    // environment ends; calls come on its JS thread one at a time.
    Ok(unsafe { &mut *data.cast::<EnvState>() })
  }

  /// Whether `install` ran for this environment.
  pub fn installed(env: &Env) -> bool {
    instance_data(env).is_some()
  }

  /// Makes `self` this environment's state, freed when the environment ends.
  pub fn install(self, env: &Env) -> Result<()> {
    let data = Box::into_raw(Box::new(self));
    // SAFETY: `data` is a leaked box that `finalize` takes back once.
    let status = unsafe {
      sys::napi_set_instance_data(env.raw(), data.cast(), Some(finalize), ptr::null_mut())
    };
    if status != sys::Status::napi_ok {
      // SAFETY: Node did not take it; still ours alone.
      drop(unsafe { Box::from_raw(data) });
      return Err(Error::new(
        Status::from(status),
        "node-bun-tcp: napi_set_instance_data failed",
      ));
    }
    Ok(())
  }

  pub fn socket(&self, id: u32) -> Option<&Arc<SocketCore>> {
    self.sockets.get(index(id))?.as_ref().filter(|c| c.id == id)
  }

  pub fn insert_socket(&mut self, core: Arc<SocketCore>) {
    put(&mut self.sockets, core.id, core);
  }

  pub fn remove_socket(&mut self, id: u32) -> Option<Arc<SocketCore>> {
    let entry = self.sockets.get_mut(index(id))?;
    if entry.as_ref()?.id != id {
      return None;
    }
    entry.take()
  }

  pub fn insert_listener(&mut self, core: Arc<ListenerCore>) {
    put(&mut self.listeners, core.id, core);
  }

  pub fn listener(&self, id: u32) -> Option<&Arc<ListenerCore>> {
    self
      .listeners
      .get(index(id))?
      .as_ref()
      .filter(|c| c.id == id)
  }

  pub fn remove_listener(&mut self, id: u32) -> Option<Arc<ListenerCore>> {
    let entry = self.listeners.get_mut(index(id))?;
    if entry.as_ref()?.id != id {
      return None;
    }
    entry.take()
  }

  /// Sends a command to the loop; inside a dispatch it waits for the dispatch's end.
  pub fn send(&mut self, cmd: Command) {
    if self.in_dispatch {
      self.deferred.push(cmd);
    } else {
      self.shared.send(cmd);
    }
  }

  pub fn flush_deferred(&mut self) {
    if !self.deferred.is_empty() {
      self.shared.send_all(self.deferred.drain(..));
    }
  }
}

/// A persistent `Int32Array`: a reference that keeps it alive and where its words are.
pub struct EventsArray {
  pub array: sys::napi_ref,
  pub words: *mut i32,
  pub capacity: usize,
}

fn put<T>(table: &mut Vec<Option<T>>, id: u32, value: T) {
  let i = index(id);
  if table.len() <= i {
    table.resize_with(i + 1, || None);
  }
  table[i] = Some(value);
}

unsafe extern "C" fn finalize(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
  // SAFETY: `data` is the box `install` leaked; Node finalizes instance data once.
  drop(unsafe { Box::from_raw(data.cast::<EnvState>()) });
}

/// What this environment's instance-data slot holds (what `install` put there), if anything.
fn instance_data(env: &Env) -> Option<*mut c_void> {
  let mut data: *mut c_void = ptr::null_mut();
  // SAFETY: valid out-pointer; Node keeps instance data per environment and per addon.
  let status = unsafe { sys::napi_get_instance_data(env.raw(), &mut data) };
  (status == sys::Status::napi_ok && !data.is_null()).then_some(data)
}
