// SPDX-License-Identifier: GPL-2.0
/*
 * sdreplay: replay sdtrace files with real syscalls in userspace and print the
 * same observation lines as the sdmc KUnit suite (kernel/OBSERVATIONS.md).
 *
 *   sdreplay [--init] TRACE...        (--init: behave as /init in a VM:
 *                                      mount proc, read /sdmc/list, power off)
 *
 * Each trace runs in a forked child (a fresh copy of this small process).
 * Needs root for PR_SET_MM (brk) and for the PFN-free pagemap flag bits it
 * does not need root.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/swap.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/fs.h>
#include <linux/userfaultfd.h>
#include <linux/mman.h>

#include "sdtrace.h"

#ifndef MAP_DROPPABLE
#define MAP_DROPPABLE 0x08
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef PR_SET_MM
#define PR_SET_MM 35
#endif
#ifndef PR_SET_MM_START_BRK
#define PR_SET_MM_START_BRK 6
#define PR_SET_MM_BRK 7
#endif

#define OBS_VERSION 1
#define SCRATCH 0x7e0000000000UL
#define SCRATCH_LEN (16UL << 20)
#define VEC_CAP ((12UL << 20) / sizeof(struct page_region))
#define CHUNK 32768UL
#define PS 4096ULL
#define SIGSEGV_RESULT INT64_MIN
#define SIGBUS_RESULT (INT64_MIN + 1)

#define P(...) do { printf("        # sdmc " __VA_ARGS__); putchar('\n'); } while (0)

struct range { uint64_t start, end; };

static struct range *ranges;
static int nranges;
static int pm_fd = -1;
static struct page_region *vec; /* in the scratch area */
static uint64_t pm_buf[CHUNK];
static unsigned char written[CHUNK];
static unsigned char sdscan[CHUNK];	/* PAGE_IS_SOFT_DIRTY */
static int failures;
static int other_kernel;
static struct { char name[SDT_NAME_MAX]; int fd; } files[32];
static int nfiles;
static int uffd = -1;
static int have_brk;
/* --quiet: no state blocks after the operations (as SDMC_QUIET in the KUnit suite), for
 * timing the replay itself (bench/native_vs_model.sh) */
static int quiet;

static sigjmp_buf fault_jmp;
static volatile int in_access;

/* SIGSEGV and SIGBUS come back from sigsetjmp as themselves (both non-zero) */
static void on_fault(int sig)
{
	if (in_access)
		siglongjmp(fault_jmp, sig);
	_exit(99);
}

static const char *errname(long e)
{
	return sdt_errno_name((int)e);
}

static void fmt_result(char *b, size_t n, enum sdt_kind k, int64_t r)
{
	if (r == SIGSEGV_RESULT)
		snprintf(b, n, "SIGSEGV");
	else if (r == SIGBUS_RESULT)
		snprintf(b, n, "SIGBUS");
	else if (r < 0 && r >= -4095)
		errname(-r) ? snprintf(b, n, "-%s", errname(-r)) : snprintf(b, n, "%lld", (long long)r);
	else if (k == SDT_MMAP || k == SDT_MREMAP || k == SDT_BRK)
		snprintf(b, n, "0x%llx", (unsigned long long)r);
	else
		snprintf(b, n, "%lld", (long long)r);
}

#define SYSRET(x) ({ long __r = (long)(x); __r == -1 ? -(long)errno : __r; })

static int64_t do_scan(uint64_t start, uint64_t end, uint64_t flags, uint64_t max_pages,
		       uint64_t vec_len, uint64_t *walk_end, uint64_t category)
{
	struct pm_scan_arg a = {
		.size = sizeof(a), .flags = flags, .start = start, .end = end,
		.vec = vec_len ? (uint64_t)(uintptr_t)vec : 0, .vec_len = vec_len,
		.max_pages = max_pages,
		.category_mask = category, .return_mask = category,
	};
	long r = ioctl(pm_fd, PAGEMAP_SCAN, &a);

	if (walk_end)
		*walk_end = a.walk_end;
	return r < 0 ? -errno : r;
}

