// SPDX-License-Identifier: GPL-2.0
/*
 * sdtrace version 1 parser: freestanding C, no libc, no allocation.
 * See sdtrace.h.
 */
#include "sdtrace.h"

/* ---- tiny freestanding helpers ------------------------------------------ */

static int sdt_is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

static int sdt_eq(const char *a, int alen, const char *b)
{
	int i;

	for (i = 0; i < alen; i++)
		if (b[i] != a[i] || b[i] == 0)
			return 0;
	return b[alen] == 0;
}

static void sdt_copy(char *dst, int cap, const char *src, int len)
{
	int i;

	if (len > cap - 1)
		len = cap - 1;
	for (i = 0; i < len; i++)
		dst[i] = src[i];
	dst[len] = 0;
}

/* minimal formatter for error messages: %s (C string), %d, %t (token: ptr,len) */
static void sdt_errf(struct sdt_parser *p, int col, const char *fmt, const char *s,
		     const char *tok, int toklen)
{
	int o = 0, cap = (int)sizeof(p->err) - 1;

	p->err_line = p->line;
	p->err_col = col;
	while (*fmt && o < cap) {
		if (fmt[0] == '%' && fmt[1] == 's') {
			while (s && *s && o < cap)
				p->err[o++] = *s++;
			fmt += 2;
		} else if (fmt[0] == '%' && fmt[1] == 't') {
			int i;

			for (i = 0; i < toklen && o < cap; i++)
				p->err[o++] = tok[i];
			fmt += 2;
		} else {
			p->err[o++] = *fmt++;
		}
	}
	p->err[o] = 0;
}

/* ---- tokenizer ----------------------------------------------------------- */

#define SDT_MAX_TOK 24

struct sdt_toks {
	int n;
	const char *s[SDT_MAX_TOK];
	int len[SDT_MAX_TOK];
	int col[SDT_MAX_TOK];
};

static int sdt_tokenize(struct sdt_parser *p, const char *line, int len, struct sdt_toks *t)
{
	int i = 0;

	t->n = 0;
	while (i < len) {
		int st;

		while (i < len && sdt_is_space(line[i]))
			i++;
		if (i >= len || line[i] == '#')
			break;
		st = i;
		while (i < len && !sdt_is_space(line[i]) && line[i] != '#')
			i++;
		if (t->n == SDT_MAX_TOK) {
			sdt_errf(p, st + 1, "too many tokens on the line", 0, 0, 0);
			return -1;
		}
		t->s[t->n] = line + st;
		t->len[t->n] = i - st;
		t->col[t->n] = st + 1;
		t->n++;
	}
	return 0;
}

/* number: decimal or 0x hex, optional suffix K M G p (if allow_suffix) */
static int sdt_num(struct sdt_parser *p, const struct sdt_toks *t, int k, int allow_suffix,
		   sdt_u64 *out)
{
	const char *s = t->s[k];
	int n = t->len[k], i = 0, digits = 0;
	sdt_u64 v = 0, mul = 1;

	if (n >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		for (i = 2; i < n; i++) {
			char c = s[i];
			int d;

			if (c >= '0' && c <= '9')
				d = c - '0';
			else if (c >= 'a' && c <= 'f')
				d = c - 'a' + 10;
			else if (c >= 'A' && c <= 'F')
				d = c - 'A' + 10;
			else
				break;
			if (v >> 60)
				goto overflow;
			v = v * 16 + d;
			digits++;
		}
	} else {
		for (i = 0; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
			if (v > 1844674407370955161ULL)
				goto overflow;
			v = v * 10 + (s[i] - '0');
			digits++;
		}
	}
	if (!digits)
		goto bad;
	if (i < n) {
		if (!allow_suffix || i != n - 1)
			goto bad;
		switch (s[i]) {
		case 'K': mul = 1024ULL; break;
		case 'M': mul = 1024ULL * 1024; break;
		case 'G': mul = 1024ULL * 1024 * 1024; break;
		case 'p': mul = SDT_PAGE_SIZE; break;
		default: goto bad;
		}
		if (v > (~0ULL) / mul)
			goto overflow;
		v *= mul;
	}
	*out = v;
	return 0;
overflow:
	sdt_errf(p, t->col[k], "number too large: '%t'", 0, t->s[k], t->len[k]);
	return -1;
bad:
	sdt_errf(p, t->col[k], "expected a number%s, got '%t'",
		 allow_suffix ? " (optionally with K/M/G/p suffix)" : "", t->s[k], t->len[k]);
	return -1;
}

