// parse_file and write_file: the only part of the library that touches the file system.
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <memory>
#include <system_error>

#include "traces/sdtrace.hpp"

namespace sdmc::trace {

std::string read_trace_text(const std::string& path) {
  auto cannot_read = [&path] {
    return ParseError(path, 0, 0, "cannot read: " + std::generic_category().message(errno));
  };
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) throw cannot_read();
  std::string text;
  // One allocation for a regular file (a million-line trace is 25 MB); pipes and the like
  // grow as they are read.
  struct stat st {};
  if (fstat(fileno(f.get()), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
    text.reserve(static_cast<std::size_t>(st.st_size));
  char buf[1 << 16];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f.get())) > 0) text.append(buf, n);
  if (std::ferror(f.get())) throw cannot_read();  // e.g. EISDIR: fopen accepts a directory
  if (is_zstd_path(path)) text = zstd_decompress(text, path);
  return text;
}

Trace parse_file(const std::string& path) { return parse(read_trace_text(path), path); }

bool write_file(const std::string& path, std::string_view text) {
  std::string packed;
  if (is_zstd_path(path)) {
    packed = zstd_compress(text);
    text = packed;
  }
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "wb"), &std::fclose);
  if (!f) return false;
  if (std::fwrite(text.data(), 1, text.size(), f.get()) != text.size()) return false;
  return std::fflush(f.get()) == 0;
}

}  // namespace sdmc::trace
