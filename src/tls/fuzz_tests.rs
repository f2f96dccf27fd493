//! Property tests: PEM and TLS option input of any shape is an error with a message, never a panic.
//! A small deterministic generator keeps them reproducible without extra crates.

use super::config::{client_context, server_context, TlsOptions};
use super::pem;

/// xorshift64*: deterministic bytes for reproducible runs.
struct Rng(u64);

impl Rng {
  fn next(&mut self) -> u64 {
    self.0 ^= self.0 >> 12;
    self.0 ^= self.0 << 25;
    self.0 ^= self.0 >> 27;
    self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
  }

  fn below(&mut self, n: usize) -> usize {
    (self.next() % n.max(1) as u64) as usize
  }

  fn bytes(&mut self, max: usize) -> Vec<u8> {
    let len = self.below(max + 1);
    (0..len).map(|_| self.next() as u8).collect()
  }
}

const HEADERS: &[&str] = &[
  "-----BEGIN CERTIFICATE-----\n",
  "-----END CERTIFICATE-----\n",
  "-----BEGIN PRIVATE KEY-----\n",
  "-----END PRIVATE KEY-----\n",
  "-----BEGIN ENCRYPTED PRIVATE KEY-----\n",
  "-----END ENCRYPTED PRIVATE KEY-----\n",
  "-----BEGIN EC PRIVATE KEY-----\n",
  "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n",
  "MIIBszCCAVmgAwIBAgIUY29vbA==\n",
  "====\n",
];

/// PEM-looking input: headers, base64-ish lines and raw bytes in random order.
fn pem_like(rng: &mut Rng) -> Vec<u8> {
  let mut out = Vec::new();
  for _ in 0..rng.below(8) {
    match rng.below(3) {
      0 => out.extend_from_slice(HEADERS[rng.below(HEADERS.len())].as_bytes()),
      1 => {
        let line: String = (0..rng.below(80))
          .map(|_| {
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="[rng.below(65)]
              as char
          })
          .collect();
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
      }
      _ => out.extend(rng.bytes(40)),
    }
  }
  out
}

#[test]
fn random_pem_never_panics() {
  let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
  for _ in 0..5_000 {
    let inputs: Vec<Vec<u8>> = (0..1 + rng.below(3)).map(|_| pem_like(&mut rng)).collect();
    if let Err(message) = pem::certificates(&inputs, "tls.cert") {
      assert!(message.starts_with("tls.cert"), "{message}");
    }
    let passphrase = if rng.below(2) == 0 {
      Some("secret")
    } else {
      None
    };
    if let Err(message) = pem::private_keys(&inputs, passphrase) {
      assert!(message.starts_with("tls."), "{message}");
    }
  }
}

#[test]
fn random_tls_options_never_panic() {
  let mut rng = Rng(42);
  for _ in 0..1_000 {
    let list = |rng: &mut Rng| (0..rng.below(3)).map(|_| pem_like(rng)).collect::<Vec<_>>();
    let opts = TlsOptions {
      key: list(&mut rng),
      cert: list(&mut rng),
      ca: list(&mut rng),
      passphrase: (rng.below(2) == 0).then(|| "pw".to_string()),
      request_cert: rng.below(2) == 0,
      reject_unauthorized: rng.below(2) == 0,
      alpn: (0..rng.below(3)).map(|_| rng.bytes(8)).collect(),
      server_name: (rng.below(2) == 0)
        .then(|| String::from_utf8_lossy(&rng.bytes(12)).into_owned()),
    };
    if let Err(message) = server_context(&opts) {
      assert!(message.contains("tls."), "{message}");
    }
    let _ = client_context(&opts);
  }
}

