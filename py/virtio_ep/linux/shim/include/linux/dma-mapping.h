/* SPDX-License-Identifier: MIT */
/*
 * The project's DMA-mapping API for Linux's virtio_ring.c built in user space: found before
 * tools/virtio's stub (which maps virtual to "physical" one to one). With
 * VIRTIO_F_ACCESS_PLATFORM negotiated, virtio_ring.c sends every ring and buffer address
 * through these calls, so the addresses the device sees are bus addresses in the one shared
 * area that the test bench registers as host memory (vring_shim.c).
 */
#ifndef _LINUX_DMA_MAPPING_H
#define _LINUX_DMA_MAPPING_H

#include <stddef.h>
#include <stdint.h>

enum dma_data_direction {
	DMA_BIDIRECTIONAL = 0,
	DMA_TO_DEVICE = 1,
	DMA_FROM_DEVICE = 2,
	DMA_NONE = 3,
};

#define DMA_MAPPING_ERROR (~(unsigned long long)0)

/* vring_shim.c: bus address of [p, p + size) in the area, DMA_MAPPING_ERROR outside it */
unsigned long long vk_dma_map(const void *p, size_t size);
void *vk_dma_alloc(size_t size, unsigned long long *bus);
void vk_dma_free(void *p);

#define dma_alloc_coherent(d, s, hp, f) vk_dma_alloc((s), (hp))
#define dma_free_coherent(d, s, p, h) vk_dma_free(p)

/* tools/virtio's struct page pointers are the page's virtual address */
#define dma_map_page(d, p, o, s, dir) vk_dma_map((const char *)(p) + (o), (s))
#define dma_map_single(d, p, s, dir) vk_dma_map((p), (s))
#define dma_map_single_attrs(d, p, s, dir, a) vk_dma_map((p), (s))
#define dma_mapping_error(d, a) ((a) == DMA_MAPPING_ERROR)

#define dma_unmap_single(d, a, s, r) do { (void)(d); (void)(a); (void)(s); (void)(r); } while (0)
#define dma_unmap_page(d, a, s, r) do { (void)(d); (void)(a); (void)(s); (void)(r); } while (0)
#define dma_unmap_single_attrs(d, a, s, r, t) do { \
	(void)(d); (void)(a); (void)(s); (void)(r); (void)(t); \
} while (0)

#define sg_dma_address(sg) (0)
#define dma_need_sync(v, a) (0)
#define dma_sync_single_range_for_cpu(d, a, o, s, r) do { \
	(void)(d); (void)(a); (void)(o); (void)(s); (void)(r); \
} while (0)
#define dma_sync_single_range_for_device(d, a, o, s, r) do { \
	(void)(d); (void)(a); (void)(o); (void)(s); (void)(r); \
} while (0)
#define dma_max_mapping_size(...) SIZE_MAX

#endif
