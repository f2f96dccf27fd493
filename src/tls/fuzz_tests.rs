//! Property tests: PEM and TLS option input of any shape is an error with a message, never a panic.
//! A small deterministic generator keeps them reproducible without extra crates.

use super::cert_chain;
use super::cert_info;
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
      ciphers: (rng.below(2) == 0).then(|| String::from_utf8_lossy(&rng.bytes(12)).into_owned()),
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

/// Throwaway certificates with every extension the descriptions read (SAN with IPv6, AIA, EKU,
/// key identifiers, basic constraints, key usage): an RSA leaf from a root, an EC P-256 leaf from
/// a P-384 intermediate, the intermediate and the RSA root.
const CHAIN: &str = "-----BEGIN CERTIFICATE-----\nMIIEwjCCA6qgAwIBAgIGChssPU5fMA0GCSqGSIb3DQEBCwUAMG0xCzAJBgNVBAYT\nAlVTMQswCQYDVQQIDAJDQTEVMBMGA1UECgwMU2NyYXRjaCBSb290MQ8wDQYDVQQL\nDAZVbml0IEExDzANBgNVBAsMBlVuaXQgQjEYMBYGA1UEAwwPU2NyYXRjaCBSb290\nIENBMB4XDTI2MTEyNjA1NDUzMFoXDTI5MDIyODA1NDUzMFowcjELMAkGA1UEBhMC\nREUxDzANBgNVBAcMBkJlcmxpbjEQMA4GA1UECgwHU2NyYXRjaDEMMAoGA1UECwwD\nV2ViMRIwEAYDVQQDDAlsb2NhbGhvc3QxHjAcBgkqhkiG9w0BCQEWD29wc0BleGFt\ncGxlLmNvbTCCASIwDQYJKoZIhvcNAQEBBQADggEPADCCAQoCggEBAJXZXhqOzM3Y\nVuH+BA8k6+jy7sdnJ+YEmxrp1nVhpau+3Pw3RQYOl8KSPckEDASl1OawseC+qkMr\nH12JXiPOL1GNOUD4L+0PpKLaI3RKYCrGhEmaksyYCc6lRefL5m0xktUI765JAuCc\n0m4xgAe1TS2ikUnqA+baiZgpfJwegA0T5evBpt1EPdato//Y+f2hNV03q7x/0/ne\nBJCw2yq1oTQPfYSZBlxVtu3U3cCmelW8i6Snp8AEefL/3Ml6bwdMqUBqK4/8Qf7r\n0eZkXgIdCBSANcPqd9mEeI54E9CBymdDxNqL1USXxZ2Bg184U/Ytub2TYQyJnBBI\nzbZHuGJd4scCAwEAAaOCAWEwggFdMAwGA1UdEwEB/wQCMAAwDgYDVR0PAQH/BAQD\nAgWgMB0GA1UdJQQWMBQGCCsGAQUFBwMBBggrBgEFBQcDAjBTBgNVHREETDBKggls\nb2NhbGhvc3SHBH8AAAGHEAAAAAAAAAAAAAAAAAAAAAGHECABDbgAAAAAAAAAAAAA\nq82BBWFAYi5jhgxodHRwOi8veC55L3owHQYDVR0OBBYEFPudOz7pVmcqGmp/WWAi\n8YssM5s9MB8GA1UdIwQYMBaAFCeOaThxK2OOo2CAzborF8JoPlsbMIGIBggrBgEF\nBQcBAQR8MHowJAYIKwYBBQUHMAGGGGh0dHA6Ly9vY3NwLmV4YW1wbGUuY29tLzAl\nBggrBgEFBQcwAYYZaHR0cDovL29jc3AyLmV4YW1wbGUuY29tLzArBggrBgEFBQcw\nAoYfaHR0cDovL2NhLmV4YW1wbGUuY29tL2ludGVyLmNydDANBgkqhkiG9w0BAQsF\nAAOCAQEAhGdAbL+oUBzpAgfETb8A7Iv1BDMD2XKD9OMqfO/AT6+WbZEjcSHxlbRo\nF4YbiwSYMGflOvkOB/jbPD/UV9ZENKHSWQ4pINiqsxSbZvPRSJcEQrGyGc7vDnqX\nC5pQ4Ikqv7yWc2/YaX/Vp3DF19s5/4e3zM9qeGJdw5jf2tmiYGJSSnJsm3t4+tx6\nd1wvhj92/Z+bUHPYf9D1AUvRqIoitnhMST6HnVBVOAWuDjZs8l87A0vEWHNCLCpX\n6hhVzLdVor/78EIIkM6In84Vf14u+3FUJKeOegWZngR9lmenB5di+6UVa9vEZfbG\nGKwRE/VkEHEUIxVVu29+shwIU2Bakg==\n-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\nMIICyjCCAlCgAwIBAgICAIAwCgYIKoZIzj0EAwIwMTEQMA4GA1UECgwHU2NyYXRj\naDEdMBsGA1UEAwwUU2NyYXRjaCBJbnRlcm1lZGlhdGUwHhcNMjYxMTI2MDU0NTMw\nWhcNMjkwMjI4MDU0NTMwWjAmMRAwDgYDVQQKDAdTY3JhdGNoMRIwEAYDVQQDDAls\nb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAT7aDU+o8bvjhEpC5YG\npMbI9BUCgjfCPRaoow1lRZvDLi5e7peOBzaQ5r2G9lFE3gZhm4WzYWmofPNDIpCs\nmk+6o4IBYTCCAV0wDAYDVR0TAQH/BAIwADAOBgNVHQ8BAf8EBAMCBaAwHQYDVR0l\nBBYwFAYIKwYBBQUHAwEGCCsGAQUFBwMCMFMGA1UdEQRMMEqCCWxvY2FsaG9zdIcE\nfwAAAYcQAAAAAAAAAAAAAAAAAAAAAYcQIAENuAAAAAAAAAAAAACrzYEFYUBiLmOG\nDGh0dHA6Ly94LnkvejAdBgNVHQ4EFgQUdzRa1zqArv+cuaLUzYdss6y5Jc0wHwYD\nVR0jBBgwFoAU8LswG9LA4HHBaUODLvecsrLyrGkwgYgGCCsGAQUFBwEBBHwwejAk\nBggrBgEFBQcwAYYYaHR0cDovL29jc3AuZXhhbXBsZS5jb20vMCUGCCsGAQUFBzAB\nhhlodHRwOi8vb2NzcDIuZXhhbXBsZS5jb20vMCsGCCsGAQUFBzAChh9odHRwOi8v\nY2EuZXhhbXBsZS5jb20vaW50ZXIuY3J0MAoGCCqGSM49BAMCA2gAMGUCMQCe4+To\nETGL37iNf7MbQzSFH2bCNVdOvTv8M57EWQnm+908n+bHqQyWo2Zxkq+nqAsCMELc\nwfTkC3sFAG5LHl/NslJLRxR58QoBzXvnsnHqidsi00RxFwPd30nYPCLvlPDWqA==\n-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\nMIIDNzCCAh+gAwIBAgIDAP8AMA0GCSqGSIb3DQEBDAUAMG0xCzAJBgNVBAYTAlVT\nMQswCQYDVQQIDAJDQTEVMBMGA1UECgwMU2NyYXRjaCBSb290MQ8wDQYDVQQLDAZV\nbml0IEExDzANBgNVBAsMBlVuaXQgQjEYMBYGA1UEAwwPU2NyYXRjaCBSb290IENB\nMB4XDTI2MTEyNjA1NDUyOVoXDTM2MTEyMzA1NDUyOVowMTEQMA4GA1UECgwHU2Ny\nYXRjaDEdMBsGA1UEAwwUU2NyYXRjaCBJbnRlcm1lZGlhdGUwdjAQBgcqhkjOPQIB\nBgUrgQQAIgNiAAQeU4bFbBfDCS0bnlq+YUGsbS2SPp2vXhr7t4ipbD+ObG85/Gx7\nvxdFJqzX7/cGldfBcn/Yu1NvbeYKHsqrX/JPahXhOdFQzwL23akArMGlsGrxtCdH\nc5IBvPRvn30lIV+jgckwgcYwEgYDVR0TAQH/BAgwBgEB/wIBADAOBgNVHQ8BAf8E\nBAMCAQYwHQYDVR0OBBYEFPC7MBvSwOBxwWlDgy73nLKy8qxpMB8GA1UdIwQYMBaA\nFCeOaThxK2OOo2CAzborF8JoPlsbMGAGCCsGAQUFBwEBBFQwUjAkBggrBgEFBQcw\nAYYYaHR0cDovL29jc3AuZXhhbXBsZS5jb20vMCoGCCsGAQUFBzAChh5odHRwOi8v\nY2EuZXhhbXBsZS5jb20vcm9vdC5jcnQwDQYJKoZIhvcNAQEMBQADggEBADwFJruo\nYtUzn6R50YsAGJnp+Fj9e8TsuW/TQh4WFL3NZxkatUS+K9eoAjK3UsMLqe9cQH+e\nV0TKHSWLdcVm1fI+FI6H0Zi6UgL7a/s+vJfNQplTi0D4wy3kteWqwo9bK7rKKRnh\nj7OKGvqnZdZV8M+9rvzPdKnMtGxk4H5VXQwOKB0CTpojDu8l8I1MpiTLlqj0rml4\n4dfYDbTEh6AieHDsTTljZ0DUQZHlzwlq9KatloV0RGRgiP0mO6UTwF25ccIQk3PM\nqA9s155hUgEO/acrG75313YGpEFYzCxUtiDhlrHVoeOpxr2Wy1kRpbdGYcOR86HK\npzgo+oJkZxTSkhA=\n-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\nMIIDqjCCApKgAwIBAgIUNSzSaImcPr4QFoJFNDBRCxtzxqkwDQYJKoZIhvcNAQEL\nBQAwbTELMAkGA1UEBhMCVVMxCzAJBgNVBAgMAkNBMRUwEwYDVQQKDAxTY3JhdGNo\nIFJvb3QxDzANBgNVBAsMBlVuaXQgQTEPMA0GA1UECwwGVW5pdCBCMRgwFgYDVQQD\nDA9TY3JhdGNoIFJvb3QgQ0EwHhcNMjYxMTI2MDU0NTI5WhcNMzYxMTIzMDU0NTI5\nWjBtMQswCQYDVQQGEwJVUzELMAkGA1UECAwCQ0ExFTATBgNVBAoMDFNjcmF0Y2gg\nUm9vdDEPMA0GA1UECwwGVW5pdCBBMQ8wDQYDVQQLDAZVbml0IEIxGDAWBgNVBAMM\nD1NjcmF0Y2ggUm9vdCBDQTCCASIwDQYJKoZIhvcNAQEBBQADggEPADCCAQoCggEB\nAJVdHuIdFnc70kAwzt+YtHxdr5p7NbzFJNamVMxhHz2hcnRhm6+PqWMtaKHbzu3V\nnfEVxIo2sJ2AiqU9TaCHindDZLZhnD2PMKvH9+Vw7Nzk3nPhGOp/WBh4Qz0DdsH4\n8AV4QYgenwO4AfPdc2uWQolkRrtaff0q+Ba+UpshBFRin9yq/f5fNRGh18SXIRaq\nZmWGYeyClKtJ0nCq44AL0veA9tgZnUCW6OB9Jb0eGb4XRsaUhUnu79ayPS5s0GC4\nLDSFLxiRgmYzgcsA5tamPU9Eu8YX6JItM1pgXvzY8hyRP27JGcbOxv4flHy8tKwt\nFpkEmHdF9Cc3xf1wJMLj1lUCAwEAAaNCMEAwDwYDVR0TAQH/BAUwAwEB/zAOBgNV\nHQ8BAf8EBAMCAQYwHQYDVR0OBBYEFCeOaThxK2OOo2CAzborF8JoPlsbMA0GCSqG\nSIb3DQEBCwUAA4IBAQA+Ez/IvIJ+0gkEDHJg/mkvBfWKBHX/rt9KYGt3qON5QoQB\ntPsDOWDtZnpNeVoHheVmOWGpr2GEwLSkJ5716sosd8hgANkL+kmGfrnd7X7s415A\n19HOu0iS1NNLDu+8/nhBmdj8OCdWNK1WQCWFrsUu2Ih+rxjH0l+5rugcBlLxqX+F\nXuZjCqYSsx+QpXr4ofvzUJy/Y8lcYpap+LJ9yuDDnfQWDVhGIZV7yLWz33V8EG3y\nhhjSHndp/JVCaAw8XmojqmxAaZJ3TEy3v8ZReVS9BZnkYu/hs/GZLtARaheSQILS\ncjsn+dlL5uqYeKawX1OFruTcgh+WP6Ggksi/Nuo3\n-----END CERTIFICATE-----\n";