/* out[i] = 1 for the pages of [s, s + n pages) that a PAGEMAP_SCAN without flags
 * and with category_mask = return_mask = category returns. One scan per category on
 * purpose: category_mask = return_mask = PAGE_IS_WRITTEN alone selects
 * fs/proc/task_mmu.c:pagemap_scan_pmd_entry's fast path (what consumers such as CRIU ask,
 * and which reports a pte_none page as written); any other mask, e.g. one scan with
 * category_anyof_mask = WRITTEN | SOFT_DIRTY, takes pagemap_page_category, which does not. */
static int scan_pages(uint64_t s, unsigned long n, uint64_t category, unsigned char *out)
{
	uint64_t end = s + n * PS, pos = s, we;

	memset(out, 0, n);
	while (pos < end) {
		int64_t k = do_scan(pos, end, 0, 0, VEC_CAP, &we, category), i;

		if (k < 0)
			return (int)k;
		for (i = 0; i < k; i++) {
			uint64_t a = vec[i].start > s ? vec[i].start : s;
			uint64_t b = vec[i].end < end ? vec[i].end : end;

			if (b > a && (vec[i].categories & category))
				memset(out + (a - s) / PS, 1, (b - a) / PS);
		}
		if (we <= pos)
			break;
		pos = we;
	}
	return 0;
}

static int observe_chunk(uint64_t s, unsigned long n)
{
	ssize_t r = pread(pm_fd, pm_buf, n * 8, (off_t)(s / PS * 8));
	int e;

	if (r != (ssize_t)(n * 8))
		return r < 0 ? -errno : -EIO;
	e = scan_pages(s, n, PAGE_IS_WRITTEN, written);
	return e ? e : scan_pages(s, n, PAGE_IS_SOFT_DIRTY, sdscan);
}

/* the 7 BITS of a pg line, then the sdscan digit */
static void bits(uint64_t e, int w, int sd, char o[9])
{
	o[0] = '0' + ((e >> 55) & 1); o[1] = '0' + ((e >> 56) & 1);
	o[2] = '0' + ((e >> 57) & 1); o[3] = '0' + ((e >> 61) & 1);
	o[4] = '0' + ((e >> 62) & 1); o[5] = '0' + ((e >> 63) & 1);
	o[6] = w ? '1' : '0'; o[7] = sd ? '1' : '0'; o[8] = 0;
}

static void print_pages(void)
{
	int i;

	for (i = 0; i < nranges; i++) {
		uint64_t s = ranges[i].start, e = ranges[i].end;

		while (s < e) {
			unsigned long n = (e - s) / PS > CHUNK ? CHUNK : (e - s) / PS, j, run = 0;
			char cur[9], nb[9];
			uint64_t rs = s;
			int r = observe_chunk(s, n);

			if (r) {
				P("error observe 0x%llx %d", (unsigned long long)s, r);
				failures++;
				return;
			}
			for (j = 0; j < n; j++) {
				bits(pm_buf[j], written[j], sdscan[j], nb);
				if (run && !memcmp(nb, cur, 8)) {
					run++;
					continue;
				}
				if (run)
					P("pg 0x%llx %lu %.7s sdscan=%c", (unsigned long long)rs, run, cur,
					  cur[7]);
				memcpy(cur, nb, 9);
				rs = s + j * PS;
				run = 1;
			}
			if (run)
				P("pg 0x%llx %lu %.7s sdscan=%c", (unsigned long long)rs, run, cur,
				  cur[7]);
			s += n * PS;
		}
	}
}

