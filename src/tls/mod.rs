//! TLS with rustls: option parsing, verification with Node's error codes, the per-connection
//! session the loop thread pumps, and peer-certificate descriptions.

pub mod cert_chain;
mod cert_ext;
pub mod cert_info;
pub mod cert_key;
mod cert_names;
mod ciphers;
pub mod config;
mod der;
mod identity;
pub mod pem;
mod pkcs12_pbe;
pub mod session;
mod v1_certs;
pub mod verify;

#[cfg(test)]
mod fuzz_tests;
