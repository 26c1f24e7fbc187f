#ifndef CFUSE_SHIM_H
#define CFUSE_SHIM_H
/* 314: fuse_session_loop_mt and fuse_parse_cmdline are real prototypes (not macros).
   Never define _GNU_SOURCE here: it comes from the targets' cSettings (SWIFT-LIBFUSE-NOTES.md §1). */
#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>
#include <fuse_opt.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <malloc.h>
#include <string.h>
#include <unistd.h>
#include <syslog.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

/* syslog(3) is variadic and does not import into Swift. */
static inline void cfuse_syslog(int priority, const char *message) {
    syslog(priority, "%s", message);
}
#endif
