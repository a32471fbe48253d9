// record/translate.cpp: a memory system call as the recorder or the strace importer sees it
// becomes the sdtrace line(s) that replay it, or a comment when sdtrace cannot express it.
#include <gtest/gtest.h>
#include <sys/mman.h>

#include "record/mem_call.hpp"

using namespace sdmc::record;

namespace {

mem_call call(mem_sys s, std::vector<std::uint64_t> args, std::int64_t ret) {
  mem_call c;
  c.sys = s;
  c.name = "call";
  for (std::size_t i = 0; i < args.size(); ++i) c.args[i] = args[i];
  c.ret = ret;
  return c;
}

std::vector<std::string> lines(const translated& t) {
  std::vector<std::string> out;
  for (const auto& l : t.lines) out.push_back(sdmc::trace::format_line(l));
  return out;
}

TEST(RecordTranslate, MmapNamesTheAddressTheKernelChose) {
  translator tr;
  auto t = tr(call(mem_sys::mmap, {0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                                   static_cast<std::uint64_t>(-1), 0},
                   0x7f0000000000));
  EXPECT_EQ(lines(t), (std::vector<std::string>{"mmap 0x7f0000000000 2p rw- private = 0x7f0000000000"}));
}

TEST(RecordTranslate, WriteAndExecImplyReadOnX86) {
  EXPECT_EQ(prot_of(PROT_WRITE), sdmc::trace::PROT_R | sdmc::trace::PROT_W);
  EXPECT_EQ(prot_of(PROT_EXEC), sdmc::trace::PROT_R | sdmc::trace::PROT_X);
  EXPECT_EQ(prot_of(PROT_NONE), 0);
  EXPECT_FALSE(prot_of(PROT_READ | 0x8));  // PROT_SEM has no sdtrace name
}

TEST(RecordTranslate, MapLockedIsMmapThenMlock) {
  translator tr;
  auto t = tr(call(mem_sys::mmap, {0x10000000, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED,
                                   static_cast<std::uint64_t>(-1), 0},
                   0x10000000));
  EXPECT_EQ(lines(t), (std::vector<std::string>{"mmap 0x10000000 1p r-- private = 0x10000000",
                                                "mlock 0x10000000 1p = 0"}));
}

TEST(RecordTranslate, FailedMmapWithoutAnAddressIsAComment) {
  translator tr;
  auto t = tr(call(mem_sys::mmap, {0, 1ull << 40, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
                                   static_cast<std::uint64_t>(-1), 0},
                   -ENOMEM));
  EXPECT_TRUE(t.lines.empty());
  ASSERT_EQ(t.comments.size(), 1u);
  EXPECT_NE(t.comments[0].find("= -ENOMEM"), std::string::npos);
  // With MAP_FIXED the address is the argument, and the error is the result.
  auto f = tr(call(mem_sys::mmap, {0x10000000, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
                                   static_cast<std::uint64_t>(-1), 0},
                   -EINVAL));
  EXPECT_EQ(lines(f), (std::vector<std::string>{"mmap 0x10000000 1p r-- private fixed = -EINVAL"}));
}

TEST(RecordTranslate, FilesAreNamedMemoryFilesAndDevZeroIsAnonymous) {
  translator tr;
  mem_call c = call(mem_sys::mmap, {0, 8192, PROT_READ, MAP_PRIVATE, 3, 4096}, 0x20000000);
  c.file = file_ident{file_ident::kind::regular, "/usr/lib/libc.so.6", true};
  EXPECT_EQ(lines(tr(c)), (std::vector<std::string>{
                              "mmap 0x20000000 2p r-- private file=/usr/lib/libc.so.6@1p ro = 0x20000000"}));
  c.file = file_ident{file_ident::kind::dev_zero, "/dev/zero", false};
  c.args[3] = MAP_SHARED;
  EXPECT_EQ(lines(tr(c)), (std::vector<std::string>{"mmap 0x20000000 2p r-- shared = 0x20000000"}));
  EXPECT_EQ(trace_file_name("/memfd:a b (deleted)"), "/memfd_a_b__deleted_");
}

TEST(RecordTranslate, BrkNamesTheBreakBeforeTheCall) {
  translator tr;
  EXPECT_EQ(lines(tr(call(mem_sys::brk, {0}, 0x555000))),
            (std::vector<std::string>{"brk 0x555000 0x0 = 0x555000"}));
  EXPECT_EQ(lines(tr(call(mem_sys::brk, {0x577000}, 0x577000))),
            (std::vector<std::string>{"brk 0x555000 0x577000 = 0x577000"}));
  // A refused growth returns the old break (mm/mmap.c:SYSCALL_DEFINE1(brk)).
  EXPECT_EQ(lines(tr(call(mem_sys::brk, {0x9000000000}, 0x577000))),
            (std::vector<std::string>{"brk 0x577000 0x9000000000 = 0x577000"}));
  EXPECT_EQ(tr.brk, 0x577000u);
}

TEST(RecordTranslate, AdviceWithoutSdtraceNameIsAComment) {
  translator tr;
  auto t = tr(call(mem_sys::madvise, {0x10000000, 4096, MADV_MERGEABLE}, 0));
  EXPECT_TRUE(t.lines.empty());
  EXPECT_EQ(t.comments.size(), 1u);
  auto d = tr(call(mem_sys::madvise, {0x10000000, 4096, MADV_DONTNEED}, 0));
  EXPECT_EQ(lines(d), (std::vector<std::string>{"madvise 0x10000000 1p dontneed = 0"}));
}

TEST(RecordTranslate, MremapKeepsItsFlags) {
  translator tr;
  auto t = tr(call(mem_sys::mremap, {0x10000000, 4096, 8192, MREMAP_MAYMOVE | MREMAP_FIXED, 0x20000000},
                   0x20000000));
  EXPECT_EQ(lines(t), (std::vector<std::string>{
                          "mremap 0x10000000 1p 2p maymove fixed 0x20000000 = 0x20000000"}));
}

}  // namespace
