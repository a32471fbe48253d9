// parse_file: the only part of the library that touches the file system.
#include <cerrno>
#include <cstdio>
#include <memory>
#include <system_error>

#include "traces/sdtrace.hpp"

namespace sdmc::trace {

Trace parse_file(const std::string& path) {
  auto cannot_read = [&path] {
    return ParseError(path, 0, 0, "cannot read: " + std::generic_category().message(errno));
  };
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) throw cannot_read();
  std::string text;
  char buf[1 << 16];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f.get())) > 0) text.append(buf, n);
  if (std::ferror(f.get())) throw cannot_read();  // e.g. EISDIR: fopen accepts a directory
  return parse(text, path);
}

}  // namespace sdmc::trace
