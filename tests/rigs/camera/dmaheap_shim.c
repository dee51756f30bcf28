/*
 * dmaheap_shim: an LD_PRELOAD library that serves the DMA heap this kernel
 * lacks, for the camera test rig (tests/rigs/camera/).
 *
 * picamera2's DmaAllocator opens /dev/dma_heap/vidbuf_cached (or
 * /dev/dma_heap/linux,cma), asks it for buffers with DMA_HEAP_IOCTL_ALLOC,
 * names them with DMA_BUF_SET_NAME and brackets CPU access with
 * DMA_BUF_IOCTL_SYNC. libcamera's own DmaBufAllocator opens
 * /dev/dma_heap/linux,cma, /dev/dma_heap/reserved or /dev/dma_heap/system.
 *
 * Here an open() of any of those paths returns a placeholder memfd named
 * "kit-dma-heap"; DMA_HEAP_IOCTL_ALLOC on such an fd creates a memfd of the
 * asked length (a "kit-dmabuf", shareable and mmap()able like a dmabuf) and
 * returns it in .fd; DMA_BUF_IOCTL_SYNC and DMA_BUF_SET_NAME on any memfd
 * return 0. access()/faccessat() of the heap paths succeed. Everything else
 * goes to the C library untouched. No state is kept: an fd is recognised by
 * its /proc/self/fd link, so fds may be passed, duplicated and inherited.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define HEAP_NAME "kit-dma-heap"
#define BUF_NAME "kit-dmabuf"

/* From linux/dma-heap.h and linux/dma-buf.h (kept here: the headers may be absent). */
struct kit_dma_heap_allocation_data {
	uint64_t len;
	uint32_t fd;
	uint32_t fd_flags;
	uint64_t heap_flags;
};

#define KIT_DMA_HEAP_IOCTL_ALLOC _IOWR('H', 0x0, struct kit_dma_heap_allocation_data)
#define KIT_DMA_BUF_IOCTL_SYNC _IOW('b', 0, uint64_t)
#define KIT_DMA_BUF_SET_NAME_A _IOW('b', 1, uint32_t)
#define KIT_DMA_BUF_SET_NAME_B _IOW('b', 1, uint64_t)

static const char *const heap_paths[] = {
	"/dev/dma_heap/vidbuf_cached",
	"/dev/dma_heap/linux,cma",
	"/dev/dma_heap/reserved",
	"/dev/dma_heap/system",
	NULL,
};

static int is_heap_path(const char *path)
{
	if (!path || strncmp(path, "/dev/dma_heap/", 14) != 0)
		return 0;
	for (int i = 0; heap_paths[i]; i++)
		if (strcmp(path, heap_paths[i]) == 0)
			return 1;
	return 0;
}

static int open_heap(int flags)
{
	unsigned int mfd_flags = (flags & O_CLOEXEC) ? MFD_CLOEXEC : 0;
	return (int)syscall(SYS_memfd_create, HEAP_NAME, mfd_flags);
}

/* 1: a heap placeholder, 2: some other memfd, 0: anything else. */
static int fd_kind(int fd)
{
	char link[64], target[128];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	int saved = errno;
	ssize_t n = readlink(link, target, sizeof(target) - 1);
	errno = saved;
	if (n <= 0)
		return 0;
	target[n] = '\0';
	if (strncmp(target, "/memfd:", 7) != 0)
		return 0;
	if (strncmp(target + 7, HEAP_NAME " ", sizeof(HEAP_NAME)) == 0 ||
	    strcmp(target + 7, HEAP_NAME) == 0)
		return 1;
	return 2;
}

static int heap_alloc(struct kit_dma_heap_allocation_data *data)
{
	if (!data || data->len == 0) {
		errno = EINVAL;
		return -1;
	}
	unsigned int mfd_flags = (data->fd_flags & O_CLOEXEC) ? MFD_CLOEXEC : 0;
	int fd = (int)syscall(SYS_memfd_create, BUF_NAME, mfd_flags);
	if (fd < 0)
		return -1;
	if (ftruncate(fd, (off_t)data->len) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	data->fd = (uint32_t)fd;
	return 0;
}

#define NEXT(name)                                                       \
	static __typeof__(name) *next_##name;                            \
	if (!next_##name)                                                \
		next_##name = (__typeof__(name) *)dlsym(RTLD_NEXT, #name)

static mode_t va_mode(int flags, va_list ap)
{
	if (flags & (O_CREAT | __O_TMPFILE))
		return (mode_t)va_arg(ap, int);
	return 0;
}

int open(const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t mode = va_mode(flags, ap);
	va_end(ap);
	if (is_heap_path(path))
		return open_heap(flags);
	NEXT(open);
	return next_open(path, flags, mode);
}

int open64(const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t mode = va_mode(flags, ap);
	va_end(ap);
	if (is_heap_path(path))
		return open_heap(flags);
	NEXT(open64);
	return next_open64(path, flags, mode);
}

int openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t mode = va_mode(flags, ap);
	va_end(ap);
	if (is_heap_path(path))
		return open_heap(flags);
	NEXT(openat);
	return next_openat(dirfd, path, flags, mode);
}

int openat64(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t mode = va_mode(flags, ap);
	va_end(ap);
	if (is_heap_path(path))
		return open_heap(flags);
	NEXT(openat64);
	return next_openat64(dirfd, path, flags, mode);
}

/* The _FORTIFY_SOURCE entry points. */
int __open_2(const char *path, int flags)
{
	return open(path, flags);
}

int __open64_2(const char *path, int flags)
{
	return open64(path, flags);
}

int __openat_2(int dirfd, const char *path, int flags)
{
	return openat(dirfd, path, flags);
}

int __openat64_2(int dirfd, const char *path, int flags)
{
	return openat64(dirfd, path, flags);
}

int access(const char *path, int amode)
{
	if (is_heap_path(path))
		return 0;
	NEXT(access);
	return next_access(path, amode);
}

int faccessat(int dirfd, const char *path, int amode, int flags)
{
	if (is_heap_path(path))
		return 0;
	NEXT(faccessat);
	return next_faccessat(dirfd, path, amode, flags);
}

int ioctl(int fd, unsigned long request, ...)
{
	va_list ap;
	va_start(ap, request);
	void *arg = va_arg(ap, void *);
	va_end(ap);

	switch (request) {
	case KIT_DMA_HEAP_IOCTL_ALLOC:
		if (fd_kind(fd) == 1)
			return heap_alloc(arg);
		break;
	case KIT_DMA_BUF_IOCTL_SYNC:
	case KIT_DMA_BUF_SET_NAME_A:
	case KIT_DMA_BUF_SET_NAME_B:
		if (fd_kind(fd) != 0)
			return 0;
		break;
	default:
		break;
	}
	NEXT(ioctl);
	return next_ioctl(fd, request, arg);
}
