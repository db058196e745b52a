// SPDX-License-Identifier: MIT
/*
 * The project's shim around Linux's drivers/virtio/virtio_ring.c, built in user space with
 * the kernel's tools/virtio headers (virtio_ep.linux.build). It gives the ring code what a
 * kernel gives it and nothing more:
 *
 *  - one DMA area: memory shared with the test bench, which registers it as host memory
 *    at `bus` in the root complex, so the RTL's DMA reads what the kernel code wrote. Every
 *    allocation of the ring code (rings, indirect tables, its own state) comes from the area
 *    (malloc and friends are wrapped at link time), and so do the test's buffers (vk_alloc);
 *  - the DMA-mapping API (include/linux/dma-mapping.h): virtual address in the area to bus
 *    address; anything outside the area is a mapping error, recorded in vk_error();
 *  - a virtio_device per probe with the negotiated features, and queues made by the kernel's
 *    own vring_create_virtqueue (split or packed by VIRTIO_F_RING_PACKED).
 *
 * Everything else (kick_prepare, get_buf, enable/disable callbacks, is_broken, the ring
 * addresses) is the kernel's exported functions, called directly.
 */

#include <linux/virtio.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <linux/scatterlist.h>
#include <linux/dma-mapping.h>
#include <linux/cache.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* tools/virtio's harness globals (kernel.h declares them; virtio_test.c defines them) */
void *__kmalloc_fake, *__kfree_ignore_start, *__kfree_ignore_end;

void *__real_malloc(size_t size);
void __real_free(void *p);
void *__real_realloc(void *p, size_t size);
void *__real_calloc(size_t n, size_t size);

#define MIN_SHIFT 4                 /* blocks of 16 bytes and up, powers of two */
#define MAX_SHIFT 26
#define UNIT(p) ((size_t)((const char *)(p) - area) >> MIN_SHIFT)

static char *area;
static size_t area_size, bump;
static unsigned long long area_bus;
static void *free_list[MAX_SHIFT + 1];
static unsigned char *block_class;  /* per 16-byte unit: size class of the block that starts there */
static char error[256];

static void set_error(const char *fmt, ...)
{
	va_list ap;

	if (error[0])
		return;             /* keep the first */
	va_start(ap, fmt);
	vsnprintf(error, sizeof(error), fmt, ap);
	va_end(ap);
}

const char *vk_error(void)
{
	return error;
}

void vk_clear_error(void)
{
	error[0] = 0;
}

static int in_area(const void *p, size_t size)
{
	return area && (const char *)p >= area && (const char *)p + size <= area + area_size;
}

/* The area (size a multiple of 4 KiB) at bus address `bus`; forgets every earlier
 * allocation, device and queue. */
int vk_init(void *base, size_t size, unsigned long long bus)
{
	__real_free(block_class);
	block_class = __real_calloc(size >> MIN_SHIFT, 1);
	if (!block_class)
		return -1;
	area = base;
	area_size = size;
	area_bus = bus;
	bump = 0;
	memset(free_list, 0, sizeof(free_list));
	error[0] = 0;
	return 0;
}

void *vk_alloc(size_t size)
{
	int k = MIN_SHIFT;
	size_t align, off;
	void *p;

	while (k <= MAX_SHIFT && ((size_t)1 << k) < size)
		k++;
	if (k > MAX_SHIFT) {
		set_error("allocation of %zu bytes: larger than the allocator's blocks", size);
		return NULL;
	}
	if (free_list[k]) {
		p = free_list[k];
		free_list[k] = *(void **)p;
	} else {
		align = ((size_t)1 << k) < 4096 ? ((size_t)1 << k) : 4096;
		off = (bump + align - 1) & ~(align - 1);
		if (off + ((size_t)1 << k) > area_size) {
			set_error("DMA area of %zu bytes exhausted (%zu bytes asked)", area_size, size);
			return NULL;
		}
		bump = off + ((size_t)1 << k);
		p = area + off;
	}
	block_class[UNIT(p)] = (unsigned char)k;
	return p;
}

static size_t block_size(const void *p)
{
	return block_class[UNIT(p)] ? (size_t)1 << block_class[UNIT(p)] : 0;
}

void vk_free(void *p)
{
	int k;

	if (!p)
		return;
	if (!in_area(p, 1)) {
		__real_free(p);
		return;
	}
	k = block_class[UNIT(p)];
	if (!k) {
		set_error("free of %p: not a block of the DMA area", p);
		return;
	}
	block_class[UNIT(p)] = 0;
	*(void **)p = free_list[k];
	free_list[k] = p;
}

