/* SPDX-License-Identifier: GPL-2.0 */
/*
 * sdtrace version 1 parser, freestanding C (no libc, no allocation).
 * Used by the sdmc KUnit suite (kernel) and by the userspace replayer.
 * The format is /work/shared/trace-format.md ("sdtrace: the trace format").
 *
 * Usage: sdt_parser_init(); then for each line sdt_parse_line(), which
 * returns 1 and fills *op for an operation or expectation, 0 for a line with
 * nothing to replay (blank, comment, header), or -1 with p->err set.
 * Call sdt_parse_end() after the last line (checks the `sdtrace 1` header).
 */
#ifndef SDMC_SDTRACE_H
#define SDMC_SDTRACE_H

#ifdef __KERNEL__
#include <linux/types.h>
typedef u64 sdt_u64;
typedef s64 sdt_s64;
#else
#include <stddef.h>
#include <stdint.h>
typedef uint64_t sdt_u64;
typedef int64_t sdt_s64;
#endif

#define SDT_PAGE_SIZE 4096ULL
#define SDT_NAME_MAX 64

enum sdt_kind {
	SDT_NONE = 0,
	SDT_MMAP,
	SDT_MUNMAP,
	SDT_BRK,
	SDT_MPROTECT,
	SDT_MREMAP,
	SDT_MADVISE,
	SDT_MLOCK,
	SDT_MUNLOCK,
	SDT_WRITE,
	SDT_READ,
	SDT_CLEAR_REFS,
	SDT_UFFD_WP,
	SDT_SCAN,
	SDT_RECLAIM,
	SDT_FORK,
	SDT_EPOCH,
	SDT_EXPECT,
	SDT_KIND_COUNT
};

/* PROT bits (same values as PROT_READ/WRITE/EXEC) */
#define SDT_PROT_R 1
#define SDT_PROT_W 2
#define SDT_PROT_X 4

enum sdt_sharing { SDT_PRIVATE = 0, SDT_SHARED, SDT_DROPPABLE };

/* mmap option flags */
#define SDT_MMAP_FIXED 1
#define SDT_MMAP_POPULATE 2
#define SDT_MMAP_NORESERVE 4
#define SDT_MMAP_STACK 8
#define SDT_MMAP_RO 16 /* file= ... ro */
#define SDT_MMAP_FILE 32

/* mremap flags */
#define SDT_MREMAP_MAYMOVE 1
#define SDT_MREMAP_FIXED 2
#define SDT_MREMAP_DONTUNMAP 4

/* scan flags */
#define SDT_SCAN_WP 1
#define SDT_SCAN_HAS_MAX 2
#define SDT_SCAN_HAS_VEC 4

/* reclaim flags */
#define SDT_RECLAIM_RANGE 1
#define SDT_UFFD_REMAP 1	/* uffd_wp ... remap: the context has UFFD_FEATURE_EVENT_REMAP */

enum sdt_advice {
	SDT_ADV_NORMAL = 0, SDT_ADV_RANDOM, SDT_ADV_SEQUENTIAL, SDT_ADV_WILLNEED,
	SDT_ADV_DONTNEED, SDT_ADV_FREE, SDT_ADV_REMOVE, SDT_ADV_PAGEOUT,
	SDT_ADV_COLD, SDT_ADV_DONTFORK, SDT_ADV_DOFORK, SDT_ADV_WIPEONFORK,
	SDT_ADV_KEEPONFORK, SDT_ADV_DONTDUMP, SDT_ADV_DODUMP, SDT_ADV_HUGEPAGE,
	SDT_ADV_NOHUGEPAGE, SDT_ADV_COUNT
};

enum sdt_field { SDT_F_SD = 0, SDT_F_PRESENT, SDT_F_SWAPPED, SDT_F_WRITTEN, SDT_F_VMAS,
		 SDT_F_SDSCAN };

/* expected result (the optional "= RESULT") */
/* SDT_RES_SIGBUS: `= SIGBUS`, sdmc's extension of the contract (traces/README.md) */
enum sdt_res_kind {
	SDT_RES_NONE = 0, SDT_RES_VALUE, SDT_RES_ERRNO, SDT_RES_SIGSEGV, SDT_RES_SIGBUS
};

struct sdt_op {
	enum sdt_kind kind;
	int line;
	sdt_u64 addr, len;      /* main range (mmap, munmap, ..., brk OLD/NEW in addr/len2) */
	sdt_u64 new_addr, new_len; /* mremap NEWLEN / fixed NEW; brk NEW in new_addr */
	int prot;               /* SDT_PROT_* */
	int sharing;            /* enum sdt_sharing */
	int flags;              /* SDT_MMAP_* / SDT_MREMAP_* / SDT_SCAN_* / SDT_RECLAIM_* */
	sdt_u64 offset;         /* file offset */
	char file[SDT_NAME_MAX];
	int advice;             /* enum sdt_advice */
	sdt_u64 max_pages, vec_len; /* scan */
	/* expect */
	int field;              /* enum sdt_field */
	const char *value;      /* points into the caller's line buffer */
	int value_len;
	int all;                /* -1 none, 0 all0, 1 all1 */
	sdt_u64 count;          /* vmas */
	/* = RESULT */
	int res_kind;
	sdt_s64 res_value;      /* value, or positive errno number */
};

struct sdt_parser {
	int line;               /* current line number (1-based) */
	int seen_header;
	int swap_on;
	int have_brk;
	sdt_u64 cur_brk;
	int uffd_line;          /* the uffd_wp that creates the context, 0 before it */
	int uffd_remap;         /* its SDT_UFFD_REMAP: every uffd_wp of a trace agrees */
	char kernel[64];        /* "kernel RELEASE" header, "" if none */
	/* error */
	int err_line, err_col;
	char err[160];
};

void sdt_parser_init(struct sdt_parser *p);
/* line: the text without its newline; len its length */
int sdt_parse_line(struct sdt_parser *p, const char *line, int len, struct sdt_op *op);
int sdt_parse_end(struct sdt_parser *p);

const char *sdt_kind_name(enum sdt_kind k);
const char *sdt_advice_name(int a);
/* errno name <-> number for the errnos a trace can name; NULL/0 if unknown */
const char *sdt_errno_name(int e);
int sdt_errno_value(const char *name, int len);

/* [start,end) page-rounded ranges an op names, for the observed range.
 * Returns the number of ranges written to r (at most 2). */
int sdt_op_ranges(const struct sdt_op *op, sdt_u64 r[2][2]);

#endif