/// A real certificate and key (throwaway, EC P-256) to mutate.
const CERT: &str = "-----BEGIN CERTIFICATE-----\nMIIBhTCCASygAwIBAgIUFDOm/ct49pKTlKjRxdQ2MPg1HvkwCgYIKoZIzj0EAwIw\nEjEQMA4GA1UEAwwHVGVzdCBDQTAeFw0yNjExMjUxODU1NDlaFw0yNjEyMjUxODU1\nNDlaMBQxEjAQBgNVBAMMCWxvY2FsaG9zdDBZMBMGByqGSM49AgEGCCqGSM49AwEH\nA0IABEq8/i6TvXB6extllR+ZgyP5Ib/4u4kqeF+A4rtTL6yriZAAui7ot1ZXVS4c\nzzP/6d8mhUhDrXovvzs/7GfTYjOjXjBcMBoGA1UdEQQTMBGCCWxvY2FsaG9zdIcE\nfwAAATAdBgNVHQ4EFgQUnHVl0+mLhqbab/iyMA3+LsBBhv8wHwYDVR0jBBgwFoAU\nYFwJ5DyF9ffcQbyRj/5e216aoN0wCgYIKoZIzj0EAwIDRwAwRAIgdcxGRCrMyWCl\nIGt/yL5IKhnO2n88pYC6Wn/989Z79nwCIH08ARmQRZiex6L+9Yuh8SZcLVLPhjjr\n7Frk48lLWB9L\n-----END CERTIFICATE-----\n";
const KEY: &str = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgHsOw3P/u6BDA+++9\nLzz3hZA2C3VCk+aOGscUS99hNLehRANCAARKvP4uk71wensbZZUfmYMj+SG/+LuJ\nKnhfgOK7Uy+sq4mQALou6LdWV1UuHM8z/+nfJoVIQ616L787P+xn02Iz\n-----END PRIVATE KEY-----\n";
const ENCRYPTED_KEY: &str = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIHsMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAh/WpIpGAMi3wICCAAw\nDAYIKoZIhvcNAgkFADAdBglghkgBZQMEASoEEH0N6Jai1OV6qoYdBxEv4mIEgZDd\nN+/YUdEo/xeuCQcqTygHwQO3vr89zMFGiywJmk6T5AEVoy415hjZK+8bTXlYdRSl\nKjca+hG7HB5jL3C7MLH3GJviK3R9UIDcDFO1uk/M/IHZeIlZ80uQyv7Z+sZdjUnu\nNSLnjftSxy/Q7iJsyg9kiOVWKEjjSsnkh96CLyVliZ/8CfRJ9kncK8LhaRlaIqQ=\n-----END ENCRYPTED PRIVATE KEY-----\n";

#[test]
fn the_real_inputs_parse() {
  let opts = TlsOptions {
    key: vec![ENCRYPTED_KEY.as_bytes().to_vec()],
    cert: vec![CERT.as_bytes().to_vec()],
    passphrase: Some("secret".into()),
    ..TlsOptions::default()
  };
  assert!(server_context(&opts).is_ok());
  let wrong = TlsOptions {
    passphrase: Some("wrong".into()),
    ..opts
  };
  assert!(server_context(&wrong)
    .err()
    .is_some_and(|m| m.starts_with("tls.passphrase")));
}

#[test]
fn mutated_real_inputs_never_panic() {
  let mut rng = Rng(7);
  for round in 0..3_000 {
    let pick = |rng: &mut Rng, text: &str| {
      let mut bytes = text.as_bytes().to_vec();
      for _ in 0..1 + rng.below(4) {
        if bytes.is_empty() {
          bytes.push(rng.next() as u8);
        }
        let i = rng.below(bytes.len());
        match rng.below(3) {
          0 => bytes[i] = rng.next() as u8,
          1 => bytes.truncate(i),
          _ => bytes.insert(i, rng.next() as u8),
        }
      }
      bytes
    };
    let key = if round % 2 == 0 { KEY } else { ENCRYPTED_KEY };
    let opts = TlsOptions {
      key: vec![pick(&mut rng, key)],
      cert: vec![pick(&mut rng, CERT)],
      ca: vec![pick(&mut rng, CERT)],
      passphrase: Some("secret".into()),
      request_cert: true,
      reject_unauthorized: true,
      ..TlsOptions::default()
    };
    if let Err(message) = server_context(&opts) {
      assert!(message.contains("tls."), "{message}");
    }
  }
}
