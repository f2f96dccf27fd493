//! PKCS#8 keys encrypted with PKCS#12's password-based encryption (RFC 7292 appendix B and C):
//! `pbeWithSHAAnd3-KeyTripleDES-CBC`, what `openssl pkcs8 -topk8` made by default before OpenSSL
//! 1.1, and its 2-key variant. OpenSSL (so node:tls and Bun) opens them; the pkcs8 crate knows
//! only PBES1/PBES2.

use cbc::cipher::{block_padding::Pkcs7, BlockDecryptMut, KeyIvInit};
use sha1::{Digest, Sha1};

use super::der::{self, Reader};

/// 1.2.840.113549.1.12.1.3 and .4, as DER content octets.
const SHA_3KEY_3DES: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x01, 0x03];
const SHA_2KEY_3DES: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x01, 0x04];
/// More iterations than any real key uses: a hostile file must not stall `listen`.
const MAX_ITERATIONS: u32 = 10_000_000;

pub struct Pbe<'a> {
  three_keys: bool,
  salt: &'a [u8],
  iterations: u32,
  data: &'a [u8],
}

/// An `EncryptedPrivateKeyInfo` with one of the PKCS#12 3DES schemes; `None` for anything else.
pub fn parse(der_bytes: &[u8]) -> Option<Pbe<'_>> {
  let mut outer = Reader::new(der::first(der_bytes, der::SEQUENCE)?);
  let mut alg = Reader::new(outer.expect(der::SEQUENCE)?);
  let data = outer.expect(der::OCTET_STRING)?;
  let oid = alg.expect(der::OID)?;
  let three_keys = match oid {
    SHA_3KEY_3DES => true,
    SHA_2KEY_3DES => false,
    _ => return None,
  };
  let mut params = Reader::new(alg.expect(der::SEQUENCE)?);
  let salt = params.expect(der::OCTET_STRING)?;
  let count = params.expect(der::INTEGER)?;
  if count.is_empty() || count.len() > 4 || count[0] & 0x80 != 0 {
    return None;
  }
  let iterations = count.iter().fold(0u32, |n, &b| (n << 8) | u32::from(b));
  if iterations == 0 || iterations > MAX_ITERATIONS {
    return None;
  }
  Some(Pbe {
    three_keys,
    salt,
    iterations,
    data,
  })
}

/// The plaintext key (PKCS#8 DER), or `None` when the passphrase is wrong.
pub fn decrypt(pbe: &Pbe<'_>, passphrase: &str) -> Option<Vec<u8>> {
  let key_len = if pbe.three_keys { 24 } else { 16 };
  let key = derive(passphrase, pbe.salt, pbe.iterations, 1, key_len);
  let iv = derive(passphrase, pbe.salt, pbe.iterations, 2, 8);
  let plain = if pbe.three_keys {
    cbc::Decryptor::<des::TdesEde3>::new_from_slices(&key, &iv)
      .ok()?
      .decrypt_padded_vec_mut::<Pkcs7>(pbe.data)
      .ok()?
  } else {
    cbc::Decryptor::<des::TdesEde2>::new_from_slices(&key, &iv)
      .ok()?
      .decrypt_padded_vec_mut::<Pkcs7>(pbe.data)
      .ok()?
  };
  // A wrong key passes the padding check now and then; its garbage is not one DER SEQUENCE.
  let whole = Reader::new(&plain)
    .next_tlv()
    .is_some_and(|t| t.tag == der::SEQUENCE && t.raw.len() == plain.len());
  whole.then_some(plain)
}

/// RFC 7292 B.2 with SHA-1 (u = 20, v = 64): `n` bytes of key material for purpose `id`
/// (1: key, 2: IV), from the passphrase as a NUL-terminated BMPString.
fn derive(passphrase: &str, salt: &[u8], iterations: u32, id: u8, n: usize) -> Vec<u8> {
  const U: usize = 20;
  const V: usize = 64;
  let mut password: Vec<u8> = passphrase
    .encode_utf16()
    .flat_map(|c| c.to_be_bytes())
    .collect();
  password.extend_from_slice(&[0, 0]);
  let fill = |src: &[u8]| -> Vec<u8> {
    if src.is_empty() {
      return Vec::new();
    }
    let len = V * src.len().div_ceil(V);
    src.iter().copied().cycle().take(len).collect()
  };
  let mut i_block = fill(salt);
  i_block.extend(fill(&password));
  let d = [id; V];
  let mut out = Vec::with_capacity(n + U);
  while out.len() < n {
    let mut a: [u8; U] = Sha1::new()
      .chain_update(d)
      .chain_update(&i_block)
      .finalize()
      .into();
    for _ in 1..iterations {
      a = Sha1::digest(a).into();
    }
    out.extend_from_slice(&a);
    // I_j = (I_j + B + 1) mod 2^(8v), B being A repeated to v bytes.
    let b: Vec<u8> = a.iter().copied().cycle().take(V).collect();
    for chunk in i_block.chunks_mut(V) {
      let mut carry = 1u16;
      for k in (0..V).rev() {
        let sum = u16::from(chunk[k]) + u16::from(b[k]) + carry;
        chunk[k] = sum as u8;
        carry = sum >> 8;
      }
    }
  }
  out.truncate(n);
  out
}

#[cfg(test)]
mod tests {
  use super::*;

  /// RFC 7292's KDF against a known answer: OpenSSL's PKCS12_key_gen_uni test vector (password
  /// "smeg", salt 0A58CF64530D823F, 1 iteration, ID 1, 24 bytes).
  #[test]
  fn derives_openssl_test_vector() {
    let salt = [0x0a, 0x58, 0xcf, 0x64, 0x53, 0x0d, 0x82, 0x3f];
    let key = derive("smeg", &salt, 1, 1, 24);
    let want = [
      0x8a, 0xaa, 0xe6, 0x29, 0x7b, 0x6c, 0xb0, 0x46, 0x42, 0xab, 0x5b, 0x07, 0x78, 0x51, 0x28,
      0x4e, 0xb7, 0x12, 0x8f, 0x1a, 0x2a, 0x7f, 0xbc, 0xa3,
    ];
    assert_eq!(key, want);
    let iv = derive("smeg", &salt, 1, 2, 8);
    assert_eq!(iv, [0x79, 0x99, 0x3d, 0xfe, 0x04, 0x8d, 0x3b, 0x76]);
  }

  #[test]
  fn other_schemes_and_garbage_are_not_taken() {
    assert!(parse(&[]).is_none());
    assert!(parse(&[0x30, 0x03, 0x02, 0x01, 0x00]).is_none());
  }
}
