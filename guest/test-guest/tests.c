/*
 * The tests, at CPL3. The command line chooses one with test=NAME; each
 * prints "TG start" and "TG end" around its timed part (the host times
 * them) and ends with "TG result=ok|fail" and a write to the exit port.
 *
 *   test=pio count=N          N writes to I/O port 0x80
 *   test=mmio count=N         N writes to an unassigned MMIO address
 *   test=notify count=N       N queue notifications to the block device, its ring empty
 *   test=idle                 spins at CPL3 until the VM is stopped
 *   test=touch mib=M          one write per 4 KiB page over M MiB
 *   test=dirty mib=M          writes every 4 KiB page over M MiB, pass after pass, until stopped
 *   test=blk mode=read|write|randread|randwrite bs=B qd=D total=T
 *                             block I/O at queue depth D, T bytes in all
 *   test=blk-verify seed=S    reads the disk, expecting pattern S; writes pattern S+1; flushes
 *   test=net-send frames=N size=S [progress=P]
 *                             N Ethernet frames of S bytes, then end-of-stream frames;
 *                             with P, prints "TG sent=i" each time frame i (a multiple of P) is offered
 *   test=net-recv frames=N    receives until an end-of-stream frame (or N frames), checking each
 *   test=hostile case=C       breaks a virtqueue rule on the block device; expects NEEDS_RESET,
 *                             then resets the device and reads again
 *   test=registers [idle=1]   hostile values in every virtio-mmio register of the block device,
 *                             at every width; then a reset must bring it back (idle=1: then idles)
 *   test=records count=N round=R  writes record (R, i) to sector i and flushes, for each i < N,
 *                             printing "TG ack=i" after each flush (the durability test)
 */
#include "virtio.h"

#define DEBUG_PORT 0x80
#define UNASSIGNED_MMIO 0xd0000000UL
#define SECTOR 512
#define BLK_IN 0
#define BLK_OUT 1
#define BLK_FLUSH 4
#define ETHERTYPE_DATA 0x88b5
#define ETHERTYPE_END 0x88b6
#define NET_HEADER 12
#define RX_BUFFER 2048
#define MAX_FRAME 1514

static u64 start_cycles;

static void start(void) {
  put("TG start\n");
  start_cycles = rdtsc();
}

static void end(void) {
  u64 cycles = rdtsc() - start_cycles;
  put("TG end");
  put_kv("cycles", cycles);
  put("\n");
}

static void exit_loop(int mmio) {
  u64 count = param_u64("count", 100000);
  start();
  for (u64 i = 0; i < count; i++) {
    if (mmio) mmio_write32(UNASSIGNED_MMIO, (u32)i);
    else outb(DEBUG_PORT, (u8)i);
  }
  end();
  put("TG");
  put_kv("exits", count);
  finish(1, 0);
}

static void touch(void) {
  u64 bytes = param_u64("mib", 64) << 20;
  u8 *memory = alloc(bytes);
  start();
  for (u64 offset = 0; offset < bytes; offset += PAGE_SIZE) memory[offset] = 1;
  end();
  put("TG");
  put_kv("pages", bytes / PAGE_SIZE);
  finish(1, 0);
}

/* Keeps M MiB dirty: the memory-writing guest of the migration bench. */
static void dirty(void) {
  u64 bytes = param_u64("mib", 64) << 20;
  u8 *memory = alloc(bytes);
  put("TG dirty\n");
  for (u8 pass = 1;; pass++) {
    for (u64 offset = 0; offset < bytes; offset += PAGE_SIZE) memory[offset] = pass;
  }
}

/* ---- block ---- */

static void blk_open(void);
static struct device blk;

/* QueueNotify writes with nothing offered: what one notification costs the guest. */
static void notify_loop(void) {
  blk_open();
  u64 count = param_u64("count", 100000);
  start();
  for (u64 i = 0; i < count; i++) queue_notify(&blk.queues[0]);
  end();
  put("TG");
  put_kv("notifications", count);
  finish(1, 0);
}

static void idle(void) {
  put("TG idle\n");
  for (;;) __asm__ volatile("pause");
}

struct blk_header { u32 type, reserved; u64 sector; };

struct blk_slot {
  struct blk_header *header;
  u8 *data;
  u8 *status;
  u64 offset;
};

static u64 capacity;

static void blk_open(void) {
  u64 base = find_device(VIRTIO_BLOCK, 0);
  if (!base) finish(0, "no-block-device");
  if (virtio_start(&blk, base, 0)) finish(0, "block-negotiation");
  if (virtio_queue(&blk, 0, 256)) finish(0, "block-queue");
  virtio_driver_ok(&blk);
  capacity = ((u64)virtio_config32(&blk, 4) << 32 | virtio_config32(&blk, 0)) * SECTOR;
}

