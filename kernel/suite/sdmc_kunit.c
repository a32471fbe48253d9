// SPDX-License-Identifier: GPL-2.0
/*
 * sdmc: replay sdtrace files against a real user mm under KUnit and report,
 * after every operation, what the kernel says (VMAs, pagemap bits,
 * PAGEMAP_SCAN written and soft-dirty state). The output grammar is the contract in
 * kernel/OBSERVATIONS.md of the sdmc project (observation format 1).
 *
 * Traces come from the initramfs: /sdmc/list names one trace file per line
 * (absolute paths); /sdmc/version holds the source version string.
 */
#include <kunit/test.h>
#include <linux/anon_inodes.h>
#include <linux/fdtable.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/initrd.h>
#include <linux/kernel_read_file.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/sched/mm.h>
#include <linux/shmem_fs.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/uaccess.h>
#include <linux/userfaultfd_k.h>
#include <linux/utsname.h>
#include <linux/vmalloc.h>
#include <uapi/linux/fs.h>
#include <uapi/linux/userfaultfd.h>

#include "../internal.h"
#include "../../fs/proc/internal.h"
#include "sdtrace.h"

#define SDMC_OBS_VERSION 1
#define SDMC_LIST "/sdmc/list"
#define SDMC_VERSION "/sdmc/version"
#define SDMC_MAX_TRACES 100000
#define SDMC_MAX_TRACE_SIZE (16 << 20)
#define SDMC_MAX_FILES 32

/*
 * Scratch user memory for PAGEMAP_SCAN arguments, its output vector and
 * pagemap reads. Shared anonymous (never merges), far from trace addresses;
 * traces must not use [SDMC_SCRATCH, SDMC_SCRATCH + 2 MiB-aligned size).
 */
#define SDMC_SCRATCH 0x7e0000000000UL
#define SDMC_SCRATCH_LEN (16UL << 20)
#define SDMC_ARGS_OFF 0UL
#define SDMC_VEC_OFF 4096UL
#define SDMC_VEC_CAP ((12UL << 20) / sizeof(struct page_region))
#define SDMC_PM_OFF (13UL << 20)
#define SDMC_CHUNK 32768UL /* pages per pagemap/scan chunk (256 KiB of pagemap) */

#define P(fmt, ...) pr_info("        # sdmc " fmt "\n", ##__VA_ARGS__)

struct sdmc_entry {
	char path[256];
	char name[KUNIT_PARAM_DESC_SIZE];
};

static struct sdmc_entry *sdmc_entries;
static int sdmc_nentries;
static char sdmc_srcver[128];
static u64 sdmc_t0;
static bool sdmc_quiet;
static atomic_t sdmc_replayed = ATOMIC_INIT(0);
static atomic64_t sdmc_nops = ATOMIC64_INIT(0);

/* ---- suite set-up: the list of traces ------------------------------------ */

static int sdmc_read_file(const char *path, char **buf, size_t *size, size_t max)
{
	void *b = NULL;
	size_t fsize = 0;
	ssize_t n;

	n = kernel_read_file_from_path(path, 0, &b, max, &fsize, READING_UNKNOWN);
	if (n < 0)
		return n;
	*buf = b;
	*size = n;
	return 0;
}

static int sdmc_suite_init(struct kunit_suite *suite)
{
	char *buf = NULL, *s, *e;
	size_t size;
	int ret, n = 0;

	wait_for_initramfs();
	sdmc_t0 = ktime_get_ns();
	if (!sdmc_read_file(SDMC_VERSION, &buf, &size, 4096)) {
		size_t l = min(size, sizeof(sdmc_srcver) - 1);

		memcpy(sdmc_srcver, buf, l);
		sdmc_srcver[l] = 0;
		strim(sdmc_srcver);
		vfree(buf);
		buf = NULL;
	} else {
		strscpy(sdmc_srcver, "unknown", sizeof(sdmc_srcver));
	}
	pr_info("    # sdmc version obs=%d kernel=%s source=%s\n", SDMC_OBS_VERSION,
		init_utsname()->release, sdmc_srcver);

	ret = sdmc_read_file(SDMC_LIST, &buf, &size, 64 << 20);
	if (ret) {
		pr_err("    # sdmc error cannot read " SDMC_LIST " (%d): no initramfs with traces?\n", ret);
		return ret;
	}
	sdmc_entries = vzalloc(sizeof(*sdmc_entries) * SDMC_MAX_TRACES);
	if (!sdmc_entries) {
		vfree(buf);
		return -ENOMEM;
	}
	for (s = buf; s < buf + size && n < SDMC_MAX_TRACES; s = e + 1) {
		const char *base;

		e = memchr(s, '\n', buf + size - s);
		if (!e)
			e = buf + size;
		*e = 0;
		strim(s);
		if (!*s)
			continue;
		strscpy(sdmc_entries[n].path, s, sizeof(sdmc_entries[n].path));
		base = strrchr(s, '/');
		base = base ? base + 1 : s;
		strscpy(sdmc_entries[n].name, base, sizeof(sdmc_entries[n].name));
		n++;
	}
	vfree(buf);
	sdmc_nentries = n;
	pr_info("    # sdmc traces %d\n", n);
	{
		char *q = NULL;
		size_t qs;

		if (!sdmc_read_file("/sdmc/quiet", &q, &qs, 16)) {
			sdmc_quiet = true;
			vfree(q);
		}
	}
	return 0;
}

