// zstd frames for traces: parse_file reads `*.zst` transparently, writers compress on request.
#include <zstd.h>

#include <memory>

#include "traces/sdtrace.hpp"

namespace sdmc::trace {

bool is_zstd_path(std::string_view path) {
  return path.size() > 4 && path.substr(path.size() - 4) == ".zst";
}

std::string zstd_decompress(std::string_view data, const std::string& path) {
  std::unique_ptr<ZSTD_DStream, std::size_t (*)(ZSTD_DStream*)> ds(ZSTD_createDStream(),
                                                                    &ZSTD_freeDStream);
  if (!ds) throw ParseError(path, 0, 0, "zstd: out of memory");
  std::string out;
  ZSTD_inBuffer in{data.data(), data.size(), 0};
  std::string chunk(ZSTD_DStreamOutSize(), '\0');
  std::size_t last = 0;
  while (in.pos < in.size) {
    ZSTD_outBuffer o{chunk.data(), chunk.size(), 0};
    last = ZSTD_decompressStream(ds.get(), &o, &in);
    if (ZSTD_isError(last))
      throw ParseError(path, 0, 0, std::string("not a valid zstd file: ") + ZSTD_getErrorName(last));
    out.append(chunk.data(), o.pos);
  }
  // A last return value other than 0 means the final frame was cut short.
  if (last != 0) throw ParseError(path, 0, 0, "truncated zstd file");
  return out;
}

std::string zstd_compress(std::string_view text, int level) {
  std::string out(ZSTD_compressBound(text.size()), '\0');
  std::size_t n = ZSTD_compress(out.data(), out.size(), text.data(), text.size(), level);
  if (ZSTD_isError(n)) throw std::runtime_error(std::string("zstd: ") + ZSTD_getErrorName(n));
  out.resize(n);
  return out;
}

}  // namespace sdmc::trace
