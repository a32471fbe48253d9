#include "traces/names.hpp"

#include <algorithm>

namespace sdmc::trace {
namespace {

// Indexed by the enum's value.
constexpr std::string_view kAdviceNames[] = {
    "normal",   "random", "sequential", "willneed",   "dontneed",   "free",
    "remove",   "pageout", "cold",      "dontfork",   "dofork",     "wipeonfork",
    "keeponfork", "dontdump", "dodump", "hugepage",   "nohugepage",
};
static_assert(std::size(kAdviceNames) == static_cast<std::size_t>(Advice::Nohugepage) + 1);
constexpr std::string_view kFieldNames[] = {"sd", "present", "swapped", "written", "sdscan", "vmas"};
static_assert(std::size(kFieldNames) == static_cast<std::size_t>(Field::Vmas) + 1);
constexpr std::string_view kSharingNames[] = {"private", "shared", "droppable"};
static_assert(std::size(kSharingNames) == static_cast<std::size_t>(Sharing::Droppable) + 1);

constexpr std::uint8_t kProts[] = {PROT_NONE_, PROT_R, PROT_R | PROT_W, PROT_R | PROT_X,
                                   PROT_R | PROT_W | PROT_X};

// Linux x86-64 (asm-generic) errno values, written out so the table does not depend on the
// host's <errno.h>. The first entry for a number is its canonical name.
struct ErrnoEntry {
  int number;
  std::string_view name;
};
constexpr ErrnoEntry kErrnos[] = {
    {1, "EPERM"},         {2, "ENOENT"},         {3, "ESRCH"},           {4, "EINTR"},
    {5, "EIO"},           {6, "ENXIO"},          {7, "E2BIG"},           {8, "ENOEXEC"},
    {9, "EBADF"},         {10, "ECHILD"},        {11, "EAGAIN"},         {12, "ENOMEM"},
    {13, "EACCES"},       {14, "EFAULT"},        {15, "ENOTBLK"},        {16, "EBUSY"},
    {17, "EEXIST"},       {18, "EXDEV"},         {19, "ENODEV"},         {20, "ENOTDIR"},
    {21, "EISDIR"},       {22, "EINVAL"},        {23, "ENFILE"},         {24, "EMFILE"},
    {25, "ENOTTY"},       {26, "ETXTBSY"},       {27, "EFBIG"},          {28, "ENOSPC"},
    {29, "ESPIPE"},       {30, "EROFS"},         {31, "EMLINK"},         {32, "EPIPE"},
    {33, "EDOM"},         {34, "ERANGE"},        {35, "EDEADLK"},        {36, "ENAMETOOLONG"},
    {37, "ENOLCK"},       {38, "ENOSYS"},        {39, "ENOTEMPTY"},      {40, "ELOOP"},
    {42, "ENOMSG"},       {43, "EIDRM"},         {44, "ECHRNG"},         {45, "EL2NSYNC"},
    {46, "EL3HLT"},       {47, "EL3RST"},        {48, "ELNRNG"},         {49, "EUNATCH"},
    {50, "ENOCSI"},       {51, "EL2HLT"},        {52, "EBADE"},          {53, "EBADR"},
    {54, "EXFULL"},       {55, "ENOANO"},        {56, "EBADRQC"},        {57, "EBADSLT"},
    {59, "EBFONT"},       {60, "ENOSTR"},        {61, "ENODATA"},        {62, "ETIME"},
    {63, "ENOSR"},        {64, "ENONET"},        {65, "ENOPKG"},         {66, "EREMOTE"},
    {67, "ENOLINK"},      {68, "EADV"},          {69, "ESRMNT"},         {70, "ECOMM"},
    {71, "EPROTO"},       {72, "EMULTIHOP"},     {73, "EDOTDOT"},        {74, "EBADMSG"},
    {75, "EOVERFLOW"},    {76, "ENOTUNIQ"},      {77, "EBADFD"},         {78, "EREMCHG"},
    {79, "ELIBACC"},      {80, "ELIBBAD"},       {81, "ELIBSCN"},        {82, "ELIBMAX"},
    {83, "ELIBEXEC"},     {84, "EILSEQ"},        {85, "ERESTART"},       {86, "ESTRPIPE"},
    {87, "EUSERS"},       {88, "ENOTSOCK"},      {89, "EDESTADDRREQ"},   {90, "EMSGSIZE"},
    {91, "EPROTOTYPE"},   {92, "ENOPROTOOPT"},   {93, "EPROTONOSUPPORT"}, {94, "ESOCKTNOSUPPORT"},
    {95, "EOPNOTSUPP"},   {96, "EPFNOSUPPORT"},  {97, "EAFNOSUPPORT"},   {98, "EADDRINUSE"},
    {99, "EADDRNOTAVAIL"}, {100, "ENETDOWN"},    {101, "ENETUNREACH"},   {102, "ENETRESET"},
    {103, "ECONNABORTED"}, {104, "ECONNRESET"},  {105, "ENOBUFS"},       {106, "EISCONN"},
    {107, "ENOTCONN"},    {108, "ESHUTDOWN"},    {109, "ETOOMANYREFS"},  {110, "ETIMEDOUT"},
    {111, "ECONNREFUSED"}, {112, "EHOSTDOWN"},   {113, "EHOSTUNREACH"},  {114, "EALREADY"},
    {115, "EINPROGRESS"}, {116, "ESTALE"},       {117, "EUCLEAN"},       {118, "ENOTNAM"},
    {119, "ENAVAIL"},     {120, "EISNAM"},       {121, "EREMOTEIO"},     {122, "EDQUOT"},
    {123, "ENOMEDIUM"},   {124, "EMEDIUMTYPE"},  {125, "ECANCELED"},     {126, "ENOKEY"},
    {127, "EKEYEXPIRED"}, {128, "EKEYREVOKED"},  {129, "EKEYREJECTED"},  {130, "EOWNERDEAD"},
    {131, "ENOTRECOVERABLE"}, {132, "ERFKILL"},  {133, "EHWPOISON"},
    // Aliases: accepted when reading, never written.
    {11, "EWOULDBLOCK"},  {35, "EDEADLOCK"},     {95, "ENOTSUP"},
};

template <typename T, typename Names>
std::optional<T> index_of(const Names& names, std::string_view name) {
  auto it = std::find(std::begin(names), std::end(names), name);
  if (it == std::end(names)) return std::nullopt;
  return static_cast<T>(it - std::begin(names));
}

}  // namespace

std::optional<std::size_t> op_index(std::string_view name) {
  return index_of<std::size_t>(kOpNames, name);
}
std::optional<Advice> advice_from_name(std::string_view name) {
  return index_of<Advice>(kAdviceNames, name);
}
std::optional<Field> field_from_name(std::string_view name) {
  return index_of<Field>(kFieldNames, name);
}
std::optional<Sharing> sharing_from_name(std::string_view name) {
  return index_of<Sharing>(kSharingNames, name);
}

std::string_view advice_name(Advice a) { return kAdviceNames[static_cast<std::size_t>(a)]; }
std::string_view field_name(Field f) { return kFieldNames[static_cast<std::size_t>(f)]; }
std::string_view sharing_name(Sharing s) { return kSharingNames[static_cast<std::size_t>(s)]; }
std::string_view op_name(const Op& op) { return kOpNames[op.index()]; }

std::string prot_string(std::uint8_t prot) {
  return {(prot & PROT_R) ? 'r' : '-', (prot & PROT_W) ? 'w' : '-', (prot & PROT_X) ? 'x' : '-'};
}

std::optional<std::uint8_t> prot_from_string(std::string_view s) {
  if (s.size() != 3) return std::nullopt;
  // Each position holds its letter or '-'; then only the five protections of kProts.
  auto bit = [&](std::size_t i, char letter, std::uint8_t b) -> int {
    return s[i] == letter ? b : s[i] == '-' ? 0 : -1;
  };
  const int r = bit(0, 'r', PROT_R), w = bit(1, 'w', PROT_W), x = bit(2, 'x', PROT_X);
  if (r < 0 || w < 0 || x < 0) return std::nullopt;
  const auto p = static_cast<std::uint8_t>(r | w | x);
  for (std::uint8_t k : kProts)
    if (k == p) return p;
  return std::nullopt;
}

std::optional<int> errno_from_name(std::string_view name) {
  for (const auto& e : kErrnos)
    if (e.name == name) return e.number;
  return std::nullopt;
}

std::string_view errno_name(int err) {
  for (const auto& e : kErrnos)
    if (e.number == err) return e.name;
  return {};
}

}  // namespace sdmc::trace
