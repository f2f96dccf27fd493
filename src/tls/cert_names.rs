//! Names in certificates as `node:tls` shows them: distinguished names as `{ CN, O, ... }` entries,
//! `subjectaltname` and `infoAccess` strings (Node's own escaping of OpenSSL's general names), and
//! OpenSSL's comparison of names (`X509_NAME_cmp`), which decides who issued whom in a chain.

use super::der::{self, Reader, Tlv};

/// OpenSSL's short names of the attribute types found in distinguished names (`OBJ_nid2sn`). A
/// type OpenSSL does not know prints as its dotted OID, as here.
const SHORT_NAMES: &[(&str, &str)] = &[
  ("2.5.4.3", "CN"),
  ("2.5.4.4", "SN"),
  ("2.5.4.5", "serialNumber"),
  ("2.5.4.6", "C"),
  ("2.5.4.7", "L"),
  ("2.5.4.8", "ST"),
  ("2.5.4.9", "street"),
  ("2.5.4.10", "O"),
  ("2.5.4.11", "OU"),
  ("2.5.4.12", "title"),
  ("2.5.4.13", "description"),
  ("2.5.4.14", "searchGuide"),
  ("2.5.4.15", "businessCategory"),
  ("2.5.4.16", "postalAddress"),
  ("2.5.4.17", "postalCode"),
  ("2.5.4.18", "postOfficeBox"),
  ("2.5.4.19", "physicalDeliveryOfficeName"),
  ("2.5.4.20", "telephoneNumber"),
  ("2.5.4.21", "telexNumber"),
  ("2.5.4.22", "teletexTerminalIdentifier"),
  ("2.5.4.23", "facsimileTelephoneNumber"),
  ("2.5.4.24", "x121Address"),
  ("2.5.4.25", "internationaliSDNNumber"),
  ("2.5.4.26", "registeredAddress"),
  ("2.5.4.27", "destinationIndicator"),
  ("2.5.4.28", "preferredDeliveryMethod"),
  ("2.5.4.29", "presentationAddress"),
  ("2.5.4.30", "supportedApplicationContext"),
  ("2.5.4.31", "member"),
  ("2.5.4.32", "owner"),
  ("2.5.4.33", "roleOccupant"),
  ("2.5.4.34", "seeAlso"),
  ("2.5.4.35", "userPassword"),
  ("2.5.4.36", "userCertificate"),
  ("2.5.4.37", "cACertificate"),
  ("2.5.4.38", "authorityRevocationList"),
  ("2.5.4.39", "certificateRevocationList"),
  ("2.5.4.40", "crossCertificatePair"),
  ("2.5.4.41", "name"),
  ("2.5.4.42", "GN"),
  ("2.5.4.43", "initials"),
  ("2.5.4.44", "generationQualifier"),
  ("2.5.4.45", "x500UniqueIdentifier"),
  ("2.5.4.46", "dnQualifier"),
  ("2.5.4.47", "enhancedSearchGuide"),
  ("2.5.4.48", "protocolInformation"),
  ("2.5.4.49", "distinguishedName"),
  ("2.5.4.50", "uniqueMember"),
  ("2.5.4.51", "houseIdentifier"),
  ("2.5.4.52", "supportedAlgorithms"),
  ("2.5.4.53", "deltaRevocationList"),
  ("2.5.4.54", "dmdName"),
  ("2.5.4.65", "pseudonym"),
  ("2.5.4.72", "role"),
  ("2.5.4.97", "organizationIdentifier"),
  ("2.5.4.98", "c3"),
  ("2.5.4.99", "n3"),
  ("2.5.4.100", "dnsName"),
  ("1.2.840.113549.1.9.1", "emailAddress"),
  ("1.2.840.113549.1.9.2", "unstructuredName"),
  ("1.2.840.113549.1.9.7", "challengePassword"),
  ("1.2.840.113549.1.9.8", "unstructuredAddress"),
  ("1.2.840.113549.1.9.20", "friendlyName"),
  ("0.9.2342.19200300.100.1.1", "UID"),
  ("0.9.2342.19200300.100.1.3", "mail"),
  ("0.9.2342.19200300.100.1.25", "DC"),
  ("0.9.2342.19200300.100.1.44", "uid"),
  ("1.3.6.1.4.1.311.60.2.1.1", "jurisdictionL"),
  ("1.3.6.1.4.1.311.60.2.1.2", "jurisdictionST"),
  ("1.3.6.1.4.1.311.60.2.1.3", "jurisdictionC"),
  ("1.3.6.1.5.5.7.9.1", "id-pda-dateOfBirth"),
  ("1.3.6.1.5.5.7.9.2", "id-pda-placeOfBirth"),
  ("1.3.6.1.5.5.7.9.3", "id-pda-gender"),
  ("1.3.6.1.5.5.7.9.4", "id-pda-countryOfCitizenship"),
  ("1.3.6.1.5.5.7.9.5", "id-pda-countryOfResidence"),
  ("1.2.643.3.131.1.1", "INN"),
  ("1.2.643.100.1", "OGRN"),
  ("1.2.643.100.3", "SNILS"),
  ("1.2.643.100.5", "OGRNIP"),
];

