;; The smallest WASI program that behaves like a benchmark module: it prints "1" and exits 0.
;; `wasmgate setup` runs it on every runtime to check that the runtime works at all.
;; tiny.wasm is this file assembled with binaryen's wasm-as.
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  ;; An iovec at 0: the text at 16, 2 bytes long.
  (data (i32.const 0) "\10\00\00\00\02\00\00\00")
  (data (i32.const 16) "1\n")
  (func (export "_start")
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