static void sdmc_suite_exit(struct kunit_suite *suite)
{
	u64 ns = ktime_get_ns() - sdmc_t0, ms = div_u64(ns, 1000000);
	u64 ops = atomic64_read(&sdmc_nops);
	int replayed = atomic_read(&sdmc_replayed);

	pr_info("    # sdmc stats traces=%d replayed=%d ops=%llu ms=%llu traces_per_s=%llu ops_per_s=%llu\n",
		sdmc_nentries, replayed, ops, ms,
		ms ? div_u64((u64)replayed * 1000, ms) : 0, ms ? div64_u64(ops * 1000, ms) : 0);
	vfree(sdmc_entries);
	sdmc_entries = NULL;
	sdmc_nentries = 0;
}

static const void *sdmc_gen_params(const void *prev, char *desc)
{
	const struct sdmc_entry *e = prev;

	if (!sdmc_entries || !sdmc_nentries)
		return NULL;
	e = e ? e + 1 : sdmc_entries;
	if (e >= sdmc_entries + sdmc_nentries)
		return NULL;
	strscpy(desc, e->name, KUNIT_PARAM_DESC_SIZE);
	return e;
}

/* ---- per-trace state -------------------------------------------------------- */

struct sdmc_range {
	u64 start, end;
};

struct sdmc_ctx {
	struct kunit *test;
	struct mm_struct *mm;
	struct file *pm_file;	/* fake pagemap file: private_data = mm */
	unsigned long scratch;
	struct sdmc_range *ranges;
	int nranges;
	struct {
		char name[SDT_NAME_MAX];
		struct file *file;
	} files[SDMC_MAX_FILES];
	int nfiles;
	bool have_brk;
	struct file *uffd;	/* the trace's userfaultfd context, if any */
	bool other_kernel;	/* trace recorded on another kernel release */
	u64 *pm;		/* pagemap chunk */
	unsigned long *written;	/* bitmap, SDMC_CHUNK bits */
	unsigned long *sdscan;	/* bitmap, SDMC_CHUNK bits: PAGE_IS_SOFT_DIRTY */
	struct page_region *vec;
	int failures;
};

static int sdmc_cmp_range(const void *a, const void *b)
{
	const struct sdmc_range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start ? 1 : 0;
}

static const char *sdmc_errname(long e)
{
	const char *n = sdt_errno_name((int)-e);

	return n ? n : NULL;
}

/* format RESULT: hex for addresses, decimal otherwise, -ENAME, SIGSEGV, SIGBUS */
#define SDMC_SIGSEGV LONG_MIN
#define SDMC_SIGBUS (LONG_MIN + 1)
static void sdmc_fmt_result(char *buf, size_t sz, enum sdt_kind k, long r)
{
	if (r == SDMC_SIGSEGV) {
		strscpy(buf, "SIGSEGV", sz);
	} else if (r == SDMC_SIGBUS) {
		strscpy(buf, "SIGBUS", sz);
	} else if (r < 0 && r >= -4095) {
		const char *n = sdmc_errname(r);

		if (n)
			snprintf(buf, sz, "-%s", n);
		else
			snprintf(buf, sz, "%ld", r);
	} else if (k == SDT_MMAP || k == SDT_MREMAP || k == SDT_BRK) {
		snprintf(buf, sz, "0x%lx", (unsigned long)r);
	} else {
		snprintf(buf, sz, "%ld", r);
	}
}

/* ---- observation ------------------------------------------------------------- */

static const char *sdmc_flag_name(int bit)
{
	static const char mnemonics[BITS_PER_LONG][3] = {
		[0 ... (BITS_PER_LONG - 1)] = "??",
		[ilog2(VM_READ)] = "rd",
		[ilog2(VM_WRITE)] = "wr",
		[ilog2(VM_EXEC)] = "ex",
		[ilog2(VM_SHARED)] = "sh",
		[ilog2(VM_MAYREAD)] = "mr",
		[ilog2(VM_MAYWRITE)] = "mw",
		[ilog2(VM_MAYEXEC)] = "me",
		[ilog2(VM_MAYSHARE)] = "ms",
		[ilog2(VM_GROWSDOWN)] = "gd",
		[ilog2(VM_PFNMAP)] = "pf",
		[ilog2(VM_LOCKED)] = "lo",
		[ilog2(VM_IO)] = "io",
		[ilog2(VM_SEQ_READ)] = "sr",
		[ilog2(VM_RAND_READ)] = "rr",
		[ilog2(VM_DONTCOPY)] = "dc",
		[ilog2(VM_DONTEXPAND)] = "de",
		[ilog2(VM_LOCKONFAULT)] = "lf",
		[ilog2(VM_ACCOUNT)] = "ac",
		[ilog2(VM_NORESERVE)] = "nr",
		[ilog2(VM_HUGETLB)] = "ht",
		[ilog2(VM_SYNC)] = "sf",
		[ilog2(VM_ARCH_1)] = "ar",
		[ilog2(VM_WIPEONFORK)] = "wf",
		[ilog2(VM_DONTDUMP)] = "dd",
#ifdef CONFIG_MEM_SOFT_DIRTY
		[ilog2(VM_SOFTDIRTY)] = "sd",
#endif
		[ilog2(VM_MIXEDMAP)] = "mm",
		[ilog2(VM_HUGEPAGE)] = "hg",
		[ilog2(VM_NOHUGEPAGE)] = "nh",
		[ilog2(VM_MERGEABLE)] = "mg",
		[ilog2(VM_UFFD_MISSING)] = "um",
		[ilog2(VM_UFFD_WP)] = "uw",
#ifdef CONFIG_ARCH_HAS_PKEYS
		[ilog2(VM_PKEY_BIT0)] = "",
		[ilog2(VM_PKEY_BIT1)] = "",
		[ilog2(VM_PKEY_BIT2)] = "",
#if VM_PKEY_BIT3
		[ilog2(VM_PKEY_BIT3)] = "",
#endif
#endif
#ifdef CONFIG_HAVE_ARCH_USERFAULTFD_MINOR
		[ilog2(VM_UFFD_MINOR)] = "ui",
#endif
#ifdef CONFIG_X86_USER_SHADOW_STACK
		[ilog2(VM_SHADOW_STACK)] = "ss",
#endif
#if VM_DROPPABLE != VM_NONE
		[ilog2(VM_DROPPABLE)] = "dp",	/* sdmc extension: smaps prints "??" */
#endif
#if defined(CONFIG_64BIT) && defined(VM_SEALED) && VM_SEALED != VM_NONE
		[ilog2(VM_SEALED)] = "sl",
#endif
	};
	return mnemonics[bit];
}

