/* Test-only stand-in for Windows' bcryptprimitives.dll, for running the sidecar under Wine < 8.13.
 *
 * Rust >= 1.78's std gets its random bytes from ProcessPrng in bcryptprimitives.dll, which Wine
 * added only in 8.13 (Debian 12 has 8.0): without it the exe exits with code 53 before main.
 * This DLL exports ProcessPrng and forwards it to BCryptGenRandom (system RNG), which Wine has.
 * It is never shipped; scripts/wine-sidecar builds it and puts it next to the exe:
 *   x86_64-w64-mingw32-gcc -shared -O2 -s -o bcryptprimitives.dll bcryptprimitives.c -lbcrypt
 */
#include <windows.h>
#include <bcrypt.h>

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    while (len > 0) {
        ULONG chunk = len > 0x10000000 ? 0x10000000 : (ULONG)len;
        if (!BCRYPT_SUCCESS(BCryptGenRandom(NULL, data, chunk, BCRYPT_USE_SYSTEM_PREFERRED_RNG)))
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