/* VMAs from /proc/self/smaps: "start-end perms pgoff dev inode path" + VmFlags */
static void print_vmas(void)
{
	static char buf[1 << 20];
	int fd = open("/proc/self/smaps", O_RDONLY);
	ssize_t n = 0, r;
	char *line, *save = NULL;
	unsigned long long vs = 0, ve = 0, pgoff = 0, inode = 0;
	char path[256] = "";
	int want = 0, i;

	if (fd < 0)
		return;
	while ((r = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0)
		n += r;
	close(fd);
	buf[n] = 0;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned long long a, b;
		char perms[8];
		int used = 0;

		if (sscanf(line, "%llx-%llx %7s %llx %*s %llu %n", &a, &b, perms, &pgoff, &inode, &used) >= 5 &&
		    strchr(line, '-') < strchr(line, ' ')) {
			vs = a;
			ve = b;
			snprintf(path, sizeof(path), "%s", used ? line + used : "");
			want = 0;
			for (i = 0; i < nranges; i++)
				if (vs < ranges[i].end && ve > ranges[i].start)
					want = 1;
			if (vs >= SCRATCH && ve <= SCRATCH + SCRATCH_LEN)
				want = 0;
			continue;
		}
		if (want && !strncmp(line, "VmFlags:", 8)) {
			char flags[200] = "", *t, *s2 = NULL;
			int o = 0;

			for (t = strtok_r(line + 8, " ", &s2); t; t = strtok_r(NULL, " ", &s2))
				o += snprintf(flags + o, sizeof(flags) - o, "%s%s", o ? "," : "", t);
			if (!o)
				strcpy(flags, "-");
			/* anon: no file (private/droppable anonymous, [heap], [stack]) */
			P("vma 0x%llx 0x%llx %s pgoff=0x%llx anon=%d", vs, ve, flags,
			  pgoff / PS, inode == 0 && (path[0] == 0 || path[0] == '[') ? 1 : 0);
			want = 0;
		}
	}
}

static int64_t get_file(const char *name)
{
	int i, fd;

	for (i = 0; i < nfiles; i++)
		if (!strcmp(files[i].name, name))
			return files[i].fd;
	if (nfiles == 32)
		return -EMFILE;
	fd = syscall(SYS_memfd_create, name, 0);
	if (fd < 0)
		return -errno;
	snprintf(files[nfiles].name, SDT_NAME_MAX, "%s", name);
	files[nfiles++].fd = fd;
	return fd;
}

static int64_t op_mmap(const struct sdt_op *op)
{
	int prot = 0, flags, fd = -1, rofd = -1;
	void *p;

	if (op->prot & SDT_PROT_R) prot |= PROT_READ;
	if (op->prot & SDT_PROT_W) prot |= PROT_WRITE;
	if (op->prot & SDT_PROT_X) prot |= PROT_EXEC;
	flags = op->sharing == SDT_PRIVATE ? MAP_PRIVATE :
		op->sharing == SDT_SHARED ? MAP_SHARED : MAP_DROPPABLE;
	flags |= (op->flags & SDT_MMAP_FIXED) ? MAP_FIXED : MAP_FIXED_NOREPLACE;
	if (op->flags & SDT_MMAP_POPULATE) flags |= MAP_POPULATE;
	if (op->flags & SDT_MMAP_NORESERVE) flags |= MAP_NORESERVE;
	if (op->flags & SDT_MMAP_STACK) flags |= MAP_STACK;
	if (op->flags & SDT_MMAP_FILE) {
		int64_t f = get_file(op->file);
		struct stat st;
		uint64_t want = op->offset + op->len;

		if (f < 0)
			return f;
		fd = (int)f;
		if (fstat(fd, &st))
			return -errno;
		if (want >= op->offset && (uint64_t)st.st_size < want && ftruncate(fd, (off_t)want))
			return -errno;
		if (op->flags & SDT_MMAP_RO) {
			char path[64];

			snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
			rofd = open(path, O_RDONLY);
			if (rofd < 0)
				return -errno;
			fd = rofd;
		}
	} else {
		flags |= MAP_ANONYMOUS;
	}
	p = mmap((void *)(uintptr_t)op->addr, op->len, prot, flags, fd, (off_t)op->offset);
	if (rofd >= 0)
		close(rofd);
	return p == MAP_FAILED ? -errno : (int64_t)(uintptr_t)p;
}

static int64_t op_access(const struct sdt_op *op, int write)
{
	volatile uint64_t end = op->addr + op->len, p;

	if (!op->len)
		return 0;
	if (end < op->addr)
		end = UINT64_MAX;
	for (p = op->addr & ~(PS - 1); p < end; p += PS) {
		volatile unsigned char *u = (volatile unsigned char *)(uintptr_t)(p > op->addr ? p : op->addr);

		in_access = 1;
		switch (sigsetjmp(fault_jmp, 1)) {
		case 0:
			break;
		case SIGBUS: /* a file page beyond i_size (shmem_fault: VM_FAULT_SIGBUS) */
			in_access = 0;
			return SIGBUS_RESULT;
		default: /* SIGSEGV: no VMA, or no permission */
			in_access = 0;
			return SIGSEGV_RESULT;
		}
		if (write)
			*u = 0x5a;
		else
			(void)*u;
		in_access = 0;
		if (p + PS < p)
			break;
	}
	return 0;
}

