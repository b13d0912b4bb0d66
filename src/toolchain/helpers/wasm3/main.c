/*
 * wasm3-run: minimal command-line runner for WASI preview1 "command" modules
 * on top of the wasm3 interpreter library.
 *
 *   wasm3-run MODULE.wasm [ARGS...]   run MODULE's _start, exit with its status
 *   wasm3-run --version               print "wasm3 <version>"
 *
 * The wasm3 sources shipped in the pywasm3 sdist do not include wasm3's own
 * WASI layer, so this file binds a small set of wasi_snapshot_preview1 host
 * functions to wasmgate's shared WASI core (../wasi/wasi-core.c): enough for
 * non-interactive benchmark programs that only write to stdout/stderr, read
 * clocks and ask for random bytes.  There are no preopened directories and
 * the environment is empty.
 *
 * Exit status: as `wasmtime run` for proc_exit (the value itself below 126,
 * else 1), 0 when _start returns normally, 1 on any load/link error, and 134 on
 * a trap, as wasmtime and wasm2c (the wasm3 error goes to stderr).
 */

#define _GNU_SOURCE 1

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasi-core.h"
#include "wasm3.h"
#include "m3_env.h" /* internal: walk the function table to find unlinked imports */

#ifndef WASM3_RUN_STACK_SIZE
#define WASM3_RUN_STACK_SIZE (1024u * 1024u) /* wasm3 value stack, in bytes */
#endif

#define WASI_MODULE "wasi_snapshot_preview1"

static int g_argc; /* arguments visible to the module */
static char **g_argv;

/* ------------------------------------------------------------------------ */
/* bindings: unpack wasm3's raw arguments and call the shared WASI core      */

/* m3ApiRawFunction's parameter list, minus the warnings for the ones a
 * binding does not need. */
#define HOST_FN(name)                                                              \
    static const void *name(IM3Runtime runtime __attribute__((unused)),            \
                            IM3ImportContext _ctx __attribute__((unused)),         \
                            uint64_t *_sp, void *_mem __attribute__((unused)))

/* Taken per call: memory.grow may have moved or resized the memory. */
#define MEM ((struct wasi_mem){ (uint8_t *)_mem, m3_GetMemorySize(runtime) })

/* A host function with WASI signature i(ii), i(iii) or i(iiii). */
#define HOST_I32x2(name, call)                                                     \
    HOST_FN(name)                                                                  \
    {                                                                              \
        m3ApiReturnType(uint32_t);                                                 \
        m3ApiGetArg(uint32_t, a);                                                  \
        m3ApiGetArg(uint32_t, b);                                                  \
        m3ApiReturn(call);                                                         \
    }
#define HOST_I32x3(name, call)                                                     \
    HOST_FN(name)                                                                  \
    {                                                                              \
        m3ApiReturnType(uint32_t);                                                 \
        m3ApiGetArg(uint32_t, a);                                                  \
        m3ApiGetArg(uint32_t, b);                                                  \
        m3ApiGetArg(uint32_t, c);                                                  \
        m3ApiReturn(call);                                                         \
    }
#define HOST_I32x4(name, call)                                                     \
    HOST_FN(name)                                                                  \
    {                                                                              \
        m3ApiReturnType(uint32_t);                                                 \
        m3ApiGetArg(uint32_t, a);                                                  \
        m3ApiGetArg(uint32_t, b);                                                  \
        m3ApiGetArg(uint32_t, c);                                                  \
        m3ApiGetArg(uint32_t, d);                                                  \
        m3ApiReturn(call);                                                         \
    }

HOST_I32x2(w_args_sizes_get, wasi_args_sizes_get(MEM, g_argc, g_argv, a, b))
HOST_I32x2(w_args_get, wasi_args_get(MEM, g_argc, g_argv, a, b))
HOST_I32x2(w_environ_sizes_get, wasi_environ_sizes_get(MEM, a, b))
HOST_I32x2(w_environ_get, wasi_environ_get(MEM, a, b))
HOST_I32x2(w_clock_res_get, wasi_clock_res_get(MEM, a, b))
HOST_I32x2(w_random_get, wasi_random_get(MEM, a, b))
HOST_I32x4(w_poll_oneoff, wasi_poll_oneoff(MEM, a, b, c, d))
HOST_I32x4(w_fd_write, wasi_fd_write(MEM, a, b, c, d))
HOST_I32x4(w_fd_read, wasi_fd_read(MEM, a, b, c, d))
HOST_I32x2(w_fd_fdstat_get, wasi_fd_fdstat_get(MEM, a, b))
HOST_I32x2(w_fd_prestat_get, wasi_fd_prestat_get(MEM, a, b))
HOST_I32x3(w_fd_prestat_dir_name, wasi_fd_prestat_dir_name(MEM, a, b, c))

HOST_FN(w_clock_time_get)
{
    m3ApiReturnType(uint32_t);
    m3ApiGetArg(uint32_t, id);
    m3ApiGetArg(uint64_t, precision);
    m3ApiGetArg(uint32_t, time_ptr);
    m3ApiReturn(wasi_clock_time_get(MEM, id, precision, time_ptr));
}

HOST_FN(w_fd_seek)
{
    m3ApiReturnType(uint32_t);
    m3ApiGetArg(uint32_t, fd);
    m3ApiGetArg(int64_t, offset);
    m3ApiGetArg(uint32_t, whence);
    m3ApiGetArg(uint32_t, newoffset_ptr);
    m3ApiReturn(wasi_fd_seek(MEM, fd, offset, whence, newoffset_ptr));
}

HOST_FN(w_fd_close)
{
    m3ApiReturnType(uint32_t);
    m3ApiGetArg(uint32_t, fd);
    m3ApiReturn(wasi_fd_close(fd));
}

HOST_FN(w_sched_yield)
{
    m3ApiReturnType(uint32_t);
    m3ApiReturn(wasi_sched_yield());
}

/* Exits right here rather than unwinding the interpreter: nothing of the
 * guest's needs tearing down, and the status rules are the core's. */
HOST_FN(w_proc_exit)
{
    m3ApiGetArg(uint32_t, code);
    wasi_proc_exit(code);
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
    if (r) { print_error(rt, "trap", r); return 134; }

    /* the memory and interpreter are torn down by process exit */
    return 0;
}