fn short_name(oid: &str) -> Option<&'static str> {
  SHORT_NAMES
    .iter()
    .find(|(o, _)| *o == oid)
    .map(|(_, name)| *name)
}

/// How many bytes one character takes in a string of this ASN.1 type (`0` for UTF-8), as
/// OpenSSL's `tag2nbyte`; `None` for types that are not character strings.
fn char_width(tag: u8) -> Option<usize> {
  match tag {
    0x0c => Some(0),
    0x12 | 0x13 | 0x14 | 0x16 | 0x17 | 0x18 | 0x1a => Some(1),
    0x1c => Some(4),
    0x1e => Some(2),
    _ => None,
  }
}

/// A string value as UTF-8, as `ASN1_STRING_to_UTF8` makes it: one-byte types are Latin-1, BMP
/// and Universal strings UCS-2 / UCS-4. `None` when OpenSSL would fail.
fn to_utf8(tag: u8, bytes: &[u8]) -> Option<String> {
  let width = char_width(tag)?;
  let chars = |size: usize| -> Option<String> {
    if !bytes.len().is_multiple_of(size) {
      return None;
    }
    bytes
      .chunks(size)
      .map(|c| {
        let cp = c.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b));
        char::from_u32(cp)
      })
      .collect()
  };
  match width {
    0 => std::str::from_utf8(bytes).ok().map(str::to_string),
    1 => Some(bytes.iter().map(|&b| char::from(b)).collect()),
    n => chars(n),
  }
}

/// One attribute of a distinguished name: its type OID (content bytes) and its value element.
struct Attribute<'a> {
  oid: &'a [u8],
  value: Tlv<'a>,
}

/// The relative distinguished names of a DER Name, each a list of attributes.
fn rdns(name: &[u8]) -> Option<Vec<Vec<Attribute<'_>>>> {
  let content = der::first(name, der::SEQUENCE)?;
  der::elements(content)?
    .into_iter()
    .map(|rdn| {
      if rdn.tag != der::SET {
        return None;
      }
      der::elements(rdn.content)?
        .into_iter()
        .map(|atv| {
          if atv.tag != der::SEQUENCE {
            return None;
          }
          let mut r = Reader::new(atv.content);
          let oid = r.expect(der::OID)?;
          let value = r.next_tlv()?;
          r.is_empty().then_some(Attribute { oid, value })
        })
        .collect()
    })
    .collect()
}