static const int madv[SDT_ADV_COUNT] = {
	MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED, MADV_DONTNEED, MADV_FREE,
	MADV_REMOVE, MADV_PAGEOUT, MADV_COLD, MADV_DONTFORK, MADV_DOFORK, MADV_WIPEONFORK,
	MADV_KEEPONFORK, MADV_DONTDUMP, MADV_DODUMP, MADV_HUGEPAGE, MADV_NOHUGEPAGE,
};

/* With UFFD_FEATURE_EVENT_REMAP an mremap of a registered range blocks until its event is
 * read (fs/userfaultfd.c:userfaultfd_event_wait_completion): this thread is that reader, as a
 * non-cooperative consumer's would be. It dies with the trace's process. */
static void *uffd_event_reader(void *arg)
{
	struct pollfd pfd = { .fd = uffd, .events = POLLIN };
	struct uffd_msg msg;

	(void)arg;
	for (;;) {
		if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
			break;
		if (read(uffd, &msg, sizeof(msg)) < 0 && errno != EAGAIN && errno != EINTR)
			break;
	}
	fprintf(stderr, "sdreplay: userfaultfd event reader stopped: %s\n", strerror(errno));
	return NULL;
}

static int64_t op_uffd_wp(const struct sdt_op *op)
{
	struct uffdio_register reg = { .range = { op->addr, op->len }, .mode = UFFDIO_REGISTER_MODE_WP };
	struct uffdio_writeprotect wp = { .range = { op->addr, op->len }, .mode = UFFDIO_WRITEPROTECT_MODE_WP };

	if (uffd < 0) {
		struct uffdio_api api = { .api = UFFD_API,
			.features = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED };
		pthread_t reader;

		if (op->flags & SDT_UFFD_REMAP)
			api.features |= UFFD_FEATURE_EVENT_REMAP;
		uffd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
		if (uffd < 0)
			return -errno;
		if (ioctl(uffd, UFFDIO_API, &api))
			return -errno;
		if (op->flags & SDT_UFFD_REMAP) {
			int e = pthread_create(&reader, NULL, uffd_event_reader, NULL);

			if (e) {
				fprintf(stderr, "sdreplay: line %d: cannot start the userfaultfd event reader: %s\n",
					op->line, strerror(e));
				return -e;
			}
		}
	}
	if (ioctl(uffd, UFFDIO_REGISTER, &reg))
		return -errno;
	if (ioctl(uffd, UFFDIO_WRITEPROTECT, &wp))
		return -errno;
	return 0;
}