static int sdt_prot(struct sdt_parser *p, const struct sdt_toks *t, int k, int *out)
{
	const char *s = t->s[k];

	if (t->len[k] != 3 || (s[0] != 'r' && s[0] != '-') || (s[1] != 'w' && s[1] != '-') ||
	    (s[2] != 'x' && s[2] != '-') || (s[0] == '-' && s[1] == 'w')) {
		sdt_errf(p, t->col[k], "expected PROT (--- r-- rw- r-x rwx), got '%t'", 0, s, t->len[k]);
		return -1;
	}
	*out = (s[0] == 'r' ? SDT_PROT_R : 0) | (s[1] == 'w' ? SDT_PROT_W : 0) |
	       (s[2] == 'x' ? SDT_PROT_X : 0);
	return 0;
}

static const char *const sdt_advice_names[SDT_ADV_COUNT] = {
	"normal", "random", "sequential", "willneed", "dontneed", "free", "remove",
	"pageout", "cold", "dontfork", "dofork", "wipeonfork", "keeponfork",
	"dontdump", "dodump", "hugepage", "nohugepage",
};

const char *sdt_advice_name(int a)
{
	return (a >= 0 && a < SDT_ADV_COUNT) ? sdt_advice_names[a] : "?";
}

static const char *const sdt_kind_names[SDT_KIND_COUNT] = {
	"none", "mmap", "munmap", "brk", "mprotect", "mremap", "madvise", "mlock",
	"munlock", "write", "read", "clear_refs", "uffd_wp", "scan", "reclaim",
	"fork", "epoch", "expect",
};

const char *sdt_kind_name(enum sdt_kind k)
{
	return (k >= 0 && k < SDT_KIND_COUNT) ? sdt_kind_names[k] : "?";
}

static const struct { const char *name; int val; } sdt_errnos[] = {
	{ "EPERM", 1 }, { "ENOENT", 2 }, { "EINTR", 4 }, { "EIO", 5 }, { "EBADF", 9 },
	{ "EAGAIN", 11 }, { "ENOMEM", 12 }, { "EACCES", 13 }, { "EFAULT", 14 },
	{ "EBUSY", 16 }, { "EEXIST", 17 }, { "ENODEV", 19 }, { "EINVAL", 22 },
	{ "ENFILE", 23 }, { "EMFILE", 24 }, { "ETXTBSY", 26 }, { "EFBIG", 27 },
	{ "ENOSPC", 28 }, { "ESPIPE", 29 }, { "ERANGE", 34 }, { "ENOSYS", 38 },
	{ "EOVERFLOW", 75 }, { "EOPNOTSUPP", 95 }, { "ENOTSUPP", 524 },
};

const char *sdt_errno_name(int e)
{
	unsigned int i;

	for (i = 0; i < sizeof(sdt_errnos) / sizeof(sdt_errnos[0]); i++)
		if (sdt_errnos[i].val == e)
			return sdt_errnos[i].name;
	return 0;
}

int sdt_errno_value(const char *name, int len)
{
	unsigned int i;

	for (i = 0; i < sizeof(sdt_errnos) / sizeof(sdt_errnos[0]); i++)
		if (sdt_eq(name, len, sdt_errnos[i].name))
			return sdt_errnos[i].val;
	return 0;
}

/* ---- parser ---------------------------------------------------------------- */

void sdt_parser_init(struct sdt_parser *p)
{
	char *c = (char *)p;
	unsigned int i;

	for (i = 0; i < sizeof(*p); i++)
		c[i] = 0;
}

static int sdt_need(struct sdt_parser *p, const struct sdt_toks *t, int n, const char *what)
{
	if (t->n < n) {
		int col = t->n ? t->col[t->n - 1] + t->len[t->n - 1] + 1 : 1;

		sdt_errf(p, col, "missing %s", what, 0, 0);
		return -1;
	}
	return 0;
}

