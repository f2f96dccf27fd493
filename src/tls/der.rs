//! A minimal DER reader and writer for the certificate fields x509-parser leaves raw (extension
//! values, names, public keys), read the way OpenSSL reads them so our descriptions match
//! `node:tls`'s. Every read of peer-controlled bytes is checked: malformed input is `None`.

/// One element: its identifier octet and its content.
#[derive(Clone, Copy, Debug)]
pub struct Tlv<'a> {
  pub tag: u8,
  pub content: &'a [u8],
  /// The whole element, identifier and length included.
  pub raw: &'a [u8],
}

pub const BOOLEAN: u8 = 0x01;
pub const INTEGER: u8 = 0x02;
pub const BIT_STRING: u8 = 0x03;
pub const OCTET_STRING: u8 = 0x04;
pub const NULL: u8 = 0x05;
pub const OID: u8 = 0x06;
pub const SEQUENCE: u8 = 0x30;
pub const SET: u8 = 0x31;

/// Consecutive elements.
pub struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
  pub fn new(data: &'a [u8]) -> Self {
    Reader(data)
  }

  pub fn is_empty(&self) -> bool {
    self.0.is_empty()
  }

  /// The next element; `None` at the end or when the bytes do not form one (high tag numbers and
  /// indefinite lengths included: DER has neither in what we read).
  pub fn next_tlv(&mut self) -> Option<Tlv<'a>> {
    let data = self.0;
    let (&tag, rest) = data.split_first()?;
    if tag & 0x1f == 0x1f {
      return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
      (usize::from(first), rest)
    } else {
      let n = usize::from(first & 0x7f);
      if n == 0 || n > 4 || rest.len() < n {
        return None;
      }
      let (len_bytes, rest) = rest.split_at(n);
      let len = len_bytes
        .iter()
        .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
      (len, rest)
    };
    if rest.len() < len {
      return None;
    }
    let header = data.len() - rest.len();
    let (content, rest) = rest.split_at(len);
    self.0 = rest;
    Some(Tlv {
      tag,
      content,
      raw: &data[..header + len],
    })
  }

  /// The next element if it has `tag`, else `None` (and nothing is consumed).
  pub fn next_if(&mut self, tag: u8) -> Option<Tlv<'a>> {
    let saved = self.0;
    match self.next_tlv() {
      Some(tlv) if tlv.tag == tag => Some(tlv),
      _ => {
        self.0 = saved;
        None
      }
    }
  }

  /// The next element, which must have `tag`.
  pub fn expect(&mut self, tag: u8) -> Option<&'a [u8]> {
    self.next_tlv().filter(|t| t.tag == tag).map(|t| t.content)
  }
}

/// The element `data` starts with, which must have `tag`. Bytes after it are ignored, as OpenSSL's
/// `d2i` functions ignore them.
pub fn first(data: &[u8], tag: u8) -> Option<&[u8]> {
  Reader::new(data).expect(tag)
}

/// Every element of `content` (a SEQUENCE OF or SET OF); `None` if any is malformed.
pub fn elements(content: &[u8]) -> Option<Vec<Tlv<'_>>> {
  let mut reader = Reader::new(content);
  let mut out = Vec::new();
  while !reader.is_empty() {
    out.push(reader.next_tlv()?);
  }
  Some(out)
}

/// An OBJECT IDENTIFIER's content in dotted form (`1.2.840.10045.3.1.7`), as OpenSSL prints an OID
/// it has no name for. `None` for malformed content.
pub fn oid_string(content: &[u8]) -> Option<String> {
  if content.is_empty() || content.last().is_some_and(|b| b & 0x80 != 0) {
    return None;
  }
  let mut arcs: Vec<u128> = Vec::new();
  let mut value: u128 = 0;
  let mut started = false;
  for &b in content {
    if !started && b == 0x80 {
      // A leading 0x80 is a non-minimal encoding, which OpenSSL refuses.
      return None;
    }
    started = b & 0x80 != 0;
    value = value.checked_mul(128)?.checked_add(u128::from(b & 0x7f))?;
    if b & 0x80 == 0 {
      arcs.push(value);
      value = 0;
    }
  }
  let first = *arcs.first()?;
  let (a, b) = match first {
    0..=39 => (0, first),
    40..=79 => (1, first - 40),
    _ => (2, first - 80),
  };
  let mut out = format!("{a}.{b}");
  for arc in &arcs[1..] {
    out.push('.');
    out.push_str(&arc.to_string());
  }
  Some(out)
}

