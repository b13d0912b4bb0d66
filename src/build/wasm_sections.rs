//! The sections of a WebAssembly module, walked by their sizes (an unsigned LEB128 after each
//! one-byte id) without parsing what is in them: enough to size the code a compiler compiles,
//! to check two modules hold the same code, and to find a custom section.

/// A custom section's id; every other id is a section the module's meaning depends on.
pub const CUSTOM: u8 = 0;
/// The code section's id.
pub const CODE: u8 = 10;

/// One section: its id and its body.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Section<'a> {
    pub id: u8,
    pub body: &'a [u8],
}

/// The module's sections in order; `None` when it is not a WebAssembly module whose sections
/// can be walked (no magic, a size past the end, a size that never ends).
pub fn sections(module: &[u8]) -> Option<Vec<Section<'_>>> {
    let mut rest = module.strip_prefix(b"\0asm")?.get(4..)?;
    let mut found = Vec::new();
    while let Some((&id, after_id)) = rest.split_first() {
        let (size, after_size) = leb128(after_id)?;
        let size = usize::try_from(size).ok()?;
        found.push(Section {
            id,
            body: after_size.get(..size)?,
        });
        rest = after_size.get(size..)?;
    }
    Some(found)
}

/// A custom section's name and what follows it; `None` for another section or a bad name.
pub fn custom_name<'a>(section: &Section<'a>) -> Option<(&'a str, &'a [u8])> {
    if section.id != CUSTOM {
        return None;
    }
    let (name, rest) = take_name(section.body)?;
    Some((name, rest))
}

/// A length-prefixed UTF-8 name, and what follows it.
pub fn take_name(bytes: &[u8]) -> Option<(&str, &[u8])> {
    let (length, rest) = leb128(bytes)?;
    let length = usize::try_from(length).ok()?;
    let name = std::str::from_utf8(rest.get(..length)?).ok()?;
    Some((name, rest.get(length..)?))
}

/// An unsigned LEB128 of at most 5 bytes (every size and index here is a u32), and what
/// follows it.
pub fn leb128(bytes: &[u8]) -> Option<(u64, &[u8])> {
    let mut value = 0u64;
    for (i, byte) in bytes.iter().take(5).enumerate() {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((value, &bytes[i + 1..]));
        }
    }
    None
}