static void sdmc_print_vmas(struct sdmc_ctx *c)
{
	struct vm_area_struct *vma;
	unsigned long last_end = 0;
	int i;

	mmap_read_lock(c->mm);
	for (i = 0; i < c->nranges; i++) {
		VMA_ITERATOR(vmi, c->mm, c->ranges[i].start);

		for_each_vma_range(vmi, vma, c->ranges[i].end) {
			char flags[160];
			int o = 0, b;

			if (vma->vm_end <= last_end)
				continue;
			last_end = vma->vm_end;
			for (b = 0; b < BITS_PER_LONG; b++) {
				const char *m;

				if (!(vma->vm_flags & (1UL << b)))
					continue;
				m = sdmc_flag_name(b);
				if (!m[0])
					continue;
				o += scnprintf(flags + o, sizeof(flags) - o, "%s%s", o ? "," : "", m);
			}
			if (!o)
				strscpy(flags, "-", sizeof(flags));
			P("vma 0x%lx 0x%lx %s pgoff=0x%lx anon=%d wprot=%d", vma->vm_start,
			  vma->vm_end, flags, vma->vm_file ? vma->vm_pgoff : 0UL,
			  vma_is_anonymous(vma) ? 1 : 0,
			  (pgprot_val(vma->vm_page_prot) & _PAGE_RW) ? 1 : 0);
		}
	}
	mmap_read_unlock(c->mm);
}

/* read pagemap entries for [start, start + n pages) into c->pm */
static int sdmc_pagemap(struct sdmc_ctx *c, u64 start, unsigned long n)
{
	loff_t pos = (start >> PAGE_SHIFT) * 8;
	void __user *ubuf = (void __user *)(c->scratch + SDMC_PM_OFF);
	ssize_t r;

	r = proc_pagemap_operations.read(c->pm_file, ubuf, n * 8, &pos);
	if (r != (ssize_t)(n * 8))
		return r < 0 ? r : -EIO;
	if (copy_from_user(c->pm, ubuf, n * 8))
		return -EFAULT;
	return 0;
}

static long sdmc_do_scan(struct sdmc_ctx *c, u64 start, u64 end, u64 flags, u64 max_pages,
			 u64 vec_len, u64 *walk_end, u64 category)
{
	struct pm_scan_arg __user *ua = (void __user *)(c->scratch + SDMC_ARGS_OFF);
	struct pm_scan_arg a = {
		.size = sizeof(a),
		.flags = flags,
		.start = start,
		.end = end,
		.vec = vec_len ? c->scratch + SDMC_VEC_OFF : 0,
		.vec_len = vec_len,
		.max_pages = max_pages,
		.category_mask = category,
		.return_mask = category,
	};
	long r;

	if (copy_to_user(ua, &a, sizeof(a)))
		return -EFAULT;
	r = proc_pagemap_operations.unlocked_ioctl(c->pm_file, PAGEMAP_SCAN, (unsigned long)ua);
	if (walk_end && get_user(*walk_end, &ua->walk_end))
		return -EFAULT;
	return r;
}

/*
 * Bitmap of the pages of [start, start + n pages) that a PAGEMAP_SCAN without
 * flags and with category_mask = return_mask = @category returns: c->written
 * for PAGE_IS_WRITTEN, c->sdscan for PAGE_IS_SOFT_DIRTY. One scan per category on
 * purpose: PAGE_IS_WRITTEN alone selects pagemap_scan_pmd_entry's fast path (what
 * consumers ask; it reports a pte_none page as written), any other mask (one scan with
 * category_anyof_mask = both) takes pagemap_page_category, which does not.
 */
static int sdmc_scan_pages(struct sdmc_ctx *c, u64 start, unsigned long n, u64 category,
			   unsigned long *bm)
{
	u64 end = start + ((u64)n << PAGE_SHIFT), pos = start, walk_end;
	long r, i;

	bitmap_zero(bm, n);
	while (pos < end) {
		r = sdmc_do_scan(c, pos, end, 0, 0, SDMC_VEC_CAP, &walk_end, category);
		if (r < 0)
			return r;
		if (r && copy_from_user(c->vec, (void __user *)(c->scratch + SDMC_VEC_OFF),
					r * sizeof(struct page_region)))
			return -EFAULT;
		for (i = 0; i < r; i++) {
			u64 a = max(c->vec[i].start, start), b = min(c->vec[i].end, end);

			if (b > a && (c->vec[i].categories & category))
				bitmap_set(bm, (a - start) >> PAGE_SHIFT, (b - a) >> PAGE_SHIFT);
		}
		if (walk_end <= pos)
			break;
		pos = walk_end;
	}
	return 0;
}

