// sdtrace v1 parser and writer against the format contract (shared/trace-format.md): every
// operation form, every error with its exact line:column, and write/parse round trips.
#include <gtest/gtest.h>

#include <cerrno>
#include <filesystem>
#include <random>
#include <string>

#include <unistd.h>

#include "traces/sdtrace.hpp"

namespace {

using namespace sdmc::trace;
namespace fs = std::filesystem;

constexpr std::uint64_t kMax = ~std::uint64_t{0};

Trace parse_ops(const std::string& body) { return parse("sdtrace 1\n" + body, "t.sdt"); }

// The single operation of "sdtrace 1\n<text>".
Line one(const std::string& text) {
  Trace t = parse_ops(text + "\n");
  EXPECT_EQ(t.lines.size(), 1u) << text;
  return t.lines.empty() ? Line{} : t.lines[0];
}

template <typename T>
T op(const std::string& text) {
  Line l = one(text);
  EXPECT_TRUE(std::holds_alternative<T>(l.op)) << text;
  return std::holds_alternative<T>(l.op) ? std::get<T>(l.op) : T{};
}

// The ParseError that parsing `text` (a whole file) raises, as "line:col: message".
std::string error_of(const std::string& text) {
  try {
    parse(text, "t.sdt");
  } catch (const ParseError& e) {
    EXPECT_EQ(e.file, "t.sdt");
    std::string what = e.what();
    const std::string prefix = "t.sdt:" + std::to_string(e.line) + ":" + std::to_string(e.column) + ": ";
    EXPECT_EQ(what.substr(0, prefix.size()), prefix);
    return what.substr(6);  // without "t.sdt:"
  }
  return "no error";
}
std::string op_error(const std::string& body) { return error_of("sdtrace 1\n" + body); }

void expect_round_trip(const Trace& t) {
  std::string text = write(t);
  Trace back;
  ASSERT_NO_THROW(back = parse(text, "written.sdt")) << text;
  EXPECT_EQ(back, t) << text;
  EXPECT_EQ(write(back), text);
}

// ---------------------------------------------------------------------------------------------
// Operations

TEST(TraceParser, MmapMinimal) {
  Mmap m = op<Mmap>("mmap 0x100000000 4p rw- private");
  Mmap want;
  want.addr = 0x100000000;
  want.len = 4 * 4096;
  want.prot = PROT_R | PROT_W;
  EXPECT_EQ(m, want);
}

TEST(TraceParser, MmapEveryKeywordInAnyOrder) {
  Mmap m = op<Mmap>("mmap 0x1000 8K r-x shared stack noreserve ro fixed file=a.b/c+d_e-f@2p populate");
  EXPECT_EQ(m.prot, PROT_R | PROT_X);
  EXPECT_EQ(m.sharing, Sharing::Shared);
  ASSERT_TRUE(m.file);
  EXPECT_EQ(*m.file, (FileRef{"a.b/c+d_e-f", 8192, true}));
  EXPECT_TRUE(m.fixed && m.populate && m.noreserve && m.stack);
}

TEST(TraceParser, MmapProtectionsAndSharings) {
  EXPECT_EQ(op<Mmap>("mmap 0 1 --- private").prot, PROT_NONE_);
  EXPECT_EQ(op<Mmap>("mmap 0 1 r-- private").prot, PROT_R);
  EXPECT_EQ(op<Mmap>("mmap 0 1 rw- private").prot, PROT_R | PROT_W);
  EXPECT_EQ(op<Mmap>("mmap 0 1 r-x private").prot, PROT_R | PROT_X);
  EXPECT_EQ(op<Mmap>("mmap 0 1 rwx private").prot, PROT_R | PROT_W | PROT_X);
  EXPECT_EQ(op<Mmap>("mmap 0 1 --- shared").sharing, Sharing::Shared);
  EXPECT_EQ(op<Mmap>("mmap 0 1 --- droppable").sharing, Sharing::Droppable);
  // droppable with a file is the kernel's EINVAL, so replay (not the parser) reports it.
  EXPECT_TRUE(op<Mmap>("mmap 0 1 --- droppable file=f@0").file);
  Mmap plain = op<Mmap>("mmap 0 1 rw- private file=f@0");
  EXPECT_FALSE(plain.file->ro);
}

TEST(TraceParser, Munmap) {
  EXPECT_EQ(op<Munmap>("munmap 0x2000 3p"), (Munmap{0x2000, 3 * 4096}));
}

TEST(TraceParser, Brk) {
  EXPECT_EQ(op<Brk>("brk 0x555555559000 0x55555557a000"), (Brk{0x555555559000, 0x55555557a000}));
}

TEST(TraceParser, Mprotect) {
  EXPECT_EQ(op<Mprotect>("mprotect 0x1000 1p ---"), (Mprotect{0x1000, 4096, PROT_NONE_}));
}

TEST(TraceParser, Mremap) {
  EXPECT_EQ(op<Mremap>("mremap 0x1000 1p 2p"), (Mremap{0x1000, 4096, 8192, false, std::nullopt, false}));
  Mremap m = op<Mremap>("mremap 0x1000 1p 2p dontunmap fixed 0x9000 maymove");
  EXPECT_TRUE(m.maymove && m.dontunmap);
  EXPECT_EQ(m.fixed, std::optional<std::uint64_t>{0x9000});
}

TEST(TraceParser, MadviseEveryAdvice) {
  const char* names[] = {"normal",   "random",     "sequential", "willneed", "dontneed", "free",
                         "remove",   "pageout",    "cold",       "dontfork", "dofork",   "wipeonfork",
                         "keeponfork", "dontdump", "dodump",     "hugepage", "nohugepage"};
  for (int i = 0; i < 17; ++i) {
    Madvise m = op<Madvise>(std::string("madvise 0x1000 1p ") + names[i]);
    EXPECT_EQ(m.advice, static_cast<Advice>(i)) << names[i];
    EXPECT_EQ(advice_name(m.advice), names[i]);
  }
}

TEST(TraceParser, MlockMunlockUffdWp) {
  EXPECT_EQ(op<Mlock>("mlock 0x1000 2p"), (Mlock{0x1000, 8192}));
  EXPECT_EQ(op<Munlock>("munlock 0x1000 2p"), (Munlock{0x1000, 8192}));
  EXPECT_EQ(op<UffdWp>("uffd_wp 0x1000 2p"), (UffdWp{0x1000, 8192}));
  EXPECT_EQ(op<UffdWp>("uffd_wp 0x1000 2p remap"), (UffdWp{0x1000, 8192, true}));
}

TEST(TraceParser, UffdWpRemapIsOneKeywordAgreedOnByTheWholeTrace) {
  EXPECT_EQ(op_error("uffd_wp 0 1 remap remap\n"), "2:19: duplicate keyword \"remap\"");
  EXPECT_EQ(op_error("uffd_wp 0 1 events\n"), "2:13: expected remap or \"= RESULT\", got \"events\"");
  // One context per trace, made by the first uffd_wp: the others cannot ask for other features.
  EXPECT_EQ(op_error("uffd_wp 0 1 remap\nwrite 0\n  uffd_wp 0 1\n"),
            "4:3: uffd_wp without remap, but the context was created with it on line 2 (every "
            "uffd_wp of a trace agrees on remap)");
  EXPECT_EQ(op_error("uffd_wp 0 1\nuffd_wp 0 1 remap\n"),
            "3:1: uffd_wp with remap, but the context was created without it on line 2 (every "
            "uffd_wp of a trace agrees on remap)");
  Trace t = parse("sdtrace 1\nuffd_wp 0x1000 1p remap = 0\nuffd_wp 0x1000 2p remap\n", "t.sdt");
  ASSERT_EQ(t.lines.size(), 2u);
  EXPECT_EQ(write(t), "sdtrace 1\nuffd_wp 0x1000 1p remap = 0\nuffd_wp 0x1000 2p remap\n");
  expect_round_trip(t);
}

TEST(TraceParser, WriteAndReadDefaultToOneByte) {
  EXPECT_EQ(op<Write>("write 0x1000"), (Write{0x1000, 1}));
  EXPECT_EQ(op<Write>("write 0x1000 3p"), (Write{0x1000, 3 * 4096}));
  EXPECT_EQ(op<Read>("read 0x1000"), (Read{0x1000, 1}));
  EXPECT_EQ(op<Read>("read 0x1fff 2"), (Read{0x1fff, 2}));
}

TEST(TraceParser, NoArgumentOperations) {
  EXPECT_TRUE(std::holds_alternative<ClearRefs>(one("clear_refs").op));
  EXPECT_TRUE(std::holds_alternative<Fork>(one("fork").op));
  EXPECT_TRUE(std::holds_alternative<Epoch>(one("epoch").op));
}

TEST(TraceParser, Scan) {
  EXPECT_EQ(op<Scan>("scan 0x1000 8p"), (Scan{0x1000, 8 * 4096, false, 0, std::nullopt}));
  Scan s = op<Scan>("scan 0x1000 8p vec=0x10 wp max=3");
  EXPECT_TRUE(s.wp);
  EXPECT_EQ(s.max_pages, 3u);
  EXPECT_EQ(s.vec_len, std::optional<std::uint64_t>{16});
  EXPECT_EQ(op<Scan>("scan 0 1 vec=0").vec_len, std::optional<std::uint64_t>{0});
}

TEST(TraceParser, ReclaimTakesNoneOrTwoArguments) {
  EXPECT_EQ(op<Reclaim>("reclaim"), Reclaim{});
  EXPECT_EQ(op<Reclaim>("reclaim = 0"), Reclaim{});
  EXPECT_EQ(op<Reclaim>("reclaim 0x1000 2p"), (Reclaim{0x1000, 8192}));
  EXPECT_EQ(op_error("reclaim 0x1000\n"), "2:15: expected a length like 4096, 0x1000, 16K or 4p, got end of line");
}

TEST(TraceParser, ExpectFields) {
  Expect e = op<Expect>("expect sd 0x1000 4p 0100");
  EXPECT_EQ(e, (Expect{Field::Sd, 0x1000, 4 * 4096, Expect::Form::Bits, "0100", 0}));
  EXPECT_EQ(op<Expect>("expect present 0x1000 4p all0").form, Expect::Form::All0);
  EXPECT_EQ(op<Expect>("expect swapped 0x1000 4p all1").form, Expect::Form::All1);
  EXPECT_EQ(op<Expect>("expect written 0x1000 1 1").field, Field::Written);
  EXPECT_EQ(op<Expect>("expect sdscan 0x1000 2p 01"), (Expect{Field::Sdscan, 0x1000, 2 * 4096, Expect::Form::Bits, "01", 0}));
  EXPECT_EQ(format_line(Line{0, Expect{Field::Sdscan, 0x1000, 4096, Expect::Form::All1, "", 0}, {}}),
            "expect sdscan 0x1000 1p all1");
  Expect v = op<Expect>("expect vmas 0x1000 6p 12");
  EXPECT_EQ(v, (Expect{Field::Vmas, 0x1000, 6 * 4096, Expect::Form::Count, "", 12}));
}

TEST(TraceParser, ExpectBitsCountPagesOverlappingTheRange) {
  EXPECT_EQ(op<Expect>("expect sd 0x1fff 2 11").bits, "11");  // straddles a page boundary
  EXPECT_EQ(op<Expect>("expect sd 0x1000 4097 01").bits, "01");
  EXPECT_EQ(op<Expect>("expect sd 0x1800 1p 10").bits, "10");
  // An empty range has no pages, even at an unaligned address.
  EXPECT_EQ(op<Expect>("expect sd 0x1000 0 all0").form, Expect::Form::All0);
  EXPECT_EQ(op<Expect>("expect sd 0x1001 0 all1").form, Expect::Form::All1);
  EXPECT_EQ(op_error("expect sd 0x1000 0 0\n"), "2:20: expected 0 bits, one per page of [ADDR, ADDR+LEN), got 1");
  EXPECT_EQ(op_error("expect sd 0x1001 0 1\n"), "2:20: expected 0 bits, one per page of [ADDR, ADDR+LEN), got 1");
  EXPECT_EQ(op_error("expect sd 0x1fff 2 1\n"), "2:20: expected 2 bits, one per page of [ADDR, ADDR+LEN), got 1");
}

TEST(TraceParser, PagesSpanned) {
  EXPECT_EQ(pages_spanned(0, 0), 0u);
  EXPECT_EQ(pages_spanned(0x1000, 1), 1u);
  EXPECT_EQ(pages_spanned(0x1001, 0), 0u);
  EXPECT_EQ(pages_spanned(0x1001, 1), 1u);
  EXPECT_EQ(pages_spanned(0x1fff, 2), 2u);
  EXPECT_EQ(pages_spanned(0, kMax), 1ull << 52);  // no overflow near the top
  EXPECT_EQ(pages_spanned(kMax, kMax), (1ull << 52) + 1);
}

// ---------------------------------------------------------------------------------------------
// Results

TEST(TraceParser, Results) {
  EXPECT_EQ(one("munmap 0 1").expected, Result{});
  EXPECT_EQ(one("munmap 0 1 = 0").expected, (Result{Result::Kind::Value, 0, 0}));
  EXPECT_EQ(one("mmap 0x7f00 1 rw- private = 0x7f00").expected, (Result{Result::Kind::Value, 0x7f00, 0}));
  EXPECT_EQ(one("scan 0 1p = 17").expected, (Result{Result::Kind::Value, 17, 0}));
  EXPECT_EQ(one("munmap 0 1 = -EINVAL").expected, (Result{Result::Kind::Errno, 0, 22}));
  EXPECT_EQ(one("mmap 0 1 rw- private = -EOPNOTSUPP").expected.err, 95);
  EXPECT_EQ(one("mmap 0 1 rw- private = -ENOTSUP").expected.err, 95);  // alias
  EXPECT_EQ(one("write 0 = SIGSEGV").expected.kind, Result::Kind::Sigsegv);
  EXPECT_EQ(one("read 0 1p = SIGSEGV").expected.kind, Result::Kind::Sigsegv);
  // sdmc's extension of the contract (traces/README.md): a file page beyond i_size.
  EXPECT_EQ(one("write 0 = SIGBUS").expected, (Result{Result::Kind::Sigbus, 0, 0}));
  EXPECT_EQ(one("read 0 1p = SIGBUS").expected.kind, Result::Kind::Sigbus);
  // The parser does not judge values: a result the kernel cannot give is replay's mismatch.
  EXPECT_EQ(one("munmap 0 1 = 7").expected.value, 7u);
}

TEST(TraceParser, ResultErrors) {
  EXPECT_EQ(op_error("munmap 0 1 =\n"),
            "2:13: expected a result (a number, -ENAME, SIGSEGV or SIGBUS), got end of line");
  EXPECT_EQ(op_error("munmap 0 1 = -EFOO\n"), "2:14: expected an errno name like -EINVAL, got \"-EFOO\"");
  EXPECT_EQ(op_error("munmap 0 1 = -22\n"), "2:14: expected an errno name like -EINVAL, got \"-22\"");
  EXPECT_EQ(op_error("write 0 = SIGILL\n"),
            "2:11: expected a result (a number, -ENAME, SIGSEGV or SIGBUS), got \"SIGILL\"");
  EXPECT_EQ(op_error("read 0 = sigbus\n"),
            "2:10: expected a result (a number, -ENAME, SIGSEGV or SIGBUS), got \"sigbus\"");
  EXPECT_EQ(op_error("mmap 0 1 rw- private = SIGSEGV\n"), "2:24: SIGSEGV is a result only of read or write");
  EXPECT_EQ(op_error("clear_refs = SIGSEGV\n"), "2:14: SIGSEGV is a result only of read or write");
  EXPECT_EQ(op_error("munmap 0 1 = SIGBUS\n"), "2:14: SIGBUS is a result only of read or write");
  EXPECT_EQ(op_error("mlock 0 1p = SIGBUS\n"), "2:14: SIGBUS is a result only of read or write");
  EXPECT_EQ(op_error("munmap 0 1 = 0 0\n"), "2:16: expected end of line after the result, got \"0\"");
  EXPECT_EQ(op_error("munmap 0 1 = 1p\n"),
            "2:14: expected a result (a number, -ENAME, SIGSEGV or SIGBUS), got \"1p\" (only a length or offset "
            "takes a K/M/G/p suffix)");
  EXPECT_EQ(op_error("munmap 0 1 =0\n"), "2:12: expected \"= RESULT\" or end of line, got \"=0\"");
  EXPECT_EQ(op_error("expect sd 0 1p all0 = 0\n"), "2:21: expect takes no \"= RESULT\"");
  EXPECT_EQ(op_error("epoch = 0\n"), "2:7: epoch takes no \"= RESULT\"");
  EXPECT_EQ(op_error("epoch now\n"), "2:7: expected end of line, got \"now\"");
}

// ---------------------------------------------------------------------------------------------
// Numbers

TEST(TraceParser, NumbersDecimalHexAndSuffixes) {
  EXPECT_EQ(op<Munmap>("munmap 0xABCdef 16K").addr, 0xabcdefu);
  EXPECT_EQ(op<Munmap>("munmap 0 16K").len, 16384u);
  EXPECT_EQ(op<Munmap>("munmap 0 4p").len, 16384u);
  EXPECT_EQ(op<Munmap>("munmap 0 16384").len, 16384u);
  EXPECT_EQ(op<Munmap>("munmap 0 3M").len, 3u << 20);
  EXPECT_EQ(op<Munmap>("munmap 0 2G").len, 2ull << 30);
  EXPECT_EQ(op<Munmap>("munmap 0 0x10p").len, 16u * 4096);
  EXPECT_EQ(op<Munmap>("munmap 0 007").len, 7u);  // decimal, not octal
  EXPECT_EQ(op<Munmap>("munmap 18446744073709551615 0xffffffffffffffff").addr, kMax);
  EXPECT_EQ(op<Munmap>("munmap 0 4503599627370495p").len, kMax - 4095);
  EXPECT_EQ(op<Mmap>("mmap 0 1 rw- private file=f@3G").file->offset, 3ull << 30);
  EXPECT_EQ(op<Expect>("expect vmas 0 1 007").count, 7u);
}

TEST(TraceParser, NumberErrors) {
  const std::string len = "a length like 4096, 0x1000, 16K or 4p";
  EXPECT_EQ(op_error("munmap 0x 1\n"), "2:8: expected an address like 0x1000, got \"0x\"");
  EXPECT_EQ(op_error("munmap 0X10 1\n"), "2:8: expected an address like 0x1000, got \"0X10\"");
  EXPECT_EQ(op_error("munmap 0x10g 1\n"), "2:8: expected an address like 0x1000, got \"0x10g\"");
  EXPECT_EQ(op_error("munmap -1 1\n"), "2:8: expected an address like 0x1000, got \"-1\"");
  EXPECT_EQ(op_error("munmap 0 4k\n"), "2:10: expected " + len + ", got \"4k\"");
  EXPECT_EQ(op_error("munmap 0 4KK\n"), "2:10: expected " + len + ", got \"4KK\"");
  EXPECT_EQ(op_error("munmap 0 K\n"), "2:10: expected " + len + ", got \"K\"");
  EXPECT_EQ(op_error("munmap 0x10000000000000000 1\n"),
            "2:8: expected an address like 0x1000, got \"0x10000000000000000\", which does not fit in 64 bits");
  EXPECT_EQ(op_error("munmap 0 18446744073709551616\n"),
            "2:10: expected " + len + ", got \"18446744073709551616\", which does not fit in 64 bits");
  EXPECT_EQ(op_error("munmap 0 4503599627370496p\n"),
            "2:10: expected " + len + ", got \"4503599627370496p\", which does not fit in 64 bits");
  EXPECT_EQ(op_error("munmap 0 17179869184G\n"),
            "2:10: expected " + len + ", got \"17179869184G\", which does not fit in 64 bits");
  EXPECT_EQ(op_error("munmap 4K 1\n"),
            "2:8: expected an address like 0x1000, got \"4K\" (only a length or offset takes a K/M/G/p suffix)");
  EXPECT_EQ(op_error("brk 0 1p\n"),
            "2:7: expected an address like 0x1000, got \"1p\" (only a length or offset takes a K/M/G/p suffix)");
  EXPECT_EQ(op_error("mremap 0 1p 1p fixed 4K\n"),
            "2:22: expected an address like 0x1000, got \"4K\" (only a length or offset takes a K/M/G/p suffix)");
  EXPECT_EQ(op_error("scan 0 1p max=4K\n"),
            "2:15: expected a page count like 16, got \"4K\" (only a length or offset takes a K/M/G/p suffix)");
  EXPECT_EQ(op_error("expect vmas 0 1p 0x2\n"), "2:18: expected a VMA count like 2, got \"0x2\" (a count is decimal)");
  EXPECT_EQ(op_error("expect vmas 0 1p 2p\n"), "2:18: expected a VMA count like 2, got \"2p\" (a count is decimal)");
  EXPECT_EQ(op_error("expect vmas 0 1p two\n"), "2:18: expected a VMA count like 2, got \"two\"");
  EXPECT_EQ(op_error("expect vmas 0 1p 99999999999999999999\n"),
            "2:18: expected a VMA count like 2, got \"99999999999999999999\", which does not fit in 64 bits");
}

// ---------------------------------------------------------------------------------------------
// Lexical rules and headers

TEST(TraceParser, CommentsBlankLinesTabsAndLineNumbers) {
  Trace t = parse(
      "# leading comment\n"
      "\n"
      "   \t\n"
      "sdtrace 1   # version\n"
      "#sdtrace 2\n"
      "\tmunmap\t0x1000   1p# no space needed before a comment\n"
      "write 0x1000#1p: a comment starts even inside a token\n"
      "clear_refs",  // no final newline
      "t.sdt");
  ASSERT_EQ(t.lines.size(), 3u);
  EXPECT_EQ(t.lines[0].lineno, 6);
  EXPECT_EQ(std::get<Munmap>(t.lines[0].op), (Munmap{0x1000, 4096}));
  EXPECT_EQ(t.lines[1].lineno, 7);
  EXPECT_EQ(std::get<Write>(t.lines[1].op).len, 1u);
  EXPECT_EQ(t.lines[2].lineno, 8);
  EXPECT_EQ(t.path, "t.sdt");
}

TEST(TraceParser, OnlySpacesAndTabsSeparateTokens) {
  // A CR (from CRLF line ends) is part of the token, so the line is rejected, not misread.
  EXPECT_EQ(op_error("clear_refs\r\n"), "2:1: expected an operation like mmap or write, got \"clear_refs\\x0d\"");
  EXPECT_EQ(op_error("munmap 0\v1\n"), "2:8: expected an address like 0x1000, got \"0\\x0b1\"");
}

TEST(TraceParser, Headers) {
  Trace t = parse("sdtrace 1\nswap on\nkernel 6.18.44-amd64\nclear_refs\n", "t.sdt");
  EXPECT_EQ(t.kernel, std::optional<std::string>{"6.18.44-amd64"});
  EXPECT_TRUE(t.swap);
  EXPECT_EQ(t.lines.size(), 1u);
  EXPECT_FALSE(parse("sdtrace 1\nswap off\n", "t.sdt").swap);
  Trace bare = parse("sdtrace 1\n", "t.sdt");
  EXPECT_FALSE(bare.swap);
  EXPECT_FALSE(bare.kernel);
  EXPECT_TRUE(bare.lines.empty());
}

TEST(TraceParser, VersionAndHeaderErrors) {
  EXPECT_EQ(error_of(""), "1:1: expected \"sdtrace 1\", got end of file");
  EXPECT_EQ(error_of("# only a comment\n\n"), "3:1: expected \"sdtrace 1\", got end of file");
  EXPECT_EQ(error_of("\n  mmap 0 1 rw- private\n"), "2:3: expected \"sdtrace 1\" first, got \"mmap\"");
  EXPECT_EQ(error_of("kernel 6.1\nsdtrace 1\n"), "1:1: expected \"sdtrace 1\" first, got \"kernel\"");
  EXPECT_EQ(error_of("sdtrace\n"), "1:8: expected the version 1, got end of line");
  EXPECT_EQ(error_of("sdtrace 2\n"), "1:9: expected the version 1 (this reader knows sdtrace 1 only), got \"2\"");
  EXPECT_EQ(error_of("sdtrace 0x1\n"), "1:9: expected the version 1 (this reader knows sdtrace 1 only), got \"0x1\"");
  EXPECT_EQ(error_of("sdtrace 1 1\n"), "1:11: expected end of line, got \"1\"");
  EXPECT_EQ(op_error("sdtrace 1\n"), "2:1: duplicate \"sdtrace\" line: only the first line names the version");
  EXPECT_EQ(op_error("kernel\n"), "2:7: expected a kernel release like 6.12.0, got end of line");
  EXPECT_EQ(op_error("kernel 6.1 x\n"), "2:12: expected end of line, got \"x\"");
  EXPECT_EQ(op_error("swap yes\n"), "2:6: expected on or off, got \"yes\"");
  EXPECT_EQ(op_error("swap\n"), "2:5: expected on or off, got end of line");
  EXPECT_EQ(op_error("swap on\n# c\n swap off\n"), "4:2: duplicate \"swap\" header (first on line 2)");
  EXPECT_EQ(op_error("kernel 1\nkernel 1\n"), "3:1: duplicate \"kernel\" header (first on line 2)");
  EXPECT_EQ(op_error("swap on\nfork\nkernel 6.1\n"),
            "4:1: \"kernel\" header after the first operation (line 3); headers come first");
  EXPECT_EQ(op_error("epoch\nswap on\n"), "3:1: \"swap\" header after the first operation (line 2); headers come first");
  EXPECT_EQ(op_error("fork\nmmmap 0 1 rw- private\n"), "3:1: expected an operation like mmap or write, got \"mmmap\"");
  EXPECT_EQ(op_error("MMAP 0 1 rw- private\n"), "2:1: expected an operation like mmap or write, got \"MMAP\"");
}

// ---------------------------------------------------------------------------------------------
// Errors inside operations, with exact positions

TEST(TraceParser, TheBriefsExampleMessage) {
  EXPECT_EQ(op_error("\n\n\n\n\nmmap 0x1 1 rwz private\n"),
            "7:12: expected a protection like rw- or ---, got \"rwz\"");
  try {
    parse("sdtrace 1\nmmap 0 1 rwz private\n", "t.sdt");
    FAIL();
  } catch (const ParseError& e) {
    EXPECT_STREQ(e.what(), "t.sdt:2:10: expected a protection like rw- or ---, got \"rwz\"");
    EXPECT_EQ(e.line, 2);
    EXPECT_EQ(e.column, 10);
  }
}

TEST(TraceParser, ArgumentErrors) {
  EXPECT_EQ(op_error("mmap 0 1 -w- private\n"), "2:10: expected a protection like rw- or ---, got \"-w-\"");
  EXPECT_EQ(op_error("mmap 0 1 rw-\n"), "2:13: expected private, shared or droppable, got end of line");
  EXPECT_EQ(op_error("mmap 0 1 rw- anon\n"), "2:14: expected private, shared or droppable, got \"anon\"");
  EXPECT_EQ(op_error("munmap\n"), "2:7: expected an address like 0x1000, got end of line");
  EXPECT_EQ(op_error("munmap 0 1 1\n"), "2:12: expected \"= RESULT\" or end of line, got \"1\"");
  EXPECT_EQ(op_error("mprotect 0 1\n"), "2:13: expected a protection like rw- or ---, got end of line");
  EXPECT_EQ(op_error("madvise 0 1 MADV_DONTNEED\n"),
            "2:13: expected an advice like dontneed (an MADV_ name in lower case), got \"MADV_DONTNEED\"");
  EXPECT_EQ(op_error("madvise 0 1\n"), "2:12: expected an advice like dontneed, got end of line");
  EXPECT_EQ(op_error("write 0 1 2\n"), "2:11: expected \"= RESULT\" or end of line, got \"2\"");
  EXPECT_EQ(op_error("clear_refs now\n"), "2:12: expected \"= RESULT\" or end of line, got \"now\"");
  EXPECT_EQ(op_error("reclaim 0 1 2\n"), "2:13: expected \"= RESULT\" or end of line, got \"2\"");
  EXPECT_EQ(op_error("brk 0x1000\n"), "2:11: expected an address like 0x1000, got end of line");
}

TEST(TraceParser, MmapKeywordErrors) {
  const std::string kw = "expected file=NAME@OFFSET, ro, fixed, populate, noreserve, stack or \"= RESULT\"";
  EXPECT_EQ(op_error("mmap 0 1 rw- private anon\n"), "2:22: " + kw + ", got \"anon\"");
  EXPECT_EQ(op_error("mmap 0 1 rw- private fixed populate fixed\n"), "2:37: duplicate keyword \"fixed\"");
  EXPECT_EQ(op_error("mmap 0 1 rw- private stack stack\n"), "2:28: duplicate keyword \"stack\"");
  EXPECT_EQ(op_error("mmap 0 1 rw- private ro\n"), "2:22: \"ro\" is only valid with file=NAME@OFFSET");
  EXPECT_EQ(op_error("mmap 0 1 rw- private file=a@0 ro ro\n"), "2:34: duplicate keyword \"ro\"");
  EXPECT_EQ(op_error("mmap 0 1 rw- private file=a@0 file=b@0\n"), "2:31: duplicate keyword \"file=\"");
  EXPECT_EQ(op_error("mmap 0 1 rw- private file=a\n"), "2:22: expected file=NAME@OFFSET, got \"file=a\"");
  EXPECT_EQ(op_error("mmap 0 1 rw- private file=a@\n"), "2:29: expected an offset like 0 or 4p, got \"\"");
  EXPECT_EQ(op_error("mmap 0 1 rw- private file=a@1q\n"), "2:29: expected an offset like 0 or 4p, got \"1q\"");
  EXPECT_EQ(op_error("mmap 0 1 rw- private file=@0\n"),
            "2:27: expected a file name of [A-Za-z0-9._/+-], got \"\"");
  EXPECT_EQ(op_error("mmap 0 1 rw- private file=a*b@0\n"),
            "2:27: expected a file name of [A-Za-z0-9._/+-], got \"a*b\"");
  EXPECT_EQ(op_error("mmap 0 1 rw- private file=a@b@0\n"), "2:29: expected an offset like 0 or 4p, got \"b@0\"");
  EXPECT_EQ(op_error("mmap 0 1 rw- private FIXED\n"), "2:22: " + kw + ", got \"FIXED\"");
}

TEST(TraceParser, MremapAndScanKeywordErrors) {
  EXPECT_EQ(op_error("mremap 0 1p\n"), "2:12: expected a length like 4096, 0x1000, 16K or 4p, got end of line");
  EXPECT_EQ(op_error("mremap 0 1p 2p fixed\n"), "2:21: expected an address like 0x1000, got end of line");
  EXPECT_EQ(op_error("mremap 0 1p 2p fixed 0 fixed 0\n"), "2:24: duplicate keyword \"fixed\"");
  EXPECT_EQ(op_error("mremap 0 1p 2p maymove maymove\n"), "2:24: duplicate keyword \"maymove\"");
  EXPECT_EQ(op_error("mremap 0 1p 2p dontunmap dontunmap\n"), "2:26: duplicate keyword \"dontunmap\"");
  EXPECT_EQ(op_error("mremap 0 1p 2p move\n"),
            "2:16: expected maymove, fixed NEW, dontunmap or \"= RESULT\", got \"move\"");
  EXPECT_EQ(op_error("scan 0 1p wp wp\n"), "2:14: duplicate keyword \"wp\"");
  EXPECT_EQ(op_error("scan 0 1p max=1 max=1\n"), "2:17: duplicate keyword \"max=\"");
  EXPECT_EQ(op_error("scan 0 1p vec=1 vec=2\n"), "2:17: duplicate keyword \"vec=\"");
  EXPECT_EQ(op_error("scan 0 1p max=\n"), "2:15: expected a page count like 16, got \"\"");
  EXPECT_EQ(op_error("scan 0 1p vec=x\n"), "2:15: expected a vector length like 16, got \"x\"");
  EXPECT_EQ(op_error("scan 0 1p max 1\n"), "2:11: expected wp, max=N, vec=N or \"= RESULT\", got \"max\"");
}

TEST(TraceParser, ExpectErrors) {
  EXPECT_EQ(op_error("expect dirty 0 1p all0\n"),
            "2:8: expected a field: sd, present, swapped, written, sdscan or vmas, got \"dirty\"");
  EXPECT_EQ(op_error("expect sd 0 1p\n"), "2:15: expected a bit string like 0110, all0 or all1, got end of line");
  EXPECT_EQ(op_error("expect sd 0 2p 0x\n"),
            "2:16: expected a bit string like 0110 (one 0/1 per page), all0 or all1, got \"0x\"");
  EXPECT_EQ(op_error("expect sd 0 2p all2\n"),
            "2:16: expected a bit string like 0110 (one 0/1 per page), all0 or all1, got \"all2\"");
  EXPECT_EQ(op_error("expect sd 0 2p 011\n"), "2:16: expected 2 bits, one per page of [ADDR, ADDR+LEN), got 3");
  EXPECT_EQ(op_error("expect vmas 0 2p all0\n"), "2:18: expected a VMA count like 2, got \"all0\"");
  EXPECT_EQ(op_error("expect vmas 0 2p 1 1\n"), "2:20: expected end of line, got \"1\"");
}

TEST(TraceParser, MessagesQuoteOddBytesAndShortenLongTokens) {
  EXPECT_EQ(op_error("mmap 0 1 \"\\\xff private\n"),
            "2:10: expected a protection like rw- or ---, got \"\\\"\\\\\\xff\"");
  std::string err = op_error("write " + std::string(200, '9') + "\n");
  EXPECT_NE(err.find(std::string(60, '9') + "...\""), std::string::npos) << err;
  EXPECT_LT(err.size(), 160u);
}

TEST(TraceParser, ErrorsReportTheFirstBadLine) {
  EXPECT_EQ(op_error("fork\nfork\nmunmap 0 x\nmunmap x 0\n"),
            "4:10: expected a length like 4096, 0x1000, 16K or 4p, got \"x\"");
}

// ---------------------------------------------------------------------------------------------
// Files

TEST(TraceParser, ParseFile) {
  fs::path dir = fs::temp_directory_path() / ("sdmc_trace_parser_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  fs::path good = dir / "good.sdt";
  {
    std::FILE* f = std::fopen(good.c_str(), "w");
    ASSERT_TRUE(f);
    std::fputs("sdtrace 1\nfork\nbogus\n", f);
    std::fclose(f);
  }
  try {
    parse_file(good.string());
    FAIL();
  } catch (const ParseError& e) {
    EXPECT_EQ(e.file, good.string());
    EXPECT_EQ(e.line, 3);
    EXPECT_EQ(e.column, 1);
  }
  try {
    parse_file((dir / "missing.sdt").string());
    FAIL();
  } catch (const ParseError& e) {
    EXPECT_EQ(e.line, 0);
    EXPECT_EQ(e.column, 0);
    EXPECT_EQ(std::string(e.what()), (dir / "missing.sdt").string() + ":0:0: cannot read: No such file or directory");
  }
  try {
    parse_file(dir.string());
    FAIL();
  } catch (const ParseError& e) {
    EXPECT_EQ(std::string(e.what()), dir.string() + ":0:0: cannot read: Is a directory");
  }
  fs::remove_all(dir);
}

// ---------------------------------------------------------------------------------------------
// Writer

TEST(TraceWriter, CanonicalTextOfEveryForm) {
  const std::string in =
      "sdtrace 1\nswap on\nkernel 6.12.117\n"
      "mmap 4096 0x4000 rw- private fixed file=m@4096 ro = 4096\n"
      "munmap 0x1000 0\n"
      "write 0x1000 1\n"
      "write 0x1000 4097 = 0\n"
      "read 0x1000 1G = SIGSEGV\n"
      "write 0x1000 8K = SIGBUS\n"
      "mremap 0x1000 1p 16K fixed 8192 maymove = 0x2000\n"
      "scan 0x1000 1p max=0 vec=0x10 wp = 3\n"
      "reclaim 0x1000 4p\n"
      "madvise 0x1000 1p free = -EWOULDBLOCK\n"
      "brk 0x1000 0x2000 = 4095\n"
      "expect sd 0x1000 2p 01\n"
      "expect vmas 0x1000 2p 3\n";
  const std::string out =
      "sdtrace 1\nkernel 6.12.117\nswap on\n"
      "mmap 0x1000 4p rw- private file=m@1p ro fixed = 0x1000\n"
      "munmap 0x1000 0\n"
      "write 0x1000\n"
      "write 0x1000 4097 = 0\n"
      "read 0x1000 262144p = SIGSEGV\n"
      "write 0x1000 2p = SIGBUS\n"
      "mremap 0x1000 1p 4p maymove fixed 0x2000 = 0x2000\n"
      "scan 0x1000 1p wp vec=16 = 3\n"
      "reclaim 0x1000 4p\n"
      "madvise 0x1000 1p free = -EAGAIN\n"
      "brk 0x1000 0x2000 = 4095\n"
      "expect sd 0x1000 2p 01\n"
      "expect vmas 0x1000 2p 3\n";
  Trace t = parse(in, "t.sdt");
  EXPECT_EQ(write(t), out);
  expect_round_trip(t);
}

TEST(TraceWriter, FormatLineAndResult) {
  Mmap m;
  m.addr = 0x1000;
  m.len = 4 * 4096;
  m.prot = PROT_R | PROT_W;
  Line l{0, m, {Result::Kind::Value, 0x1000, 0}};
  EXPECT_EQ(format_line(l), "mmap 0x1000 4p rw- private = 0x1000");
  EXPECT_EQ(format_result({}), "");
  EXPECT_EQ(format_result({Result::Kind::Value, 0, 0}), "0");
  EXPECT_EQ(format_result({Result::Kind::Value, 4095, 0}), "4095");
  EXPECT_EQ(format_result({Result::Kind::Value, 4096, 0}), "0x1000");
  EXPECT_EQ(format_result({Result::Kind::Errno, 0, 22}), "-EINVAL");
  EXPECT_EQ(format_result({Result::Kind::Errno, 0, 500}), "-500");
  EXPECT_EQ(format_result({Result::Kind::Sigsegv, 0, 0}), "SIGSEGV");
  EXPECT_EQ(format_result({Result::Kind::Sigbus, 0, 0}), "SIGBUS");
  l = Line{0, Read{0x1000, 8192}, {Result::Kind::Sigbus, 0, 0}};
  EXPECT_EQ(format_line(l), "read 0x1000 2p = SIGBUS");
  EXPECT_EQ(parse("sdtrace 1\n" + format_line(l) + "\n", "t.sdt").lines.at(0).expected, l.expected);
  EXPECT_EQ(format_line(Line{0, Expect{Field::Present, 0, 4096, Expect::Form::All1, "", 0}, {}}),
            "expect present 0x0 1p all1");
}

// ---------------------------------------------------------------------------------------------
// Names

TEST(TraceNames, ErrnoTableMatchesLinux) {
  // The table spells out its numbers; the host's <errno.h> (Linux x86-64) must agree.
  const std::pair<const char*, int> host[] = {
      {"EPERM", EPERM},   {"ENOENT", ENOENT},   {"ESRCH", ESRCH},       {"EINTR", EINTR},
      {"EIO", EIO},       {"ENXIO", ENXIO},     {"E2BIG", E2BIG},       {"ENOEXEC", ENOEXEC},
      {"EBADF", EBADF},   {"ECHILD", ECHILD},   {"EAGAIN", EAGAIN},     {"ENOMEM", ENOMEM},
      {"EACCES", EACCES}, {"EFAULT", EFAULT},   {"EBUSY", EBUSY},       {"EEXIST", EEXIST},
      {"EXDEV", EXDEV},   {"ENODEV", ENODEV},   {"ENOTDIR", ENOTDIR},   {"EISDIR", EISDIR},
      {"EINVAL", EINVAL}, {"ENFILE", ENFILE},   {"EMFILE", EMFILE},     {"ENOTTY", ENOTTY},
      {"EFBIG", EFBIG},   {"ENOSPC", ENOSPC},   {"ESPIPE", ESPIPE},     {"EROFS", EROFS},
      {"EMLINK", EMLINK}, {"EPIPE", EPIPE},     {"EDOM", EDOM},         {"ERANGE", ERANGE},
      {"ENOSYS", ENOSYS}, {"EOVERFLOW", EOVERFLOW}, {"EOPNOTSUPP", EOPNOTSUPP},
      {"ETIMEDOUT", ETIMEDOUT}, {"EHWPOISON", EHWPOISON}, {"ENOTRECOVERABLE", ENOTRECOVERABLE},
      {"EWOULDBLOCK", EWOULDBLOCK}, {"EDEADLOCK", EDEADLOCK}, {"ENOTSUP", ENOTSUP},
  };
  for (auto [name, number] : host) EXPECT_EQ(errno_from_name(name), std::optional<int>{number}) << name;
  EXPECT_EQ(errno_from_name("EOPNOTSUPP"), std::optional<int>{95});
  EXPECT_EQ(errno_name(95), "EOPNOTSUPP");
  EXPECT_EQ(errno_name(11), "EAGAIN");
  EXPECT_EQ(errno_name(35), "EDEADLK");
  EXPECT_EQ(errno_name(0), "");
  EXPECT_EQ(errno_name(41), "");
  EXPECT_EQ(errno_from_name("einval"), std::nullopt);
  // Every number 1..133 except the two holes of asm-generic/errno.h has a name.
  for (int e = 1; e <= 133; ++e) {
    if (e == 41 || e == 58) continue;
    EXPECT_NE(errno_name(e), "") << e;
  }
}

TEST(TraceNames, OtherNames) {
  EXPECT_EQ(prot_string(PROT_R | PROT_W), "rw-");
  EXPECT_EQ(prot_string(PROT_W | PROT_X), "-wx");
  EXPECT_EQ(field_name(Field::Written), "written");
  EXPECT_EQ(field_name(Field::Sdscan), "sdscan");
  EXPECT_EQ(sharing_name(Sharing::Droppable), "droppable");
  EXPECT_EQ(op_name(Op{ClearRefs{}}), "clear_refs");
  EXPECT_EQ(op_name(Op{UffdWp{}}), "uffd_wp");
  EXPECT_EQ(op_name(Op{Expect{}}), "expect");
}

// ---------------------------------------------------------------------------------------------
// Round trips

TEST(TraceRoundTrip, FormatDocumentExample) {
  const char* example =
      "sdtrace 1\n"
      "mmap 0x100000000 4p rw- private\n"
      "write 0x100000000 4p\n"
      "clear_refs\n"
      "expect sd 0x100000000 4p all0\n"
      "write 0x100001000          # page 1\n"
      "expect sd 0x100000000 4p 0100\n"
      "mmap 0x100004000 2p rw- private   # adjacent: merges with the first mapping\n"
      "expect vmas 0x100000000 6p 1\n";
  Trace t = parse(example, "example.sdt");
  ASSERT_EQ(t.lines.size(), 8u);
  EXPECT_EQ(std::get<Write>(t.lines[4].op), (Write{0x100001000, 1}));
  EXPECT_EQ(t.lines[4].lineno, 6);
  EXPECT_EQ(std::get<Expect>(t.lines[7].op).count, 1u);
  expect_round_trip(t);
}

// Every file under traces/examples/ and the fuzz seed corpus, found at run time.
TEST(TraceRoundTrip, ExampleAndCorpusFiles) {
  int files = 0;
  for (const char* sub : {"/traces/examples", "/traces/fuzz/corpus"}) {
    fs::path dir = fs::path(SDMC_SOURCE_DIR) / (sub + 1);
    ASSERT_TRUE(fs::is_directory(dir)) << dir;
    for (const auto& entry : fs::recursive_directory_iterator(dir)) {
      if (!entry.is_regular_file()) continue;
      ++files;
      SCOPED_TRACE(entry.path().string());
      Trace t;
      ASSERT_NO_THROW(t = parse_file(entry.path().string()));
      expect_round_trip(t);
    }
  }
  EXPECT_GE(files, 3);  // the corpus alone has three
}

// A deterministic generator of every Trace the parser can produce.
class TraceGen {
 public:
  explicit TraceGen(std::uint64_t seed) : rng_(seed) {}

  Trace trace() {
    Trace t;
    if (pick(2)) t.kernel = token();
    t.swap = pick(2);
    for (int i = 0, n = static_cast<int>(pick(30)); i < n; ++i) t.lines.push_back(line());
    return t;
  }

 private:
  std::uint64_t pick(std::uint64_t n) { return std::uniform_int_distribution<std::uint64_t>(0, n - 1)(rng_); }
  bool coin() { return pick(2) == 1; }

  // Values that stress every spelling: small, page multiples, odd, huge, extremes.
  std::uint64_t value() {
    switch (pick(7)) {
      case 0: return 0;
      case 1: return 1 + pick(4096);
      case 2: return 4096 * pick(1 << 20);
      case 3: return (pick(1ull << 36) << 12) + pick(2) * pick(4096);
      case 4: return rng_();
      case 5: return kMax - pick(8192);
      default: return (kMax / 4096 - pick(4)) * 4096;  // largest page multiples
    }
  }
  std::uint64_t small_len() { return coin() ? 4096 * pick(70) : pick(70 * 4096); }

  std::string token() {
    std::string s;  // any bytes but space, tab, '#' and '\n' form a token
    for (int i = 0, n = 1 + static_cast<int>(pick(12)); i < n; ++i) {
      char c;
      do c = static_cast<char>(pick(256)); while (c == ' ' || c == '\t' || c == '#' || c == '\n');
      s += c;
    }
    return s;
  }
  std::string file_name() {
    static const std::string chars = "ABCXYZabcxyz0189._/+-";
    std::string s;
    for (int i = 0, n = 1 + static_cast<int>(pick(10)); i < n; ++i) s += chars[pick(chars.size())];
    return s;
  }
  std::uint8_t prot() {
    const std::uint8_t prots[] = {PROT_NONE_, PROT_R, PROT_R | PROT_W, PROT_R | PROT_X, PROT_R | PROT_W | PROT_X};
    return prots[pick(5)];
  }

  Expect expect() {
    Expect e;
    e.field = static_cast<Field>(pick(5));
    e.addr = coin() ? value() : 4096 * pick(100) + pick(3) * pick(4096);
    if (e.field == Field::Vmas) {
      e.len = value();
      e.form = Expect::Form::Count;
      e.count = coin() ? pick(10) : value();
      return e;
    }
    e.len = small_len();
    std::uint64_t pages = pages_spanned(e.addr, e.len);
    switch (pages == 0 ? pick(2) : pick(3)) {
      case 0: e.form = Expect::Form::All0; break;
      case 1: e.form = Expect::Form::All1; break;
      default:
        e.form = Expect::Form::Bits;
        for (std::uint64_t i = 0; i < pages; ++i) e.bits += coin() ? '1' : '0';
    }
    return e;
  }

  Op op() {
    switch (pick(17)) {
      case 0: {
        Mmap m{value(), value(), prot(), static_cast<Sharing>(pick(3)), {}, coin(), coin(), coin(), coin()};
        if (coin()) m.file = FileRef{file_name(), value(), coin()};
        return m;
      }
      case 1: return Munmap{value(), value()};
      case 2: return Brk{value(), value()};
      case 3: return Mprotect{value(), value(), prot()};
      case 4: {
        Mremap m{value(), value(), value(), coin(), {}, coin()};
        if (coin()) m.fixed = value();
        return m;
      }
      case 5: return Madvise{value(), value(), static_cast<Advice>(pick(17))};
      case 6: return Mlock{value(), value()};
      case 7: return Munlock{value(), value()};
      case 8: return Write{value(), coin() ? 1 : value()};
      case 9: return Read{value(), coin() ? 1 : value()};
      case 10: return ClearRefs{};
      case 11: return UffdWp{value(), value()};
      case 12: {
        Scan s{value(), value(), coin(), coin() ? 0 : value(), {}};
        if (coin()) s.vec_len = value();
        return s;
      }
      case 13: return coin() ? Reclaim{} : Reclaim{value(), value()};
      case 14: return Fork{};
      case 15: return Epoch{};
      default: return expect();
    }
  }

  Line line() {
    Line l{0, op(), {}};
    if (std::holds_alternative<Expect>(l.op) || std::holds_alternative<Epoch>(l.op)) return l;
    bool access = std::holds_alternative<Read>(l.op) || std::holds_alternative<Write>(l.op);
    switch (pick(access ? 5 : 3)) {
      case 0: break;
      case 1: l.expected = {Result::Kind::Value, value(), 0}; break;
      case 2: {
        int e;
        do e = 1 + static_cast<int>(pick(133)); while (e == 41 || e == 58);
        l.expected = {Result::Kind::Errno, 0, e};
        break;
      }
      case 3: l.expected = {Result::Kind::Sigsegv, 0, 0}; break;
      default: l.expected = {Result::Kind::Sigbus, 0, 0};
    }
    return l;
  }

  std::mt19937_64 rng_;
};

TEST(TraceRoundTrip, RandomTraces) {
  TraceGen gen(20260522);
  std::size_t lines = 0;
  for (int i = 0; i < 3000; ++i) {
    Trace t = gen.trace();
    lines += t.lines.size();
    std::string text = write(t);
    Trace back;
    try {
      back = parse(text, "random.sdt");
    } catch (const ParseError& e) {
      FAIL() << "trace " << i << ": " << e.what() << "\n" << text;
    }
    ASSERT_EQ(back, t) << "trace " << i << ":\n" << text;
    ASSERT_EQ(write(back), text) << "trace " << i;
  }
  EXPECT_GT(lines, 30000u);
}

}  // namespace
