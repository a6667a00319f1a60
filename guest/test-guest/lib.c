/* Output, the exit port, command-line parameters, memory, randomness. */
#include "guest.h"

void *memset(void *target, int value, size_t length) {
  u8 *p = target;
  while (length--) *p++ = (u8)value;
  return target;
}

void *memcpy(void *target, const void *source, size_t length) {
  u8 *t = target;
  const u8 *s = source;
  while (length--) *t++ = *s++;
  return target;
}

int memcmp(const void *a, const void *b, size_t length) {
  const u8 *x = a, *y = b;
  for (; length; length--, x++, y++) if (*x != *y) return *x < *y ? -1 : 1;
  return 0;
}

size_t strlen(const char *s) {
  size_t n = 0;
  while (s[n]) n++;
  return n;
}

/* The 16550's transmitter is always ready in a VMM: no polling of LSR. */
void put(const char *s) {
  for (; *s; s++) outb(COM1, (u8)*s);
}

void put_u64(u64 value) {
  char text[21];
  int i = 20;
  text[i] = 0;
  do {
    text[--i] = (char)('0' + value % 10);
    value /= 10;
  } while (value);
  put(text + i);
}

void put_hex(u64 value) {
  char text[19] = "0x";
  int digits = 1;
  while (digits < 16 && (value >> (4 * digits))) digits++;
  for (int i = 0; i < digits; i++) text[2 + i] = "0123456789abcdef"[(value >> (4 * (digits - 1 - i))) & 15];
  text[2 + digits] = 0;
  put(text);
}

void put_kv(const char *key, u64 value) {
  put(" ");
  put(key);
  put("=");
  put_u64(value);
}

/* Reports the result and ends the VM through the exit port (QEMU: isa-debug-exit). */
void finish(int ok, const char *reason) {
  put("\nTG result=");
  put(ok ? "ok" : "fail");
  if (reason) {
    put(" reason=");
    put(reason);
  }
  put("\n");
  outl(EXIT_PORT, ok ? 0 : 1);
  for (;;) __asm__ volatile("pause");
}

#define MAX_CMDLINE 1024
static char cmdline[MAX_CMDLINE];

void cmdline_init(const char *text) {
  size_t n = 0;
  if (text) while (text[n] && n < MAX_CMDLINE - 1) { cmdline[n] = text[n]; n++; }
  cmdline[n] = 0;
}

/* The value of the last "key=value" word, or 0. Values end at a space. */
const char *param(const char *key) {
  size_t length = strlen(key);
  const char *found = 0;
  for (const char *p = cmdline; *p; p++) {
    if ((p == cmdline || p[-1] == ' ') && memcmp(p, key, length) == 0 && p[length] == '=') found = p + length + 1;
  }
  return found;
}

u64 param_u64(const char *key, u64 fallback) {
  const char *p = param(key);
  if (!p || *p < '0' || *p > '9') return fallback;
  u64 value = 0;
  int base = 10;
  if (p[0] == '0' && p[1] == 'x') { base = 16; p += 2; }
  for (;; p++) {
    int digit;
    if (*p >= '0' && *p <= '9') digit = *p - '0';
    else if (base == 16 && *p >= 'a' && *p <= 'f') digit = *p - 'a' + 10;
    else break;
    value = value * base + digit;
  }
  if (*p == 'K') value <<= 10;
  else if (*p == 'M') value <<= 20;
  else if (*p == 'G') value <<= 30;
  return value;
}

int param_is(const char *key, const char *value) {
  const char *p = param(key);
  size_t length = strlen(value);
  return p && memcmp(p, value, length) == 0 && (p[length] == 0 || p[length] == ' ');
}

static u64 heap_next, heap_limit;

void heap_init(u64 start, u64 end) {
  heap_next = (start + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
  heap_limit = end;
}

/* RAM is zero when the VM starts, so allocations are too. */
void *alloc(u64 size) {
  u64 at = heap_next;
  heap_next = (heap_next + size + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
  if (heap_next > heap_limit) finish(0, "out-of-memory");
  return (void *)at;
}

u64 heap_end(void) { return heap_limit; }

static u64 random_state = 0x9e3779b97f4a7c15UL;

/* xorshift64 */
u64 random_next(void) {
  random_state ^= random_state << 13;
  random_state ^= random_state >> 7;
  random_state ^= random_state << 17;
  return random_state;
}