/* the 7 BITS of a pg line, then the sdscan digit */
static inline void sdmc_bits(u64 e, bool w, bool sd, char out[9])
{
	out[0] = (e >> 55) & 1 ? '1' : '0';
	out[1] = (e >> 56) & 1 ? '1' : '0';
	out[2] = (e >> 57) & 1 ? '1' : '0';
	out[3] = (e >> 61) & 1 ? '1' : '0';
	out[4] = (e >> 62) & 1 ? '1' : '0';
	out[5] = (e >> 63) & 1 ? '1' : '0';
	out[6] = w ? '1' : '0';
	out[7] = sd ? '1' : '0';
	out[8] = 0;
}

static void sdmc_print_pages(struct sdmc_ctx *c)
{
	int i;

	for (i = 0; i < c->nranges; i++) {
		u64 s = c->ranges[i].start, e = c->ranges[i].end;

		while (s < e) {
			unsigned long n = min_t(u64, (e - s) >> PAGE_SHIFT, SDMC_CHUNK), j, run = 0;
			char cur[9], nb[9];
			u64 rs = s;
			int r;

			r = sdmc_pagemap(c, s, n);
			if (!r)
				r = sdmc_scan_pages(c, s, n, PAGE_IS_WRITTEN, c->written);
			if (!r)
				r = sdmc_scan_pages(c, s, n, PAGE_IS_SOFT_DIRTY, c->sdscan);
			if (r) {
				P("error observe 0x%llx %d", s, r);
				KUNIT_FAIL(c->test, "cannot observe pages at 0x%llx: %d", s, r);
				c->failures++;
				return;
			}
			for (j = 0; j < n; j++) {
				sdmc_bits(c->pm[j], test_bit(j, c->written), test_bit(j, c->sdscan), nb);
				if (run && !memcmp(nb, cur, 8)) {
					run++;
					continue;
				}
				if (run)
					P("pg 0x%llx %lu %.7s sdscan=%c", rs, run, cur, cur[7]);
				memcpy(cur, nb, 9);
				rs = s + ((u64)j << PAGE_SHIFT);
				run = 1;
			}
			if (run)
				P("pg 0x%llx %lu %.7s sdscan=%c", rs, run, cur, cur[7]);
			s += (u64)n << PAGE_SHIFT;
		}
	}
}

/* page bits for one page, for `expect` */
static int sdmc_page_state(struct sdmc_ctx *c, u64 addr, u64 *pm, bool *w, bool *sd)
{
	int r = sdmc_pagemap(c, addr, 1);

	if (r)
		return r;
	*pm = c->pm[0];
	r = sdmc_scan_pages(c, addr, 1, PAGE_IS_WRITTEN, c->written);
	if (!r)
		r = sdmc_scan_pages(c, addr, 1, PAGE_IS_SOFT_DIRTY, c->sdscan);
	if (r)
		return r;
	*w = test_bit(0, c->written);
	*sd = test_bit(0, c->sdscan);
	return 0;
}

static void sdmc_check_expect(struct sdmc_ctx *c, const struct sdt_op *op)
{
	u64 start = op->addr & PAGE_MASK, end = PAGE_ALIGN(op->addr + op->len), a;
	char got[80];
	int k = 0, want_count = 0;
	bool ok = true;

	if (op->field == SDT_F_VMAS) {
		struct vm_area_struct *vma;
		VMA_ITERATOR(vmi, c->mm, start);

		mmap_read_lock(c->mm);
		for_each_vma_range(vmi, vma, end)
			want_count++;
		mmap_read_unlock(c->mm);
		ok = (u64)want_count == op->count;
		snprintf(got, sizeof(got), "%d", want_count);
	} else {
		for (a = start; a < end; a += PAGE_SIZE, k++) {
			u64 pm;
			bool w, sd;
			int bit, want;

			if (sdmc_page_state(c, a, &pm, &w, &sd)) {
				ok = false;
				break;
			}
			switch (op->field) {
			case SDT_F_SD: bit = (pm >> 55) & 1; break;
			case SDT_F_PRESENT: bit = (pm >> 63) & 1; break;
			case SDT_F_SWAPPED: bit = (pm >> 62) & 1; break;
			case SDT_F_SDSCAN: bit = sd; break;
			default: bit = w; break;
			}
			want = op->all >= 0 ? op->all : (k < op->value_len ? op->value[k] - '0' : -1);
			if (bit != want)
				ok = false;
			if (k < (int)sizeof(got) - 4)
				got[k] = '0' + bit;
			else if (k == (int)sizeof(got) - 4)
				strscpy(got + k, "...", 4);
		}
		if (k < (int)sizeof(got) - 4)
			got[k] = 0;
	}
	if (ok) {
		P("expect %d ok", op->line);
		return;
	}
	P("expect %d FAIL got=%s", op->line, got);
	if (!c->other_kernel) {
		KUNIT_FAIL(c->test, "line %d: expect does not hold on this kernel (got %s)",
			   op->line, got);
		c->failures++;
	}
}

/* ---- replay --------------------------------------------------------------------- */

static struct file *sdmc_memfd(struct sdmc_ctx *c, const char *name)
{
	struct file *f;
	int i;

	for (i = 0; i < c->nfiles; i++)
		if (!strcmp(c->files[i].name, name))
			return c->files[i].file;
	if (c->nfiles == SDMC_MAX_FILES)
		return ERR_PTR(-EMFILE);
	/* as memfd_create(): shmem file, VM_NORESERVE */
	f = shmem_file_setup(name, 0, VM_NORESERVE);
	if (IS_ERR(f))
		return f;
	strscpy(c->files[c->nfiles].name, name, SDT_NAME_MAX);
	c->files[c->nfiles].file = f;
	c->nfiles++;
	return f;
}

