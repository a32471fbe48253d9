// Traces stored zstd-compressed (`*.sdt.zst`) read exactly like their text.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "traces/sdtrace.hpp"

namespace fs = std::filesystem;
using namespace sdmc::trace;

namespace {

const std::string kText =
    "sdtrace 1\nkernel 6.18.44\nmmap 0x100000000 4p rw- private\nwrite 0x100000000 4p\nepoch\n";

TEST(TraceZstd, CompressedFileParsesLikeItsText) {
  const fs::path p = fs::temp_directory_path() / "sdmc-zstd-test.sdt.zst";
  ASSERT_TRUE(write_file(p.string(), kText));
  std::ifstream f(p, std::ios::binary);
  std::string raw((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_NE(raw, kText);  // really compressed
  EXPECT_EQ(parse_file(p.string()), parse(kText, "text"));
}

TEST(TraceZstd, TruncatedOrCorruptFileIsAnErrorNamingTheFile) {
  const fs::path p = fs::temp_directory_path() / "sdmc-zstd-bad.sdt.zst";
  std::string packed = zstd_compress(kText);
  {
    std::ofstream f(p, std::ios::binary);
    f << packed.substr(0, packed.size() - 3);
  }
  try {
    parse_file(p.string());
    FAIL() << "a truncated file parsed";
  } catch (const ParseError& e) {
    EXPECT_EQ(e.file, p.string());
    EXPECT_EQ(e.line, 0);
  }
  {
    std::ofstream f(p, std::ios::binary);
    f << "not zstd at all";
  }
  EXPECT_THROW(parse_file(p.string()), ParseError);
}

}  // namespace
