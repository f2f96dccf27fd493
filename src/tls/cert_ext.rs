//! What a certificate's extensions say, decoded as OpenSSL's `ossl_x509v3_cache_extensions`
//! decodes them: the CA flag, key usage, key identifiers, and whether the certificate is
//! "invalid" to OpenSSL (an extension it checks is there twice or does not parse), which makes
//! `X509_check_ca` and `X509_check_issued` say no.

use x509_parser::extensions::X509Extension;

use super::der::{self, Reader};

pub const SUBJECT_ALT_NAME: &str = "2.5.29.17";
pub const INFO_ACCESS: &str = "1.3.6.1.5.5.7.1.1";
const BASIC_CONSTRAINTS: &str = "2.5.29.19";
const KEY_USAGE: &str = "2.5.29.15";
const EXT_KEY_USAGE: &str = "2.5.29.37";
const SUBJECT_KEY_ID: &str = "2.5.29.14";
const AUTHORITY_KEY_ID: &str = "2.5.29.35";
const PROXY_CERT_INFO: &str = "1.3.6.1.5.5.7.1.14";
const NS_CERT_TYPE: &str = "2.16.840.1.113730.1.1";
const NAME_CONSTRAINTS: &str = "2.5.29.30";
const CRL_DISTRIBUTION_POINTS: &str = "2.5.29.31";
const IP_ADDR_BLOCKS: &str = "1.3.6.1.5.5.7.1.7";
const AS_IDS: &str = "1.3.6.1.5.5.7.1.8";
const ISSUER_ALT_NAME: &str = "2.5.29.18";

pub const KU_DIGITAL_SIGNATURE: u16 = 0x0080;
pub const KU_KEY_CERT_SIGN: u16 = 0x0004;

/// The authority key identifier's parts.
#[derive(Default)]
pub struct AuthorityKeyId<'a> {
  pub key_id: Option<&'a [u8]>,
  /// The first directory name among the issuer's names, as a DER Name.
  pub issuer: Option<&'a [u8]>,
  /// The issuer's serial number, INTEGER content.
  pub serial: Option<&'a [u8]>,
}

#[derive(Default)]
pub struct Extensions<'a> {
  /// An extension OpenSSL checks is there twice or does not parse.
  pub invalid: bool,
  /// basicConstraints' cA, when the extension is there.
  pub basic_ca: Option<bool>,
  pub key_usage: Option<u16>,
  /// Extended key usage OIDs, dotted; `None` when the extension is absent or unusable.
  pub ext_key_usage: Option<Vec<String>>,
  pub subject_key_id: Option<&'a [u8]>,
  pub authority_key_id: Option<AuthorityKeyId<'a>>,
  pub proxy: bool,
  /// The first subjectAltName / authorityInfoAccess extension's value, as Node prints the first.
  pub subject_alt_name: Option<&'a [u8]>,
  pub info_access: Option<&'a [u8]>,
}

impl<'a> Extensions<'a> {
  pub fn read(exts: &[X509Extension<'a>]) -> Self {
    let mut out = Extensions::default();
    let oid = |e: &X509Extension<'_>| e.oid.to_id_string();
    let oids: Vec<String> = exts.iter().map(oid).collect();
    // X509_get_ext_d2i: the value of the one extension with this OID; `Err` when it is there
    // more than once (OpenSSL then marks the certificate invalid, as when it does not parse).
    let unique = |wanted: &str| -> Result<Option<&'a [u8]>, ()> {
      let mut found = exts.iter().zip(&oids).filter(|(_, o)| o.as_str() == wanted);
      match (found.next(), found.next()) {
        (None, _) => Ok(None),
        (Some((e, _)), None) => Ok(Some(e.value)),
        _ => Err(()),
      }
    };
    let mut decode =
      |wanted: &str, check: &mut dyn FnMut(&'a [u8]) -> Option<()>| match unique(wanted) {
        Ok(None) => {}
        Ok(Some(value)) => {
          if check(value).is_none() {
            out.invalid = true;
          }
        }
        Err(()) => out.invalid = true,
      };

    let mut basic_ca = None;
    decode(BASIC_CONSTRAINTS, &mut |v| {
      let (ca, pathlen_negative) = basic_constraints(v)?;
      basic_ca = Some(ca);
      (!pathlen_negative).then_some(())
    });
    let mut proxy = false;
    decode(PROXY_CERT_INFO, &mut |v| {
      der::first(v, der::SEQUENCE)?;
      proxy = true;
      let has_alt_names = oids
        .iter()
        .any(|o| o == SUBJECT_ALT_NAME || o == ISSUER_ALT_NAME);
      (basic_ca != Some(true) && !has_alt_names).then_some(())
    });
    let mut key_usage = None;
    decode(KEY_USAGE, &mut |v| {
      let ku = bit_string_word(v)?;
      key_usage = Some(ku);
      // An empty key usage is invalid (RFC 5280 4.2.1.3).
      (ku != 0).then_some(())
    });
    let mut eku = None;
    decode(EXT_KEY_USAGE, &mut |v| {
      let list = der::elements(der::first(v, der::SEQUENCE)?)?
        .into_iter()
        .map(|t| (t.tag == der::OID).then(|| der::oid_string(t.content))?)
        .collect::<Option<Vec<_>>>()?;
      eku = Some(list);
      Some(())
    });
    decode(NS_CERT_TYPE, &mut |v| bit_string_word(v).map(drop));
    let mut skid = None;
    decode(SUBJECT_KEY_ID, &mut |v| {
      skid = Some(der::first(v, der::OCTET_STRING)?);
      Some(())
    });
    let mut akid = None;
    decode(AUTHORITY_KEY_ID, &mut |v| {
      akid = Some(authority_key_id(v)?);
      Some(())
    });
    decode(SUBJECT_ALT_NAME, &mut |v| {
      der::elements(der::first(v, der::SEQUENCE)?).map(drop)
    });
    for shallow in [
      NAME_CONSTRAINTS,
      CRL_DISTRIBUTION_POINTS,
      IP_ADDR_BLOCKS,
      AS_IDS,
    ] {
      decode(shallow, &mut |v| der::first(v, der::SEQUENCE).map(drop));
    }

    out.basic_ca = basic_ca;
    out.proxy = proxy;
    out.key_usage = key_usage;
    out.ext_key_usage = eku;
    out.subject_key_id = skid;
    out.authority_key_id = akid;
    let first = |wanted: &str| {
      exts
        .iter()
        .zip(&oids)
        .find(|(_, o)| o.as_str() == wanted)
        .map(|(e, _)| e.value)
    };
    out.subject_alt_name = first(SUBJECT_ALT_NAME);
    out.info_access = first(INFO_ACCESS);
    out
  }