static int sdt_is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '/' || c == '+' || c == '-';
}

static int sdt_parse_result(struct sdt_parser *p, struct sdt_toks *t, struct sdt_op *op)
{
	int k;

	/* find "=" token; it must be second to last */
	for (k = 0; k < t->n; k++)
		if (t->len[k] == 1 && t->s[k][0] == '=')
			break;
	if (k == t->n)
		return 0;
	if (k != t->n - 2) {
		sdt_errf(p, t->col[k], "expected '= RESULT' at the end of the line", 0, 0, 0);
		return -1;
	}
	if (sdt_eq(t->s[k + 1], t->len[k + 1], "SIGSEGV")) {
		op->res_kind = SDT_RES_SIGSEGV;
	} else if (sdt_eq(t->s[k + 1], t->len[k + 1], "SIGBUS")) {
		op->res_kind = SDT_RES_SIGBUS;
	} else if (t->s[k + 1][0] == '-' && t->len[k + 1] > 1 &&
		   t->s[k + 1][1] >= 'A' && t->s[k + 1][1] <= 'Z') {
		int e = sdt_errno_value(t->s[k + 1] + 1, t->len[k + 1] - 1);

		if (!e) {
			sdt_errf(p, t->col[k + 1], "unknown errno name '%t'", 0, t->s[k + 1], t->len[k + 1]);
			return -1;
		}
		op->res_kind = SDT_RES_ERRNO;
		op->res_value = e;
	} else {
		sdt_u64 v;

		if (sdt_num(p, t, k + 1, 0, &v))
			return -1;
		op->res_kind = SDT_RES_VALUE;
		op->res_value = (sdt_s64)v;
	}
	t->n = k;
	return 0;
}

static int sdt_extra(struct sdt_parser *p, const struct sdt_toks *t, int k)
{
	sdt_errf(p, t->col[k], "unexpected '%t'", 0, t->s[k], t->len[k]);
	return -1;
}

static int sdt_pagealigned(struct sdt_parser *p, const struct sdt_toks *t, int k, sdt_u64 v)
{
	(void)p; (void)t; (void)k; (void)v;
	/* unaligned addresses are legal trace content: the kernel returns its error */
	return 0;
}

