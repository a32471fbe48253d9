#include "traces/lexer.hpp"

#include <limits>

namespace sdmc::trace::lex {

void tokenize(std::string_view line, std::vector<Token>& out) {
  out.clear();
  const char* const b = line.data();
  const char* const e = b + line.size();
  const char* p = b;
  // One pass: '#' ends the line wherever it stands, blanks separate tokens.
  while (p != e && *p != '#') {
    if (*p == ' ' || *p == '\t') {
      ++p;
      continue;
    }
    const char* q = p;
    while (q != e && *q != ' ' && *q != '\t' && *q != '#') ++q;
    out.push_back({std::string_view(p, static_cast<std::size_t>(q - p)), static_cast<int>(p - b) + 1});
    p = q;
  }
}

namespace {

constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();

std::uint64_t suffix_scale(char c) {
  switch (c) {
    case 'K': return std::uint64_t{1} << 10;
    case 'M': return std::uint64_t{1} << 20;
    case 'G': return std::uint64_t{1} << 30;
    case 'p': return 4096;
    default: return 0;
  }
}

int digit_value(char c, unsigned base) {
  if (c >= '0' && c <= '9') return c - '0';
  if (base == 16 && c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (base == 16 && c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Digits only (after any 0x): at least one, all valid for base, no overflow.
Number parse_digits(std::string_view s, unsigned base) {
  if (s.empty()) return {0, NumError::Syntax};
  std::uint64_t v = 0;
  bool overflow = false;
  for (char c : s) {
    int d = digit_value(c, base);
    if (d < 0) return {0, NumError::Syntax};
    // Keep scanning after an overflow so that "99...9x" is reported as bad syntax, not as range.
    overflow |= __builtin_mul_overflow(v, base, &v);
    overflow |= __builtin_add_overflow(v, static_cast<unsigned>(d), &v);
  }
  return overflow ? Number{0, NumError::Overflow} : Number{v, NumError::None};
}

Number parse_unscaled(std::string_view s) {
  if (s.starts_with("0x")) return parse_digits(s.substr(2), 16);
  return parse_digits(s, 10);
}

}  // namespace

Number parse_number(std::string_view s, NumForm form) {
  if (form == NumForm::Decimal) {
    Number n = parse_digits(s, 10);
    // "0x2" or "2p" is a number, just not the decimal count asked for.
    if (n.error == NumError::Syntax && parse_number(s, NumForm::Scaled).error != NumError::Syntax)
      n.error = NumError::NotDecimal;
    return n;
  }
  std::uint64_t scale = s.empty() ? 0 : suffix_scale(s.back());
  if (scale == 0) return parse_unscaled(s);
  Number n = parse_unscaled(s.substr(0, s.size() - 1));
  if (n.error != NumError::None) return n;
  if (form != NumForm::Scaled) return {0, NumError::SuffixNotAllowed};
  if (n.value > kMax / scale) return {0, NumError::Overflow};
  return {n.value * scale, NumError::None};
}

std::string quoted(std::string_view s) {
  constexpr std::size_t kShown = 60;
  std::string out = "\"";
  for (std::size_t i = 0; i < s.size() && i < kShown; ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > kShown) out += "...";
  return out + "\"";
}

}  // namespace sdmc::trace::lex
