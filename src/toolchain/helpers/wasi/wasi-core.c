/*
 * WASI preview1 behaviour shared by the wasm2c and wasm3 bindings; see
 * wasi-core.h.
 *
 * The answers for stdio (fd_fdstat_get, fd_seek) copy what wasmtime reports,
 * because wasi-libc picks its stdout buffering from them.  Every pointer the
 * guest passes is checked against the memory view before use (EFAULT
 * otherwise), so the host never touches memory outside the guest's.  Guest
 * values are read and written byte by byte in little-endian order, wasm's
 * order, whatever the host's.
 */
#define _GNU_SOURCE
#include "wasi-core.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* WASI errno values (witx `errno`), only those this file returns. */
enum {
  E_SUCCESS = 0, E_ACCES = 2, E_AGAIN = 6, E_BADF = 8, E_FAULT = 21, E_FBIG = 22,
  E_INTR = 27, E_INVAL = 28, E_IO = 29, E_NOMEM = 48, E_NOSPC = 51, E_NOSYS = 52,
  E_PERM = 63, E_PIPE = 64, E_SPIPE = 70,
};

static uint32_t from_host_errno(int e) {
  switch (e) {
    case EACCES: return E_ACCES;
    case EAGAIN: return E_AGAIN;
    case EBADF: return E_BADF;
    case EFAULT: return E_FAULT;
    case EFBIG: return E_FBIG;
    case EINTR: return E_INTR;
    case EINVAL: return E_INVAL;
    case ENOMEM: return E_NOMEM;
    case ENOSPC: return E_NOSPC;
    case ENOSYS: return E_NOSYS;
    case EPERM: return E_PERM;
    case EPIPE: return E_PIPE;
    case ESPIPE: return E_SPIPE;
    default: return E_IO;
  }
}

/* ---- guest memory ----------------------------------------------------- */

/* Host address of guest range [off, off+len), or NULL if it is not all
 * inside the memory.  64-bit arithmetic: off+len cannot wrap. */
static uint8_t *at(struct wasi_mem m, uint32_t off, uint64_t len) {
  if (m.base == NULL || (uint64_t)off + len > m.size) return NULL;
  return m.base + off;
}

static uint64_t ld(const uint8_t *p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; i--) v = v << 8 | p[i];
  return v;
}

