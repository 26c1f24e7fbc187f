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

static const long clinux_UTIME_NOW = UTIME_NOW;
static const long clinux_UTIME_OMIT = UTIME_OMIT;

/* openat2(2) has no glibc wrapper on Debian 12. */
static inline int clinux_openat2(int dirfd, const char *path, unsigned long long flags,
                                 unsigned long long mode, unsigned long long resolve) {
    struct open_how how = { .flags = flags, .mode = mode, .resolve = resolve };
    return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}

static inline int clinux_errno(void) { return errno; }

static inline unsigned long long clinux_makedev(unsigned int ma, unsigned int mi) { return makedev(ma, mi); }
static inline unsigned int clinux_major(unsigned long long d) { return major(d); }
static inline unsigned int clinux_minor(unsigned long long d) { return minor(d); }
#endif
