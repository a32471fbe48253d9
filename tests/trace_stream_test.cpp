// trace::reader and trace::parse_streamed (traces/stream.hpp): the batched parse sees exactly
// what the whole parse sees, errors arrive after the lines before them, and a consumer that
// throws stops the parsing thread instead of leaving it behind.
#include <gtest/gtest.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "traces/sdtrace.hpp"
#include "traces/stream.hpp"

namespace {

using namespace sdmc::trace;

// 5,000 operation lines of several kinds, with headers, comments and blank lines between.
std::string long_trace() {
  std::string t = "sdtrace 1\nkernel 6.12.117\nswap on\n";
  for (int i = 0; i < 5000; ++i) {
    const std::uint64_t a = 0x100000000 + std::uint64_t(i % 97) * 4096;
    switch (i % 5) {
      case 0: t += "mmap " + std::to_string(a) + " 2p rw- private fixed = " + std::to_string(a) + "\n"; break;
      case 1: t += "write " + std::to_string(a) + " 1p\n"; break;
      case 2: t += "# a comment\n\nmprotect " + std::to_string(a) + " 4096 r--\n"; break;
      case 3: t += "clear_refs\n"; break;
      default: t += "expect sd " + std::to_string(a) + " 1p 1\n"; break;
    }
  }
  return t;
}

std::vector<Line> streamed(const std::string& text, std::size_t batch, Trace* headers = nullptr,
                           std::size_t* batches = nullptr) {
  std::vector<Line> all;
  parse_streamed(text, "t.sdt", batch, [&](const Trace& h, const std::vector<Line>& lines) {
    EXPECT_LE(lines.size(), batch);
    EXPECT_FALSE(lines.empty());
    if (headers) *headers = h;
    if (batches) ++*batches;
    all.insert(all.end(), lines.begin(), lines.end());
  });
  return all;
}

TEST(TraceStream, EveryBatchSizeSeesWhatTheWholeParseSees) {
  const std::string text = long_trace();
  const Trace whole = parse(text, "t.sdt");
  ASSERT_EQ(whole.lines.size(), 5000u);
  for (std::size_t batch : {1u, 7u, 4096u, 100000u}) {
    Trace h;
    std::size_t n = 0;
    const std::vector<Line> got = streamed(text, batch, &h, &n);
    EXPECT_EQ(got, whole.lines) << "batch " << batch;
    EXPECT_EQ(n, (5000 + batch - 1) / batch) << "batch " << batch;
    EXPECT_EQ(h.kernel, whole.kernel);
    EXPECT_TRUE(h.swap);
    EXPECT_EQ(h.path, "t.sdt");
    // Line numbers are those of the file, not of the batch.
    EXPECT_EQ(got.back().lineno, whole.lines.back().lineno);
  }
}

TEST(TraceStream, AParseErrorComesAfterTheLinesBeforeIt) {
  std::string text = long_trace();
  const std::size_t good = 5000;
  text += "mprotect 0x1000 4096 rw+\n";  // a protection that does not exist, on the last line
  text += "write 0x1000\n";
  std::vector<Line> seen;
  try {
    parse_streamed(text, "bad.sdt", 64, [&](const Trace&, const std::vector<Line>& lines) {
      seen.insert(seen.end(), lines.begin(), lines.end());
    });
    FAIL() << "no ParseError";
  } catch (const ParseError& e) {
    EXPECT_EQ(e.file, "bad.sdt");
    EXPECT_EQ(e.column, 22);
    EXPECT_NE(std::string(e.what()).find("expected a protection like rw- or ---"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(seen.size(), good);  // every operation before the bad line, none after
}

TEST(TraceStream, AConsumerThatThrowsStopsTheParser) {
  const std::string text = long_trace();
  int calls = 0;
  EXPECT_THROW(parse_streamed(text, "t.sdt", 10,
                              [&](const Trace&, const std::vector<Line>&) {
                                if (++calls == 3) throw std::runtime_error("consumer gave up");
                              }),
               std::runtime_error);
  EXPECT_EQ(calls, 3);  // and the parsing thread was joined: the test would hang or abort otherwise
}

TEST(TraceStream, NoOperationMeansNoBatchAndAMissingVersionIsAnError) {
  int calls = 0;
  parse_streamed("sdtrace 1\nswap on\n# nothing else\n", "h.sdt", 8,
                 [&](const Trace&, const std::vector<Line>&) { ++calls; });
  EXPECT_EQ(calls, 0);
  EXPECT_THROW(parse_streamed("", "empty.sdt", 8, [&](const Trace&, const std::vector<Line>&) { ++calls; }),
               ParseError);
  EXPECT_THROW(parse_streamed("write 0x1000\n", "nov.sdt", 8,
                              [&](const Trace&, const std::vector<Line>&) { ++calls; }),
               ParseError);
  EXPECT_EQ(calls, 0);
}

TEST(TraceReader, BatchesResumeWhereTheLastOneStopped) {
  reader r("sdtrace 1\nwrite 0x1000\n\nwrite 0x2000\nclear_refs\n", "r.sdt");
  std::vector<Line> b;
  ASSERT_TRUE(r.read(b, 2));
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[1].lineno, 4);
  ASSERT_TRUE(r.read(b, 2));
  ASSERT_EQ(b.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<ClearRefs>(b[0].op));
  EXPECT_FALSE(r.read(b, 2));
  EXPECT_TRUE(b.empty());
}

}  // namespace

namespace {

// trace_text (traces/sdtrace.hpp) gives what read_trace_text gives, mapped or not.
TEST(TraceText, MappedCompressedEmptyAndMissingFilesReadLikeReadTraceText) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / "sdmc-trace-text-test";
  fs::create_directories(dir);
  const std::string text = long_trace();
  const std::string plain = (dir / "t.sdt").string(), packed = (dir / "t.sdt.zst").string(),
                    empty = (dir / "empty.sdt").string();
  ASSERT_TRUE(write_file(plain, text));
  ASSERT_TRUE(write_file(packed, text));
  ASSERT_TRUE(write_file(empty, ""));
  EXPECT_EQ(trace_text(plain).view(), text);
  EXPECT_EQ(trace_text(packed).view(), text);
  EXPECT_EQ(trace_text(empty).view(), "");
  for (const std::string& bad : {(dir / "missing.sdt").string(), dir.string()}) {
    try {
      trace_text t(bad);
      FAIL() << bad << " was read";
    } catch (const ParseError& e) {
      EXPECT_EQ(e.file, bad);
      EXPECT_NE(std::string(e.what()).find("cannot read"), std::string::npos) << e.what();
    }
  }
  fs::remove_all(dir);
}

}  // namespace