/// A distinguished name's entries in order, `(key, value)`, keyed as `node:tls` keys them.
/// `None` when a value is not a string OpenSSL converts: Node then leaves the whole name out.
pub fn entries(name: &[u8]) -> Option<Vec<(String, String)>> {
  let mut out = Vec::new();
  for rdn in rdns(name)? {
    for attr in rdn {
      let oid = der::oid_string(attr.oid)?;
      let key = short_name(&oid).map_or(oid, str::to_string);
      out.push((key, to_utf8(attr.value.tag, attr.value.content)?));
    }
  }
  Some(out)
}

/// A value as `X509_NAME_cmp` compares it: strings as UTF-8 with outer white space dropped, inner
/// runs of white space as one space and ASCII letters in lower case; other types as encoded.
fn canonical_value(value: &Tlv<'_>) -> Option<(u8, Vec<u8>)> {
  // ASN1_MASK_CANON: the string types that are folded.
  if !matches!(value.tag, 0x0c | 0x13 | 0x14 | 0x16 | 0x1a | 0x1c | 0x1e) {
    return Some((value.tag, value.content.to_vec()));
  }
  let text = to_utf8(value.tag, value.content)?;
  let space = |b: u8| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r');
  let bytes = text.as_bytes();
  let start = bytes.iter().position(|&b| !space(b)).unwrap_or(bytes.len());
  let end = bytes
    .iter()
    .rposition(|&b| !space(b))
    .map_or(start, |i| i + 1);
  let mut out = Vec::with_capacity(end - start);
  let mut in_space = false;
  for &b in &bytes[start..end] {
    if space(b) {
      if !in_space {
        out.push(b' ');
      }
      in_space = true;
    } else {
      in_space = false;
      out.push(b.to_ascii_lowercase());
    }
  }
  Some((0x0c, out))
}

type CanonicalName = Vec<Vec<(Vec<u8>, (u8, Vec<u8>))>>;

fn canonical(name: &[u8]) -> Option<CanonicalName> {
  rdns(name)?
    .into_iter()
    .map(|rdn| {
      let mut attrs = rdn
        .iter()
        .map(|a| Some((a.oid.to_vec(), canonical_value(&a.value)?)))
        .collect::<Option<Vec<_>>>()?;
      // A multi-valued RDN is a SET: its order does not matter.
      attrs.sort();
      Some(attrs)
    })
    .collect()
}

/// `X509_NAME_cmp(a, b) == 0`: the same name, up to case and white space in its strings.
pub fn same_name(a: &[u8], b: &[u8]) -> bool {
  if a == b {
    return true;
  }
  match (canonical(a), canonical(b)) {
    (Some(a), Some(b)) => a == b,
    _ => false,
  }
}

/// Node's test for a value it can print as it is (`IsSafeAltName`).
fn is_safe(bytes: &[u8], utf8: bool) -> bool {
  bytes.iter().all(|&c| match c {
    b'"' | b'\\' | b',' | b'\'' => false,
    _ if utf8 => c >= b' ' && c != 0x7f,
    _ => (b' '..=b'~').contains(&c),
  })
}

/// Node's `PrintAltName`: a safe value as it is after `prefix:`, any other JSON-quoted with commas,
/// control and (in Latin-1 values) non-ASCII bytes as `\u00XX`.
fn print_alt_name(out: &mut Vec<u8>, bytes: &[u8], utf8: bool, prefix: Option<&str>) {
  if is_safe(bytes, utf8) {
    if let Some(p) = prefix {
      out.extend_from_slice(p.as_bytes());
      out.push(b':');
    }
    out.extend_from_slice(bytes);
    return;
  }
  out.push(b'"');
  if let Some(p) = prefix {
    out.extend_from_slice(p.as_bytes());
    out.push(b':');
  }
  for &c in bytes {
    match c {
      b'\\' => out.extend_from_slice(b"\\\\"),
      b'"' => out.extend_from_slice(b"\\\""),
      _ if (b' '..=b'~').contains(&c) && c != b',' => out.push(c),
      _ if utf8 && c & 0x80 != 0 => out.push(c),
      _ => out.extend_from_slice(format!("\\u00{c:02x}").as_bytes()),
    }
  }
  out.push(b'"');
}