static long sdmc_mmap(struct sdmc_ctx *c, const struct sdt_op *op)
{
	unsigned long prot = 0, flags = 0;
	struct file *f = NULL, *ro = NULL;
	long r;

	if (op->prot & SDT_PROT_R)
		prot |= PROT_READ;
	if (op->prot & SDT_PROT_W)
		prot |= PROT_WRITE;
	if (op->prot & SDT_PROT_X)
		prot |= PROT_EXEC;
	flags = op->sharing == SDT_PRIVATE ? MAP_PRIVATE :
		op->sharing == SDT_SHARED ? MAP_SHARED : MAP_DROPPABLE;
	flags |= (op->flags & SDT_MMAP_FIXED) ? MAP_FIXED : MAP_FIXED_NOREPLACE;
	if (op->flags & SDT_MMAP_POPULATE)
		flags |= MAP_POPULATE;
	if (op->flags & SDT_MMAP_NORESERVE)
		flags |= MAP_NORESERVE;
	if (op->flags & SDT_MMAP_STACK)
		flags |= MAP_STACK;
	if (op->flags & SDT_MMAP_FILE) {
		u64 want = op->offset + op->len;

		f = sdmc_memfd(c, op->file);
		if (IS_ERR(f))
			return PTR_ERR(f);
		if (want >= op->offset && want <= MAX_LFS_FILESIZE &&
		    i_size_read(file_inode(f)) < (loff_t)want) {
			r = vfs_truncate(&f->f_path, want);
			if (r)
				return r;
		}
		if (op->flags & SDT_MMAP_RO) {
			ro = dentry_open(&f->f_path, O_RDONLY, current_cred());
			if (IS_ERR(ro))
				return PTR_ERR(ro);
			f = ro;
		}
	} else {
		flags |= MAP_ANONYMOUS;
	}
	r = (long)vm_mmap(f, op->addr, op->len, prot, flags, op->offset);
	if (ro)
		fput(ro);
	return r;
}

/*
 * The signal a user access at @addr would have got, after put_user/get_user
 * failed there. In kernel mode the page fault handler ends both of its
 * refusals in the same exception fix-up (arch/x86/mm/fault.c: bad_area*()
 * and do_sigbus() both call kernelmode_fixup_or_oops()), so the -EFAULT does
 * not say which. Ask the handler's questions again, under the mmap lock as
 * do_user_addr_fault() does for a kernel-mode fault: no VMA (vma_lookup; no
 * trace VMA is VM_GROWSDOWN, so lock_mm_and_find_vma() would not expand
 * one) or access_error()'s refusal (a store needs VM_WRITE, a load
 * vma_is_accessible()) is SIGSEGV (bad_area*). Otherwise repeat the fault
 * with handle_mm_fault() and classify its result as do_user_addr_fault()
 * does: VM_FAULT_SIGBUS is SIGBUS (do_sigbus; e.g. shmem_fault beyond
 * i_size), VM_FAULT_SIGSEGV is SIGSEGV. The repetition changes no state the
 * first fault did not (fault-around maps only pte_none slots, which the first
 * fault filled; vmf_anon_prepare() finds the anon_vma made the first time;
 * the table __do_fault() preallocates is freed; regs == NULL skips the fault
 * accounting). Anything else (OOM, or a second fault that succeeds) is not
 * explained: -EFAULT, which no model result equals, so it shows as a
 * difference.
 */
static long sdmc_fault_signal(struct mm_struct *mm, unsigned long addr, bool write)
{
	struct vm_area_struct *vma;
	long r = SDMC_SIGSEGV;
	vm_fault_t f;

	mmap_read_lock(mm);
	vma = vma_lookup(mm, addr);
	if (vma && (write ? !!(vma->vm_flags & VM_WRITE) : vma_is_accessible(vma))) {
		f = handle_mm_fault(vma, addr, write ? FAULT_FLAG_WRITE : 0, NULL);
		if (f & VM_FAULT_SIGBUS)
			r = SDMC_SIGBUS;
		else if (!(f & VM_FAULT_SIGSEGV))
			r = -EFAULT;
	}
	mmap_read_unlock(mm);
	return r;
}

static long sdmc_access(struct sdmc_ctx *c, const struct sdt_op *op, bool write)
{
	u64 end = op->addr + op->len, p;

	if (!op->len)
		return 0;
	if (end < op->addr)
		end = ~0ULL;
	for (p = op->addr & PAGE_MASK; p < end; p += PAGE_SIZE) {
		u64 a = max(p, op->addr);
		u8 __user *u = (u8 __user *)(unsigned long)a;
		u8 v = 0x5a;
		int r;

		if (write)
			r = put_user(v, u);
		else
			r = get_user(v, u);
		if (r)
			return sdmc_fault_signal(c->mm, (unsigned long)a, write);
		if (p + PAGE_SIZE < p)
			break;
	}
	return 0;
}

static const int sdmc_madv[SDT_ADV_COUNT] = {
	[SDT_ADV_NORMAL] = MADV_NORMAL, [SDT_ADV_RANDOM] = MADV_RANDOM,
	[SDT_ADV_SEQUENTIAL] = MADV_SEQUENTIAL, [SDT_ADV_WILLNEED] = MADV_WILLNEED,
	[SDT_ADV_DONTNEED] = MADV_DONTNEED, [SDT_ADV_FREE] = MADV_FREE,
	[SDT_ADV_REMOVE] = MADV_REMOVE, [SDT_ADV_PAGEOUT] = MADV_PAGEOUT,
	[SDT_ADV_COLD] = MADV_COLD, [SDT_ADV_DONTFORK] = MADV_DONTFORK,
	[SDT_ADV_DOFORK] = MADV_DOFORK, [SDT_ADV_WIPEONFORK] = MADV_WIPEONFORK,
	[SDT_ADV_KEEPONFORK] = MADV_KEEPONFORK, [SDT_ADV_DONTDUMP] = MADV_DONTDUMP,
	[SDT_ADV_DODUMP] = MADV_DODUMP, [SDT_ADV_HUGEPAGE] = MADV_HUGEPAGE,
	[SDT_ADV_NOHUGEPAGE] = MADV_NOHUGEPAGE,
};

