#include "sim/state_codec.hpp"

#include <algorithm>
#include <cstring>
#include <string>

namespace sdmc {

namespace {

// Header bits, and the bits of a VMA's flag byte.
constexpr unsigned H_UFFD_CTX = 1, H_SWAP = 2, H_CLEARED = 4, H_WP_TRACKING = 8, H_TABLE = 16,
                   H_UFFD_REMAP = 32;
constexpr unsigned V_FILE_RO = 1, V_PAGE_PROT_WRITE = 2;

// The byte encodings, for any sink with u8().
template <class Self>
struct encodings {
  void varint(std::uint64_t v) {
    Self& s = static_cast<Self&>(*this);
    while (v >= 0x80) {
      s.u8(unsigned(v | 0x80));
      v >>= 7;
    }
    s.u8(unsigned(v));
  }
  void zigzag(std::int64_t v) { varint((std::uint64_t(v) << 1) ^ std::uint64_t(v >> 63)); }
};

// Writes through a raw pointer into a buffer whose size is its capacity (callers reserve room
// for each part first).
struct writer : encodings<writer> {
  std::vector<char>& buf;
  char* p;
  explicit writer(std::vector<char>& b) : buf(b) {
    if (buf.size() < 1024) buf.resize(1024);
    p = buf.data();
  }
  void reserve(std::size_t n) {
    if (std::size_t(buf.data() + buf.size() - p) < n) [[unlikely]] grow(n);
  }
  [[gnu::noinline]] void grow(std::size_t n) {
    const std::size_t at = std::size_t(p - buf.data());
    buf.resize(std::max(2 * buf.size(), at + n));
    p = buf.data() + at;
  }
  void u8(unsigned v) { *p++ = char(v); }
  void bytes(const char* b, std::size_t n) {
    std::memcpy(p, b, n);
    p += n;
  }
  std::string_view view() const { return {buf.data(), std::size_t(p - buf.data())}; }
};

// A local copy of writer::p for a run of short writes: a store through `char*` may alias
// anything, so writing through writer::p itself makes the compiler store and reload it around
// every byte; a local whose address is never taken stays in a register.
struct cursor : encodings<cursor> {
  char* p;
  explicit cursor(char* at) : p(at) {}
  void u8(unsigned v) { *p++ = char(v); }
};

struct reader {
  std::string_view s;
  std::size_t at = 0;
  unsigned u8() {
    if (at >= s.size()) throw codec_error("state key truncated");
    return static_cast<unsigned char>(s[at++]);
  }
  std::uint64_t varint() {
    std::uint64_t v = 0;
    for (unsigned shift = 0;; shift += 7) {
      unsigned b = u8();
      v |= std::uint64_t(b & 0x7f) << shift;
      if (!(b & 0x80) || shift > 56) return v;
    }
  }
  std::int64_t zigzag() {
    std::uint64_t v = varint();
    return std::int64_t(v >> 1) ^ -std::int64_t(v & 1);
  }
};

std::uint16_t pte_bits(const pte_t& p) {
  return std::uint16_t(unsigned(p.kind) | unsigned(p.page) << 2 | unsigned(p.write) << 4 |
                       unsigned(p.dirty) << 5 | unsigned(p.soft_dirty) << 6 |
                       unsigned(p.uffd_wp) << 7 | unsigned(p.anon_exclusive) << 8 |
                       unsigned(p.lazyfree) << 9);
}

pte_t pte_from_bits(unsigned b) {
  pte_t p;
  p.kind = pte_kind(b & 3);
  p.page = pte_page((b >> 2) & 3);
  p.write = b >> 4 & 1;
  p.dirty = b >> 5 & 1;
  p.soft_dirty = b >> 6 & 1;
  p.uffd_wp = b >> 7 & 1;
  p.anon_exclusive = b >> 8 & 1;
  p.lazyfree = b >> 9 & 1;
  return p;
}

[[noreturn]] void outside(const char* what, pfn_t lo, pfn_t hi, const state_window& w) {
  throw codec_error(std::string(what) + " [" + std::to_string(lo) + ", " + std::to_string(hi) +
                    ") lies outside the explored window [" + std::to_string(w.base) + ", " +
                    std::to_string(w.base + w.pages) + ")");
}

// A set of window pages as a bitmap of ceil(pages/8) bytes.
// Bit p of the map is byte p / 8, bit p % 8; built in a register (encode_state takes windows
// of at most 63 pages, the explorer's have at most 16).
void put_bitmap(writer& out, const pset& s, const state_window& w, const char* what) {
  const std::size_t bytes = (w.pages + 7) / 8;
  std::uint64_t bits = 0;
  for (const prange& iv : s) {
    if (iv.lower() < w.base || iv.upper() > w.base + w.pages) outside(what, iv.lower(), iv.upper(), w);
    bits |= ((std::uint64_t(1) << (iv.upper() - iv.lower())) - 1) << (iv.lower() - w.base);
  }
  for (std::size_t b = 0; b < bytes; ++b) out.p[b] = char(bits >> (8 * b));
  out.p += bytes;
}

void get_bitmap(reader& in, pset& s, const state_window& w) {
  const std::size_t bytes = (w.pages + 7) / 8;
  if (in.at + bytes > in.s.size()) throw codec_error("state key truncated");
  const char* b = in.s.data() + in.at;
  in.at += bytes;
  for (unsigned p = 0; p < w.pages;) {
    if (!(b[p / 8] >> (p % 8) & 1)) { ++p; continue; }
    unsigned e = p + 1;
    while (e < w.pages && (b[e / 8] >> (e % 8) & 1)) ++e;
    s += prange(w.base + p, w.base + e);
    p = e;
  }
}

// A set of file page indices (not window pages: a file is indexed by pgoff) as intervals.
void put_intervals(writer& out, const pset& s) {
  out.reserve(10 + 20 * s.iterative_size());
  out.varint(s.iterative_size());
  pfn_t at = 0;
  for (const prange& iv : s) {
    out.varint(iv.lower() - at);
    out.varint(iv.upper() - iv.lower());
    at = iv.upper();
  }
}

void get_intervals(reader& in, pset& s) {
  pfn_t at = 0;
  for (std::uint64_t n = in.varint(); n; --n) {
    pfn_t lo = at + in.varint();
    at = lo + in.varint();
    s += prange(lo, at);
  }
}

// Renames identities by order of first appearance. Windows are small: a linear search wins.
struct renamer {
  std::uint32_t ids[64];
  unsigned n = 0;
  // The canonical id (1-based) and whether this is its first appearance; 0 stays 0.
  std::pair<unsigned, bool> operator()(std::uint32_t id) {
    if (!id) return {0, false};
    for (unsigned i = 0; i < n; ++i)
      if (ids[i] == id) return {i + 1, false};
    if (n == 64) throw codec_error("more than 64 distinct identities in the window");
    ids[n++] = id;
    return {n, true};
  }
};

}  // namespace

void encode_state(const kernel& k, const oracle& o, const state_window& w, std::string& out) {
  thread_local std::vector<char> scratch;
  out.assign(encode_state(k, o, w, scratch));
}

std::string_view encode_state(const kernel& k, const oracle& o, const state_window& w,
                              std::vector<char>& buf) {
  const mm_struct& mm = k.mm;
  writer out(buf);
  if (mm.start_brk) throw codec_error("a brk heap is not part of the explorer's state");
  if (w.pages > 63) throw codec_error("a window of more than 63 pages (the bitmaps are built in a 64-bit word)");

  const pfn_t wb = w.base, we = w.base + w.pages;
  // The window lies inside one 2 MiB span (the explorer checks it): one bit says whether its
  // page table exists, and no other span may have one. One walk over the (few) table runs.
  const pfn_t span_lo = wb & ~(PTRS_PER_PTE - 1), span_hi = span_lo + PTRS_PER_PTE;
  bool table = false;
  mm.for_each_table_run(0, pfn_t(1) << (47 - PAGE_SHIFT), [&](pfn_t a, pfn_t b, bool t) {
    if (!t) return;
    if (a < span_lo || b > span_hi) outside("a page table", a, b, w);
    table = true;
  });
  // Fixed part: header, PTE words, oracle bitmaps.
  out.reserve(2 + 2 * std::size_t(w.pages) + 7 * ((w.pages + 7) / 8) + 1);
  out.u8((mm.uffd_ctx ? H_UFFD_CTX : 0u) | (mm.has_swap ? H_SWAP : 0u) |
         (mm.cleared_refs ? H_CLEARED : 0u) | (o.wp_tracking() ? H_WP_TRACKING : 0u) |
         (table ? H_TABLE : 0u) | (mm.uffd_event_remap ? H_UFFD_REMAP : 0u));
  // The mutant and the droppable design (model/droppable.hpp): constant within a search, but
  // a decoded kernel must run under them too.
  static_assert(mutant_catalogue.size() < 64 && unsigned(droppable_design::dirty_skip) < 4);
  out.u8(unsigned(mm.bug) | unsigned(mm.droppable) << 6);

  // One 16-bit word per page for the PTE.
  char* const ptes = out.p;
  std::memset(ptes, 0, 2 * std::size_t(w.pages));
  out.p += 2 * std::size_t(w.pages);
  mm.for_each_pte([&](pfn_t lo, pfn_t hi, const pte_t& pte) {
    if (lo < wb || hi > we) outside("a PTE", lo, hi, w);
    const std::uint16_t b = pte_bits(pte);
    for (pfn_t p = lo - wb; p < hi - wb; ++p) {
      ptes[2 * p] = char(b & 0xff);
      ptes[2 * p + 1] = char(b >> 8);
    }
  });

  put_bitmap(out, o.stored_since_clear, w, "a page stored to");
  put_bitmap(out, o.new_since_clear, w, "a newly mapped page");
  put_bitmap(out, o.stored_since_wp, w, "a page stored to");
  put_bitmap(out, o.new_since_wp, w, "a newly mapped page");
  put_bitmap(out, o.moved_since_clear, w, "a relocated page");
  put_bitmap(out, o.zapped_since_clear, w, "a zapped file page");
  put_bitmap(out, o.moved_pte_since_clear, w, "a page moved with its PTE");

  // Files: named memfds first, by name; shared-anon shmem files as the VMAs reach them.
  // (Small arrays on the stack: a decoded state has at most one file per VMA plus the named
  // ones, and one operation adds at most one.)
  const std::size_t nfiles = mm.files.size();
  if (nfiles >= 64) throw codec_error("more than 63 memory files");
  unsigned file_canon[64], canon_order[64], ncanon = 0;
  std::fill_n(file_canon, nfiles + 1, 0u);
  for (std::size_t i = 0; i < nfiles; ++i)
    if (!mm.files[i].shared_anon) canon_order[ncanon++] = unsigned(i + 1);
  if (ncanon > 1)
    std::sort(canon_order, canon_order + ncanon,
              [&](unsigned a, unsigned b) { return mm.file(a).name < mm.file(b).name; });
  for (unsigned i = 0; i < ncanon; ++i) file_canon[canon_order[i]] = i + 1;

  renamer anon, ids;
  if (mm.map_count() > 255) throw codec_error("more than 255 VMAs");
  out.u8(unsigned(mm.map_count()));
  mm.for_each_vma([&](const vma_ref& ref) {
    const pfn_t lo = ref.vm_start, hi = ref.vm_end;
    if (lo < wb || hi > we) outside("a VMA", lo, hi, w);
    const vma_value& v = ref.v;
    out.reserve(32);  // at most 2 + 10 + 3 + 10 + 2 bytes
    cursor r(out.p);
    r.u8(unsigned(lo - wb));
    r.u8(unsigned(hi - wb));
    r.varint(v.vm_flags);
    if (v.file) {
      if (v.file > mm.files.size()) throw codec_error("a VMA maps a file that does not exist");
      if (!file_canon[v.file]) {
        canon_order[ncanon++] = v.file;
        file_canon[v.file] = ncanon;
      }
    }
    r.u8(v.file ? file_canon[v.file] : 0);
    r.u8((v.file_ro ? V_FILE_RO : 0u) | (v.page_prot_write ? V_PAGE_PROT_WRITE : 0u));
    r.u8(anon(v.anon_vma).first);
    // Anonymous pgoff follows addresses (relative to the window), a file's is an index.
    const std::int64_t pgoff = std::int64_t(lo) + v.pgoff_delta;
    r.zigzag(v.file ? pgoff : pgoff - std::int64_t(wb));
    auto [id, first] = ids(v.vma_id);
    r.u8(id);
    if (first && mm.non_sd_regs.empty()) r.u8(0);  // no node list (every design but granular)
    out.p = r.p;
    if (first && !mm.non_sd_regs.empty()) {
      // The granular design's clean sub-ranges, keyed by vma_id: written once per identity.
      auto it = mm.non_sd_regs.find(v.vma_id);
      if (it == mm.non_sd_regs.end()) {
        out.reserve(1);
        out.u8(0);
      } else {
        if (it->second.size() > 254) throw codec_error("more than 254 non_sd_reg nodes in a VMA");
        out.reserve(1 + 2 * it->second.size());
        out.u8(unsigned(it->second.size() + 1));
        for (const non_sd_reg& node : it->second) {
          if (node.start < wb || node.end > we || node.start > node.end)
            outside("a non_sd_reg node", node.start, node.end, w);
          out.u8(unsigned(node.start - wb));
          out.u8(unsigned(node.end - wb));
        }
      }
    }
  });

  // Files in canonical order; shared-anon files no VMA maps are gone.
  out.reserve(1);
  out.u8(ncanon);
  for (unsigned c = 0; c < ncanon; ++c) {
    const unsigned f = canon_order[c];
    const memfile& m = mm.file(f);
    if (m.name.size() > 255) throw codec_error("a memory file name longer than 255 bytes");
    out.reserve(12 + m.name.size());
    out.u8(m.shared_anon ? 1 : 0);
    out.u8(unsigned(m.name.size()));
    out.bytes(m.name.data(), m.name.size());
    out.varint(m.size_pages);
    put_intervals(out, m.cached);
    put_intervals(out, m.dirty);  // reclaim writes a dirty shmem folio to swap, drops a clean one
    put_intervals(out, m.swapped);
    put_intervals(out, m.written);
  }
  return out.view();
}

void decode_state(std::string_view key, const state_window& w, kernel& k, oracle& o) {
  mm_struct& mm = k.mm;
  if (mm.map_count() || !mm.files.empty()) throw codec_error("decode_state needs a fresh kernel");
  reader in{key};
  const unsigned h = in.u8();
  mm.uffd_ctx = h & H_UFFD_CTX;
  mm.uffd_event_remap = h & H_UFFD_REMAP;
  mm.has_swap = h & H_SWAP;
  mm.cleared_refs = h & H_CLEARED;
  // The oracle keeps write-protect sets only from its first reset on; an empty reset arms it.
  if (h & H_WP_TRACKING) o.wp_reset(w.base, w.base);
  if (h & H_TABLE) mm.alloc_tables(w.base, w.base + 1);
  const unsigned cfg = in.u8();
  mm.bug = mutant(cfg & 0x3f);
  mm.droppable = droppable_design(cfg >> 6);

  if (in.at + 2 * std::size_t(w.pages) > key.size()) throw codec_error("state key truncated");
  for (unsigned p = 0; p < w.pages;) {
    auto word = [&](unsigned q) {
      return unsigned(static_cast<unsigned char>(key[in.at + 2 * q])) |
             unsigned(static_cast<unsigned char>(key[in.at + 2 * q + 1])) << 8;
    };
    const unsigned b = word(p);
    unsigned e = p + 1;
    while (e < w.pages && word(e) == b) ++e;
    if (b) mm.set_ptes(w.base + p, w.base + e, pte_from_bits(b));
    p = e;
  }
  in.at += 2 * std::size_t(w.pages);

  get_bitmap(in, o.stored_since_clear, w);
  get_bitmap(in, o.new_since_clear, w);
  get_bitmap(in, o.stored_since_wp, w);
  get_bitmap(in, o.new_since_wp, w);
  get_bitmap(in, o.moved_since_clear, w);
  get_bitmap(in, o.zapped_since_clear, w);
  get_bitmap(in, o.moved_pte_since_clear, w);

  unsigned max_id = 0, max_anon = 0;
  for (unsigned n = in.u8(); n; --n) {
    const pfn_t lo = w.base + in.u8(), hi = w.base + in.u8();
    vma_value v;
    v.vm_flags = in.varint();
    v.file = in.u8();
    const unsigned bits = in.u8();
    v.file_ro = bits & V_FILE_RO;
    v.page_prot_write = bits & V_PAGE_PROT_WRITE;
    v.anon_vma = in.u8();
    const std::int64_t pgoff = in.zigzag() + (v.file ? 0 : std::int64_t(w.base));
    v.pgoff_delta = pgoff - std::int64_t(lo);
    v.vma_id = in.u8();
    max_anon = std::max<unsigned>(max_anon, v.anon_vma);
    if (v.vma_id > max_id) {  // first appearance: the node list follows
      max_id = v.vma_id;
      if (unsigned c = in.u8()) {
        std::vector<non_sd_reg>& nodes = mm.non_sd_regs[v.vma_id];
        for (--c; c; --c) {
          non_sd_reg r;
          r.start = w.base + in.u8();
          r.end = w.base + in.u8();
          nodes.push_back(r);
        }
      }
    }
    mm.insert_vma(lo, hi, v);
  }
  // Later VMAs and anon_vmas get identities after the renamed ones.
  while (mm.new_vma_id() < max_id) {}
  while (mm.new_anon_vma() < max_anon) {}

  for (unsigned n = in.u8(); n; --n) {
    memfile m;
    m.shared_anon = in.u8();
    const unsigned len = in.u8();
    if (in.at + len > key.size()) throw codec_error("state key truncated");
    m.name.assign(key.substr(in.at, len));
    in.at += len;
    m.size_pages = in.varint();
    get_intervals(in, m.cached);
    get_intervals(in, m.dirty);
    get_intervals(in, m.swapped);
    get_intervals(in, m.written);
    mm.add_file(std::move(m));
  }
  if (in.at != key.size()) throw codec_error("state key has trailing bytes");
}

// MurmurHash3_x64_128 (Austin Appleby, public domain), seed 0.
namespace {
inline std::uint64_t rotl64(std::uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
inline std::uint64_t fmix64(std::uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdull;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ull;
  k ^= k >> 33;
  return k;
}
}  // namespace

fingerprint128 fingerprint(std::string_view key) {
  constexpr std::uint64_t c1 = 0x87c37b91114253d5ull, c2 = 0x4cf5ad432745937full;
  const std::size_t len = key.size(), nblocks = len / 16;
  const char* data = key.data();
  std::uint64_t h1 = 0, h2 = 0;
  for (std::size_t i = 0; i < nblocks; ++i) {
    std::uint64_t k1, k2;
    std::memcpy(&k1, data + 16 * i, 8);
    std::memcpy(&k2, data + 16 * i + 8, 8);
    k1 *= c1; k1 = rotl64(k1, 31); k1 *= c2; h1 ^= k1;
    h1 = rotl64(h1, 27); h1 += h2; h1 = h1 * 5 + 0x52dce729;
    k2 *= c2; k2 = rotl64(k2, 33); k2 *= c1; h2 ^= k2;
    h2 = rotl64(h2, 31); h2 += h1; h2 = h2 * 5 + 0x38495ab5;
  }
  // The tail, little-endian as the reference reads it byte by byte (x86-64).
  unsigned char tail[16] = {};
  const std::size_t rest = len & 15;
  std::memcpy(tail, data + 16 * nblocks, rest);
  std::uint64_t k1, k2;
  std::memcpy(&k1, tail, 8);
  std::memcpy(&k2, tail + 8, 8);
  if (rest > 8) { k2 *= c2; k2 = rotl64(k2, 33); k2 *= c1; h2 ^= k2; }
  if (rest > 0) { k1 *= c1; k1 = rotl64(k1, 31); k1 *= c2; h1 ^= k1; }
  h1 ^= len;
  h2 ^= len;
  h1 += h2;
  h2 += h1;
  h1 = fmix64(h1);
  h2 = fmix64(h2);
  h1 += h2;
  h2 += h1;
  return {h1, h2};
}

}  // namespace sdmc