/// Other names Node prints, with the string type each must have (`true`: UTF8String, `false`:
/// IA5String).
const OTHER_NAMES: &[(&str, &str, bool)] = &[
  ("1.3.6.1.5.5.7.8.9", "SmtpUTF8Mailbox", true),
  ("1.3.6.1.5.5.7.8.5", "XmppAddr", true),
  ("1.3.6.1.5.5.7.8.7", "SRVName", false),
  ("1.3.6.1.4.1.311.20.2.3", "UPN", true),
  ("1.3.6.1.5.5.7.8.8", "NAIRealm", true),
];

/// One GeneralName as Node's `PrintGeneralName` prints it; `None` when it does not parse (Node
/// then shows the whole extension as `null`).
fn print_general_name(out: &mut Vec<u8>, name: &Tlv<'_>) -> Option<()> {
  match name.tag {
    0x82 => {
      out.extend_from_slice(b"DNS:");
      print_alt_name(out, name.content, false, None);
    }
    0x81 => {
      out.extend_from_slice(b"email:");
      print_alt_name(out, name.content, false, None);
    }
    0x86 => {
      out.extend_from_slice(b"URI:");
      print_alt_name(out, name.content, false, None);
    }
    0xa4 => {
      out.extend_from_slice(b"DirName:");
      let dn = Reader::new(name.content).next_tlv()?;
      let text = rfc2253(dn.raw)?;
      print_alt_name(out, &text, true, None);
    }
    0x87 => {
      out.extend_from_slice(b"IP Address:");
      let b = name.content;
      match b.len() {
        4 => out.extend_from_slice(format!("{}.{}.{}.{}", b[0], b[1], b[2], b[3]).as_bytes()),
        16 => {
          let groups: Vec<String> = b
            .chunks(2)
            .map(|p| format!("{:X}", u16::from_be_bytes([p[0], p[1]])))
            .collect();
          out.extend_from_slice(groups.join(":").as_bytes());
        }
        n => out.extend_from_slice(format!("<invalid length={n}>").as_bytes()),
      }
    }
    0x88 => {
      let oid = der::oid_string(name.content)?;
      out.extend_from_slice(format!("Registered ID:{oid}").as_bytes());
    }
    0xa0 => {
      let mut r = Reader::new(name.content);
      let oid = der::oid_string(r.expect(der::OID)?)?;
      let value = Reader::new(r.expect(0xa0)?).next_tlv()?;
      let known = OTHER_NAMES.iter().find(|(o, _, _)| *o == oid);
      match known {
        Some((_, prefix, utf8)) if value.tag == if *utf8 { 0x0c } else { 0x16 } => {
          out.extend_from_slice(b"othername:");
          print_alt_name(out, value.content, *utf8, Some(prefix));
        }
        _ => out.extend_from_slice(b"othername:<unsupported>"),
      }
    }
    0xa3 => out.extend_from_slice(b"X400Name:<unsupported>"),
    0xa5 => out.extend_from_slice(b"EdiPartyName:<unsupported>"),
    _ => return None,
  }
  Some(())
}

/// `subjectaltname`: the names joined by `, `. `None` when the extension does not parse (Node's
/// `null`).
pub fn subject_alt_names(ext_value: &[u8]) -> Option<String> {
  let names = der::elements(der::first(ext_value, der::SEQUENCE)?)?;
  let mut out = Vec::new();
  for (i, name) in names.iter().enumerate() {
    if i > 0 {
      out.extend_from_slice(b", ");
    }
    print_general_name(&mut out, name)?;
  }
  Some(String::from_utf8_lossy(&out).into_owned())
}

