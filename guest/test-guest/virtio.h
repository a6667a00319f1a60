/* A virtio-mmio (version 2) driver with split virtqueues, written from the
 * virtio 1.2 specification (sections 2, 3.1 and 4.2). Interrupts are not
 * used: the driver polls the used rings. */
#pragma once
#include "guest.h"

#define VIRTIO_NET 1
#define VIRTIO_BLOCK 2

#define STATUS_ACKNOWLEDGE 1
#define STATUS_DRIVER 2
#define STATUS_DRIVER_OK 4
#define STATUS_FEATURES_OK 8
#define STATUS_NEEDS_RESET 64
#define STATUS_FAILED 128

#define F_VERSION_1 (1UL << 32)

#define DESC_NEXT 1
#define DESC_WRITE 2
#define DESC_INDIRECT 4
#define AVAIL_NO_INTERRUPT 1

struct desc { u64 address; u32 length; u16 flags, next; };
struct avail { u16 flags, index, ring[]; };
struct used_element { u32 id, length; };
struct used { u16 flags, index; struct used_element ring[]; };

struct queue {
  u16 size, index, next_avail, last_used;
  struct desc *desc;
  struct avail *avail;
  struct used *used;
  u64 notify;
};

struct device {
  u64 base;
  u64 features;
  struct queue queues[2];
};

/* Resets the device and negotiates: our wanted features that the device offers, plus VERSION_1. */
int virtio_start(struct device *dev, u64 base, u64 wanted);
/* Sets up queue `index` with at most `size` entries; returns 0 or a negative error. */
int virtio_queue(struct device *dev, int index, u16 size);
void virtio_driver_ok(struct device *dev);
u32 virtio_status(struct device *dev);
void virtio_reset(struct device *dev);
u32 virtio_config32(struct device *dev, u32 offset);
u8 virtio_config8(struct device *dev, u32 offset);

static inline void desc_set(struct queue *q, u16 i, const void *address, u32 length, u16 flags, u16 next) {
  q->desc[i] = (struct desc){(u64)address, length, flags, next};
}
/* Offers the chain starting at `head` and tells the device (a write to QueueNotify). */
void queue_offer(struct queue *q, u16 head);
/* Offers without telling; queue_notify() after a batch. */
void queue_offer_quietly(struct queue *q, u16 head);
void queue_notify(struct queue *q);
/* Takes one used element; returns 0 when there is none. */
int queue_take(struct queue *q, u32 *id, u32 *length);
