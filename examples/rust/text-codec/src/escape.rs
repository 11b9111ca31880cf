//! Bodies on a line: how bytes that cannot stand on one line of text travel.
//!
//! Written (`MSG`): valid UTF-8 as it is, except `\` as `\\`, line feed as `\n`, carriage
//! return as `\r`, and every other control character (below U+0020 but tab, and U+007F) and
//! every byte that is not part of valid UTF-8 as `\xHH`. Read (`PUB`): the same escapes
//! turned back into bytes, any other byte taken as it is. So a body published and delivered
//! comes back exactly, whatever its bytes, and a terminal shows it safely.

/// Appends `body`, escaped, to `out`.
pub fn encode(body: &[u8], out: &mut Vec<u8>) {
    for chunk in body.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.extend_from_slice(b"\\\\"),
                '\n' => out.extend_from_slice(b"\\n"),
                '\r' => out.extend_from_slice(b"\\r"),
                // Below U+0080 a char is its own byte.
                '\t' => out.push(b'\t'),
                c if c.is_ascii_control() => hex(c as u8, out),
                c => {
                    let mut utf8 = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
                }
            }
        }
        for &b in chunk.invalid() {
            hex(b, out);
        }
    }
}

/// `\xHH`, upper-case hex.
fn hex(b: u8, out: &mut Vec<u8>) {
    let nibble = |n: u8| if n < 10 { b'0' + n } else { b'A' + n - 10 };
    out.extend_from_slice(&[b'\\', b'x', nibble(b >> 4), nibble(b & 0x0f)]);
}

/// The bytes `text` stands for; `Err` names the first bad escape.
pub fn decode(text: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(text.len());
    let mut rest = text;
    while let Some((&b, tail)) = rest.split_first() {
        rest = tail;
        if b != b'\\' {
            out.push(b);
            continue;
        }
        let at = text.len() - rest.len() - 1;
        let (escaped, tail) = match rest.split_first() {
            Some((b'\\', tail)) => (b'\\', tail),
            Some((b'n', tail)) => (b'\n', tail),
            Some((b'r', tail)) => (b'\r', tail),
            Some((b'x', tail)) => match tail {
                [hi, lo, tail @ ..] => match (digit(*hi), digit(*lo)) {
                    (Some(hi), Some(lo)) => ((hi << 4) | lo, tail),
                    _ => return Err(format!("bad escape at byte {at}: \\x needs two hex digits")),
                },
                _ => return Err(format!("bad escape at byte {at}: \\x needs two hex digits")),
            },
            Some(_) => {
                return Err(format!(
                    "bad escape at byte {at}: use \\\\, \\n, \\r or \\xHH"
                ));
            }
            None => return Err(format!("bad escape at byte {at}: a lone \\ ends the line")),
        };
        out.push(escaped);
        rest = tail;
    }
    Ok(out)
}

/// The value of a hex digit, either case.
fn digit(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(body: &[u8]) -> String {
        let mut out = Vec::new();
        encode(body, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn plain_text_and_unicode_go_as_they_are() {
        assert_eq!(encoded("héllo wörld\t✓".as_bytes()), "héllo wörld\t✓");
    }

    #[test]
    fn line_ends_backslashes_controls_and_invalid_bytes_are_escaped() {
        assert_eq!(
            encoded(b"a\\b\nc\rd\x00\x1b\x7fe\xff\xc3"),
            r"a\\b\nc\rd\x00\x1B\x7Fe\xFF\xC3"
        );
    }

    #[test]
    fn decoding_undoes_encoding_for_every_byte() {
        let all: Vec<u8> = (0..=255u8).chain("ü€😀".bytes()).collect();
        let text = encoded(&all);
        assert!(!text.contains('\n') && !text.contains('\r'));
        assert_eq!(decode(text.as_bytes()).unwrap(), all);
    }

    #[test]
    fn raw_bytes_in_a_published_body_are_taken_as_they_are() {
        assert_eq!(decode(b"caf\xe9 \\x41").unwrap(), b"caf\xe9 A");
    }

    #[test]
    fn bad_escapes_are_refused_with_their_position() {
        assert!(decode(b"ab\\q").unwrap_err().contains("byte 2"));
        assert!(decode(b"\\x4").is_err());
        assert!(decode(b"\\xZZ").is_err());
        assert!(decode(b"end\\").unwrap_err().contains("lone"));
    }
}
