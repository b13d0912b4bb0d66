/* wasmgate: the random bytes of the benchmark programs (build.random: fixed, the default, and
 * always under the instructions measure).
 *
 * libsodium's benchmark harness draws its inputs (message lengths, keys, points) from
 * randombytes, seeded by the system at every start. How much work an iteration does then
 * depends, in many tests, on what was drawn: counted per iteration, box_easy2 varied fivefold
 * and codecs by 5 % between two runs, and box_easy2's time by 75 % between two processes.
 * Here every process draws the same stream: ChaCha20 (randombytes_buf_deterministic) keyed by
 * a counter of the draws, so base and head do the same work and a count repeats exactly.
 * Inserted by wasmgate before the benchmark main of test/default/cmptest.h, in a copy of the
 * verified source. */
static unsigned long long wasmgate_draws;

static void wasmgate_fixed_buf(void *const buf, const size_t size)
{
    unsigned char seed[randombytes_SEEDBYTES];

    memset(seed, 0, sizeof seed);
    memcpy(seed, &wasmgate_draws, sizeof wasmgate_draws);
    wasmgate_draws++;
    randombytes_buf_deterministic(buf, size, seed);
}

static uint32_t wasmgate_fixed_random(void)
{
    uint32_t r;

    wasmgate_fixed_buf(&r, sizeof r);
    return r;
}

static const char *wasmgate_fixed_name(void)
{
    return "wasmgate-fixed";
}

static randombytes_implementation wasmgate_fixed_implementation = {
    wasmgate_fixed_name, wasmgate_fixed_random, NULL, NULL, wasmgate_fixed_buf, NULL
};

