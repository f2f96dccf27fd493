//! The functions the JS layer (`lib/`) calls. Validation happens in JS; these trust their types
//! but never the ids or ranges they are given.

mod connect;
mod listen;
mod raw_calls;
mod setup;
mod socket;
mod tls;