static int64_t op_exec(const struct sdt_op *op)
{
	switch (op->kind) {
	case SDT_MMAP:
		return op_mmap(op);
	case SDT_MUNMAP:
		return SYSRET(munmap((void *)(uintptr_t)op->addr, op->len));
	case SDT_BRK: {
		long r;

		if (!have_brk) {
			/* brk first (start_brk must stay <= brk), then start_brk */
			if (prctl(PR_SET_MM, PR_SET_MM_BRK, op->addr, 0, 0) ||
			    prctl(PR_SET_MM, PR_SET_MM_START_BRK, op->addr, 0, 0))
				return -errno;
			have_brk = 1;
		}
		r = syscall(SYS_brk, op->new_addr);
		return (uint64_t)r == op->new_addr ? r : -ENOMEM;
	}
	case SDT_MPROTECT: {
		int prot = 0;

		if (op->prot & SDT_PROT_R) prot |= PROT_READ;
		if (op->prot & SDT_PROT_W) prot |= PROT_WRITE;
		if (op->prot & SDT_PROT_X) prot |= PROT_EXEC;
		return SYSRET(mprotect((void *)(uintptr_t)op->addr, op->len, prot));
	}
	case SDT_MREMAP: {
		int flags = 0;
		uint64_t na = 0;
		void *p;

		if (op->flags & SDT_MREMAP_MAYMOVE) flags |= MREMAP_MAYMOVE;
		if (op->flags & SDT_MREMAP_DONTUNMAP) flags |= MREMAP_DONTUNMAP;
		if (op->flags & SDT_MREMAP_FIXED) {
			flags |= MREMAP_FIXED;
			na = op->new_addr;
		} else if ((op->flags & SDT_MREMAP_MAYMOVE) && op->res_kind == SDT_RES_VALUE &&
			   (uint64_t)op->res_value != op->addr) {
			flags |= MREMAP_FIXED;
			na = (uint64_t)op->res_value;
		}
		p = (void *)syscall(SYS_mremap, op->addr, op->len, op->new_len, flags, na);
		return p == MAP_FAILED ? -errno : (int64_t)(uintptr_t)p;
	}
	case SDT_MADVISE:
		return SYSRET(madvise((void *)(uintptr_t)op->addr, op->len, madv[op->advice]));
	case SDT_MLOCK:
		return SYSRET(mlock((void *)(uintptr_t)op->addr, op->len));
	case SDT_MUNLOCK:
		return SYSRET(munlock((void *)(uintptr_t)op->addr, op->len));
	case SDT_WRITE:
		return op_access(op, 1);
	case SDT_READ:
		return op_access(op, 0);
	case SDT_CLEAR_REFS: {
		int fd = open("/proc/self/clear_refs", O_WRONLY);
		long r;

		if (fd < 0)
			return -errno;
		r = write(fd, "4", 1);
		close(fd);
		return r == 1 ? 0 : -errno;
	}
	case SDT_UFFD_WP:
		return op_uffd_wp(op);
	case SDT_SCAN: {
		uint64_t pages = ((op->addr + op->len + PS - 1) & ~(PS - 1)) / PS - op->addr / PS;
		uint64_t vl = (op->flags & SDT_SCAN_HAS_VEC) ? op->vec_len : pages;

		if (vl > VEC_CAP)
			return -E2BIG;
		return do_scan(op->addr, op->addr + op->len,
			       (op->flags & SDT_SCAN_WP) ? PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC : 0,
			       op->max_pages, vl, NULL, PAGE_IS_WRITTEN);
	}
	case SDT_RECLAIM: {
		int64_t first = 0;
		int i;

		if (op->flags & SDT_RECLAIM_RANGE)
			return SYSRET(madvise((void *)(uintptr_t)op->addr, op->len, MADV_PAGEOUT));
		/* every mapping of the trace (they all lie in the observed range), one
		 * madvise per VMA as the KUnit suite does; the list is taken first */
		{
			static unsigned long long vr[4096][2];
			int nv = 0;
			FILE *f = fopen("/proc/self/maps", "r");
			char line[512];

			while (f && fgets(line, sizeof(line), f) && nv < 4096) {
				unsigned long long vs, ve;

				if (sscanf(line, "%llx-%llx", &vs, &ve) != 2)
					continue;
				if (vs >= SCRATCH && ve <= SCRATCH + SCRATCH_LEN)
					continue;
				for (i = 0; i < nranges; i++)
					if (vs < ranges[i].end && ve > ranges[i].start) {
						vr[nv][0] = vs;
						vr[nv][1] = ve;
						nv++;
						break;
					}
			}
			if (f)
				fclose(f);
			for (i = 0; i < nv; i++) {
				long r = SYSRET(madvise((void *)(uintptr_t)vr[i][0], vr[i][1] - vr[i][0],
						       MADV_PAGEOUT));

				if (r && !first)
					first = r;
			}
		}
		return first;
	}
	case SDT_FORK: {
		pid_t pid = fork();
		int st;

		if (pid < 0)
			return -errno;
		if (pid == 0)
			_exit(0);
		waitpid(pid, &st, 0);
		return 0;
	}
	case SDT_EPOCH:
		return 0;
	default:
		return -ENOSYS;
	}
}