unsigned long long vk_bus_address(const void *p)
{
	return area_bus + (unsigned long long)((const char *)p - area);
}

/* the ring code's allocations, once an area exists */
void *__wrap_malloc(size_t size)
{
	return area ? vk_alloc(size) : __real_malloc(size);
}

void __wrap_free(void *p)
{
	vk_free(p);
}

void *__wrap_calloc(size_t n, size_t size)
{
	void *p = __wrap_malloc(n * size);

	if (p)
		memset(p, 0, n * size);
	return p;
}

void *__wrap_realloc(void *p, size_t size)
{
	void *q;
	size_t old;

	if (!p || !in_area(p, 1))
		return area ? __wrap_malloc(size) : __real_realloc(p, size);
	old = block_size(p);
	q = vk_alloc(size);
	if (q) {
		memcpy(q, p, old < size ? old : size);
		vk_free(p);
	}
	return q;
}

unsigned long long vk_dma_map(const void *p, size_t size)
{
	if (!in_area(p, size)) {
		set_error("DMA mapping of %zu bytes at %p: outside the DMA area", size, p);
		return DMA_MAPPING_ERROR;
	}
	return vk_bus_address(p);
}

void *vk_dma_alloc(size_t size, unsigned long long *bus)
{
	void *p = vk_alloc(size);

	if (p) {
		memset(p, 0, size);
		*bus = vk_bus_address(p);
	}
	return p;
}

void vk_dma_free(void *p)
{
	vk_free(p);
}

#define VK_MAX_DEVICES 64
#define VK_MAX_SG 64

static struct virtio_device devices[VK_MAX_DEVICES];
static unsigned int next_device;

/* A device as the driver sees it after negotiation: its features (64 bits: all the ring
 * code looks at). Devices are reused round robin; a probe makes a new one. */
struct virtio_device *vk_device(unsigned long long features)
{
	struct virtio_device *dev = &devices[next_device++ % VK_MAX_DEVICES];

	memset(dev, 0, sizeof(*dev));
	dev->features = features;
	INIT_LIST_HEAD(&dev->vqs);
	spin_lock_init(&dev->vqs_list_lock);
	return dev;
}

static bool vk_notify(struct virtqueue *vq)
{
	(void)vq;
	return true;                /* the test bench rings the doorbell after kick_prepare */
}

static void vk_callback(struct virtqueue *vq)
{
	(void)vq;                   /* interrupts are taken by the test bench (its MSI wait) */
}

/* A queue made as a virtio transport makes it: split or packed by the device's features. */
struct virtqueue *vk_queue(struct virtio_device *dev, unsigned int index, unsigned int num)
{
	struct virtqueue *vq = vring_create_virtqueue(index, num, SMP_CACHE_BYTES, dev, true, false, false,
						      vk_notify, vk_callback, "vk");

	if (!vq)
		set_error("vring_create_virtqueue(%u, %u) failed", index, num);
	return vq;
}

/* One request: `n_out` device-readable then `n_in` device-writable buffers, each its own
 * scatterlist, as drivers pass them to virtqueue_add_sgs; `token` is returned by get_buf. */
int vk_add(struct virtqueue *vq, unsigned int n_out, void *const out[], const unsigned int out_len[],
	   unsigned int n_in, void *const in[], const unsigned int in_len[], unsigned long token)
{
	struct scatterlist sg[VK_MAX_SG];
	struct scatterlist *sgs[VK_MAX_SG];
	unsigned int i;

	if (n_out + n_in > VK_MAX_SG || n_out + n_in == 0 || token == 0) {
		set_error("vk_add: %u + %u buffers, token %lu", n_out, n_in, token);
		return -EINVAL;
	}
	for (i = 0; i < n_out + n_in; i++) {
		if (i < n_out)
			sg_init_one(&sg[i], out[i], out_len[i]);
		else
			sg_init_one(&sg[i], in[i - n_out], in_len[i - n_out]);
		sgs[i] = &sg[i];
	}
	return virtqueue_add_sgs(vq, sgs, n_out, n_in, (void *)token, GFP_ATOMIC);
}

/* virtqueue_get_buf's token, 0 when there is none; *len the bytes the device wrote */
unsigned long vk_get_buf(struct virtqueue *vq, unsigned int *len)
{
	return (unsigned long)virtqueue_get_buf(vq, len);
}

/* descriptors the driver may still use (struct virtqueue's num_free) */
unsigned int vk_num_free(struct virtqueue *vq)
{
	return vq->num_free;
}
