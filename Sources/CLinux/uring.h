#ifndef CLINUX_URING_H
#define CLINUX_URING_H
/* The smallest io_uring a FUSE-over-io-uring server needs (Linux 6.14+): one ring with 128-byte
   SQEs (the FUSE command lives in the SQE's 80-byte command area), used by one thread only.
   No liburing: Debian 12's is too old for the FUSE commands, and three syscalls suffice.
   The ring memory is shared with the kernel, so the head/tail indices are read and written with
   acquire/release ordering, as the io_uring ABI requires. */
#include <linux/io_uring.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sched.h>
#include <string.h>
#include <stdint.h>
#include <unistd.h>
#include <errno.h>

struct clinux_uring {
    int fd;
    unsigned sq_entries;
    unsigned sq_local_tail; /* SQEs prepared, published to the kernel on enter */
    unsigned *sq_head, *sq_tail, *sq_mask, *sq_array;
    unsigned *cq_head, *cq_tail, *cq_mask;
    struct io_uring_cqe *cqes;
    unsigned char *sqes;
    void *sq_map;
    size_t sq_map_len;
    void *cq_map; /* NULL when the kernel maps both rings at once (IORING_FEAT_SINGLE_MMAP) */
    size_t cq_map_len;
    void *sqe_map;
    size_t sqe_map_len;
};

/* The FUSE command in the SQE's command area (struct fuse_uring_cmd_req, protocol 7.42). */
struct clinux_fuse_uring_cmd_req {
    uint64_t flags;
    uint64_t commit_id;
    uint16_t qid;
    uint8_t padding[6];
};

static inline void clinux_uring_exit(struct clinux_uring *r) {
    if (r->sqe_map) munmap(r->sqe_map, r->sqe_map_len);
    if (r->cq_map) munmap(r->cq_map, r->cq_map_len);
    if (r->sq_map) munmap(r->sq_map, r->sq_map_len);
    if (r->fd >= 0) close(r->fd);
    memset(r, 0, sizeof *r);
    r->fd = -1;
}

/* 0 or -errno. */
static inline int clinux_uring_init(struct clinux_uring *r, unsigned entries) {
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    memset(r, 0, sizeof *r);
    r->fd = -1;
    p.flags = IORING_SETUP_SQE128;
    int fd = (int)syscall(__NR_io_uring_setup, entries, &p);
    if (fd < 0) return -errno;
    r->fd = fd;
    r->sq_entries = p.sq_entries;
    size_t sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
    size_t cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
    int single = (p.features & IORING_FEAT_SINGLE_MMAP) != 0;
    if (single && cq_len > sq_len) sq_len = cq_len;
    void *sq = mmap(NULL, sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQ_RING);
    if (sq == MAP_FAILED) { int e = errno; clinux_uring_exit(r); return -e; }
    r->sq_map = sq;
    r->sq_map_len = sq_len;
    void *cq = sq;
    if (!single) {
        cq = mmap(NULL, cq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_CQ_RING);
        if (cq == MAP_FAILED) { int e = errno; clinux_uring_exit(r); return -e; }
        r->cq_map = cq;
        r->cq_map_len = cq_len;
    }
    r->sqe_map_len = (size_t)p.sq_entries * 128;
    void *sqes = mmap(NULL, r->sqe_map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQES);
    if (sqes == MAP_FAILED) { int e = errno; r->sqe_map = NULL; clinux_uring_exit(r); return -e; }
    r->sqe_map = sqes;
    r->sqes = sqes;
    unsigned char *s = sq, *c = cq;
    r->sq_head = (unsigned *)(s + p.sq_off.head);
    r->sq_tail = (unsigned *)(s + p.sq_off.tail);
    r->sq_mask = (unsigned *)(s + p.sq_off.ring_mask);
    r->sq_array = (unsigned *)(s + p.sq_off.array);
    r->cq_head = (unsigned *)(c + p.cq_off.head);
    r->cq_tail = (unsigned *)(c + p.cq_off.tail);
    r->cq_mask = (unsigned *)(c + p.cq_off.ring_mask);
    r->cqes = (struct io_uring_cqe *)(c + p.cq_off.cqes);
    r->sq_local_tail = *r->sq_tail;
    return 0;
}

/* Prepares a FUSE command SQE (IORING_OP_URING_CMD on the /dev/fuse descriptor). `iov` (two
   entries: header, payload) only for FUSE_IO_URING_CMD_REGISTER. 0 or -EBUSY when the SQ is full. */
static inline int clinux_uring_prep_fuse(struct clinux_uring *r, int fuse_fd, uint32_t cmd_op, uint16_t qid,
                                         uint64_t commit_id, const struct iovec *iov, uint64_t user_data) {
    unsigned head = __atomic_load_n(r->sq_head, __ATOMIC_ACQUIRE);
    if (r->sq_local_tail - head >= r->sq_entries) return -EBUSY;
    unsigned idx = r->sq_local_tail & *r->sq_mask;
    struct io_uring_sqe *sqe = (struct io_uring_sqe *)(r->sqes + (size_t)idx * 128);
    memset(sqe, 0, 128);
    sqe->opcode = IORING_OP_URING_CMD;
    sqe->fd = fuse_fd;
    sqe->cmd_op = cmd_op;
    sqe->user_data = user_data;
    if (iov) {
        sqe->addr = (uint64_t)(uintptr_t)iov;
        sqe->len = 2;
    }
    struct clinux_fuse_uring_cmd_req *req = (struct clinux_fuse_uring_cmd_req *)sqe->cmd;
    req->commit_id = commit_id;
    req->qid = qid;
    r->sq_array[idx] = idx;
    r->sq_local_tail++;
    return 0;
}

/* Publishes the prepared SQEs, submits them and, with wait, blocks until a completion is there.
   Returns 0 or -errno of io_uring_enter (EINTR is retried). */
static inline int clinux_uring_enter(struct clinux_uring *r, int wait) {
    __atomic_store_n(r->sq_tail, r->sq_local_tail, __ATOMIC_RELEASE);
    for (;;) {
        unsigned submit = r->sq_local_tail - __atomic_load_n(r->sq_head, __ATOMIC_ACQUIRE);
        unsigned flags = wait ? IORING_ENTER_GETEVENTS : 0;
        if (!wait && submit == 0) return 0;
        long rc = syscall(__NR_io_uring_enter, r->fd, submit, wait ? 1 : 0, flags, NULL, 0);
        if (rc >= 0) {
            if (!wait) return 0;
            if (__atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE) != *r->cq_head) return 0;
            continue;
        }
        if (errno != EINTR) return -errno;
    }
}

/* Takes the next completion if there is one: 1 with *res and *user_data set, else 0. */
static inline int clinux_uring_take_cqe(struct clinux_uring *r, int32_t *res, uint64_t *user_data) {
    unsigned head = *r->cq_head;
    if (head == __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE)) return 0;
    struct io_uring_cqe *cqe = &r->cqes[head & *r->cq_mask];
    *res = cqe->res;
    *user_data = cqe->user_data;
    __atomic_store_n(r->cq_head, head + 1, __ATOMIC_RELEASE);
    return 1;
}

/* Pins the calling thread to one CPU: 0 or -errno. */
static inline int clinux_pin_to_cpu(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof set, &set) == 0 ? 0 : -errno;
}

#endif