static long sdmc_reclaim_all(struct sdmc_ctx *c)
{
	struct vm_area_struct *vma;
	struct sdmc_range *rs;
	int n = 0, i, cap = 1024;
	long r, first = 0;
	VMA_ITERATOR(vmi, c->mm, 0);

	rs = kvmalloc_array(cap, sizeof(*rs), GFP_KERNEL);
	if (!rs)
		return -ENOMEM;
	mmap_read_lock(c->mm);
	for_each_vma(vmi, vma) {
		if (vma->vm_start >= c->scratch && vma->vm_end <= c->scratch + SDMC_SCRATCH_LEN)
			continue;
		if (n == cap)
			break;
		rs[n].start = vma->vm_start;
		rs[n].end = vma->vm_end;
		n++;
	}
	mmap_read_unlock(c->mm);
	for (i = 0; i < n; i++) {
		r = do_madvise(c->mm, rs[i].start, rs[i].end - rs[i].start, MADV_PAGEOUT);
		if (r && !first)
			first = r;
	}
	kvfree(rs);
	return first;
}

static long sdmc_scan_op(struct sdmc_ctx *c, const struct sdt_op *op)
{
	u64 pages = (PAGE_ALIGN(op->addr + op->len) - (op->addr & PAGE_MASK)) >> PAGE_SHIFT;
	u64 vec_len = (op->flags & SDT_SCAN_HAS_VEC) ? op->vec_len : pages;
	u64 flags = (op->flags & SDT_SCAN_WP) ? (PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC) : 0;

	if (vec_len > SDMC_VEC_CAP) {
		KUNIT_FAIL(c->test, "line %d: scan vec=%llu exceeds the suite's %lu", op->line,
			   vec_len, (unsigned long)SDMC_VEC_CAP);
		c->failures++;
		return -E2BIG;
	}
	return sdmc_do_scan(c, op->addr, op->addr + op->len, flags, op->max_pages, vec_len, NULL,
			    PAGE_IS_WRITTEN);
}

static long sdmc_uffd_ioctl(struct sdmc_ctx *c, unsigned int cmd, const void *arg, size_t sz)
{
	void __user *u = (void __user *)(c->scratch + SDMC_ARGS_OFF);

	if (copy_to_user(u, arg, sz))
		return -EFAULT;
	return c->uffd->f_op->unlocked_ioctl(c->uffd, cmd, (unsigned long)u);
}

/* as userfaultfd(O_CLOEXEC|O_NONBLOCK) + UFFDIO_API + UFFDIO_REGISTER(WP) + UFFDIO_WRITEPROTECT */
static long sdmc_uffd_wp(struct sdmc_ctx *c, const struct sdt_op *op)
{
	struct uffdio_register reg = {
		.range = { .start = op->addr, .len = op->len },
		.mode = UFFDIO_REGISTER_MODE_WP,
	};
	struct uffdio_writeprotect wp = {
		.range = { .start = op->addr, .len = op->len },
		.mode = UFFDIO_WRITEPROTECT_MODE_WP,
	};
	long r;

	if (!c->uffd) {
		struct uffdio_api api = {
			.api = UFFD_API,
			.features = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED,
		};
		int fd = new_userfaultfd(O_CLOEXEC | O_NONBLOCK);

		if (fd < 0)
			return fd;
		c->uffd = fget(fd);
		close_fd(fd);	/* our reference keeps the context */
		if (!c->uffd)
			return -EBADF;
		r = sdmc_uffd_ioctl(c, UFFDIO_API, &api, sizeof(api));
		if (r)
			return r;
	}
	r = sdmc_uffd_ioctl(c, UFFDIO_REGISTER, &reg, sizeof(reg));
	if (r)
		return r;
	return sdmc_uffd_ioctl(c, UFFDIO_WRITEPROTECT, &wp, sizeof(wp));
}

