/*
 * wasm3-run: minimal command-line runner for WASI preview1 "command" modules
 * on top of the wasm3 interpreter library.
 *
 *   wasm3-run MODULE.wasm [ARGS...]   run MODULE's _start, exit with its status
 *   wasm3-run --version               print "wasm3 <version>"
 *
 * The wasm3 sources shipped in the pywasm3 sdist do not include wasm3's own
 * WASI layer, so this file provides a small set of wasi_snapshot_preview1 host
 * functions: enough for non-interactive benchmark programs that only write to
 * stdout/stderr, read clocks and ask for random bytes.  There are no preopened
 * directories and the environment is empty.
 *
 * Exit status: the value given to proc_exit, 0 when _start returns normally,
 * 1 on any load/link error or trap (the wasm3 error goes to stderr).
 */

#define _GNU_SOURCE 1

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "wasm3.h"
#include "m3_env.h" /* internal: walk the function table to find unlinked imports */

#ifndef WASM3_RUN_STACK_SIZE
#define WASM3_RUN_STACK_SIZE (1024u * 1024u) /* wasm3 value stack, in bytes */
#endif

#define WASI_MODULE "wasi_snapshot_preview1"

/* WASI preview1 errno values used here */
enum {
    WASI_ESUCCESS = 0,
    WASI_EBADF = 8,
    WASI_EFAULT = 21,
    WASI_EINTR = 27,
    WASI_EINVAL = 28,
    WASI_EIO = 29,
    WASI_ENOSYS = 52,
    WASI_ENOTSUP = 58,
    WASI_ESPIPE = 70,
};

/* WASI preview1 file types */
enum {
    WASI_FILETYPE_UNKNOWN = 0,
    WASI_FILETYPE_BLOCK_DEVICE = 1,
    WASI_FILETYPE_CHARACTER_DEVICE = 2,
    WASI_FILETYPE_DIRECTORY = 3,
    WASI_FILETYPE_REGULAR_FILE = 4,
    WASI_FILETYPE_SOCKET_STREAM = 6,
};

/* WASI preview1 rights bits */
#define WASI_RIGHT_FD_READ (UINT64_C(1) << 1)
#define WASI_RIGHT_FD_WRITE (UINT64_C(1) << 6)
#define WASI_RIGHT_POLL_FD_READWRITE (UINT64_C(1) << 27)

/* ------------------------------------------------------------------------ */
/* process state shared with the host functions                             */

static int g_argc;          /* arguments visible to the module */
static char **g_argv;
static uint32_t g_exit_code; /* set by proc_exit */
static int g_stdio_closed[3];

/* ------------------------------------------------------------------------ */
/* little-endian guest memory helpers (offsets are checked by the callers)  */

static uint8_t *guest(void *mem, uint32_t off) { return (uint8_t *)mem + off; }