/// An element with `tag` around `content`.
pub fn encode(tag: u8, content: &[u8]) -> Vec<u8> {
  let mut out = vec![tag];
  let len = content.len();
  if len < 0x80 {
    out.push(len as u8);
  } else {
    let bytes: Vec<u8> = len
      .to_be_bytes()
      .into_iter()
      .skip_while(|&b| b == 0)
      .collect();
    out.push(0x80 | bytes.len() as u8);
    out.extend_from_slice(&bytes);
  }
  out.extend_from_slice(content);
  out
}

/// A non-negative INTEGER from its big-endian magnitude, minimally encoded.
pub fn encode_unsigned(magnitude: &[u8]) -> Vec<u8> {
  let digits = strip_zeros(magnitude);
  let mut content = Vec::with_capacity(digits.len() + 1);
  if digits.first().is_none_or(|b| b & 0x80 != 0) {
    content.push(0);
  }
  content.extend_from_slice(digits);
  encode(INTEGER, &content)
}

/// `bytes` without its leading zero bytes.
pub fn strip_zeros(bytes: &[u8]) -> &[u8] {
  let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
  &bytes[start..]
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn reads_short_and_long_lengths() {
    let long = encode(OCTET_STRING, &[7u8; 300]);
    assert_eq!(&long[..4], &[0x04, 0x82, 0x01, 0x2c]);
    let mut r = Reader::new(&long);
    let tlv = r.next_tlv().expect("one element");
    assert_eq!(tlv.content.len(), 300);
    assert_eq!(tlv.raw.len(), long.len());
    assert!(r.is_empty());
  }

  #[test]
  fn malformed_elements_are_none() {
    assert!(Reader::new(&[0x30]).next_tlv().is_none());
    assert!(Reader::new(&[0x30, 0x05, 0x00]).next_tlv().is_none());
    assert!(Reader::new(&[0x30, 0x80, 0x00, 0x00]).next_tlv().is_none());
    assert!(Reader::new(&[0x1f, 0x01, 0x00]).next_tlv().is_none());
    assert!(Reader::new(&[0x30, 0x85, 1, 1, 1, 1, 1])
      .next_tlv()
      .is_none());
    assert!(elements(&[0x02, 0x01, 0x00, 0x02]).is_none());
  }

  #[test]
  fn oids_print_dotted() {
    assert_eq!(
      oid_string(&[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]).as_deref(),
      Some("1.2.840.10045.3.1.7")
    );
    assert_eq!(oid_string(&[0x55, 0x04, 0x03]).as_deref(), Some("2.5.4.3"));
    assert_eq!(oid_string(&[0x88, 0x37]).as_deref(), Some("2.999"));
    assert!(oid_string(&[]).is_none());
    assert!(oid_string(&[0x55, 0x84]).is_none());
    assert!(oid_string(&[0x55, 0x80, 0x01]).is_none());
  }

  #[test]
  fn unsigned_integers_are_minimal_and_positive() {
    assert_eq!(encode_unsigned(&[0x00, 0x00, 0x7f]), vec![0x02, 0x01, 0x7f]);
    assert_eq!(encode_unsigned(&[0x80]), vec![0x02, 0x02, 0x00, 0x80]);
    assert_eq!(encode_unsigned(&[]), vec![0x02, 0x01, 0x00]);
  }
}
