/*
 * Runs one WASI preview1 command module translated by wasm2c, like
 * `wasmtime run MODULE.wasm`: instantiate, call `_start`, exit with the
 * status the module passes to proc_exit (0 if `_start` returns).  A trap
 * prints a line on stderr and exits with 134, as wasmtime does.
 *
 * One main.c fits every module because wasm2c-aot.sh translates each with
 * the same module name (`wasm2c -n bench`), so the symbols are always
 * w2c_bench_*.  Another name works with -DWASM2C_MODULE=<name>
 * -DWASM2C_HEADER='"<name>.h"'.
 */
#include <stdio.h>
#include <stdlib.h>

#include "wasm-rt-exceptions.h" /* wasm_rt_set_unwind_target, used by wasm_rt_impl_try */
#include "wasm-rt-impl.h"

#ifndef WASM2C_MODULE
#define WASM2C_MODULE bench
#endif
#ifndef WASM2C_HEADER
#define WASM2C_HEADER "bench.h"
#endif
#include WASM2C_HEADER

#define W2C_CAT3_(a, b, c) a##b##c
#define W2C_CAT3(a, b, c) W2C_CAT3_(a, b, c)
#define MODULE_T W2C_CAT3(w2c_, WASM2C_MODULE, )
#define MODULE_INSTANTIATE W2C_CAT3(wasm2c_, WASM2C_MODULE, _instantiate)
#define MODULE_MEMORY W2C_CAT3(w2c_, WASM2C_MODULE, _memory)
#define MODULE_START W2C_CAT3(w2c_, WASM2C_MODULE, _0x5Fstart)

/* From wasi.c. */
struct w2c_wasi__snapshot__preview1* wasi_instance(void);
void wasi_bind_memory(struct w2c_wasi__snapshot__preview1*, wasm_rt_memory_t*);

/* Static, so it outlives main's frame if a trap unwinds through it. */
static MODULE_T g_module;

int main(void) {
  /* Installs the SIGSEGV handler (and its alternate stack) that turns a
   * guard-page hit or native stack overflow into a wasm trap. */
  wasm_rt_init();

  struct w2c_wasi__snapshot__preview1* wasi = wasi_instance();
  /* volatile: read after a longjmp back into this frame. */
  volatile int started = 0;

  /* Instantiation can trap too (a data or element segment out of bounds),
   * so one handler covers both steps. */
  wasm_rt_trap_t trap = wasm_rt_impl_try();
  if (trap != WASM_RT_TRAP_NONE) {
    fprintf(stderr, "wasm trap%s: %s\n", started ? "" : " during instantiation",
            wasm_rt_strerror(trap));
    return 134;
  }
#ifdef WASM2C_NO_IMPORTS /* set by wasm2c-aot.sh for a module that imports nothing */
  MODULE_INSTANTIATE(&g_module);
#else
  MODULE_INSTANTIATE(&g_module, wasi);
#endif
  wasi_bind_memory(wasi, MODULE_MEMORY(&g_module));
  started = 1;
  MODULE_START(&g_module);
  return 0;
}