static uint32_t ld32(void *mem, uint32_t off)
{
    const uint8_t *p = guest(mem, off);
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static uint64_t ld64(void *mem, uint32_t off)
{
    return (uint64_t)ld32(mem, off) | ((uint64_t)ld32(mem, off + 4) << 32);
}

static uint16_t ld16(void *mem, uint32_t off)
{
    const uint8_t *p = guest(mem, off);
    return (uint16_t)(p[0] | (p[1] << 8));
}

static void st8(void *mem, uint32_t off, uint8_t v) { *guest(mem, off) = v; }

static void st16(void *mem, uint32_t off, uint16_t v)
{
    uint8_t *p = guest(mem, off);
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void st32(void *mem, uint32_t off, uint32_t v)
{
    uint8_t *p = guest(mem, off);
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void st64(void *mem, uint32_t off, uint64_t v)
{
    st32(mem, off, (uint32_t)v);
    st32(mem, off + 4, (uint32_t)(v >> 32));
}

/* true when [off, off+len) lies inside the current linear memory */
static int in_bounds(IM3Runtime rt, uint32_t off, uint64_t len)
{
    return (uint64_t)off + len <= (uint64_t)m3_GetMemorySize(rt);
}

static uint16_t errno_to_wasi(int e)
{
    switch (e) {
    case EBADF: return WASI_EBADF;
    case EFAULT: return WASI_EFAULT;
    case EINTR: return WASI_EINTR;
    case EINVAL: return WASI_EINVAL;
    case ESPIPE: return WASI_ESPIPE;
    case ENOSYS: return WASI_ENOSYS;
    default: return WASI_EIO;
    }
}

/* only the three standard descriptors exist in this sandbox */
static int stdio_fd(uint32_t fd) { return fd <= 2 && !g_stdio_closed[fd]; }

/* ------------------------------------------------------------------------ */
/* arguments and environment                                                */

static uint64_t args_buf_size(void)
{
    uint64_t n = 0;
    for (int i = 0; i < g_argc; i++) n += strlen(g_argv[i]) + 1;
    return n;
}

static m3ApiRawFunction(w_args_sizes_get)
{
    m3ApiReturnType(uint32_t);
    m3ApiGetArg(uint32_t, argc_ptr);
    m3ApiGetArg(uint32_t, bufsize_ptr);
    if (!in_bounds(runtime, argc_ptr, 4) || !in_bounds(runtime, bufsize_ptr, 4)) m3ApiReturn(WASI_EFAULT);
    st32(_mem, argc_ptr, (uint32_t)g_argc);
    st32(_mem, bufsize_ptr, (uint32_t)args_buf_size());
    m3ApiReturn(WASI_ESUCCESS);
}

static m3ApiRawFunction(w_args_get)
{
    m3ApiReturnType(uint32_t);
    m3ApiGetArg(uint32_t, argv_ptr);
    m3ApiGetArg(uint32_t, buf_ptr);
    if (!in_bounds(runtime, argv_ptr, 4ull * (uint64_t)g_argc) || !in_bounds(runtime, buf_ptr, args_buf_size()))
        m3ApiReturn(WASI_EFAULT);
    uint32_t at = buf_ptr;
    for (int i = 0; i < g_argc; i++) {
        size_t len = strlen(g_argv[i]) + 1;
        st32(_mem, argv_ptr + 4u * (uint32_t)i, at);
        memcpy(guest(_mem, at), g_argv[i], len);
        at += (uint32_t)len;
    }
    m3ApiReturn(WASI_ESUCCESS);
}

/* the environment handed to the module is empty */
static m3ApiRawFunction(w_environ_sizes_get)
{
    m3ApiReturnType(uint32_t);
    m3ApiGetArg(uint32_t, count_ptr);
    m3ApiGetArg(uint32_t, bufsize_ptr);
    if (!in_bounds(runtime, count_ptr, 4) || !in_bounds(runtime, bufsize_ptr, 4)) m3ApiReturn(WASI_EFAULT);
    st32(_mem, count_ptr, 0);
    st32(_mem, bufsize_ptr, 0);
    m3ApiReturn(WASI_ESUCCESS);
}

static m3ApiRawFunction(w_environ_get)
{
    m3ApiReturnType(uint32_t);
    m3ApiGetArg(uint32_t, environ_ptr);
    m3ApiGetArg(uint32_t, buf_ptr);
    (void)environ_ptr;
    (void)buf_ptr;
    m3ApiReturn(WASI_ESUCCESS);
}

/* ------------------------------------------------------------------------ */
/* clocks, randomness, scheduling                                           */

static int host_clock(uint32_t id, clockid_t *out)
{
    switch (id) {
    case 0: *out = CLOCK_REALTIME; return 1;
    case 1: *out = CLOCK_MONOTONIC; return 1;
    case 2: *out = CLOCK_PROCESS_CPUTIME_ID; return 1;
    case 3: *out = CLOCK_THREAD_CPUTIME_ID; return 1;
    default: return 0;
    }
}

static uint64_t ts_to_ns(const struct timespec *ts)
{
    return (uint64_t)ts->tv_sec * UINT64_C(1000000000) + (uint64_t)ts->tv_nsec;
}

static m3ApiRawFunction(w_clock_res_get)
{
    m3ApiReturnType(uint32_t);
    m3ApiGetArg(uint32_t, id);
    m3ApiGetArg(uint32_t, res_ptr);
    clockid_t cid;
    struct timespec ts;
    if (!host_clock(id, &cid)) m3ApiReturn(WASI_EINVAL);
    if (!in_bounds(runtime, res_ptr, 8)) m3ApiReturn(WASI_EFAULT);
    if (clock_getres(cid, &ts) != 0) m3ApiReturn(errno_to_wasi(errno));
    st64(_mem, res_ptr, ts_to_ns(&ts));
    m3ApiReturn(WASI_ESUCCESS);
}

static m3ApiRawFunction(w_clock_time_get)
{
    m3ApiReturnType(uint32_t);
    m3ApiGetArg(uint32_t, id);
    m3ApiGetArg(uint64_t, precision);
    m3ApiGetArg(uint32_t, time_ptr);
    (void)precision;
    clockid_t cid;
    struct timespec ts;
    if (!host_clock(id, &cid)) m3ApiReturn(WASI_EINVAL);
    if (!in_bounds(runtime, time_ptr, 8)) m3ApiReturn(WASI_EFAULT);
    if (clock_gettime(cid, &ts) != 0) m3ApiReturn(errno_to_wasi(errno));
    st64(_mem, time_ptr, ts_to_ns(&ts));
    m3ApiReturn(WASI_ESUCCESS);
}

static m3ApiRawFunction(w_random_get)
{
    m3ApiReturnType(uint32_t);
    m3ApiGetArg(uint32_t, buf);
    m3ApiGetArg(uint32_t, len);
    if (!in_bounds(runtime, buf, len)) m3ApiReturn(WASI_EFAULT);
    uint32_t done = 0;
    while (done < len) {
        ssize_t n = getrandom(guest(_mem, buf + done), len - done, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            m3ApiReturn(errno_to_wasi(errno));
        }
        done += (uint32_t)n;
    }
    m3ApiReturn(WASI_ESUCCESS);
}

static m3ApiRawFunction(w_sched_yield)
{
    m3ApiReturnType(uint32_t);
    m3ApiReturn(WASI_ESUCCESS);
}

/*
 * poll_oneoff: clock subscriptions sleep until the earliest one expires;
 * descriptor subscriptions (stdio only) are reported ready immediately.
 * Layouts: subscription is 48 bytes, event is 32 bytes.
 */
static m3ApiRawFunction(w_poll_oneoff)
{
    m3ApiReturnType(uint32_t);
    m3ApiGetArg(uint32_t, in_ptr);
    m3ApiGetArg(uint32_t, out_ptr);
    m3ApiGetArg(uint32_t, nsubs);
    m3ApiGetArg(uint32_t, nevents_ptr);

    if (nsubs == 0) m3ApiReturn(WASI_EINVAL);
    if (!in_bounds(runtime, in_ptr, 48ull * nsubs) || !in_bounds(runtime, out_ptr, 32ull * nsubs) ||
        !in_bounds(runtime, nevents_ptr, 4))
        m3ApiReturn(WASI_EFAULT);

    uint32_t nev = 0;
    int have_fd = 0;
    uint64_t min_wait = UINT64_MAX;

    /* first pass: descriptor events, and the shortest clock wait */
    for (uint32_t i = 0; i < nsubs; i++) {
        uint32_t s = in_ptr + 48u * i;
        uint8_t tag = *guest(_mem, s + 8);
        if (tag == 0) {
            uint32_t id = ld32(_mem, s + 16);
            uint64_t timeout = ld64(_mem, s + 24);
            uint16_t flags = ld16(_mem, s + 40);
            uint64_t wait = timeout;
            clockid_t cid;
            if (!host_clock(id, &cid)) cid = CLOCK_MONOTONIC;
            if (flags & 1) { /* absolute deadline */
                struct timespec now;
                clock_gettime(cid, &now);
                uint64_t n = ts_to_ns(&now);
                wait = timeout > n ? timeout - n : 0;
            }
            if (wait < min_wait) min_wait = wait;
        } else if (tag == 1 || tag == 2) {
            uint32_t fd = ld32(_mem, s + 16);
            uint32_t e = out_ptr + 32u * nev++;
            memset(guest(_mem, e), 0, 32);
            st64(_mem, e, ld64(_mem, s));
            st16(_mem, e + 8, stdio_fd(fd) ? WASI_ESUCCESS : WASI_EBADF);
            st8(_mem, e + 10, tag);
            have_fd = 1;
        } else {
            m3ApiReturn(WASI_EINVAL);
        }
    }

    /* nothing ready yet: sleep, then report every clock that has expired */
    if (!have_fd && min_wait != UINT64_MAX) {
        struct timespec req = { (time_t)(min_wait / 1000000000u), (long)(min_wait % 1000000000u) };
        while (nanosleep(&req, &req) != 0 && errno == EINTR) {}
        for (uint32_t i = 0; i < nsubs; i++) {
            uint32_t s = in_ptr + 48u * i;
            if (*guest(_mem, s + 8) != 0) continue;
            uint64_t timeout = ld64(_mem, s + 24);
            uint16_t flags = ld16(_mem, s + 40);
            int expired = 1;
            if (!(flags & 1)) {
                expired = timeout <= min_wait;
            } else {
                clockid_t cid;
                struct timespec now;
                if (!host_clock(ld32(_mem, s + 16), &cid)) cid = CLOCK_MONOTONIC;
                clock_gettime(cid, &now);
                expired = timeout <= ts_to_ns(&now);
            }
            if (!expired) continue;
            uint32_t e = out_ptr + 32u * nev++;
            memset(guest(_mem, e), 0, 32);
            st64(_mem, e, ld64(_mem, s));
            st8(_mem, e + 10, 0);
        }
    }

    st32(_mem, nevents_ptr, nev);
    m3ApiReturn(WASI_ESUCCESS);
}

/* ------------------------------------------------------------------------ */
/* descriptors: only 0, 1 and 2, no preopens                                */

static m3ApiRawFunction(w_fd_write)
{
    m3ApiReturnType(uint32_t);
    m3ApiGetArg(uint32_t, fd);
    m3ApiGetArg(uint32_t, iovs);
    m3ApiGetArg(uint32_t, iovs_len);
    m3ApiGetArg(uint32_t, nwritten_ptr);

    if (!stdio_fd(fd) || fd == 0) m3ApiReturn(WASI_EBADF);
    if (!in_bounds(runtime, iovs, 8ull * iovs_len) || !in_bounds(runtime, nwritten_ptr, 4)) m3ApiReturn(WASI_EFAULT);

    uint64_t total = 0;
    for (uint32_t i = 0; i < iovs_len; i++) {
        uint32_t base = ld32(_mem, iovs + 8u * i);
        uint32_t len = ld32(_mem, iovs + 8u * i + 4);
        if (!in_bounds(runtime, base, len)) m3ApiReturn(WASI_EFAULT);
        uint32_t off = 0;
        while (off < len) {
            ssize_t n = write((int)fd, guest(_mem, base + off), len - off);
            if (n < 0) {
                if (errno == EINTR) continue;
                if (total + off > 0) break; /* report the partial write */
                m3ApiReturn(errno_to_wasi(errno));
            }
            off += (uint32_t)n;
        }
        total += off;
        if (off < len) break;
    }
    st32(_mem, nwritten_ptr, (uint32_t)total);
    m3ApiReturn(WASI_ESUCCESS);
}

static m3ApiRawFunction(w_fd_read)
{
    m3ApiReturnType(uint32_t);
    m3ApiGetArg(uint32_t, fd);
    m3ApiGetArg(uint32_t, iovs);
    m3ApiGetArg(uint32_t, iovs_len);
    m3ApiGetArg(uint32_t, nread_ptr);

    if (!stdio_fd(fd) || fd != 0) m3ApiReturn(WASI_EBADF);
    if (!in_bounds(runtime, iovs, 8ull * iovs_len) || !in_bounds(runtime, nread_ptr, 4)) m3ApiReturn(WASI_EFAULT);

    uint64_t total = 0;
    for (uint32_t i = 0; i < iovs_len; i++) {
        uint32_t base = ld32(_mem, iovs + 8u * i);
        uint32_t len = ld32(_mem, iovs + 8u * i + 4);
        if (!in_bounds(runtime, base, len)) m3ApiReturn(WASI_EFAULT);
        if (len == 0) continue;
        ssize_t n;
        do n = read(0, guest(_mem, base), len); while (n < 0 && errno == EINTR);
        if (n < 0) {
            if (total > 0) break;
            m3ApiReturn(errno_to_wasi(errno));
        }
        total += (uint64_t)n;
        if ((uint32_t)n < len) break; /* short read: stop here */
    }
    st32(_mem, nread_ptr, (uint32_t)total);
    m3ApiReturn(WASI_ESUCCESS);
}

/* stdio is treated as a stream: no seek/tell */
static m3ApiRawFunction(w_fd_seek)
{
    m3ApiReturnType(uint32_t);
    m3ApiGetArg(uint32_t, fd);
    m3ApiGetArg(int64_t, offset);
    m3ApiGetArg(uint32_t, whence);
    m3ApiGetArg(uint32_t, newoffset_ptr);
    (void)offset;
    (void)whence;
    (void)newoffset_ptr;
    m3ApiReturn(stdio_fd(fd) ? WASI_ESPIPE : WASI_EBADF);
}

/* closing a standard descriptor only hides it from the module */
static m3ApiRawFunction(w_fd_close)
{
    m3ApiReturnType(uint32_t);
    m3ApiGetArg(uint32_t, fd);
    if (!stdio_fd(fd)) m3ApiReturn(WASI_EBADF);
    g_stdio_closed[fd] = 1;
    m3ApiReturn(WASI_ESUCCESS);
}

static m3ApiRawFunction(w_fd_fdstat_get)
{
    m3ApiReturnType(uint32_t);
    m3ApiGetArg(uint32_t, fd);
    m3ApiGetArg(uint32_t, buf);

    if (!stdio_fd(fd)) m3ApiReturn(WASI_EBADF);
    if (!in_bounds(runtime, buf, 24)) m3ApiReturn(WASI_EFAULT);

    uint8_t type = WASI_FILETYPE_UNKNOWN;
    struct stat st;
    if (fstat((int)fd, &st) == 0) {
        if (S_ISCHR(st.st_mode)) type = WASI_FILETYPE_CHARACTER_DEVICE;
        else if (S_ISREG(st.st_mode)) type = WASI_FILETYPE_REGULAR_FILE;
        else if (S_ISDIR(st.st_mode)) type = WASI_FILETYPE_DIRECTORY;
        else if (S_ISBLK(st.st_mode)) type = WASI_FILETYPE_BLOCK_DEVICE;
        else if (S_ISSOCK(st.st_mode)) type = WASI_FILETYPE_SOCKET_STREAM;
    }
    uint64_t rights = (fd == 0 ? WASI_RIGHT_FD_READ : WASI_RIGHT_FD_WRITE) | WASI_RIGHT_POLL_FD_READWRITE;

    memset(guest(_mem, buf), 0, 24);
    st8(_mem, buf, type);     /* fs_filetype */
    st16(_mem, buf + 2, 0);   /* fs_flags */
    st64(_mem, buf + 8, rights);  /* fs_rights_base */
    st64(_mem, buf + 16, 0);  /* fs_rights_inheriting */
    m3ApiReturn(WASI_ESUCCESS);
}

/* no preopened directories */
static m3ApiRawFunction(w_fd_prestat_get)
{
    m3ApiReturnType(uint32_t);
    m3ApiGetArg(uint32_t, fd);
    m3ApiGetArg(uint32_t, buf);
    (void)fd;
    (void)buf;
    m3ApiReturn(WASI_EBADF);
}

static m3ApiRawFunction(w_fd_prestat_dir_name)
{
    m3ApiReturnType(uint32_t);
    m3ApiGetArg(uint32_t, fd);
    m3ApiGetArg(uint32_t, path);
    m3ApiGetArg(uint32_t, path_len);
    (void)fd;
    (void)path;
    (void)path_len;
    m3ApiReturn(WASI_EBADF);
}

/* ------------------------------------------------------------------------ */
/* process exit: unwind the interpreter with wasm3's exit trap              */

static m3ApiRawFunction(w_proc_exit)
{
    m3ApiGetArg(uint32_t, code);
    (void)_mem;
    (void)runtime;
    g_exit_code = code;
    m3ApiTrap(m3Err_trapExit);
}

/* ------------------------------------------------------------------------ */

struct host_fn {
    const char *name;
    const char *sig; /* wasm3 signature: return(args), i=i32 I=i64 v=void */
    M3RawCall fn;
};

static const struct host_fn k_wasi[] = {
    { "args_get", "i(ii)", w_args_get },
    { "args_sizes_get", "i(ii)", w_args_sizes_get },
    { "environ_get", "i(ii)", w_environ_get },
    { "environ_sizes_get", "i(ii)", w_environ_sizes_get },
    { "clock_res_get", "i(ii)", w_clock_res_get },
    { "clock_time_get", "i(iIi)", w_clock_time_get },
    { "random_get", "i(ii)", w_random_get },
    { "sched_yield", "i()", w_sched_yield },
    { "poll_oneoff", "i(iiii)", w_poll_oneoff },
    { "fd_write", "i(iiii)", w_fd_write },
    { "fd_read", "i(iiii)", w_fd_read },
    { "fd_seek", "i(iIii)", w_fd_seek },
    { "fd_close", "i(i)", w_fd_close },
    { "fd_fdstat_get", "i(ii)", w_fd_fdstat_get },
    { "fd_prestat_get", "i(ii)", w_fd_prestat_get },
    { "fd_prestat_dir_name", "i(iii)", w_fd_prestat_dir_name },
    { "proc_exit", "v(i)", w_proc_exit },
};

static void print_error(IM3Runtime rt, const char *what, M3Result r)
{
    M3ErrorInfo info;
    memset(&info, 0, sizeof info);
    if (rt) m3_GetErrorInfo(rt, &info);
    fprintf(stderr, "wasm3-run: %s: %s", what, r);
    if (info.message && info.message[0]) fprintf(stderr, " (%s)", info.message);
    fputc('\n', stderr);

#if d_m3RecordBacktraces
    IM3BacktraceInfo bt = rt ? m3_GetBacktrace(rt) : NULL;
    if (bt) {
        int shown = 0;
        for (IM3BacktraceFrame f = bt->frames; f && shown < 16; f = f->next, shown++) {
            if (!f->function) { /* frame without a function: its offset is not meaningful */
                fprintf(stderr, "  at <unknown>\n");
                continue;
            }
            const char *name = m3_GetFunctionName(f->function);
            fprintf(stderr, "  at 0x%x %s\n", f->moduleOffset, name ? name : "<unnamed>");
        }
        if (bt->lastFrame == M3_BACKTRACE_TRUNCATED || shown == 16) fprintf(stderr, "  ...\n");
    }
#endif
}

static uint8_t *read_file(const char *path, uint32_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    uint8_t *buf = NULL;
    size_t cap = 0, len = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 1u << 16;
            uint8_t *nb = realloc(buf, cap);
            if (!nb) { free(buf); fclose(f); return NULL; }
            buf = nb;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0) break;
    }
    int bad = ferror(f) || len > UINT32_MAX;
    fclose(f);
    if (bad) { free(buf); return NULL; }
    *size = (uint32_t)len;
    return buf;
}

static int usage(void)
{
    fprintf(stderr, "usage: wasm3-run MODULE.wasm [ARGS...]\n       wasm3-run --version\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 2) return usage();
    if (strcmp(argv[1], "--version") == 0) {
        printf("wasm3 %s\n", M3_VERSION);
        return 0;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage();
        return 0;
    }

    const char *path = argv[1];
    g_argc = argc - 1; /* module sees its own path as argv[0] */
    g_argv = argv + 1;

    uint32_t size = 0;
    uint8_t *bytes = read_file(path, &size);
    if (!bytes) {
        fprintf(stderr, "wasm3-run: cannot read %s: %s\n", path, strerror(errno ? errno : EIO));
        return 1;
    }

    IM3Environment env = m3_NewEnvironment();
    if (!env) { fprintf(stderr, "wasm3-run: cannot create environment\n"); return 1; }
    IM3Runtime rt = m3_NewRuntime(env, WASM3_RUN_STACK_SIZE, NULL);
    if (!rt) { fprintf(stderr, "wasm3-run: cannot create runtime\n"); return 1; }

    IM3Module mod = NULL;
    M3Result r = m3_ParseModule(env, &mod, bytes, size);
    if (r) { print_error(NULL, "parse", r); return 1; }
    r = m3_LoadModule(rt, mod);
    if (r) { print_error(rt, "load", r); return 1; }

    for (size_t i = 0; i < sizeof k_wasi / sizeof k_wasi[0]; i++) {
        r = m3_LinkRawFunction(mod, WASI_MODULE, k_wasi[i].name, k_wasi[i].sig, k_wasi[i].fn);
        if (r && r != m3Err_functionLookupFailed) { /* not imported is fine; a bad signature is not */
            fprintf(stderr, "wasm3-run: link %s.%s: %s\n", WASI_MODULE, k_wasi[i].name, r);
            return 1;
        }
    }

    /* fail up front, like other runtimes do at instantiation, on anything left unresolved */
    int missing = 0;
    for (uint32_t i = 0; i < mod->numFunctions; i++) {
        IM3Function f = &mod->functions[i];
        if (f->import.moduleUtf8 && f->import.fieldUtf8 && !f->compiled) {
            fprintf(stderr, "wasm3-run: unresolved import %s.%s\n", f->import.moduleUtf8, f->import.fieldUtf8);
            missing = 1;
        }
    }
    if (missing) return 1;

    IM3Function start = NULL;
    r = m3_FindFunction(&start, rt, "_start");
    if (r) { print_error(rt, "_start", r); return 1; }

    r = m3_CallV(start);
    if (r == m3Err_trapExit) return (int)g_exit_code;
    if (r) { print_error(rt, "trap", r); return 1; }

    /* the memory and interpreter are torn down by process exit */
    return 0;
}