/* Slot i uses descriptors 3i..3i+2: header, data, status. */
static void blk_submit(struct blk_slot *slots, u16 i, u32 type, u64 offset, u32 length, int notify) {
  struct queue *q = &blk.queues[0];
  struct blk_slot *slot = &slots[i];
  slot->offset = offset;
  *slot->header = (struct blk_header){type, 0, offset / SECTOR};
  *slot->status = 0xff;
  u16 first = (u16)(3 * i);
  desc_set(q, first, slot->header, sizeof(struct blk_header), DESC_NEXT, (u16)(first + 1));
  if (length) {
    desc_set(q, first + 1, slot->data, length, (u16)(DESC_NEXT | (type == BLK_IN ? DESC_WRITE : 0)), (u16)(first + 2));
  } else {
    desc_set(q, first, slot->header, sizeof(struct blk_header), DESC_NEXT, (u16)(first + 2));
  }
  desc_set(q, first + 2, slot->status, 1, DESC_WRITE, 0);
  if (notify) queue_offer(q, first);
  else queue_offer_quietly(q, first);
}

static struct blk_slot *blk_slots(u16 count, u32 block) {
  struct blk_slot *slots = alloc(sizeof(struct blk_slot) * count);
  for (u16 i = 0; i < count; i++) {
    slots[i].header = alloc(sizeof(struct blk_header));
    slots[i].status = (u8 *)slots[i].header + sizeof(struct blk_header);
    slots[i].data = alloc(block);
  }
  return slots;
}

/* Waits for one completion; returns its slot. */
static u16 blk_wait(struct blk_slot *slots) {
  u32 id, length;
  while (!queue_take(&blk.queues[0], &id, &length)) {}
  u16 slot = (u16)(id / 3);
  if (id % 3 || *slots[slot].status != 0) {
    put("TG");
    put_kv("id", id);
    put_kv("status", *slots[slot].status);
    finish(0, "block-request-failed");
  }
  return slot;
}

static void blk_bench(void) {
  blk_open();
  u32 block = (u32)param_u64("bs", 4096);
  u64 depth = param_u64("qd", 1), total = param_u64("total", 64UL << 20);
  int write = param_is("mode", "write") || param_is("mode", "randwrite");
  int random = param_is("mode", "randread") || param_is("mode", "randwrite");
  u32 type = write ? BLK_OUT : BLK_IN;
  u64 blocks = capacity / block;
  if (block % SECTOR || blocks == 0 || depth == 0 || depth > 80) finish(0, "bad-parameters");
  struct blk_slot *slots = blk_slots((u16)depth, block);
  u64 requests = total / block, submitted = 0, completed = 0, next = 0;
  start();
  for (u16 i = 0; i < depth && submitted < requests; i++, submitted++) {
    u64 index = random ? random_next() % blocks : next++ % blocks;
    blk_submit(slots, i, type, index * block, block, 0);
  }
  queue_notify(&blk.queues[0]);
  while (completed < requests) {
    u16 slot = blk_wait(slots);
    completed++;
    if (submitted < requests) {
      u64 index = random ? random_next() % blocks : next++ % blocks;
      blk_submit(slots, slot, type, index * block, block, 1);
      submitted++;
    }
  }
  end();
  put("TG");
  put_kv("requests", completed);
  put_kv("bytes", completed * block);
  finish(1, 0);
}

/* The pattern the host also computes: each 8-byte word holds its disk offset XOR the seed. */
static u64 pattern_word(u64 offset, u64 seed) { return offset ^ (seed * 0x9e3779b97f4a7c15UL); }

static void blk_verify(void) {
  blk_open();
  u64 seed = param_u64("seed", 1);
  u32 block = 65536;
  struct blk_slot *slots = blk_slots(1, block);
  u64 bad = 0;
  for (u64 offset = 0; offset + block <= capacity; offset += block) {
    blk_submit(slots, 0, BLK_IN, offset, block, 1);
    blk_wait(slots);
    for (u64 w = 0; w < block / 8; w++) bad += ((u64 *)slots[0].data)[w] != pattern_word(offset + 8 * w, seed);
  }
  put("TG");
  put_kv("read_mismatches", bad);
  put("\n");
  for (u64 offset = 0; offset + block <= capacity; offset += block) {
    for (u64 w = 0; w < block / 8; w++) ((u64 *)slots[0].data)[w] = pattern_word(offset + 8 * w, seed + 1);
    blk_submit(slots, 0, BLK_OUT, offset, block, 1);
    blk_wait(slots);
  }
  blk_submit(slots, 0, BLK_FLUSH, 0, 0, 1);
  blk_wait(slots);
  finish(bad == 0, bad ? "read-mismatch" : 0);
}