static void check_expect(const struct sdt_op *op)
{
	uint64_t start = op->addr & ~(PS - 1), end = (op->addr + op->len + PS - 1) & ~(PS - 1), a;
	char got[80];
	int k = 0, ok = 1;

	if (op->field == SDT_F_VMAS) {
		FILE *f = fopen("/proc/self/maps", "r");
		unsigned long long vs, ve;
		char line[512];
		int cnt = 0;

		while (f && fgets(line, sizeof(line), f))
			if (sscanf(line, "%llx-%llx", &vs, &ve) == 2 && vs < end && ve > start)
				cnt++;
		if (f)
			fclose(f);
		ok = (uint64_t)cnt == op->count;
		snprintf(got, sizeof(got), "%d", cnt);
	} else {
		for (a = start; a < end; a += PS, k++) {
			int bit, want;

			if (observe_chunk(a, 1)) {
				ok = 0;
				break;
			}
			switch (op->field) {
			case SDT_F_SD: bit = (pm_buf[0] >> 55) & 1; break;
			case SDT_F_PRESENT: bit = (pm_buf[0] >> 63) & 1; break;
			case SDT_F_SWAPPED: bit = (pm_buf[0] >> 62) & 1; break;
			case SDT_F_SDSCAN: bit = sdscan[0]; break;
			default: bit = written[0]; break;
			}
			want = op->all >= 0 ? op->all : (k < op->value_len ? op->value[k] - '0' : -1);
			if (bit != want)
				ok = 0;
			if (k < (int)sizeof(got) - 4)
				got[k] = '0' + bit;
			else if (k == (int)sizeof(got) - 4)
				strcpy(got + k, "...");
		}
		if (k < (int)sizeof(got) - 4)
			got[k] = 0;
	}
	if (ok) {
		P("expect %d ok", op->line);
		return;
	}
	P("expect %d FAIL got=%s", op->line, got);
	if (!other_kernel)
		failures++;
}

