/*
 * The WASI preview1 functions that wasmgate's native runtimes (wasm2c,
 * wasm3) give benchmark modules, independent of either runtime's ABI.
 *
 * Each function takes the guest's linear memory as a view, plus the call's
 * integer arguments as the WASI signature defines them, and returns the
 * WASI errno.  A binding only has to unpack its runtime's arguments and
 * build the view; checking guest pointers, byte order and the answers that
 * must match `wasmtime run` all live in wasi-core.c.
 *
 * The guest sees only fds 0, 1 and 2, no preopened directories and an empty
 * environment, as under `wasmtime run` without --dir or --env.
 */
#ifndef WASMGATE_WASI_CORE_H
#define WASMGATE_WASI_CORE_H

#include <stdint.h>

/* The guest's memory as it is during this call; base NULL means none. */
struct wasi_mem {
  uint8_t *base;
  uint64_t size;
};

uint32_t wasi_args_sizes_get(struct wasi_mem m, int argc, char *const *argv,
                             uint32_t argc_ptr, uint32_t bufsize_ptr);
uint32_t wasi_args_get(struct wasi_mem m, int argc, char *const *argv, uint32_t argv_ptr,
                       uint32_t buf_ptr);
uint32_t wasi_environ_sizes_get(struct wasi_mem m, uint32_t count_ptr, uint32_t bufsize_ptr);
uint32_t wasi_environ_get(struct wasi_mem m, uint32_t environ_ptr, uint32_t buf_ptr);

uint32_t wasi_clock_res_get(struct wasi_mem m, uint32_t id, uint32_t res_ptr);
uint32_t wasi_clock_time_get(struct wasi_mem m, uint32_t id, uint64_t precision,
                             uint32_t time_ptr);
uint32_t wasi_random_get(struct wasi_mem m, uint32_t buf, uint32_t len);
uint32_t wasi_sched_yield(void);
uint32_t wasi_poll_oneoff(struct wasi_mem m, uint32_t in, uint32_t out, uint32_t nsubs,
                          uint32_t nevents_ptr);

uint32_t wasi_fd_write(struct wasi_mem m, uint32_t fd, uint32_t iovs, uint32_t iovs_len,
                       uint32_t nwritten_ptr);
uint32_t wasi_fd_read(struct wasi_mem m, uint32_t fd, uint32_t iovs, uint32_t iovs_len,
                      uint32_t nread_ptr);
uint32_t wasi_fd_seek(struct wasi_mem m, uint32_t fd, int64_t offset, uint32_t whence,
                      uint32_t newoffset_ptr);
uint32_t wasi_fd_close(uint32_t fd);
uint32_t wasi_fd_fdstat_get(struct wasi_mem m, uint32_t fd, uint32_t buf);
uint32_t wasi_fd_prestat_get(struct wasi_mem m, uint32_t fd, uint32_t buf);
uint32_t wasi_fd_prestat_dir_name(struct wasi_mem m, uint32_t fd, uint32_t path,
                                  uint32_t path_len);

/* Ends the process at once with the status `wasmtime run` would give.
 * Nothing is flushed: the core writes with write(2) and buffers nothing. */
_Noreturn void wasi_proc_exit(uint32_t code);

#endif
