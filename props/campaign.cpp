#include "props/campaign.hpp"

#include <chrono>
#include <cstdlib>
#include <sstream>
#include <stdexcept>

#include <rapidcheck.h>

namespace sdmc::props {

campaign_result run_campaign(const trace_property& prop, const campaign_options& opt) {
  const rc::Gen<trace::Trace> gen = gen_trace(opt.gen);
  auto testable = [&prop, &gen] {
    const trace::Trace t = *gen;
    if (auto f = prop(t)) RC_FAIL(f->what);
  };
  rc::detail::TestParams params;
  params.seed = opt.seed;
  params.maxSuccess = opt.cases;
  params.maxSize = opt.max_size;
  params.disableShrinking = !opt.shrink;
  rc::detail::TestMetadata meta;
  meta.id = meta.description = "sdmc trace property";
  // Our own listener instead of RapidCheck's default one, which would also print a
  // "reproduce" line at exit for a failure we expected.
  struct counting_listener : rc::detail::TestListener {
    int shrinks = 0;
    void onTestCaseFinished(const rc::detail::CaseDescription&) override {}
    void onShrinkTried(const rc::detail::CaseDescription&, bool accepted) override { shrinks += accepted; }
    void onTestFinished(const rc::detail::TestMetadata&, const rc::detail::TestResult&) override {}
  } listener;
  const auto t0 = std::chrono::steady_clock::now();
  const rc::detail::TestResult result =
      rc::detail::checkProperty(rc::detail::toProperty(testable), meta, params, listener);
  campaign_result out;
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  rc::detail::SuccessResult success;
  rc::detail::FailureResult failure;
  if (result.match(success)) {
    out.cases_passed = success.numSuccess;
    return out;
  }
  if (!result.match(failure)) {
    std::ostringstream os;
    rc::detail::printResultMessage(result, os);
    throw std::runtime_error("RapidCheck: " + os.str());
  }
  out.found = true;
  out.cases_passed = failure.numSuccess;
  out.shrinks = listener.shrinks;
  out.message = failure.description;
  // The one generated value of the case is the trace, shown as sdtrace text.
  for (const auto& [type, text] : failure.counterExample)
    if (text.find("sdtrace 1") != std::string::npos)
      out.counterexample = trace::parse(text, "counterexample.sdt");
  return out;
}

campaign_options with_rc_params(campaign_options o) {
  const char* env = std::getenv("RC_PARAMS");
  if (!env) return o;
  const rc::detail::Configuration& c = rc::detail::configuration();
  const std::string s = env;
  if (s.find("seed") != std::string::npos) o.seed = c.testParams.seed;
  if (s.find("max_success") != std::string::npos) o.cases = c.testParams.maxSuccess;
  if (s.find("max_size") != std::string::npos) o.max_size = c.testParams.maxSize;
  if (s.find("noshrink") != std::string::npos) o.shrink = !c.testParams.disableShrinking;
  return o;
}

}  // namespace sdmc::props
