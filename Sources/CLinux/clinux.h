#ifndef CLINUX_H
#define CLINUX_H
/* Linux calls and constants Swift's Glibc module does not give us. _GNU_SOURCE comes from the
   targets' cSettings, never from here (see SWIFT-LIBFUSE-NOTES.md). */
#include <fcntl.h>
#include <unistd.h>
#include <stdio.h>
#include <errno.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/uio.h>

static const long clinux_UTIME_NOW = UTIME_NOW;
static const long clinux_UTIME_OMIT = UTIME_OMIT;

/* openat2(2) has no glibc wrapper on Debian 12. */
static inline int clinux_openat2(int dirfd, const char *path, unsigned long long flags,
                                 unsigned long long mode, unsigned long long resolve) {
    struct open_how how = { .flags = flags, .mode = mode, .resolve = resolve };
    return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}

static inline int clinux_errno(void) { return errno; }

/* splice(2) without needing _GNU_SOURCE in Swift's view of the headers. */
static inline long clinux_splice(int fdin, off_t *offin, int fdout, off_t *offout,
                                 unsigned long len, unsigned int flags) {
    return syscall(SYS_splice, fdin, offin, fdout, offout, len, flags);
}

/* FUSE passthrough (protocol 7.40, Linux 6.9+): register an open file as the backing file of
   FUSE opens, and drop it. Debian 12's <linux/fuse.h> (6.1) predates them, so the ioctl layout
   is spelled out here: struct fuse_backing_map { int32_t fd; uint32_t flags; uint64_t padding; }. */
struct clinux_fuse_backing_map { int32_t fd; uint32_t flags; uint64_t padding; };
static inline int clinux_fuse_backing_open(int devfd, int fd) {
    struct clinux_fuse_backing_map map = { .fd = fd, .flags = 0, .padding = 0 };
    return ioctl(devfd, _IOW(229, 1, struct clinux_fuse_backing_map), &map);
}
static inline int clinux_fuse_backing_close(int devfd, int backing_id) {
    uint32_t id = (uint32_t)backing_id;
    return ioctl(devfd, _IOW(229, 2, uint32_t), &id);
}

// getxattrat(2) (Linux 6.13): an xattr of `path` relative to `dirfd`, without following a final
// symlink. -1 with errno ENOSYS on older kernels.
#ifndef __NR_getxattrat
#define __NR_getxattrat 464
#endif
struct clinux_xattr_args {
    uint64_t value;
    uint32_t size;
    uint32_t flags;
};
static inline long clinux_getxattrat(int dirfd, const char *path, const char *name, void *value, size_t size) {
    struct clinux_xattr_args args = { (uint64_t)(uintptr_t)value, (uint32_t)size, 0 };
    return syscall(__NR_getxattrat, dirfd, path, AT_SYMLINK_NOFOLLOW, name, &args, sizeof(args));
}

static inline unsigned long long clinux_makedev(unsigned int ma, unsigned int mi) { return makedev(ma, mi); }
static inline unsigned int clinux_major(unsigned long long d) { return major(d); }
static inline unsigned int clinux_minor(unsigned long long d) { return minor(d); }
#endif
