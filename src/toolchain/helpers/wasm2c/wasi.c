/*
 * wasm2c (WABT 1.0.42) bindings of the WASI preview1 functions in
 * ../wasi/wasi-core.c, for libsodium's benchmark modules run natively.
 *
 * wasm2c names an import `w2c_<module>_<field>` with every `_` of the import
 * module name doubled, and passes a pointer to an import-instance struct that
 * the embedder defines.  Here that struct only points at the module's own
 * exported memory (these modules define their memory instead of importing
 * one), so main.c binds it once the module has been instantiated.
 *
 * wasm2c-aot.sh greps this file for `w2c_wasi__snapshot__preview1_<name>(`
 * to tell which imports are provided, so each binding is spelled out.
 */
#include "wasi-core.h"
#include "wasm-rt.h"

/* wasm2c reverses memory on big-endian hosts; the core reads it as wasm's
 * little-endian bytes. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "wasi.c assumes a little-endian host (wasm2c reverses memory on big-endian ones)"
#endif

struct w2c_wasi__snapshot__preview1 {
  wasm_rt_memory_t* memory;
};

static struct w2c_wasi__snapshot__preview1 g_wasi;

struct w2c_wasi__snapshot__preview1* wasi_instance(void) { return &g_wasi; }

void wasi_bind_memory(struct w2c_wasi__snapshot__preview1* w, wasm_rt_memory_t* m) {
  w->memory = m;
}

/* Read on every call: memory.grow may have moved or resized the memory. */
static struct wasi_mem mem(struct w2c_wasi__snapshot__preview1* w) {
  wasm_rt_memory_t* m = w->memory;
  return m == NULL ? (struct wasi_mem){NULL, 0} : (struct wasi_mem){m->data, m->size};
}

uint32_t w2c_wasi__snapshot__preview1_fd_write(struct w2c_wasi__snapshot__preview1* w,
                                               uint32_t fd, uint32_t iovs, uint32_t iovs_len,
                                               uint32_t nwritten_ptr) {
  return wasi_fd_write(mem(w), fd, iovs, iovs_len, nwritten_ptr);
}

uint32_t w2c_wasi__snapshot__preview1_fd_close(struct w2c_wasi__snapshot__preview1* w,
                                               uint32_t fd) {
  (void)w;
  return wasi_fd_close(fd);
}

uint32_t w2c_wasi__snapshot__preview1_fd_seek(struct w2c_wasi__snapshot__preview1* w,
                                              uint32_t fd, uint64_t offset, uint32_t whence,
                                              uint32_t newoffset_ptr) {
  return wasi_fd_seek(mem(w), fd, (int64_t)offset, whence, newoffset_ptr);
}

uint32_t w2c_wasi__snapshot__preview1_fd_fdstat_get(struct w2c_wasi__snapshot__preview1* w,
                                                    uint32_t fd, uint32_t buf) {
  return wasi_fd_fdstat_get(mem(w), fd, buf);
}

uint32_t w2c_wasi__snapshot__preview1_clock_time_get(struct w2c_wasi__snapshot__preview1* w,
                                                     uint32_t id, uint64_t precision,
                                                     uint32_t time_ptr) {
  return wasi_clock_time_get(mem(w), id, precision, time_ptr);
}

uint32_t w2c_wasi__snapshot__preview1_random_get(struct w2c_wasi__snapshot__preview1* w,
                                                 uint32_t buf, uint32_t len) {
  return wasi_random_get(mem(w), buf, len);
}

uint32_t w2c_wasi__snapshot__preview1_poll_oneoff(struct w2c_wasi__snapshot__preview1* w,
                                                  uint32_t in, uint32_t out, uint32_t nsubs,
                                                  uint32_t nevents_ptr) {
  return wasi_poll_oneoff(mem(w), in, out, nsubs, nevents_ptr);
}

void w2c_wasi__snapshot__preview1_proc_exit(struct w2c_wasi__snapshot__preview1* w,
                                            uint32_t code) {
  (void)w;
  wasi_proc_exit(code);
}