/// OpenSSL's long names of access methods (`i2t_ASN1_OBJECT`).
fn access_method_name(oid: &str) -> String {
  match oid {
    "1.3.6.1.5.5.7.48.1" => "OCSP",
    "1.3.6.1.5.5.7.48.2" => "CA Issuers",
    "1.3.6.1.5.5.7.48.3" => "AD Time Stamping",
    "1.3.6.1.5.5.7.48.4" => "ad dvcs",
    "1.3.6.1.5.5.7.48.5" => "CA Repository",
    other => other,
  }
  .to_string()
}

/// The authority information access extension as Node's C++ prints it (`OCSP - URI:http://...`,
/// one line each), before its JS side splits it into `infoAccess`'s object. `None` when it does
/// not parse (Node's `null`).
pub fn info_access(ext_value: &[u8]) -> Option<String> {
  let descriptions = der::elements(der::first(ext_value, der::SEQUENCE)?)?;
  let mut out = Vec::new();
  for (i, desc) in descriptions.iter().enumerate() {
    if desc.tag != der::SEQUENCE {
      return None;
    }
    let mut r = Reader::new(desc.content);
    let method = der::oid_string(r.expect(der::OID)?)?;
    let location = r.next_tlv()?;
    if !r.is_empty() {
      return None;
    }
    if i > 0 {
      out.push(b'\n');
    }
    out.extend_from_slice(format!("{} - ", access_method_name(&method)).as_bytes());
    print_general_name(&mut out, &location)?;
  }
  Some(String::from_utf8_lossy(&out).into_owned())
}

/// A Name as `X509_NAME_print_ex` prints it with Node's flags for a `DirName:` (RFC 2253 order and
/// escaping, UTF-8 kept as it is, values of unknown types as `#` and their DER in hex).
fn rfc2253(name: &[u8]) -> Option<Vec<u8>> {
  // XN_FLAG_DN_REV walks the entries backwards, so the attributes of a multi-valued RDN come out
  // reversed too; `+` joins them, `,` the RDNs.
  let rdns = rdns(name)?;
  let mut out = Vec::new();
  for (i, rdn) in rdns.iter().rev().enumerate() {
    if i > 0 {
      out.push(b',');
    }
    for (j, attr) in rdn.iter().rev().enumerate() {
      if j > 0 {
        out.push(b'+');
      }
      let oid = der::oid_string(attr.oid)?;
      let known = short_name(&oid);
      out.extend_from_slice(known.unwrap_or(&oid).as_bytes());
      out.push(b'=');
      let string = char_width(attr.value.tag).is_some();
      if known.is_some() && string {
        escape_2253(
          &mut out,
          to_utf8(attr.value.tag, attr.value.content)?.as_bytes(),
        );
      } else {
        // Unknown attribute types and values that are not strings: `#` and the DER in hex.
        out.push(b'#');
        for b in attr.value.raw {
          out.extend_from_slice(format!("{b:02X}").as_bytes());
        }
      }
    }
  }
  Some(out)
}

