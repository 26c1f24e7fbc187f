#ifndef CFUSE_SHIM_H
#define CFUSE_SHIM_H
/* 314: fuse_session_loop_mt and fuse_parse_cmdline are real prototypes (not macros). */
#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>
#include <fuse_opt.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#endif