static int cmp_range(const void *a, const void *b)
{
	const struct range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

#define FOR_LINES(buf, size, s, e, len) \
	for (s = buf; s < (buf) + (size); s = e + 1) \
		if ((e = memchr(s, '\n', (buf) + (size) - s)) || (e = (buf) + (size))) \
			if ((len = (int)(e - s)) >= 0)

/* replay one trace in this (child) process; returns 0 ok, 1 failed, 2 skipped */
static int replay(const char *name, char *buf, size_t size, int host)
{
	struct sdt_parser p;
	struct sdt_op op;
	char *s, *e, res[48];
	int len, nops = 0, cap = 64, i, j, r;
	const char *skip = NULL;
	struct sigaction sa;

	P("trace %s", name);
	ranges = malloc(cap * sizeof(*ranges));
	sdt_parser_init(&p);
	FOR_LINES(buf, size, s, e, len) {
		uint64_t rr[2][2];
		int n;

		r = sdt_parse_line(&p, s, len, &op);
		if (r < 0) {
			P("error parse %d %d %s", p.err_line, p.err_col, p.err);
			return 1;
		}
		if (!r)
			continue;
		if (op.kind != SDT_EXPECT)
			nops++;
		n = sdt_op_ranges(&op, rr);
		for (i = 0; i < n; i++) {
			if (nranges == cap)
				ranges = realloc(ranges, (cap *= 2) * sizeof(*ranges));
			ranges[nranges].start = rr[i][0];
			ranges[nranges].end = rr[i][1] > 0x7ffffffff000ULL ? 0x7ffffffff000ULL : rr[i][1];
			if (ranges[nranges].end > ranges[nranges].start)
				nranges++;
		}
	}
	if (sdt_parse_end(&p)) {
		P("error parse %d %d %s", p.err_line, p.err_col, p.err);
		return 1;
	}
	if (p.swap_on) {
		/* swap is on only if /proc/swaps lists a device */
		FILE *f = fopen("/proc/swaps", "r");
		char l[256];
		int lines = 0;

		while (f && fgets(l, sizeof(l), f))
			lines++;
		if (f)
			fclose(f);
		if (lines < 2)
			skip = "swap on: no swap device on this system";
	}
	other_kernel = p.kernel[0] && strncmp(p.kernel, "6.12.", 5) && strcmp(p.kernel, "6.12");
	if (host)
		other_kernel = 1;
	qsort(ranges, nranges, sizeof(*ranges), cmp_range);
	for (i = 0, j = -1; i < nranges; i++) {
		if (j >= 0 && ranges[i].start <= ranges[j].end) {
			if (ranges[i].end > ranges[j].end)
				ranges[j].end = ranges[i].end;
			continue;
		}
		ranges[++j] = ranges[i];
	}
	nranges = j + 1;
	P("ops %d", nops);
	for (i = 0; i < nranges; i++)
		P("range 0x%llx 0x%llx", (unsigned long long)ranges[i].start,
		  (unsigned long long)ranges[i].end);
	for (i = 0; i < nranges; i++)
		if (ranges[i].end > SCRATCH && ranges[i].start < SCRATCH + SCRATCH_LEN) {
			P("error scratch 0x%lx 0x%lx", SCRATCH, SCRATCH + SCRATCH_LEN);
			return 1;
		}
	if (skip) {
		P("skip %s", skip);
		return 2;
	}
	vec = mmap((void *)SCRATCH, SCRATCH_LEN, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (vec == MAP_FAILED) {
		P("error scratch-map %d", errno);
		return 1;
	}
	pm_fd = open("/proc/self/pagemap", O_RDONLY);
	if (pm_fd < 0) {
		P("error pagemap %d", errno);
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_fault;
	sa.sa_flags = SA_NODEFER;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	fflush(stdout);

	sdt_parser_init(&p);
	FOR_LINES(buf, size, s, e, len) {
		int64_t rv;

		if (sdt_parse_line(&p, s, len, &op) <= 0)
			continue;
		if (op.kind == SDT_EXPECT) {
			check_expect(&op);
			continue;
		}
		rv = op_exec(&op);
		fmt_result(res, sizeof(res), op.kind, rv);
		P("op %d %s %s", op.line, sdt_kind_name(op.kind), res);
		if ((op.res_kind == SDT_RES_VALUE && rv != op.res_value) ||
		    (op.res_kind == SDT_RES_ERRNO && rv != -op.res_value) ||
		    (op.res_kind == SDT_RES_SIGSEGV && rv != SIGSEGV_RESULT) ||
		    (op.res_kind == SDT_RES_SIGBUS && rv != SIGBUS_RESULT)) {
			P("mismatch %d", op.line);
			if (!other_kernel)
				failures++;
		}
		if (!quiet) {
			print_vmas();
			print_pages();
			fflush(stdout);
		}
	}
	P("end %d", failures);
	return failures ? 1 : 0;
}

/* does the trace say `swap on`? (header lines only) */
static int trace_swap_on(char *buf, size_t size)
{
	struct sdt_parser p;
	struct sdt_op op;
	char *s, *e;
	int len;

	sdt_parser_init(&p);
	FOR_LINES(buf, size, s, e, len)
		if (sdt_parse_line(&p, s, len, &op) != 0)
			break;
	return p.swap_on;
}

/* a 64 MiB zram device with a swap signature, for `swap on` traces (in the VM) */
static int setup_zram(void)
{
	static char page[4096];
	const unsigned long pages = (64UL << 20) / 4096;
	int fd = open("/sys/block/zram0/disksize", O_WRONLY);
	uint32_t *info = (uint32_t *)(page + 1024);

	if (fd < 0)
		return -1;
	if (write(fd, "64M", 3) != 3) {
		close(fd);
		return -1;
	}
	close(fd);
	fd = open("/dev/zram0", O_WRONLY);
	if (fd < 0)
		return -1;
	info[0] = 1;			/* version */
	info[1] = pages - 1;		/* last_page */
	info[2] = 0;			/* nr_badpages */
	memcpy(page + 4096 - 10, "SWAPSPACE2", 10);
	if (write(fd, page, sizeof(page)) != sizeof(page)) {
		close(fd);
		return -1;
	}
	fsync(fd);
	close(fd);
	return 0;
}

static char *read_all(const char *path, size_t *size)
{
	int fd = open(path, O_RDONLY);
	size_t cap = 1 << 16, n = 0;
	char *b;
	ssize_t r;

	if (fd < 0)
		return NULL;
	b = malloc(cap);
	while ((r = read(fd, b + n, cap - n)) > 0) {
		n += r;
		if (n == cap)
			b = realloc(b, cap *= 2);
	}
	close(fd);
	*size = n;
	return b;
}

int main(int argc, char **argv)
{
	int init = 0, host = 0, i, n = 0, npass = 0, nfail = 0, nskip = 0, zram = -1;
	char **list = NULL;
	struct utsname u;
	char srcver[256] = "userspace";

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--init"))
			init = 1;
		else if (!strcmp(argv[i], "--host"))
			host = 1;
		else if (!strcmp(argv[i], "--quiet"))
			quiet = 1;
		else {
			fprintf(stderr, "usage: sdreplay [--init] [--host] [--quiet] TRACE...\n");
			return 2;
		}
	}
	if (getpid() == 1)
		init = 1;
	setvbuf(stdout, NULL, quiet ? _IOFBF : _IOLBF, 0);
	if (init) {
		size_t sz;
		char *b, *s;

		int fd;

		mount("proc", "/proc", "proc", 0, NULL);
		mkdir("/sys", 0755);
		mount("sysfs", "/sys", "sysfs", 0, NULL);
		/* observations go to the second serial port, away from printk */
		mkdir("/dev", 0755);
		mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
		fd = open("/dev/ttyS1", O_WRONLY | O_NOCTTY);
		if (fd >= 0) {
			dup2(fd, 1);
			close(fd);
		}
		b = read_all("/sdmc/version", &sz);
		if (b) {
			snprintf(srcver, sizeof(srcver), "%.*s", (int)sz, b);
			srcver[strcspn(srcver, "\n")] = 0;
		}
		b = read_all("/sdmc/list", &sz);
		if (b) {
			list = calloc(sz + 1, sizeof(char *));
			b = realloc(b, sz + 1);
			b[sz] = 0;
			for (s = strtok(b, "\n"); s; s = strtok(NULL, "\n"))
				if (*s)
					list[n++] = s;
		}
	} else {
		list = argv + i;
		n = argc - i;
	}
	uname(&u);
	printf("    # sdmc version obs=%d kernel=%s source=%s observer=sdreplay\n", OBS_VERSION,
	       u.release, srcver);
	printf("    # sdmc traces %d\n", n);
	printf("KTAP version 1\n1..1\n    KTAP version 1\n    # Subtest: sdmc\n    1..1\n");
	printf("        KTAP version 1\n        # Subtest: sdmc_replay\n");
	fflush(stdout);
	for (i = 0; i < n; i++) {
		const char *base = strrchr(list[i], '/') ? strrchr(list[i], '/') + 1 : list[i];
		size_t sz;
		char *buf = read_all(list[i], &sz);
		pid_t pid;
		int st = 0, rc, swapped_on;

		if (!buf) {
			printf("        # sdmc trace %s\n        # sdmc error read %d\n", base, errno);
			printf("        not ok %d %s\n", i + 1, base);
			nfail++;
			continue;
		}
		fflush(stdout);
		swapped_on = 0;
		if (init && trace_swap_on(buf, sz)) {
			if (zram < 0) {
				zram = setup_zram() == 0;
				if (!zram)
					printf("    # sdmc note zram set-up failed: %s\n", strerror(errno));
			}
			if (zram && swapon("/dev/zram0", 0) == 0)
				swapped_on = 1;
			else if (zram)
				printf("    # sdmc note swapon /dev/zram0: %s\n", strerror(errno));
		}
		pid = fork();
		if (pid == 0)
			{
				int r = replay(base, buf, sz, host);

				fflush(stdout); /* full buffering with --quiet */
				_exit(r);
			}
		waitpid(pid, &st, 0);
		if (swapped_on)
			swapoff("/dev/zram0");
		free(buf);
		rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		if (rc == 0) {
			printf("        ok %d %s\n", i + 1, base);
			npass++;
		} else if (rc == 2) {
			printf("        ok %d %s # SKIP swap on: no swap device on this system\n", i + 1, base);
			nskip++;
		} else {
			if (rc != 1)
				printf("        # sdmc error child-status %d\n", rc);
			printf("        not ok %d %s\n", i + 1, base);
			nfail++;
		}
	}
	printf("    # sdmc_replay: pass:%d fail:%d skip:%d total:%d\n", npass, nfail, nskip, n);
	printf("    %s 1 sdmc_replay\n", nfail ? "not ok" : "ok");
	printf("# sdmc: pass:%d fail:%d skip:0 total:1\n", nfail ? 0 : 1, nfail ? 1 : 0);
	printf("%s 1 sdmc\n", nfail ? "not ok" : "ok");
	fflush(stdout);
	if (init) {
		sync();
		/* QEMU runs with -no-reboot: a reboot ends it (no ACPI power-off here) */
		reboot(RB_AUTOBOOT);
	}
	return nfail ? 1 : 0;
}