fn escape_2253(out: &mut Vec<u8>, text: &[u8]) {
  let last = text.len().saturating_sub(1);
  for (i, &c) in text.iter().enumerate() {
    let escape = matches!(c, b'"' | b'+' | b',' | b';' | b'<' | b'>' | b'\\')
      || (i == 0 && (c == b'#' || c == b' '))
      || (i == last && c == b' ');
    if escape {
      out.push(b'\\');
    }
    out.push(c);
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::tls::der::encode;

  fn name(attrs: &[(&[u8], u8, &[u8])]) -> Vec<u8> {
    let rdns: Vec<u8> = attrs
      .iter()
      .flat_map(|(oid, tag, value)| {
        let atv = [encode(der::OID, oid), encode(*tag, value)].concat();
        encode(der::SET, &encode(der::SEQUENCE, &atv))
      })
      .collect();
    encode(der::SEQUENCE, &rdns)
  }

  const CN: &[u8] = &[0x55, 0x04, 0x03];
  const OU: &[u8] = &[0x55, 0x04, 0x0b];

  #[test]
  fn entries_keep_order_and_repeats() {
    let n = name(&[(CN, 0x0c, b"a"), (OU, 0x13, b"x"), (OU, 0x13, b"y")]);
    let e = entries(&n).expect("parses");
    assert_eq!(
      e,
      vec![
        ("CN".to_string(), "a".to_string()),
        ("OU".to_string(), "x".to_string()),
        ("OU".to_string(), "y".to_string())
      ]
    );
  }

  #[test]
  fn values_convert_as_openssl_does() {
    let bmp = name(&[(CN, 0x1e, &[0x00, 0x41, 0x04, 0x10])]);
    assert_eq!(entries(&bmp).expect("bmp")[0].1, "A\u{410}");
    let latin1 = name(&[(CN, 0x14, &[0xe9])]);
    assert_eq!(entries(&latin1).expect("t61")[0].1, "\u{e9}");
    assert!(entries(&name(&[(CN, 0x1e, &[0x00])])).is_none());
    assert!(entries(&name(&[(CN, 0x02, &[0x01])])).is_none());
    assert!(entries(&name(&[(CN, 0x0c, &[0xff])])).is_none());
    let unknown = name(&[(&[0x2a, 0x03], 0x0c, b"v")]);
    assert_eq!(entries(&unknown).expect("unknown")[0].0, "1.2.3");
  }

  #[test]
  fn names_compare_without_case_and_spacing() {
    let a = name(&[(CN, 0x13, b"  Test   CA ")]);
    let b = name(&[(CN, 0x0c, b"test ca")]);
    let c = name(&[(CN, 0x0c, b"test cb")]);
    assert!(same_name(&a, &b));
    assert!(!same_name(&a, &c));
  }

  #[test]
  fn alt_names_print_as_node_does() {
    let san = encode(
      der::SEQUENCE,
      &[
        encode(0x82, b"localhost"),
        encode(0x87, &[127, 0, 0, 1]),
        encode(0x87, &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
        encode(0x87, &[1, 2, 3]),
        encode(0x81, b"a,b@c"),
        encode(0x86, &[b'h', 0xe9]),
      ]
      .concat(),
    );
    assert_eq!(
      subject_alt_names(&san).as_deref(),
      Some(
        "DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, \
         IP Address:<invalid length=3>, email:\"a\\u002cb@c\", URI:\"h\\u00e9\""
      )
    );
    assert!(subject_alt_names(&[0x30, 0x02, 0x99, 0x00]).is_none());
    assert!(subject_alt_names(&[0x04, 0x00]).is_none());
  }

  #[test]
  fn access_descriptions_print_one_a_line() {
    let ocsp = [0x2b, 6, 1, 5, 5, 7, 48, 1];
    let issuers = [0x2b, 6, 1, 5, 5, 7, 48, 2];
    let desc = |m: &[u8], uri: &[u8]| {
      encode(
        der::SEQUENCE,
        &[encode(der::OID, m), encode(0x86, uri)].concat(),
      )
    };
    let aia = encode(
      der::SEQUENCE,
      &[desc(&ocsp, b"http://o/"), desc(&issuers, b"http://i/")].concat(),
    );
    assert_eq!(
      info_access(&aia).as_deref(),
      Some("OCSP - URI:http://o/\nCA Issuers - URI:http://i/")
    );
  }

  #[test]
  fn dir_names_print_in_rfc2253_order() {
    let dn = name(&[(OU, 0x0c, b"a+b"), (CN, 0x0c, b" x")]);
    assert_eq!(rfc2253(&dn).expect("prints"), b"CN=\\ x,OU=a\\+b".to_vec());
    let unknown = name(&[(&[0x2a, 0x03], 0x0c, b"v")]);
    assert_eq!(
      rfc2253(&unknown).expect("prints"),
      b"1.2.3=#0C0176".to_vec()
    );
  }
}
