/*
 * The part of the test guest that runs at CPL0, once: reads the boot
 * information, finds the virtio-mmio devices on the command line, installs
 * a TSS and exception handlers, and drops to CPL3 for the tests. Guest
 * kernel code is slow on emulating hosts, so this does as little as it can.
 */
#include "guest.h"

struct hvm_start_info {
  u32 magic, version, flags, nr_modules;
  u64 modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
  u32 memmap_entries, reserved;
};

struct memmap_entry { u64 address, size; u32 type, reserved; };

/* With an I/O permission bitmap that allows every port, besides IOPL 3. */
struct tss {
  u32 reserved0;
  u64 rsp0, rsp1, rsp2, reserved1, ist[7];
  u16 reserved2, iomap_base;
  u8 io_bitmap[8192 + 1];
} __attribute__((packed));

struct idt_entry { u16 offset_low, selector; u8 ist, type; u16 offset_mid; u32 offset_high, reserved; };

#define HVM_START_MAGIC 0x336ec578
#define E820_RAM 1
#define MMIO_GAP 0xc0000000UL
#define TSS_SELECTOR 0x28

extern u64 gdt[];
extern char exception_stubs[], _end[];
void enter_user(void (*entry)(void), void *stack);
void load_tss(u16 selector);

struct mmio_device devices[MAX_DEVICES];
int device_count;
static struct tss tss;
static struct idt_entry idt[32];
static u8 exception_stack[8192] __attribute__((aligned(16)));
static u8 user_stack[65536] __attribute__((aligned(16)));

void exception(u64 vector, u64 error, u64 rip) {
  put("\nTG exception");
  put_kv("vector", vector);
  put(" error=");
  put_hex(error);
  put(" rip=");
  put_hex(rip);
  finish(0, "exception");
}

static void install_tss(void) {
  u64 base = (u64)&tss;
  u64 limit = sizeof(tss) - 1;
  tss.rsp0 = (u64)(exception_stack + sizeof(exception_stack));
  tss.iomap_base = __builtin_offsetof(struct tss, io_bitmap);
  tss.io_bitmap[8192] = 0xff; /* the bitmap's terminator */
  gdt[TSS_SELECTOR / 8] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89UL << 40) | (((limit >> 16) & 0xf) << 48) |
                          (((base >> 24) & 0xff) << 56);
  gdt[TSS_SELECTOR / 8 + 1] = base >> 32;
  load_tss(TSS_SELECTOR);
}

static void install_idt(void) {
  for (int v = 0; v < 32; v++) {
    u64 handler = (u64)(exception_stubs + 16 * v);
    idt[v] = (struct idt_entry){(u16)handler, 0x08, 0, 0x8e, (u16)(handler >> 16), (u32)(handler >> 32), 0};
  }
  struct { u16 limit; u64 base; } __attribute__((packed)) pointer = {sizeof(idt) - 1, (u64)idt};
  __asm__ volatile("lidt %0" : : "m"(pointer));
}

static u64 parse_number(const char **p) {
  u64 value = 0;
  int base = 10;
  if ((*p)[0] == '0' && (*p)[1] == 'x') { base = 16; *p += 2; }
  for (;; (*p)++) {
    char c = **p;
    if (c >= '0' && c <= '9') value = value * base + (u64)(c - '0');
    else if (base == 16 && c >= 'a' && c <= 'f') value = value * 16 + (u64)(c - 'a' + 10);
    else if (base == 16 && c >= 'A' && c <= 'F') value = value * 16 + (u64)(c - 'A' + 10);
    else return value;
  }
}

/* Every "virtio_mmio.device=SIZE@BASE:IRQ" word, as Linux reads them. */
static void find_devices(const char *cmdline) {
  static const char key[] = "virtio_mmio.device=";
  for (const char *p = cmdline; p && *p && device_count < MAX_DEVICES; p++) {
    if ((p != cmdline && p[-1] != ' ') || memcmp(p, key, sizeof(key) - 1) != 0) continue;
    const char *q = p + sizeof(key) - 1;
    parse_number(&q);
    if (*q == 'K' || *q == 'k') q++;
    if (*q++ != '@') continue;
    u64 base = parse_number(&q);
    if (mmio_read32(base) != 0x74726976) continue; /* "virt" */
    devices[device_count++] = (struct mmio_device){base, mmio_read32(base + 8)};
  }
}

/* The largest RAM range above the image and below the MMIO gap becomes the heap. */
static void find_heap(const struct hvm_start_info *info) {
  const struct memmap_entry *map = (const struct memmap_entry *)info->memmap_paddr;
  u64 start = (u64)_end, best_end = 0;
  for (u32 i = 0; i < info->memmap_entries; i++) {
    if (map[i].type != E820_RAM) continue;
    u64 end = map[i].address + map[i].size;
    if (end > MMIO_GAP) end = MMIO_GAP;
    if (map[i].address <= start && end > best_end) best_end = end;
  }
  heap_init(start, best_end ? best_end : start + (32UL << 20));
}

void kernel_main(const struct hvm_start_info *info) {
  if (info->magic != HVM_START_MAGIC) finish(0, "no-hvm-start-info");
  cmdline_init((const char *)info->cmdline_paddr);
  install_tss();
  install_idt();
  find_heap(info);
  find_devices((const char *)info->cmdline_paddr);
  enter_user(user_main, user_stack + sizeof(user_stack));
}

u64 find_device(u32 device_id, int index) {
  for (int i = 0; i < device_count; i++) {
    if (devices[i].device_id == device_id && index-- == 0) return devices[i].base;
  }
  return 0;
}