static void st(uint8_t *p, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t ld16(const uint8_t *p) { return (uint16_t)ld(p, 2); }
static uint32_t ld32(const uint8_t *p) { return (uint32_t)ld(p, 4); }
static uint64_t ld64(const uint8_t *p) { return ld(p, 8); }
static void st16(uint8_t *p, uint16_t v) { st(p, v, 2); }
static void st32(uint8_t *p, uint32_t v) { st(p, v, 4); }
static void st64(uint8_t *p, uint64_t v) { st(p, v, 8); }

/* ---- descriptors: stdio only -------------------------------------------- */

/* fd_close only hides the fd from the guest: wasmtime keeps the host's
 * stdio open too, so a reader sees EOF only when the process ends. */
static int g_closed[3];

static int fd_ok(uint32_t fd) { return fd <= 2 && !g_closed[fd]; }

/* ---- arguments and environment ------------------------------------------ */

static uint64_t args_buf_size(int argc, char *const *argv) {
  uint64_t n = 0;
  for (int i = 0; i < argc; i++) n += strlen(argv[i]) + 1;
  return n;
}

uint32_t wasi_args_sizes_get(struct wasi_mem m, int argc, char *const *argv,
                             uint32_t argc_ptr, uint32_t bufsize_ptr) {
  uint8_t *pc = at(m, argc_ptr, 4), *ps = at(m, bufsize_ptr, 4);
  if (pc == NULL || ps == NULL) return E_FAULT;
  st32(pc, (uint32_t)argc);
  st32(ps, (uint32_t)args_buf_size(argc, argv));
  return E_SUCCESS;
}

uint32_t wasi_args_get(struct wasi_mem m, int argc, char *const *argv, uint32_t argv_ptr,
                       uint32_t buf_ptr) {
  uint8_t *list = at(m, argv_ptr, 4 * (uint64_t)argc);
  uint8_t *buf = at(m, buf_ptr, args_buf_size(argc, argv));
  if (list == NULL || buf == NULL) return E_FAULT;
  uint32_t off = 0;
  for (int i = 0; i < argc; i++) {
    size_t len = strlen(argv[i]) + 1;
    st32(list + 4 * i, buf_ptr + off);
    memcpy(buf + off, argv[i], len);
    off += (uint32_t)len;
  }
  return E_SUCCESS;
}

uint32_t wasi_environ_sizes_get(struct wasi_mem m, uint32_t count_ptr, uint32_t bufsize_ptr) {
  uint8_t *pc = at(m, count_ptr, 4), *ps = at(m, bufsize_ptr, 4);
  if (pc == NULL || ps == NULL) return E_FAULT;
  st32(pc, 0);
  st32(ps, 0);
  return E_SUCCESS;
}

/* An empty environment writes nothing, so there is nothing to check. */
uint32_t wasi_environ_get(struct wasi_mem m, uint32_t environ_ptr, uint32_t buf_ptr) {
  (void)m; (void)environ_ptr; (void)buf_ptr;
  return E_SUCCESS;
}

/* ---- time, randomness, scheduling --------------------------------------- */

static int host_clock(uint32_t id, clockid_t *out) {
  switch (id) {
    case 0: *out = CLOCK_REALTIME; return 1;
    case 1: *out = CLOCK_MONOTONIC; return 1;
    case 2: *out = CLOCK_PROCESS_CPUTIME_ID; return 1;
    case 3: *out = CLOCK_THREAD_CPUTIME_ID; return 1;
    default: return 0;
  }
}

static uint64_t ts_ns(const struct timespec *t) {
  return (uint64_t)t->tv_sec * 1000000000u + (uint64_t)t->tv_nsec;
}

static uint64_t now_ns(clockid_t c) {
  struct timespec t;
  clock_gettime(c, &t);
  return ts_ns(&t);
}

/* clock_res_get and clock_time_get differ only in the libc call. */
static uint32_t clock_query(struct wasi_mem m, uint32_t id, uint32_t ptr,
                            int (*query)(clockid_t, struct timespec *)) {
  clockid_t c;
  if (!host_clock(id, &c)) return E_INVAL;
  uint8_t *p = at(m, ptr, 8);
  if (p == NULL) return E_FAULT;
  struct timespec t;
  if (query(c, &t) != 0) return from_host_errno(errno);
  st64(p, ts_ns(&t));
  return E_SUCCESS;
}

uint32_t wasi_clock_res_get(struct wasi_mem m, uint32_t id, uint32_t res_ptr) {
  return clock_query(m, id, res_ptr, clock_getres);
}

uint32_t wasi_clock_time_get(struct wasi_mem m, uint32_t id, uint64_t precision,
                             uint32_t time_ptr) {
  (void)precision;  /* a hint only; the host clock is as fine as it gets */
  return clock_query(m, id, time_ptr, clock_gettime);
}

uint32_t wasi_random_get(struct wasi_mem m, uint32_t buf, uint32_t len) {
  uint8_t *p = at(m, buf, len);
  if (p == NULL) return E_FAULT;
  while (len > 0) {
    ssize_t r = getrandom(p, len, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      return from_host_errno(errno);
    }
    p += r;
    len -= (uint32_t)r;
  }
  return E_SUCCESS;
}

uint32_t wasi_sched_yield(void) { return E_SUCCESS; }

/* ---- poll_oneoff ---------------------------------------------------------- */

/* subscription (48 bytes): userdata u64 @0, tag u8 @8, then @16 either
 *   clock: id u32 @16, timeout u64 @24, precision u64 @32, flags u16 @40
 *   fd_read / fd_write: fd u32 @16
 * event (32 bytes): userdata u64 @0, error u16 @8, type u8 @10,
 *   nbytes u64 @16, flags u16 @24 */
#define EVENTTYPE_CLOCK 0
#define EVENTTYPE_FD_READ 1
#define EVENTTYPE_FD_WRITE 2
#define SUBCLOCK_ABSTIME 1
#define EVENTRWFLAGS_HANGUP 1
#define NO_DEADLINE UINT64_MAX

struct poll_state {
  const uint8_t *subs;
  uint8_t *evs;
  struct pollfd *pfds;
  uint32_t nsubs, nev;
  uint64_t start;     /* CLOCK_MONOTONIC ns when the call began */
  uint64_t deadline;  /* earliest clock expiry, monotonic ns, or NO_DEADLINE */
};

static uint8_t *add_event(struct poll_state *ps, const uint8_t *sub, uint16_t error) {
  uint8_t *ev = ps->evs + 32 * ps->nev++;
  memset(ev, 0, 32);
  st64(ev, ld64(sub));
  st16(ev + 8, error);
  ev[10] = sub[8];
  return ev;
}

/* Monotonic deadline of a clock subscription; an absolute time on clock c
 * becomes the time left on c, counted from the call's start. */
static uint64_t clock_deadline(const uint8_t *s, clockid_t c, uint64_t start) {
  uint64_t timeout = ld64(s + 24);
  if (ld16(s + 40) & SUBCLOCK_ABSTIME) {
    uint64_t cnow = now_ns(c);
    return start + (timeout > cnow ? timeout - cnow : 0);
  }
  return timeout > UINT64_MAX - start ? UINT64_MAX - 1 : start + timeout;
}

/* Fills pfds and the deadline; bad ids and fds become error events now. */
static uint32_t plan_subscriptions(struct poll_state *ps) {
  for (uint32_t i = 0; i < ps->nsubs; i++) {
    const uint8_t *s = ps->subs + 48 * i;
    ps->pfds[i].fd = -1;
    if (s[8] == EVENTTYPE_CLOCK) {
      clockid_t c;
      if (!host_clock(ld32(s + 16), &c)) {
        add_event(ps, s, E_INVAL);
        continue;
      }
      uint64_t when = clock_deadline(s, c, ps->start);
      if (when < ps->deadline) ps->deadline = when;
    } else if (s[8] == EVENTTYPE_FD_READ || s[8] == EVENTTYPE_FD_WRITE) {
      uint32_t fd = ld32(s + 16);
      if (!fd_ok(fd) || (s[8] == EVENTTYPE_FD_READ) != (fd == 0)) {
        add_event(ps, s, E_BADF);
        continue;
      }
      ps->pfds[i].fd = (int)fd;
      ps->pfds[i].events = s[8] == EVENTTYPE_FD_READ ? POLLIN : POLLOUT;
    } else {
      return E_INVAL;
    }
  }
  return E_SUCCESS;
}

/* Blocks until an fd is ready or the deadline has really passed (ppoll may
 * wake early, and EINTR is not an answer the guest asked for). */
static uint32_t wait_ready(struct poll_state *ps) {
  for (;;) {
    struct timespec to, *top = NULL;
    if (ps->deadline != NO_DEADLINE) {
      uint64_t t = now_ns(CLOCK_MONOTONIC), left = ps->deadline > t ? ps->deadline - t : 0;
      to.tv_sec = (time_t)(left / 1000000000u);
      to.tv_nsec = (long)(left % 1000000000u);
      top = &to;
    }
    int r = ppoll(ps->pfds, ps->nsubs, top, NULL);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return from_host_errno(errno);
    if (r == 0 && top != NULL && now_ns(CLOCK_MONOTONIC) < ps->deadline) continue;
    return E_SUCCESS;
  }
}

static void report_fds(struct poll_state *ps) {
  for (uint32_t i = 0; i < ps->nsubs; i++) {
    const uint8_t *s = ps->subs + 48 * i;
    short rev = ps->pfds[i].revents;
    if (ps->pfds[i].fd < 0 || rev == 0) continue;
    int avail = 0;
    if (s[8] == EVENTTYPE_FD_READ && ioctl(ps->pfds[i].fd, FIONREAD, &avail) != 0) avail = 0;
    uint8_t *ev = add_event(ps, s, (rev & (POLLERR | POLLNVAL)) ? E_IO : E_SUCCESS);
    st64(ev + 16, (uint64_t)(avail > 0 ? avail : 0));
    if (rev & POLLHUP) st16(ev + 24, EVENTRWFLAGS_HANGUP);
  }
}

/* Once the earliest deadline has passed, every clock whose own time has
 * come fires, not just the earliest. */
static void report_clocks(struct poll_state *ps) {
  uint64_t t = now_ns(CLOCK_MONOTONIC);
  if (ps->deadline == NO_DEADLINE || t < ps->deadline) return;
  for (uint32_t i = 0; i < ps->nsubs; i++) {
    const uint8_t *s = ps->subs + 48 * i;
    clockid_t c;
    if (s[8] != EVENTTYPE_CLOCK || !host_clock(ld32(s + 16), &c)) continue;
    uint64_t timeout = ld64(s + 24);
    int due = (ld16(s + 40) & SUBCLOCK_ABSTIME) ? now_ns(c) >= timeout
                                                 : t - ps->start >= timeout;
    if (due) add_event(ps, s, E_SUCCESS);
  }
}

uint32_t wasi_poll_oneoff(struct wasi_mem m, uint32_t in, uint32_t out, uint32_t nsubs,
                          uint32_t nevents_ptr) {
  if (nsubs == 0) return E_INVAL;
  struct poll_state ps = {
    .subs = at(m, in, (uint64_t)nsubs * 48), .evs = at(m, out, (uint64_t)nsubs * 32),
    .nsubs = nsubs, .start = now_ns(CLOCK_MONOTONIC), .deadline = NO_DEADLINE,
  };
  uint8_t *nev = at(m, nevents_ptr, 4);
  if (ps.subs == NULL || ps.evs == NULL || nev == NULL) return E_FAULT;
  ps.pfds = calloc(nsubs, sizeof *ps.pfds);
  if (ps.pfds == NULL) return E_NOMEM;

  uint32_t err = plan_subscriptions(&ps);
  if (err == E_SUCCESS && ps.nev == 0) err = wait_ready(&ps);
  else if (err == E_SUCCESS) ppoll(ps.pfds, nsubs, &(struct timespec){0, 0}, NULL);
  if (err == E_SUCCESS) {
    report_fds(&ps);
    report_clocks(&ps);
    st32(nev, ps.nev);
  }
  free(ps.pfds);
  return err;
}

/* ---- fd_write / fd_read ---------------------------------------------------- */

#define IOV_BATCH 64

/* Checks every buffer of an iovec list up front, so that a fault never
 * leaves a partial transfer behind. */
static uint32_t check_iovs(struct wasi_mem m, uint32_t iovs, uint32_t n, uint8_t **list) {
  *list = at(m, iovs, (uint64_t)n * 8);
  if (*list == NULL) return E_FAULT;
  for (uint32_t i = 0; i < n; i++)
    if (at(m, ld32(*list + 8 * i), ld32(*list + 8 * i + 4)) == NULL) return E_FAULT;
  return E_SUCCESS;
}

/* readv/writev in batches; stop at the first short transfer, as POSIX
 * does, and report what already moved rather than a later error. */
static uint32_t transfer(struct wasi_mem m, int fd, const uint8_t *list, uint32_t n,
                         ssize_t (*io)(int, const struct iovec *, int), uint32_t *done) {
  uint64_t total = 0;
  for (uint32_t i = 0; i < n;) {
    struct iovec v[IOV_BATCH];
    size_t want = 0;
    int k = 0;
    for (; k < IOV_BATCH && i + k < n; k++) {
      const uint8_t *e = list + 8 * (i + k);
      v[k].iov_base = at(m, ld32(e), ld32(e + 4));
      v[k].iov_len = ld32(e + 4);
      want += v[k].iov_len;
    }
    ssize_t r;
    do r = io(fd, v, k); while (r < 0 && errno == EINTR);
    if (r < 0 && total == 0) return from_host_errno(errno);
    if (r < 0) break;
    total += (uint64_t)r;
    if ((size_t)r < want) break;
    i += (uint32_t)k;
  }
  *done = (uint32_t)total;
  return E_SUCCESS;
}

static uint32_t fd_io(struct wasi_mem m, uint32_t fd, uint32_t iovs, uint32_t iovs_len,
                      uint32_t done_ptr, ssize_t (*io)(int, const struct iovec *, int)) {
  uint8_t *out = at(m, done_ptr, 4), *list;
  if (out == NULL || check_iovs(m, iovs, iovs_len, &list) != E_SUCCESS) return E_FAULT;
  uint32_t done;
  uint32_t err = transfer(m, (int)fd, list, iovs_len, io, &done);
  if (err == E_SUCCESS) st32(out, done);
  return err;
}

uint32_t wasi_fd_write(struct wasi_mem m, uint32_t fd, uint32_t iovs, uint32_t iovs_len,
                       uint32_t nwritten_ptr) {
  if (!fd_ok(fd) || fd == 0) return E_BADF;
  return fd_io(m, fd, iovs, iovs_len, nwritten_ptr, writev);
}

uint32_t wasi_fd_read(struct wasi_mem m, uint32_t fd, uint32_t iovs, uint32_t iovs_len,
                      uint32_t nread_ptr) {
  if (!fd_ok(fd) || fd != 0) return E_BADF;
  return fd_io(m, fd, iovs, iovs_len, nread_ptr, readv);
}

/* ---- other fd calls --------------------------------------------------------- */

/* Stdio is a stream under wasmtime, whatever the host fd is: never seekable. */
uint32_t wasi_fd_seek(struct wasi_mem m, uint32_t fd, int64_t offset, uint32_t whence,
                      uint32_t newoffset_ptr) {
  (void)m; (void)offset; (void)newoffset_ptr;
  if (!fd_ok(fd)) return E_BADF;
  if (whence > 2) return E_INVAL;
  return E_SPIPE;
}

uint32_t wasi_fd_close(uint32_t fd) {
  if (!fd_ok(fd)) return E_BADF;
  g_closed[fd] = 1;
  return E_SUCCESS;
}

#define FILETYPE_UNKNOWN 0
#define FILETYPE_CHARACTER_DEVICE 2
#define RIGHT_FD_READ (UINT64_C(1) << 1)
#define RIGHT_FD_WRITE (UINT64_C(1) << 6)

/* fdstat: filetype u8 @0, fs_flags u16 @2, rights_base u64 @8,
 * rights_inheriting u64 @16; 24 bytes.  wasmtime calls a pipe or a
 * redirected file "unknown" and grants stdio one right, also inherited. */
uint32_t wasi_fd_fdstat_get(struct wasi_mem m, uint32_t fd, uint32_t buf) {
  if (!fd_ok(fd)) return E_BADF;
  uint8_t *p = at(m, buf, 24);
  if (p == NULL) return E_FAULT;
  uint64_t rights = fd == 0 ? RIGHT_FD_READ : RIGHT_FD_WRITE;
  memset(p, 0, 24);
  p[0] = isatty((int)fd) ? FILETYPE_CHARACTER_DEVICE : FILETYPE_UNKNOWN;
  st64(p + 8, rights);
  st64(p + 16, rights);
  return E_SUCCESS;
}

/* No preopened directories: every fd asked about is not one. */
uint32_t wasi_fd_prestat_get(struct wasi_mem m, uint32_t fd, uint32_t buf) {
  (void)m; (void)fd; (void)buf;
  return E_BADF;
}

uint32_t wasi_fd_prestat_dir_name(struct wasi_mem m, uint32_t fd, uint32_t path,
                                  uint32_t path_len) {
  (void)m; (void)fd; (void)path; (void)path_len;
  return E_BADF;
}

/* ---- process ------------------------------------------------------------------ */

/* wasmtime exits with the status itself for 0..125 and fails (status 1,
 * with a message) for larger ones, which a shell would misread as signals. */
_Noreturn void wasi_proc_exit(uint32_t code) {
  if (code < 126) _exit((int)code);
  static const char msg[] = "error: exit with invalid exit status outside of [0..126)\n";
  if (write(2, msg, sizeof msg - 1) < 0) { /* nothing more to do */ }
  _exit(1);
}
