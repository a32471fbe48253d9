// libFuzzer target: any bytes either parse or raise ParseError; nothing else may escape, and every
// trace that parses must survive write -> parse unchanged, with write canonical (idempotent).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "traces/sdtrace.hpp"

namespace {

[[noreturn]] void fail(const char* what, const std::string& text) {
  std::fprintf(stderr, "fuzz_sdtrace: %s\n--- written text ---\n%s\n", what, text.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace sdmc::trace;
  Trace t;
  try {
    t = parse(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.sdt");
  } catch (const ParseError&) {
    return 0;  // rejecting malformed input is the parser's job; any other exception escapes
  }
  std::string text = write(t);
  Trace back;
  try {
    back = parse(text, "written.sdt");
  } catch (const ParseError& e) {
    fail(e.what(), text);
  }
  if (!(back == t)) fail("parse(write(t)) != t", text);
  if (write(back) != text) fail("write is not canonical: write(parse(write(t))) != write(t)", text);
  return 0;
}
