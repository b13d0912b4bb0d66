//! The size of a module's code section: the functions a runtime's compiler compiles. A
//! module's file size is a poor measure of a compiler's work here: `sign.wasm` is 762 KiB,
//! mostly precomputed tables in its data section, which a compiler copies and never compiles.

use std::path::Path;

/// The code section's id in the WebAssembly binary format.
const CODE_SECTION: u8 = 10;

/// The bytes of the module's code section; `None` when the file cannot be read or is not a
/// WebAssembly module whose sections can be walked.
pub fn code_bytes_of(module: &Path) -> Option<u64> {
    code_bytes(&std::fs::read(module).ok()?)
}

/// As `code_bytes_of`, of the module's bytes: the sections are walked by their sizes (an
/// unsigned LEB128 after each one-byte id), nothing in them is parsed.
pub fn code_bytes(module: &[u8]) -> Option<u64> {
    let mut rest = module.strip_prefix(b"\0asm")?.get(4..)?;
    while let Some((&id, after_id)) = rest.split_first() {
        let (size, after_size) = leb128(after_id)?;
        if id == CODE_SECTION {
            return Some(size);
        }
        rest = after_size.get(usize::try_from(size).ok()?..)?;
    }
    None
}

/// An unsigned LEB128 of at most 5 bytes (a section size is a u32), and what follows it.
fn leb128(bytes: &[u8]) -> Option<(u64, &[u8])> {
    let mut value = 0u64;
    for (i, byte) in bytes.iter().take(5).enumerate() {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((value, &bytes[i + 1..]));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_code_sections_size_is_found_past_the_other_sections() {
        let mut module = b"\0asm\x01\0\0\0".to_vec();
        // A type section of 4 bytes, a data section of 200 (a two-byte size), then code of 3.
        module.extend([1, 4, 0, 0, 0, 0]);
        module.extend([11, 0xc8, 0x01]);
        module.extend([0u8; 200]);
        module.extend([10, 3, 1, 2, 3]);
        assert_eq!(code_bytes(&module), Some(3));
    }

    #[test]
    fn what_is_not_a_whole_module_has_no_code_size() {
        assert_eq!(code_bytes(b"not wasm"), None);
        // No code section.
        assert_eq!(code_bytes(b"\0asm\x01\0\0\0\x01\x01\0"), None);
        // A section that claims more bytes than the file has.
        assert_eq!(code_bytes(b"\0asm\x01\0\0\0\x0b\x7f\0"), None);
        // A size that never ends.
        assert_eq!(
            code_bytes(b"\0asm\x01\0\0\0\x0a\xff\xff\xff\xff\xff\xff"),
            None
        );
    }
}
