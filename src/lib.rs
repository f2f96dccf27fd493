#![deny(clippy::all)]
// napi-derive registers the exported functions only outside `cargo test`.
#![cfg_attr(test, allow(dead_code))]
//! node-bun-tcp: Bun's TCP socket API for Node.js.
//!
//! A byte's path, by file: a turn of the loop (`reactor/event_loop/read.rs`) reads it from the
//! kernel into the turn's `batch.rs`, on the loop thread, or on the JS thread while JS is busy
//! (the baton, `reactor/mod.rs`); `dispatch.rs` hands the batch to the JS dispatcher
//! (`lib/dispatch.js`), copied or, when big, as the arena itself (`arena.rs`), and the dispatcher
//! calls the socket's `data` handler. A `write()` goes from `lib/socket.js` through
//! `api/socket.rs` to `socket_core.rs`, which sends it from the JS thread.

pub mod batch;
pub mod clock;
pub mod errors;
pub mod ids;
pub mod listener;
pub mod reactor;
pub mod socket_core;
pub mod tls;

mod api;
mod arena;
mod dispatch;
mod env_state;
mod host_loop;
mod read_pool;