int sdt_parse_line(struct sdt_parser *p, const char *line, int len, struct sdt_op *op)
{
	struct sdt_toks t;
	const char *w;
	int wl, k;

	p->line++;
	{
		char *c = (char *)op;
		unsigned int i;

		for (i = 0; i < sizeof(*op); i++)
			c[i] = 0;
	}
	op->line = p->line;
	op->all = -1;
	if (sdt_tokenize(p, line, len, &t))
		return -1;
	if (t.n == 0)
		return 0;
	w = t.s[0];
	wl = t.len[0];

	if (!p->seen_header) {
		if (t.n == 2 && sdt_eq(w, wl, "sdtrace") && sdt_eq(t.s[1], t.len[1], "1")) {
			p->seen_header = 1;
			return 0;
		}
		sdt_errf(p, t.col[0], "expected 'sdtrace 1' as the first line", 0, 0, 0);
		return -1;
	}
	if (sdt_eq(w, wl, "kernel")) {
		if (sdt_need(p, &t, 2, "RELEASE"))
			return -1;
		if (t.n > 2)
			return sdt_extra(p, &t, 2);
		sdt_copy(p->kernel, sizeof(p->kernel), t.s[1], t.len[1]);
		return 0;
	}
	if (sdt_eq(w, wl, "swap")) {
		if (sdt_need(p, &t, 2, "on/off"))
			return -1;
		if (sdt_eq(t.s[1], t.len[1], "on"))
			p->swap_on = 1;
		else if (sdt_eq(t.s[1], t.len[1], "off"))
			p->swap_on = 0;
		else {
			sdt_errf(p, t.col[1], "expected 'on' or 'off', got '%t'", 0, t.s[1], t.len[1]);
			return -1;
		}
		if (t.n > 2)
			return sdt_extra(p, &t, 2);
		return 0;
	}

	if (sdt_eq(w, wl, "expect")) {
		op->kind = SDT_EXPECT;
		if (sdt_need(p, &t, 5, "expect FIELD ADDR LEN VALUE"))
			return -1;
		if (sdt_eq(t.s[1], t.len[1], "sd"))
			op->field = SDT_F_SD;
		else if (sdt_eq(t.s[1], t.len[1], "present"))
			op->field = SDT_F_PRESENT;
		else if (sdt_eq(t.s[1], t.len[1], "swapped"))
			op->field = SDT_F_SWAPPED;
		else if (sdt_eq(t.s[1], t.len[1], "written"))
			op->field = SDT_F_WRITTEN;
		else if (sdt_eq(t.s[1], t.len[1], "vmas"))
			op->field = SDT_F_VMAS;
		else if (sdt_eq(t.s[1], t.len[1], "sdscan"))
			op->field = SDT_F_SDSCAN;
		else {
			sdt_errf(p, t.col[1], "expected FIELD (sd present swapped written sdscan vmas), got '%t'",
				 0, t.s[1], t.len[1]);
			return -1;
		}
		if (sdt_num(p, &t, 2, 0, &op->addr) || sdt_num(p, &t, 3, 1, &op->len))
			return -1;
		if (op->field == SDT_F_VMAS) {
			if (sdt_num(p, &t, 4, 0, &op->count))
				return -1;
		} else if (sdt_eq(t.s[4], t.len[4], "all0")) {
			op->all = 0;
		} else if (sdt_eq(t.s[4], t.len[4], "all1")) {
			op->all = 1;
		} else {
			sdt_u64 pages = (op->len + SDT_PAGE_SIZE - 1) / SDT_PAGE_SIZE;

			for (k = 0; k < t.len[4]; k++)
				if (t.s[4][k] != '0' && t.s[4][k] != '1') {
					sdt_errf(p, t.col[4] + k, "expected a string of 0/1, all0 or all1", 0, 0, 0);
					return -1;
				}
			if ((sdt_u64)t.len[4] != pages) {
				sdt_errf(p, t.col[4], "VALUE has a digit count different from the page count of the range", 0, 0, 0);
				return -1;
			}
			op->value = t.s[4];
			op->value_len = t.len[4];
		}
		if (t.n > 5)
			return sdt_extra(&*p, &t, 5);
		return 1;
	}

	if (sdt_parse_result(p, &t, op))
		return -1;

	if (sdt_eq(w, wl, "mmap")) {
		op->kind = SDT_MMAP;
		if (sdt_need(p, &t, 5, "mmap ADDR LEN PROT SHARING"))
			return -1;
		if (sdt_num(p, &t, 1, 0, &op->addr) || sdt_num(p, &t, 2, 1, &op->len) ||
		    sdt_prot(p, &t, 3, &op->prot))
			return -1;
		if (sdt_eq(t.s[4], t.len[4], "private"))
			op->sharing = SDT_PRIVATE;
		else if (sdt_eq(t.s[4], t.len[4], "shared"))
			op->sharing = SDT_SHARED;
		else if (sdt_eq(t.s[4], t.len[4], "droppable"))
			op->sharing = SDT_DROPPABLE;
		else {
			sdt_errf(p, t.col[4], "expected SHARING (private shared droppable), got '%t'",
				 0, t.s[4], t.len[4]);
			return -1;
		}
		for (k = 5; k < t.n; k++) {
			const char *s = t.s[k];
			int l = t.len[k];

			if (l > 5 && s[0] == 'f' && s[1] == 'i' && s[2] == 'l' && s[3] == 'e' && s[4] == '=') {
				int at = -1, i;
				struct sdt_toks t2;

				for (i = 5; i < l; i++)
					if (s[i] == '@') {
						at = i;
						break;
					}
				if (at < 0 || at == 5 || at == l - 1) {
					sdt_errf(p, t.col[k], "expected file=NAME@OFFSET", 0, 0, 0);
					return -1;
				}
				for (i = 5; i < at; i++)
					if (!sdt_is_name_char(s[i])) {
						sdt_errf(p, t.col[k] + i, "bad character in file NAME", 0, 0, 0);
						return -1;
					}
				if (at - 5 >= SDT_NAME_MAX) {
					sdt_errf(p, t.col[k] + 5, "file NAME too long", 0, 0, 0);
					return -1;
				}
				sdt_copy(op->file, SDT_NAME_MAX, s + 5, at - 5);
				t2.n = 1;
				t2.s[0] = s + at + 1;
				t2.len[0] = l - at - 1;
				t2.col[0] = t.col[k] + at + 1;
				if (sdt_num(p, &t2, 0, 1, &op->offset))
					return -1;
				op->flags |= SDT_MMAP_FILE;
			} else if (sdt_eq(s, l, "ro")) {
				op->flags |= SDT_MMAP_RO;
			} else if (sdt_eq(s, l, "fixed")) {
				op->flags |= SDT_MMAP_FIXED;
			} else if (sdt_eq(s, l, "populate")) {
				op->flags |= SDT_MMAP_POPULATE;
			} else if (sdt_eq(s, l, "noreserve")) {
				op->flags |= SDT_MMAP_NORESERVE;
			} else if (sdt_eq(s, l, "stack")) {
				op->flags |= SDT_MMAP_STACK;
			} else {
				return sdt_extra(p, &t, k);
			}
		}
		if ((op->flags & SDT_MMAP_RO) && !(op->flags & SDT_MMAP_FILE)) {
			sdt_errf(p, t.col[0], "'ro' needs file=", 0, 0, 0);
			return -1;
		}
		if ((op->flags & SDT_MMAP_FILE) && op->sharing == SDT_DROPPABLE) {
			/* legal: the kernel says -EINVAL */
		}
		return 1;
	}
	if (sdt_eq(w, wl, "munmap") || sdt_eq(w, wl, "mlock") || sdt_eq(w, wl, "munlock")) {
		op->kind = w[1] == 'u' ? (wl == 6 ? SDT_MUNMAP : SDT_MUNLOCK) : SDT_MLOCK;
		if (sdt_need(p, &t, 3, "ADDR LEN"))
			return -1;
		if (sdt_num(p, &t, 1, 0, &op->addr) || sdt_num(p, &t, 2, 1, &op->len))
			return -1;
		if (t.n > 3)
			return sdt_extra(p, &t, 3);
		return 1;
	}
	if (sdt_eq(w, wl, "brk")) {
		op->kind = SDT_BRK;
		if (sdt_need(p, &t, 3, "brk OLD NEW"))
			return -1;
		if (sdt_num(p, &t, 1, 0, &op->addr) || sdt_num(p, &t, 2, 0, &op->new_addr))
			return -1;
		if (t.n > 3)
			return sdt_extra(p, &t, 3);
		if (p->have_brk && op->addr != p->cur_brk) {
			sdt_errf(p, t.col[1], "brk OLD is not the current break", 0, 0, 0);
			return -1;
		}
		p->have_brk = 1;
		if (op->res_kind != SDT_RES_ERRNO)
			p->cur_brk = op->new_addr;
		return 1;
	}
	if (sdt_eq(w, wl, "mprotect")) {
		op->kind = SDT_MPROTECT;
		if (sdt_need(p, &t, 4, "mprotect ADDR LEN PROT"))
			return -1;
		if (sdt_num(p, &t, 1, 0, &op->addr) || sdt_num(p, &t, 2, 1, &op->len) ||
		    sdt_prot(p, &t, 3, &op->prot))
			return -1;
		if (t.n > 4)
			return sdt_extra(p, &t, 4);
		return 1;
	}
	if (sdt_eq(w, wl, "mremap")) {
		op->kind = SDT_MREMAP;
		if (sdt_need(p, &t, 4, "mremap OLD OLDLEN NEWLEN"))
			return -1;
		if (sdt_num(p, &t, 1, 0, &op->addr) || sdt_num(p, &t, 2, 1, &op->len) ||
		    sdt_num(p, &t, 3, 1, &op->new_len))
			return -1;
		for (k = 4; k < t.n; k++) {
			if (sdt_eq(t.s[k], t.len[k], "maymove")) {
				op->flags |= SDT_MREMAP_MAYMOVE;
			} else if (sdt_eq(t.s[k], t.len[k], "dontunmap")) {
				op->flags |= SDT_MREMAP_DONTUNMAP;
			} else if (sdt_eq(t.s[k], t.len[k], "fixed")) {
				if (k + 1 >= t.n) {
					sdt_errf(p, t.col[k] + t.len[k] + 1, "missing NEW after 'fixed'", 0, 0, 0);
					return -1;
				}
				if (sdt_num(p, &t, k + 1, 0, &op->new_addr))
					return -1;
				op->flags |= SDT_MREMAP_FIXED;
				k++;
			} else {
				return sdt_extra(p, &t, k);
			}
		}
		return 1;
	}
	if (sdt_eq(w, wl, "madvise")) {
		op->kind = SDT_MADVISE;
		if (sdt_need(p, &t, 4, "madvise ADDR LEN ADVICE"))
			return -1;
		if (sdt_num(p, &t, 1, 0, &op->addr) || sdt_num(p, &t, 2, 1, &op->len))
			return -1;
		for (k = 0; k < SDT_ADV_COUNT; k++)
			if (sdt_eq(t.s[3], t.len[3], sdt_advice_names[k]))
				break;
		if (k == SDT_ADV_COUNT) {
			sdt_errf(p, t.col[3], "unknown ADVICE '%t'", 0, t.s[3], t.len[3]);
			return -1;
		}
		op->advice = k;
		if (t.n > 4)
			return sdt_extra(p, &t, 4);
		return 1;
	}
	if (sdt_eq(w, wl, "write") || sdt_eq(w, wl, "read")) {
		op->kind = w[0] == 'w' ? SDT_WRITE : SDT_READ;
		if (sdt_need(p, &t, 2, "ADDR"))
			return -1;
		if (sdt_num(p, &t, 1, 0, &op->addr))
			return -1;
		op->len = 1;
		if (t.n > 2 && sdt_num(p, &t, 2, 1, &op->len))
			return -1;
		if (t.n > 3)
			return sdt_extra(p, &t, 3);
		return 1;
	}
	if (sdt_eq(w, wl, "clear_refs") || sdt_eq(w, wl, "fork") || sdt_eq(w, wl, "epoch")) {
		op->kind = w[0] == 'c' ? SDT_CLEAR_REFS : w[0] == 'f' ? SDT_FORK : SDT_EPOCH;
		if (t.n > 1)
			return sdt_extra(p, &t, 1);
		return 1;
	}
	if (sdt_eq(w, wl, "uffd_wp")) {
		op->kind = SDT_UFFD_WP;
		if (sdt_need(p, &t, 3, "uffd_wp ADDR LEN"))
			return -1;
		if (sdt_num(p, &t, 1, 0, &op->addr) || sdt_num(p, &t, 2, 1, &op->len))
			return -1;
		k = 3;
		if (t.n > k && sdt_eq(t.s[k], t.len[k], "remap")) {
			op->flags |= SDT_UFFD_REMAP;
			k++;
		}
		if (t.n > k)
			return sdt_extra(p, &t, k);
		/* one context per trace, created by the first uffd_wp with its features */
		if (!p->uffd_line) {
			p->uffd_line = p->line;
			p->uffd_remap = op->flags & SDT_UFFD_REMAP;
		} else if ((op->flags & SDT_UFFD_REMAP) != p->uffd_remap) {
			sdt_errf(p, t.col[0], "uffd_wp disagrees with the first uffd_wp of the trace on remap (every uffd_wp of a trace agrees on it)",
				 NULL, NULL, 0);
			return -1;
		}
		return 1;
	}
	if (sdt_eq(w, wl, "scan")) {
		op->kind = SDT_SCAN;
		if (sdt_need(p, &t, 3, "scan ADDR LEN"))
			return -1;
		if (sdt_num(p, &t, 1, 0, &op->addr) || sdt_num(p, &t, 2, 1, &op->len))
			return -1;
		for (k = 3; k < t.n; k++) {
			const char *s = t.s[k];
			int l = t.len[k];
			struct sdt_toks t2;

			if (sdt_eq(s, l, "wp")) {
				op->flags |= SDT_SCAN_WP;
				continue;
			}
			if (l > 4 && s[0] == 'm' && s[1] == 'a' && s[2] == 'x' && s[3] == '=') {
				t2.s[0] = s + 4; t2.len[0] = l - 4; t2.col[0] = t.col[k] + 4; t2.n = 1;
				if (sdt_num(p, &t2, 0, 0, &op->max_pages))
					return -1;
				op->flags |= SDT_SCAN_HAS_MAX;
				continue;
			}
			if (l > 4 && s[0] == 'v' && s[1] == 'e' && s[2] == 'c' && s[3] == '=') {
				t2.s[0] = s + 4; t2.len[0] = l - 4; t2.col[0] = t.col[k] + 4; t2.n = 1;
				if (sdt_num(p, &t2, 0, 0, &op->vec_len))
					return -1;
				op->flags |= SDT_SCAN_HAS_VEC;
				continue;
			}
			return sdt_extra(p, &t, k);
		}
		return 1;
	}
	if (sdt_eq(w, wl, "reclaim")) {
		op->kind = SDT_RECLAIM;
		if (t.n == 1)
			return 1;
		if (sdt_need(p, &t, 3, "reclaim [ADDR LEN]"))
			return -1;
		if (sdt_num(p, &t, 1, 0, &op->addr) || sdt_num(p, &t, 2, 1, &op->len))
			return -1;
		op->flags |= SDT_RECLAIM_RANGE;
		if (t.n > 3)
			return sdt_extra(p, &t, 3);
		return 1;
	}
	(void)sdt_pagealigned;
	sdt_errf(p, t.col[0], "unknown operation '%t'", 0, w, wl);
	return -1;
}

