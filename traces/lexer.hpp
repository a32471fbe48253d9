// The lexical layer of sdtrace v1: tokens of one line, and numbers. It knows nothing of operations.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sdmc::trace::lex {

struct Token {
  std::string_view text;
  int col = 0;  // 1-based byte column of the first character
};

// The tokens of one line (without its '\n'): split on spaces and tabs only; '#' starts a comment
// wherever it appears, even inside a token. Written into `out` (cleared first), so that a parser
// reusing one vector allocates nothing per line.
void tokenize(std::string_view line, std::vector<Token>& out);

// Where a number stands decides what it may look like.
enum class NumForm : std::uint8_t {
  Plain,    // decimal or 0x hex: addresses, results, max=, vec=
  Scaled,   // Plain plus one K/M/G/p suffix: lengths and offsets
  Decimal,  // decimal digits only: the `expect vmas` count
};
enum class NumError : std::uint8_t { None, Syntax, Overflow, SuffixNotAllowed, NotDecimal };
struct Number {
  std::uint64_t value = 0;
  NumError error = NumError::None;
};
Number parse_number(std::string_view s, NumForm form);

// `s` in double quotes for a message: escapes quotes, backslashes and non-printable bytes, and
// shortens long tokens, so a message stays one readable line whatever the input was.
std::string quoted(std::string_view s);

}  // namespace sdmc::trace::lex
