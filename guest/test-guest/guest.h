/* The test guest: shared declarations. Freestanding, no libc. */
#pragma once

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long u64;
typedef unsigned long size_t;
typedef long i64;

#define COM1 0x3f8
#define EXIT_PORT 0xf4
#define PAGE_SIZE 4096UL

static inline void outb(u16 port, u8 value) { __asm__ volatile("outb %0, %1" : : "a"(value), "Nd"(port)); }
static inline u8 inb(u16 port) { u8 value; __asm__ volatile("inb %1, %0" : "=a"(value) : "Nd"(port)); return value; }
static inline void outl(u16 port, u32 value) { __asm__ volatile("outl %0, %1" : : "a"(value), "Nd"(port)); }
static inline u32 mmio_read32(u64 address) { return *(volatile u32 *)address; }
static inline void mmio_write32(u64 address, u32 value) { *(volatile u32 *)address = value; }
/* Orders the driver's ring writes against the device's view (x86: a compiler barrier plus mfence). */
static inline void memory_barrier(void) { __asm__ volatile("mfence" : : : "memory"); }
static inline u64 rdtsc(void) {
  u32 low, high;
  __asm__ volatile("rdtsc" : "=a"(low), "=d"(high));
  return ((u64)high << 32) | low;
}

/* lib.c */
void *memset(void *target, int value, size_t length);
void *memcpy(void *target, const void *source, size_t length);
int memcmp(const void *a, const void *b, size_t length);
size_t strlen(const char *s);
void put(const char *s);
void put_u64(u64 value);
void put_hex(u64 value);
void put_kv(const char *key, u64 value);
__attribute__((noreturn)) void finish(int ok, const char *reason);
/* Parameters of the kernel command line: "key=value" words. */
void cmdline_init(const char *text);
const char *param(const char *key);
u64 param_u64(const char *key, u64 fallback);
int param_is(const char *key, const char *value);
/* A bump allocator over RAM above the image, page-aligned, zeroed. */
void heap_init(u64 start, u64 end);
void *alloc(u64 size);
u64 heap_end(void);
u64 random_next(void);

/* virtio-mmio devices named on the command line (virtio_mmio.device=SIZE@ADDR:IRQ). */
#define MAX_DEVICES 8
struct mmio_device { u64 base; u32 device_id; };
extern struct mmio_device devices[MAX_DEVICES];
extern int device_count;
u64 find_device(u32 device_id, int index);

/* tests.c */
void user_main(void);
