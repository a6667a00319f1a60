/* virtio-mmio driver: device initialisation (3.1.1), queue set-up (4.2.3.2)
 * and the split ring (2.7). */
#include "virtio.h"

enum {
  MAGIC = 0x000, VERSION = 0x004, DEVICE_ID = 0x008, DEVICE_FEATURES = 0x010, DEVICE_FEATURES_SEL = 0x014,
  DRIVER_FEATURES = 0x020, DRIVER_FEATURES_SEL = 0x024, QUEUE_SEL = 0x030, QUEUE_NUM_MAX = 0x034,
  QUEUE_NUM = 0x038, QUEUE_READY = 0x044, QUEUE_NOTIFY = 0x050, STATUS = 0x070,
  QUEUE_DESC_LOW = 0x080, QUEUE_DESC_HIGH = 0x084, QUEUE_DRIVER_LOW = 0x090, QUEUE_DRIVER_HIGH = 0x094,
  QUEUE_DEVICE_LOW = 0x0a0, QUEUE_DEVICE_HIGH = 0x0a4, CONFIG = 0x100,
};

static u32 reg(struct device *dev, u32 offset) { return mmio_read32(dev->base + offset); }
static void set_reg(struct device *dev, u32 offset, u32 value) { mmio_write32(dev->base + offset, value); }

u32 virtio_status(struct device *dev) { return reg(dev, STATUS); }

/* Writing 0 resets; the device is reset once Status reads back 0. */
void virtio_reset(struct device *dev) {
  set_reg(dev, STATUS, 0);
  while (reg(dev, STATUS) != 0) {}
}

int virtio_start(struct device *dev, u64 base, u64 wanted) {
  dev->base = base;
  if (reg(dev, MAGIC) != 0x74726976 || reg(dev, VERSION) != 2) return -1;
  virtio_reset(dev);
  set_reg(dev, STATUS, STATUS_ACKNOWLEDGE);
  set_reg(dev, STATUS, STATUS_ACKNOWLEDGE | STATUS_DRIVER);
  set_reg(dev, DEVICE_FEATURES_SEL, 0);
  u64 offered = reg(dev, DEVICE_FEATURES);
  set_reg(dev, DEVICE_FEATURES_SEL, 1);
  offered |= (u64)reg(dev, DEVICE_FEATURES) << 32;
  if (!(offered & F_VERSION_1)) return -2;
  dev->features = (wanted & offered) | F_VERSION_1;
  set_reg(dev, DRIVER_FEATURES_SEL, 0);
  set_reg(dev, DRIVER_FEATURES, (u32)dev->features);
  set_reg(dev, DRIVER_FEATURES_SEL, 1);
  set_reg(dev, DRIVER_FEATURES, (u32)(dev->features >> 32));
  set_reg(dev, STATUS, STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK);
  if (!(reg(dev, STATUS) & STATUS_FEATURES_OK)) return -3;
  return 0;
}

int virtio_queue(struct device *dev, int index, u16 size) {
  struct queue *q = &dev->queues[index];
  set_reg(dev, QUEUE_SEL, (u32)index);
  if (reg(dev, QUEUE_READY)) return -1;
  u32 max = reg(dev, QUEUE_NUM_MAX);
  if (max == 0) return -2;
  if (size > max) size = (u16)max;
  *q = (struct queue){.size = size, .index = (u16)index};
  /* Rings in their own zeroed pages: descriptors 16-byte, rings 2- and 4-byte aligned. */
  q->desc = alloc(16UL * size);
  q->avail = alloc(6UL + 2UL * size);
  q->used = alloc(6UL + 8UL * size);
  q->notify = dev->base + QUEUE_NOTIFY;
  q->avail->flags = AVAIL_NO_INTERRUPT;
  set_reg(dev, QUEUE_NUM, size);
  set_reg(dev, QUEUE_DESC_LOW, (u32)(u64)q->desc);
  set_reg(dev, QUEUE_DESC_HIGH, (u32)((u64)q->desc >> 32));
  set_reg(dev, QUEUE_DRIVER_LOW, (u32)(u64)q->avail);
  set_reg(dev, QUEUE_DRIVER_HIGH, (u32)((u64)q->avail >> 32));
  set_reg(dev, QUEUE_DEVICE_LOW, (u32)(u64)q->used);
  set_reg(dev, QUEUE_DEVICE_HIGH, (u32)((u64)q->used >> 32));
  set_reg(dev, QUEUE_READY, 1);
  return 0;
}

void virtio_driver_ok(struct device *dev) {
  set_reg(dev, STATUS, STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK | STATUS_DRIVER_OK);
}

u32 virtio_config32(struct device *dev, u32 offset) { return reg(dev, CONFIG + offset); }

u8 virtio_config8(struct device *dev, u32 offset) { return *(volatile u8 *)(dev->base + CONFIG + offset); }

void queue_offer_quietly(struct queue *q, u16 head) {
  q->avail->ring[q->next_avail % q->size] = head;
  q->next_avail++;
  memory_barrier(); /* the ring entry before the index (2.7.13) */
  *(volatile u16 *)&q->avail->index = q->next_avail;
}

void queue_notify(struct queue *q) {
  memory_barrier(); /* the index before the notification */
  mmio_write32(q->notify, q->index);
}

void queue_offer(struct queue *q, u16 head) {
  queue_offer_quietly(q, head);
  queue_notify(q);
}

int queue_take(struct queue *q, u32 *id, u32 *length) {
  if (*(volatile u16 *)&q->used->index == q->last_used) return 0;
  memory_barrier(); /* the index before the element it covers */
  struct used_element element = q->used->ring[q->last_used % q->size];
  q->last_used++;
  *id = element.id;
  *length = element.length;
  return 1;
}
