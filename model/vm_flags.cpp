#include "model/vm_flags.hpp"

#include <utility>

namespace sdmc {

std::string vm_flags_smaps(vm_flags_t flags) {
  // fs/proc/task_mmu.c:show_smap_vma_flags, the subset the model carries.
  // In bit order, as show_smap_vma_flags prints them.
  static constexpr std::pair<vm_flags_t, const char*> mnemonics[] = {
      {VM_READ, "rd"},        {VM_WRITE, "wr"},       {VM_EXEC, "ex"},         {VM_SHARED, "sh"},
      {VM_MAYREAD, "mr"},     {VM_MAYWRITE, "mw"},    {VM_MAYEXEC, "me"},      {VM_MAYSHARE, "ms"},
      {VM_GROWSDOWN, "gd"},   {VM_UFFD_MISSING, "um"}, {VM_PFNMAP, "pf"},      {VM_UFFD_WP, "uw"},
      {VM_LOCKED, "lo"},      {VM_IO, "io"},          {VM_SEQ_READ, "sr"},     {VM_RAND_READ, "rr"},
      {VM_DONTCOPY, "dc"},    {VM_DONTEXPAND, "de"},  {VM_LOCKONFAULT, "lf"},  {VM_ACCOUNT, "ac"},
      {VM_NORESERVE, "nr"},   {VM_HUGETLB, "ht"},     {VM_SYNC, "sf"},         {VM_ARCH_1, "ar"},
      {VM_WIPEONFORK, "wf"},  {VM_DONTDUMP, "dd"},    {VM_SOFTDIRTY, "sd"},    {VM_MIXEDMAP, "mm"},
      {VM_HUGEPAGE, "hg"},    {VM_NOHUGEPAGE, "nh"},  {VM_MERGEABLE, "mg"},    {VM_DROPPABLE, "dp"},
  };

  std::string out;
  for (auto [bit, name] : mnemonics) {
    if (flags & bit) {
      if (!out.empty()) out += ' ';
      out += name;
    }
  }
  return out;
}

}  // namespace sdmc