static long sdmc_exec(struct sdmc_ctx *c, const struct sdt_op *op)
{
	switch (op->kind) {
	case SDT_MMAP:
		return sdmc_mmap(c, op);
	case SDT_MUNMAP:
		return vm_munmap(op->addr, op->len);
	case SDT_BRK: {
		unsigned long r;

		if (!c->have_brk) {
			mmap_write_lock(c->mm);
			/* as prctl(PR_SET_MM) would leave it: heap starts at OLD */
			c->mm->start_brk = c->mm->brk = op->addr;
			c->mm->start_data = c->mm->end_data = op->addr;
			mmap_write_unlock(c->mm);
			c->have_brk = true;
		}
		r = do_brk(op->new_addr);
		return r == op->new_addr ? (long)r : -ENOMEM;
	}
	case SDT_MPROTECT: {
		unsigned long prot = 0;

		if (op->prot & SDT_PROT_R)
			prot |= PROT_READ;
		if (op->prot & SDT_PROT_W)
			prot |= PROT_WRITE;
		if (op->prot & SDT_PROT_X)
			prot |= PROT_EXEC;
		return do_mprotect_pkey(op->addr, op->len, prot, -1);
	}
	case SDT_MREMAP: {
		unsigned long flags = 0, new_addr = 0;

		if (op->flags & SDT_MREMAP_MAYMOVE)
			flags |= MREMAP_MAYMOVE;
		if (op->flags & SDT_MREMAP_DONTUNMAP)
			flags |= MREMAP_DONTUNMAP;
		if (op->flags & SDT_MREMAP_FIXED) {
			flags |= MREMAP_FIXED;
			new_addr = op->new_addr;
		} else if ((op->flags & SDT_MREMAP_MAYMOVE) && op->res_kind == SDT_RES_VALUE &&
			   (u64)op->res_value != op->addr) {
			/* the recorded move target: replay exactly */
			flags |= MREMAP_FIXED;
			new_addr = op->res_value;
		}
		return (long)do_mremap(op->addr, op->len, op->new_len, flags, new_addr);
	}
	case SDT_MADVISE:
		return do_madvise(c->mm, op->addr, op->len, sdmc_madv[op->advice]);
	case SDT_MLOCK:
		return do_mlock(op->addr, op->len, VM_LOCKED);
	case SDT_MUNLOCK:
		return do_munlock(op->addr, op->len);
	case SDT_WRITE:
		return sdmc_access(c, op, true);
	case SDT_READ:
		return sdmc_access(c, op, false);
	case SDT_CLEAR_REFS:
		return clear_refs_mm(c->mm, 4 /* CLEAR_REFS_SOFT_DIRTY */);
	case SDT_SCAN:
		return sdmc_scan_op(c, op);
	case SDT_UFFD_WP:
		return sdmc_uffd_wp(c, op);
	case SDT_RECLAIM:
		if (op->flags & SDT_RECLAIM_RANGE)
			return do_madvise(c->mm, op->addr, op->len, MADV_PAGEOUT);
		return sdmc_reclaim_all(c);
	case SDT_FORK: {
		/*
		 * fork's copy of the mm (dup_mm: VMAs, page tables, COW
		 * write-protection, mapcounts), then the child's exit (mmput:
		 * exit_mmap), which is what the parent sees when the child
		 * exits at once and is waited for.
		 */
		struct mm_struct *child = dup_mm(current, c->mm);

		if (!child)
			return -ENOMEM;
		mmput(child);
		return 0;
	}
	case SDT_EPOCH:
		return 0;
	default:
		return -ENOSYS;
	}
}

static bool sdmc_result_matches(const struct sdt_op *op, long r)
{
	switch (op->res_kind) {
	case SDT_RES_VALUE:
		return r == (long)op->res_value;
	case SDT_RES_ERRNO:
		return r == -op->res_value;
	case SDT_RES_SIGSEGV:
		return r == SDMC_SIGSEGV;
	case SDT_RES_SIGBUS:
		return r == SDMC_SIGBUS;
	default:
		return true;
	}
}

/* iterate the lines of buf */
#define for_each_line(buf, size, s, e, len)					\
	for (s = buf; s < (buf) + (size); s = e + 1)				\
		if ((e = memchr(s, '\n', (buf) + (size) - s) ?: (buf) + (size)), \
		    (len = e - s), true)

