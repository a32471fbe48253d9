// parse_file and write_file: the only part of the library that touches the file system.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

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

trace_text::trace_text(const std::string& path) {
  if (!is_zstd_path(path)) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat st {};
    if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
      void* p = mmap(nullptr, std::size_t(st.st_size), PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
      if (p != MAP_FAILED) {
        madvise(p, std::size_t(st.st_size), MADV_SEQUENTIAL);
        map_ = static_cast<const char*>(p);
        len_ = std::size_t(st.st_size);
      }
    }
    if (fd >= 0) ::close(fd);
    if (map_) return;
  }
  owned_ = read_trace_text(path);  // pipes, empty and compressed files; errors are named there
}

trace_text::~trace_text() {
  if (map_) munmap(const_cast<char*>(map_), len_);
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