/* ---- hostile drivers ---- */

static int wait_needs_reset(void) {
  for (u64 spins = 0; spins < 2000000000UL; spins++) {
    if (virtio_status(&blk) & STATUS_NEEDS_RESET) return 1;
  }
  return 0;
}

static void hostile(void) {
  blk_open();
  struct queue *q = &blk.queues[0];
  struct blk_slot *slots = blk_slots(2, 4096);
  const char *name = param("case");
  if (!name) finish(0, "no-case");
  blk_submit(slots, 0, BLK_IN, 0, 4096, 0); /* a good chain in descriptors 0..2, then broken */
  if (param_is("case", "desc-outside-ram")) {
    q->desc[1].address = 0xfff000000000UL;
  } else if (param_is("case", "desc-wraps")) {
    q->desc[1].address = 0xfffffffffffff000UL;
    q->desc[1].length = 0x2000;
  } else if (param_is("case", "loop")) {
    q->desc[2].flags = DESC_WRITE | DESC_NEXT;
    q->desc[2].next = 0;
  } else if (param_is("case", "next-beyond-queue")) {
    q->desc[2].flags = DESC_WRITE | DESC_NEXT;
    q->desc[2].next = (u16)(q->size + 7);
  } else if (param_is("case", "readable-after-writable")) {
    q->desc[1].flags = DESC_NEXT | DESC_WRITE;
    q->desc[2].flags = 0;
  } else if (param_is("case", "head-beyond-queue")) {
    q->avail->ring[0] = (u16)(q->size + 3);
  } else if (param_is("case", "avail-index-jump")) {
    q->next_avail = (u16)(q->size + 5);
  } else if (param_is("case", "indirect-loop")) {
    struct desc *table = alloc(4096);
    table[0] = (struct desc){(u64)slots[1].header, 16, DESC_NEXT, 1};
    table[1] = (struct desc){(u64)slots[1].data, 4096, DESC_NEXT | DESC_WRITE, 0};
    desc_set(q, 0, table, 2 * sizeof(struct desc), DESC_INDIRECT, 0);
  } else if (param_is("case", "huge-indirect")) {
    desc_set(q, 0, alloc(4096), 16 * 4096, DESC_INDIRECT, 0);
  } else {
    finish(0, "unknown-case");
  }
  queue_offer(q, 0);
  if (!wait_needs_reset()) finish(0, "no-needs-reset");
  put("TG needs_reset=1\n");
  /* The device recovers after a reset, and the VMM is still there to serve it. */
  blk_open();
  struct blk_slot *fresh = blk_slots(1, 4096);
  blk_submit(fresh, 0, BLK_IN, 0, 4096, 1);
  blk_wait(fresh);
  put("TG recovered=1\n");
  finish(1, 0);
}

/* Values a broken or hostile driver might write: sign bits, near-wraps, all ones. */
static const u32 hostile_values[] = {0, 1, 2, 31, 32, 0x7fffffff, 0x80000000, 0xfe000001, 0xff000000, 0xffffffff, 0xdeadbeef};
#define HOSTILE_VALUES (sizeof(hostile_values) / sizeof(hostile_values[0]))
#define REG_DEVICE_FEATURES 0x010
#define REG_DEVICE_FEATURES_SEL 0x014
#define REG_QUEUE_NUM_MAX 0x034
#define REG_STATUS 0x070

/* Every register (and some unassigned offsets and config space) gets every value at 32 bits,
 * one value at 8, 16 and 64 bits; each write is followed by reads. The VM must not notice. */
