;; A loop for the AOT guard: ten million rounds of eight independent xorshift generators,
;; whose result is stored so that no compiler may drop them, then "1" printed like a benchmark
;; module. Compiled code runs the eight lanes side by side (tens of milliseconds); an
;; interpreter executes every instruction in turn, 10-30 times slower (WAMR's fast
;; interpreter), 100 times and more (WasmEdge's). A run that is not faster than the same
;; runtime's interpreter by the guard's factor is not running compiled code.
;; spin.wasm is this file assembled with binaryen's wasm-as.
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  ;; An iovec at 0: the text at 16, 2 bytes long.
  (data (i32.const 0) "\10\00\00\00\02\00\00\00")
  (data (i32.const 16) "1\n")
  (func $spin (param $n i32) (result i32)
    (local $x0 i32) (local $x1 i32) (local $x2 i32) (local $x3 i32) (local $x4 i32) (local $x5 i32) (local $x6 i32) (local $x7 i32)
    (local.set $x0 (i32.const 1))
    (local.set $x1 (i32.const 2))
    (local.set $x2 (i32.const 3))
    (local.set $x3 (i32.const 4))
    (local.set $x4 (i32.const 5))
    (local.set $x5 (i32.const 6))
    (local.set $x6 (i32.const 7))
    (local.set $x7 (i32.const 8))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $x0 (i32.xor (local.get $x0) (i32.shl (local.get $x0) (i32.const 13))))
        (local.set $x0 (i32.xor (local.get $x0) (i32.shr_u (local.get $x0) (i32.const 17))))
        (local.set $x0 (i32.xor (local.get $x0) (i32.shl (local.get $x0) (i32.const 5))))
        (local.set $x1 (i32.xor (local.get $x1) (i32.shl (local.get $x1) (i32.const 13))))
        (local.set $x1 (i32.xor (local.get $x1) (i32.shr_u (local.get $x1) (i32.const 17))))
        (local.set $x1 (i32.xor (local.get $x1) (i32.shl (local.get $x1) (i32.const 5))))
        (local.set $x2 (i32.xor (local.get $x2) (i32.shl (local.get $x2) (i32.const 13))))
        (local.set $x2 (i32.xor (local.get $x2) (i32.shr_u (local.get $x2) (i32.const 17))))
        (local.set $x2 (i32.xor (local.get $x2) (i32.shl (local.get $x2) (i32.const 5))))
        (local.set $x3 (i32.xor (local.get $x3) (i32.shl (local.get $x3) (i32.const 13))))
        (local.set $x3 (i32.xor (local.get $x3) (i32.shr_u (local.get $x3) (i32.const 17))))
        (local.set $x3 (i32.xor (local.get $x3) (i32.shl (local.get $x3) (i32.const 5))))
        (local.set $x4 (i32.xor (local.get $x4) (i32.shl (local.get $x4) (i32.const 13))))
        (local.set $x4 (i32.xor (local.get $x4) (i32.shr_u (local.get $x4) (i32.const 17))))
        (local.set $x4 (i32.xor (local.get $x4) (i32.shl (local.get $x4) (i32.const 5))))
        (local.set $x5 (i32.xor (local.get $x5) (i32.shl (local.get $x5) (i32.const 13))))
        (local.set $x5 (i32.xor (local.get $x5) (i32.shr_u (local.get $x5) (i32.const 17))))
        (local.set $x5 (i32.xor (local.get $x5) (i32.shl (local.get $x5) (i32.const 5))))
        (local.set $x6 (i32.xor (local.get $x6) (i32.shl (local.get $x6) (i32.const 13))))
        (local.set $x6 (i32.xor (local.get $x6) (i32.shr_u (local.get $x6) (i32.const 17))))
        (local.set $x6 (i32.xor (local.get $x6) (i32.shl (local.get $x6) (i32.const 5))))
        (local.set $x7 (i32.xor (local.get $x7) (i32.shl (local.get $x7) (i32.const 13))))
        (local.set $x7 (i32.xor (local.get $x7) (i32.shr_u (local.get $x7) (i32.const 17))))
        (local.set $x7 (i32.xor (local.get $x7) (i32.shl (local.get $x7) (i32.const 5))))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next)))
    (i32.xor (i32.xor (i32.xor (i32.xor (i32.xor (i32.xor (i32.xor (local.get $x0) (local.get $x1)) (local.get $x2)) (local.get $x3)) (local.get $x4)) (local.get $x5)) (local.get $x6)) (local.get $x7)))
  (func (export "_start")
    (i32.store (i32.const 32) (call $spin (i32.const 10000000)))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