int sdt_parse_end(struct sdt_parser *p)
{
	if (!p->seen_header) {
		p->err_line = p->line ? p->line : 1;
		p->err_col = 1;
		sdt_errf(p, 1, "empty trace: expected 'sdtrace 1'", 0, 0, 0);
		p->err_line = p->line ? p->line : 1;
		return -1;
	}
	return 0;
}

static sdt_u64 sdt_pdown(sdt_u64 a) { return a & ~(SDT_PAGE_SIZE - 1); }
static sdt_u64 sdt_pup(sdt_u64 a)
{
	sdt_u64 r = (a + SDT_PAGE_SIZE - 1) & ~(SDT_PAGE_SIZE - 1);

	return r < a ? ~(SDT_PAGE_SIZE - 1) : r;
}

static int sdt_range(sdt_u64 r[2], sdt_u64 a, sdt_u64 len)
{
	sdt_u64 e = a + len;

	if (e < a)
		e = ~0ULL;
	r[0] = sdt_pdown(a);
	r[1] = sdt_pup(e);
	return r[1] > r[0];
}

int sdt_op_ranges(const struct sdt_op *op, sdt_u64 r[2][2])
{
	int n = 0;

	switch (op->kind) {
	case SDT_MMAP: case SDT_MUNMAP: case SDT_MPROTECT: case SDT_MADVISE:
	case SDT_MLOCK: case SDT_MUNLOCK: case SDT_WRITE: case SDT_READ:
	case SDT_UFFD_WP: case SDT_SCAN: case SDT_EXPECT:
		n += sdt_range(r[n], op->addr, op->len);
		break;
	case SDT_RECLAIM:
		if (op->flags & SDT_RECLAIM_RANGE)
			n += sdt_range(r[n], op->addr, op->len);
		break;
	case SDT_BRK: {
		sdt_u64 lo = op->addr < op->new_addr ? op->addr : op->new_addr;
		sdt_u64 hi = op->addr < op->new_addr ? op->new_addr : op->addr;

		n += sdt_range(r[n], lo, hi - lo);
		break;
	}
	case SDT_MREMAP:
		n += sdt_range(r[n], op->addr, op->len > op->new_len ? op->len : op->new_len);
		if (op->flags & SDT_MREMAP_FIXED)
			n += sdt_range(r[n], op->new_addr, op->new_len);
		else if (op->res_kind == SDT_RES_VALUE)
			n += sdt_range(r[n], (sdt_u64)op->res_value, op->new_len);
		break;
	default:
		break;
	}
	return n;
}