static void registers(void) {
  blk_open();
  u64 base = blk.base, writes = 0;
  for (u32 offset = 0; offset < 0x110; offset += 4) {
    for (u32 v = 0; v < HOSTILE_VALUES; v++) {
      mmio_write32(base + offset, hostile_values[v]);
      (void)mmio_read32(base + offset);
      (void)mmio_read32(base + REG_DEVICE_FEATURES);
      writes++;
    }
    *(volatile u8 *)(base + offset + 1) = 0xff;
    *(volatile u16 *)(base + offset + 2) = 0xffff;
    *(volatile u64 *)(base + offset) = 0xffffffffffffffffUL;
    writes += 3;
  }
  /* Selectors past the features the device has select nothing, whatever their sign bit. */
  for (u32 v = 0; v < HOSTILE_VALUES; v++) {
    if (hostile_values[v] < 2) continue;
    mmio_write32(base + REG_DEVICE_FEATURES_SEL, hostile_values[v]);
    if (mmio_read32(base + REG_DEVICE_FEATURES) != 0) finish(0, "features-beyond-select");
  }
  put("TG");
  put_kv("hostile_writes", writes);
  put_kv("status_after", mmio_read32(base + REG_STATUS));
  put("\n");
  blk_open(); /* resets the device */
  struct blk_slot *slots = blk_slots(1, 4096);
  blk_submit(slots, 0, BLK_IN, 0, 4096, 1);
  blk_wait(slots);
  put("TG recovered=1\n");
  if (param_u64("idle", 0)) idle();
  finish(1, 0);
}

#define RECORD_MAGIC 0x3130444345524754UL /* "TGRECD01" as little-endian bytes */

/* Numbered records, each flushed before it is acknowledged on the serial port: whatever the
 * host saw acknowledged must be on its disk even if the VMM is killed right after. */
static void records(void) {
  blk_open();
  u64 count = param_u64("count", 1000), round = param_u64("round", 0);
  if (count * SECTOR > capacity) finish(0, "disk-too-small");
  struct blk_slot *slots = blk_slots(1, SECTOR);
  put("TG records-ready\n");
  for (u64 i = 0; i < count; i++) {
    u64 *record = (u64 *)slots[0].data;
    for (u64 w = 0; w < SECTOR / 8; w++) record[w] = i ^ (round << 32) ^ (w * 0x9e3779b97f4a7c15UL);
    record[0] = RECORD_MAGIC;
    record[1] = round;
    record[2] = i;
    blk_submit(slots, 0, BLK_OUT, i * SECTOR, SECTOR, 1);
    blk_wait(slots);
    blk_submit(slots, 0, BLK_FLUSH, 0, 0, 1);
    blk_wait(slots);
    put("TG");
    put_kv("ack", i);
    put("\n");
  }
  finish(1, 0);
}

/* ---- network ---- */

static struct device net;

static void net_open(void) {
  u64 base = find_device(VIRTIO_NET, 0);
  if (!base) finish(0, "no-net-device");
  if (virtio_start(&net, base, 0)) finish(0, "net-negotiation");
  if (virtio_queue(&net, 0, 256) || virtio_queue(&net, 1, 256)) finish(0, "net-queues");
  virtio_driver_ok(&net);
}

static u8 payload_byte(u32 sequence, u32 i) { return (u8)(sequence * 7 + i); }

static void fill_frame(u8 *frame, u32 size, u16 ethertype, u32 sequence) {
  memset(frame, 0xff, 6); /* broadcast */
  memcpy(frame + 6, "\x52\x54\x00\x54\x47\x01", 6);
  frame[12] = (u8)(ethertype >> 8);
  frame[13] = (u8)ethertype;
  memcpy(frame + 14, &sequence, 4);
  for (u32 i = 18; i < size; i++) frame[i] = payload_byte(sequence, i);
}

/* Sends `count` frames from sequence `first`, keeping the transmit ring full; returns when all are used. */
/* Every how many frames transmit() reports its progress on the console (0: never). */
static u64 send_progress;

static void transmit(u8 *buffers, u64 first, u64 count, u32 size, u16 ethertype) {
  struct queue *tx = &net.queues[1];
  u64 sent = 0, done = 0;
  u16 in_ring = 0;
  u32 id, length;
  while (done < count) {
    while (queue_take(tx, &id, &length)) { done++; in_ring--; }
    int queued = 0;
    while (in_ring < tx->size && sent < count) {
      u64 sequence = first + sent;
      u16 slot = (u16)(sequence % tx->size);
      u8 *buffer = buffers + (u64)slot * RX_BUFFER;
      memset(buffer, 0, NET_HEADER);
      fill_frame(buffer + NET_HEADER, size, ethertype, (u32)sequence);
      desc_set(tx, slot, buffer, NET_HEADER + size, 0, 0);
      queue_offer_quietly(tx, slot);
      sent++;
      in_ring++;
      queued = 1;
      if (send_progress && sequence % send_progress == 0) {
        put("TG");
        put_kv("sent", sequence);
        put("\n");
      }
    }
    if (queued) queue_notify(tx);
  }
}

static void spin_cycles(u64 cycles) {
  u64 until = rdtsc() + cycles;
  while (rdtsc() < until) __asm__ volatile("pause");
}