#[test]
fn mutated_certificates_are_described_without_panics() {
  let certs = pem::certificates(&[CHAIN.as_bytes().to_vec()], "chain").expect("the chain parses");
  let ders: Vec<Vec<u8>> = certs.iter().map(|c| c.as_ref().to_vec()).collect();
  for der in &ders {
    let info = cert_info::describe(der).expect("the real certificates are described");
    assert!(info.key.is_some(), "RSA and EC keys have key fields");
  }
  let refs: Vec<&[u8]> = ders.iter().map(Vec::as_slice).collect();
  let chain = cert_chain::build(&refs[1..3], &refs[3..], 0);
  assert_eq!(
    chain.certificates.len(),
    3,
    "leaf, intermediate, root from the store"
  );
  assert!(chain.ends_self_issued, "the root is its own issuer");

  let mut rng = Rng(11);
  for _ in 0..20_000 {
    let mut der = ders[rng.below(ders.len())].clone();
    for _ in 0..1 + rng.below(6) {
      if der.is_empty() {
        der.push(rng.next() as u8);
      }
      let i = rng.below(der.len());
      match rng.below(4) {
        0 => der[i] = rng.next() as u8,
        1 => der[i] ^= 1 << rng.below(8),
        2 => der.truncate(i),
        _ => der.insert(i, rng.next() as u8),
      }
    }
    let _ = cert_info::describe(&der);
    let mut peer: Vec<&[u8]> = vec![&der];
    peer.extend(refs.iter().take(rng.below(refs.len() + 1)));
    let store = [&der[..], refs[3], &der[..]];
    let chain = cert_chain::build(&peer, &store, 0);
    assert!(chain.certificates.len() <= peer.len() + store.len() + 1);
  }
}