static void sdmc_replay(struct kunit *test)
{
	const struct sdmc_entry *ent = test->param_value;
	struct sdmc_ctx *c;
	struct sdt_parser p;
	struct sdt_op op;
	char *buf = NULL, *s, *e;
	size_t size;
	const char *skip = NULL;
	int ret, len, nops = 0, cap = 64, i, j;
	char res[48];

	c = kunit_kzalloc(test, sizeof(*c), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, c);
	c->test = test;
	P("trace %s", ent->name);

	ret = sdmc_read_file(ent->path, &buf, &size, SDMC_MAX_TRACE_SIZE);
	if (ret) {
		P("error read %d", ret);
		KUNIT_FAIL(test, "cannot read %s: %d", ent->path, ret);
		return;
	}

	/* pass 1: parse, find skips, compute the observed range */
	c->ranges = kvmalloc_array(cap, sizeof(*c->ranges), GFP_KERNEL);
	if (!c->ranges)
		goto nomem;
	sdt_parser_init(&p);
	for_each_line(buf, size, s, e, len) {
		u64 r[2][2];
		int n;

		ret = sdt_parse_line(&p, s, len, &op);
		if (ret < 0) {
			P("error parse %d %d %s", p.err_line, p.err_col, p.err);
			KUNIT_FAIL(test, "%s:%d:%d: %s", ent->name, p.err_line, p.err_col, p.err);
			goto out;
		}
		if (!ret)
			continue;
		if (op.kind != SDT_EXPECT)
			nops++;
		n = sdt_op_ranges(&op, r);
		for (i = 0; i < n; i++) {
			if (c->nranges == cap) {
				struct sdmc_range *nr = kvmalloc_array(cap * 2, sizeof(*nr), GFP_KERNEL);

				if (!nr)
					goto nomem;
				memcpy(nr, c->ranges, cap * sizeof(*nr));
				kvfree(c->ranges);
				c->ranges = nr;
				cap *= 2;
			}
			c->ranges[c->nranges].start = r[i][0];
			c->ranges[c->nranges].end = min_t(u64, r[i][1], TASK_SIZE);
			if (c->ranges[c->nranges].end > c->ranges[c->nranges].start)
				c->nranges++;
		}
	}
	if (sdt_parse_end(&p)) {
		P("error parse %d %d %s", p.err_line, p.err_col, p.err);
		KUNIT_FAIL(test, "%s:%d:%d: %s", ent->name, p.err_line, p.err_col, p.err);
		goto out;
	}
	if (p.swap_on && !skip)
		skip = "swap on: the KUnit guest has no swap device (userspace observer only)";
	/* an mremap of a registered range would wait for a reader of the REMAP event
	 * (fs/userfaultfd.c:userfaultfd_event_wait_completion), and this suite has none */
	if (p.uffd_remap && !skip)
		skip = "uffd_wp remap: UFFD_FEATURE_EVENT_REMAP needs an event reader (userspace observer only)";
	c->other_kernel = p.kernel[0] && strncmp(p.kernel, "6.12.", 5) && strcmp(p.kernel, "6.12");
	/* union of ranges */
	sort(c->ranges, c->nranges, sizeof(*c->ranges), sdmc_cmp_range, NULL);
	for (i = 0, j = -1; i < c->nranges; i++) {
		if (j >= 0 && c->ranges[i].start <= c->ranges[j].end) {
			c->ranges[j].end = max(c->ranges[j].end, c->ranges[i].end);
			continue;
		}
		c->ranges[++j] = c->ranges[i];
	}
	c->nranges = j + 1;
	P("ops %d", nops);
	for (i = 0; i < c->nranges; i++)
		P("range 0x%llx 0x%llx", c->ranges[i].start, c->ranges[i].end);
	for (i = 0; i < c->nranges; i++)
		if (c->ranges[i].end > SDMC_SCRATCH &&
		    c->ranges[i].start < SDMC_SCRATCH + SDMC_SCRATCH_LEN) {
			P("error scratch 0x%lx 0x%lx", SDMC_SCRATCH, SDMC_SCRATCH + SDMC_SCRATCH_LEN);
			KUNIT_FAIL(test, "trace uses the suite's scratch area [0x%lx, 0x%lx)",
				   SDMC_SCRATCH, SDMC_SCRATCH + SDMC_SCRATCH_LEN);
			goto out;
		}
	if (skip) {
		P("skip %s", skip);
		vfree(buf);
		kvfree(c->ranges);
		kunit_skip(test, "%s", skip);
	}

	/* the fresh mm, the scratch area and the fake pagemap file */
	c->scratch = kunit_vm_mmap(test, NULL, SDMC_SCRATCH, SDMC_SCRATCH_LEN,
				   PROT_READ | PROT_WRITE,
				   MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, 0);
	if (c->scratch != SDMC_SCRATCH) {
		KUNIT_FAIL(test, "cannot map the scratch area: 0x%lx", c->scratch);
		goto out;
	}
	c->mm = current->mm;
	c->pm_file = anon_inode_getfile("[sdmc-pagemap]", &proc_pagemap_operations, c->mm, O_RDWR);
	if (IS_ERR(c->pm_file)) {
		KUNIT_FAIL(test, "anon_inode_getfile: %ld", PTR_ERR(c->pm_file));
		c->pm_file = NULL;
		goto out;
	}
	c->pm = kvmalloc_array(SDMC_CHUNK, sizeof(u64), GFP_KERNEL);
	c->written = bitmap_zalloc(SDMC_CHUNK, GFP_KERNEL);
	c->sdscan = bitmap_zalloc(SDMC_CHUNK, GFP_KERNEL);
	c->vec = kvmalloc_array(SDMC_VEC_CAP, sizeof(struct page_region), GFP_KERNEL);
	if (!c->pm || !c->written || !c->sdscan || !c->vec)
		goto nomem;

	/* pass 2: replay */
	sdt_parser_init(&p);
	for_each_line(buf, size, s, e, len) {
		long r;

		ret = sdt_parse_line(&p, s, len, &op);
		if (ret <= 0)
			continue;
		if (op.kind == SDT_EXPECT) {
			sdmc_check_expect(c, &op);
			continue;
		}
		r = sdmc_exec(c, &op);
		atomic64_inc(&sdmc_nops);
		sdmc_fmt_result(res, sizeof(res), op.kind, r);
		P("op %d %s %s", op.line, sdt_kind_name(op.kind), res);
		if (!sdmc_result_matches(&op, r)) {
			P("mismatch %d", op.line);
			if (!c->other_kernel) {
				KUNIT_FAIL(test, "line %d: %s returned %s, the trace says otherwise",
					   op.line, sdt_kind_name(op.kind), res);
				c->failures++;
			}
		}
		if (!sdmc_quiet) {
			sdmc_print_vmas(c);
			sdmc_print_pages(c);
		}
	}
	P("end %d", c->failures);
	atomic_inc(&sdmc_replayed);
	goto out;
nomem:
	KUNIT_FAIL(test, "out of memory");
out:
	/* synchronous release: unregisters the VMAs while the mm is alive */
	if (c->uffd)
		__fput_sync(c->uffd);
	for (i = 0; i < c->nfiles; i++)
		fput(c->files[i].file);
	if (c->pm_file) {
		c->pm_file->private_data = NULL;
		fput(c->pm_file);
	}
	kvfree(c->pm);
	bitmap_free(c->written);
	bitmap_free(c->sdscan);
	kvfree(c->vec);
	kvfree(c->ranges);
	vfree(buf);
}

static struct kunit_case sdmc_cases[] = {
	KUNIT_CASE_PARAM(sdmc_replay, sdmc_gen_params),
	{}
};

static struct kunit_suite sdmc_suite = {
	.name = "sdmc",
	.suite_init = sdmc_suite_init,
	.suite_exit = sdmc_suite_exit,
	.test_cases = sdmc_cases,
};
kunit_test_suite(sdmc_suite);

MODULE_DESCRIPTION("sdmc: soft-dirty trace replay under KUnit");
MODULE_LICENSE("GPL");
