//! The size of a module's code section: the functions a runtime's compiler compiles. A
//! module's file size is a poor measure of a compiler's work here: `sign.wasm` is 762 KiB,
//! mostly precomputed tables in its data section, which a compiler copies and never compiles.

use std::path::Path;

/// The bytes of the module's code section; `None` when the file cannot be read or is not a
/// WebAssembly module whose sections can be walked.
pub fn code_bytes_of(module: &Path) -> Option<u64> {
    code_bytes(&std::fs::read(module).ok()?)
}

/// As `code_bytes_of`, of the module's bytes.
pub fn code_bytes(module: &[u8]) -> Option<u64> {
    let sections = super::wasm_sections::sections(module)?;
    let code = sections
        .iter()
        .find(|s| s.id == super::wasm_sections::CODE)?;
    Some(code.body.len() as u64)
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