  /// `X509_check_ca(cert) == 1`: basicConstraints says CA, and key usage, if present, allows
  /// certificate signing.
  pub fn is_ca(&self) -> bool {
    if self.invalid {
      return false;
    }
    if self.key_usage.is_some_and(|ku| ku & KU_KEY_CERT_SIGN == 0) {
      return false;
    }
    self.basic_ca == Some(true)
  }

  /// OpenSSL's `ku_reject`: key usage is present and lacks `usage`.
  pub fn rejects_usage(&self, usage: u16) -> bool {
    self.key_usage.is_some_and(|ku| ku & usage == 0)
  }
}

/// `(cA, pathLenConstraint is negative)`.
fn basic_constraints(value: &[u8]) -> Option<(bool, bool)> {
  let mut r = Reader::new(der::first(value, der::SEQUENCE)?);
  let ca = match r.next_if(der::BOOLEAN) {
    Some(b) if b.content.len() == 1 => b.content[0] != 0,
    Some(_) => return None,
    None => false,
  };
  let negative = match r.next_if(der::INTEGER) {
    Some(i) => i.content.first()? & 0x80 != 0,
    None => false,
  };
  r.is_empty().then_some((ca, negative))
}

/// The first two bytes of a BIT STRING as OpenSSL keeps a key usage: `byte0 | byte1 << 8`, unused
/// bits cleared.
fn bit_string_word(value: &[u8]) -> Option<u16> {
  let content = der::first(value, der::BIT_STRING)?;
  let (&unused, bits) = content.split_first()?;
  if unused > 7 || (bits.is_empty() && unused != 0) {
    return None;
  }
  let byte = |i: usize| -> u16 {
    let Some(&b) = bits.get(i) else { return 0 };
    let b = if i + 1 == bits.len() {
      b & (0xffu8 << unused)
    } else {
      b
    };
    u16::from(b)
  };
  Some(byte(0) | (byte(1) << 8))
}

fn authority_key_id(value: &[u8]) -> Option<AuthorityKeyId<'_>> {
  let mut r = Reader::new(der::first(value, der::SEQUENCE)?);
  let mut out = AuthorityKeyId {
    key_id: r.next_if(0x80).map(|t| t.content),
    ..AuthorityKeyId::default()
  };
  if let Some(names) = r.next_if(0xa1) {
    out.issuer = der::elements(names.content)?
      .into_iter()
      .find(|n| n.tag == 0xa4)
      .and_then(|n| Reader::new(n.content).next_tlv())
      .map(|n| n.raw);
  }
  out.serial = r.next_if(0x82).map(|t| t.content);
  r.is_empty().then_some(out)
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn key_usage_bits_are_read_as_openssl_keeps_them() {
    // keyCertSign | cRLSign: 0x06 with one unused bit.
    assert_eq!(bit_string_word(&[0x03, 0x02, 0x01, 0x06]), Some(0x0006));
    // digitalSignature, decipherOnly.
    assert_eq!(
      bit_string_word(&[0x03, 0x03, 0x07, 0x80, 0x80]),
      Some(0x8080)
    );
    assert_eq!(bit_string_word(&[0x03, 0x01, 0x00]), Some(0));
    assert_eq!(bit_string_word(&[0x03, 0x01, 0x01]), None);
  }

  #[test]
  fn basic_constraints_read_ca_and_pathlen() {
    assert_eq!(basic_constraints(&[0x30, 0x00]), Some((false, false)));
    assert_eq!(
      basic_constraints(&[0x30, 0x03, 0x01, 0x01, 0xff]),
      Some((true, false))
    );
    assert_eq!(
      basic_constraints(&[0x30, 0x06, 0x01, 0x01, 0xff, 0x02, 0x01, 0xff]),
      Some((true, true))
    );
    assert_eq!(basic_constraints(&[0x30, 0x02, 0x05, 0x00]), None);
  }
}
