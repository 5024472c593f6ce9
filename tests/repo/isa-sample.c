/* The self-test object of tests/repo/isa-check.py: code GCC turns into the instructions a
 * board may lack when given the wrong flags. A loop it vectorises (NEON, SVE), doubles held
 * across a call (more than 16 double registers with -O3 on a D32 FPU), an atomic
 * read-modify-write (ldrex/strex on ARMv6+, LSE on ARMv8.1), a byte swap (rev on ARMv6+) and a
 * 32-bit constant (movw/movt on ARMv7); with ISA_SAMPLE_CRYPTO, the AES instructions. */
#include <stdint.h>

uint32_t isa_sample_sum(const uint32_t *a, const uint32_t *b, uint32_t *out, int n);
double isa_sample_poly(const double *x, int n);
uint32_t isa_sample_count(uint32_t *counter);
uint32_t isa_sample_swap(uint32_t v);

uint32_t isa_sample_sum(const uint32_t *a, const uint32_t *b, uint32_t *out, int n)
{
    uint32_t s = 0;
    for (int i = 0; i < n; i++) {
        out[i] = a[i] * 3u + b[i];
        s += out[i];
    }
    return s;
}

double isa_sample_poly(const double *x, int n)
{
    double acc[24] = { 0 };
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < 24; k++) {
            acc[k] = acc[k] * x[i] + (double)k;
        }
    }
    double s = 0;
    for (int k = 0; k < 24; k++) {
        s += acc[k];
    }
    return s;
}

uint32_t isa_sample_count(uint32_t *counter)
{
    return __atomic_add_fetch(counter, 0x12345678u, __ATOMIC_SEQ_CST);
}

uint32_t isa_sample_swap(uint32_t v)
{
    return __builtin_bswap32(v);
}

#if defined(ISA_SAMPLE_CRYPTO)
#include <arm_neon.h>

uint8x16_t isa_sample_aes(uint8x16_t data, uint8x16_t key);

uint8x16_t isa_sample_aes(uint8x16_t data, uint8x16_t key)
{
    return vaesmcq_u8(vaeseq_u8(data, key));
}
#endif