static void net_send(void) {
  net_open();
  u64 frames = param_u64("frames", 100000);
  u32 size = (u32)param_u64("size", MAX_FRAME);
  if (size < 60 || size > MAX_FRAME) finish(0, "bad-size");
  u8 *buffers = alloc((u64)net.queues[1].size * RX_BUFFER);
  send_progress = param_u64("progress", 0);
  start();
  transmit(buffers, 0, frames, size, ETHERTYPE_DATA);
  end();
  send_progress = 0;
  /* End-of-stream frames, spaced out so a receiver that fell behind still sees one. */
  for (u64 i = 0; i < 32; i++) {
    transmit(buffers, frames + i, 1, 60, ETHERTYPE_END);
    spin_cycles(5000000);
  }
  put("TG");
  put_kv("frames", frames);
  put_kv("bytes", frames * size);
  finish(1, 0);
}

static void net_recv(void) {
  net_open();
  struct queue *rx = &net.queues[0];
  u64 limit = param_u64("frames", ~0UL);
  u8 *buffers = alloc((u64)rx->size * RX_BUFFER);
  for (u16 i = 0; i < rx->size; i++) {
    desc_set(rx, i, buffers + (u64)i * RX_BUFFER, RX_BUFFER, DESC_WRITE, 0);
    queue_offer_quietly(rx, i);
  }
  queue_notify(rx);
  put("TG ready\n");
  u64 received = 0, bytes = 0, bad = 0;
  u32 id, length;
  int started = 0;
  while (received < limit) {
    if (!queue_take(rx, &id, &length)) continue;
    u8 *frame = buffers + (u64)id * RX_BUFFER + NET_HEADER;
    u32 size = length - NET_HEADER;
    u16 ethertype = (u16)(frame[12] << 8 | frame[13]);
    if (!started) { start(); started = 1; }
    if (ethertype == ETHERTYPE_END) break;
    u32 sequence;
    memcpy(&sequence, frame + 14, 4);
    for (u32 i = 18; i < size; i++) if (frame[i] != payload_byte(sequence, i)) { bad++; break; }
    received++;
    bytes += size;
    queue_offer(rx, (u16)id);
  }
  end();
  put("TG");
  put_kv("frames", received);
  put_kv("bytes", bytes);
  put_kv("bad", bad);
  finish(bad == 0, bad ? "corrupt-frames" : 0);
}

/* Serial console input: echoes each byte received on COM1 until a '.' */
static void echo(void) {
  put("TG echo ready\n");
  for (;;) {
    while (!(inb(COM1 + 5) & 1)) __asm__ volatile("pause");
    u8 c = inb(COM1);
    if (c == '.') break;
    outb(COM1, c);
  }
  put("\n");
  finish(1, 0);
}

/* Serial output throughput: N bytes on COM1 in 64-byte lines; with wait=1,
 * after a byte arrives (so a console client is attached before the clock starts). */
static void serial_out(void) {
  u64 bytes = param_u64("bytes", 65536);
  if (param_u64("wait", 0)) {
    put("TG ready\n");
    while (!(inb(COM1 + 5) & 1)) __asm__ volatile("pause");
    inb(COM1);
  }
  start();
  for (u64 i = 0; i < bytes; i++) outb(COM1, (i % 64 == 63) ? '\n' : (u8)('a' + i % 26));
  end();
  finish(1, 0);
}

/* Reports a panic through pvpanic (port 0x505), then ends as usual. */
static void panic_report(void) {
  put_kv("pvpanic_features", inb(0x505));
  outb(0x505, 1);
  finish(1, 0);
}

void user_main(void) {
  put("TG cpl3\n");
  if (param_is("test", "pio")) exit_loop(0);
  if (param_is("test", "mmio")) exit_loop(1);
  if (param_is("test", "touch")) touch();
  if (param_is("test", "dirty")) dirty();
  if (param_is("test", "notify")) notify_loop();
  if (param_is("test", "idle")) idle();
  if (param_is("test", "blk")) blk_bench();
  if (param_is("test", "blk-verify")) blk_verify();
  if (param_is("test", "hostile")) hostile();
  if (param_is("test", "registers")) registers();
  if (param_is("test", "records")) records();
  if (param_is("test", "net-send")) net_send();
  if (param_is("test", "net-recv")) net_recv();
  if (param_is("test", "echo")) echo();
  if (param_is("test", "serial")) serial_out();
  if (param_is("test", "panic")) panic_report();
  if (param_is("test", "hello")) finish(1, 0);
  finish(0, "unknown-test");
}
