// A per-operator time profile through libtorch's RecordFunction hooks: every
// ATen operator and autograd node the calling thread runs between
// profilerStart() and profilerStop() is timed, with its self time (its total
// minus the operators it called) so the table adds up to the wall time spent
// inside libtorch.
#include <ATen/record_function.h>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "common.h"

namespace ortho {
namespace {

using Clock = std::chrono::steady_clock;

struct OpTotals {
  int64_t calls = 0;
  double totalSeconds = 0;
  double selfSeconds = 0;
};

struct Frame : at::ObserverContext {
  Clock::time_point start;
  double childSeconds = 0;
  Frame* parent = nullptr;
  std::string name;
  std::string shapes;
};

thread_local Frame* currentFrame = nullptr;

std::mutex totalsMutex;
std::map<std::pair<std::string, std::string>, OpTotals> totals;  // by (name, input shapes)
double topLevelSeconds = 0;  // time inside outermost operators: libtorch's share of the wall time
bool active = false;
bool recordShapes = false;

// "[256, 64, 16, 16], [128, 2, 3, 3], []": tensor inputs by shape, others as [].
// Headers of libtorch 2 compiled without NDEBUG assert that inputs() was
// recorded; such ops read "(not recorded)" instead of stopping the profile.
std::string describeInputs(const at::RecordFunction& fn) {
  std::string out;
  try {
    for (const c10::IValue& input : fn.inputs()) {
      if (!out.empty()) out += ", ";
      out += "[";
      if (input.isTensor() && input.toTensor().defined()) {
        auto sizes = input.toTensor().sizes();
        for (size_t d = 0; d < sizes.size(); d++) out += (d ? ", " : "") + std::to_string(sizes[d]);
      }
      out += "]";
    }
  } catch (const c10::Error&) {
    return "(not recorded)";
  }
  return out;
}
at::CallbackHandle handle = 0;

std::unique_ptr<at::ObserverContext> onStart(const at::RecordFunction& fn) {
  auto frame = std::make_unique<Frame>();
  frame->name = fn.name();
  if (recordShapes) frame->shapes = describeInputs(fn);
  frame->parent = currentFrame;
  currentFrame = frame.get();
  frame->start = Clock::now();
  return frame;
}

void onEnd(const at::RecordFunction&, at::ObserverContext* context) {
  auto* frame = static_cast<Frame*>(context);
  if (frame == nullptr) return;  // onStart failed for this op: libtorch logged it and gave no context
  double total = std::chrono::duration<double>(Clock::now() - frame->start).count();
  if (frame->parent) frame->parent->childSeconds += total;
  currentFrame = frame->parent;
  std::lock_guard<std::mutex> lock(totalsMutex);
  OpTotals& t = totals[{frame->name, frame->shapes}];
  t.calls++;
  t.totalSeconds += total;
  t.selfSeconds += total - frame->childSeconds;
  if (!frame->parent) topLevelSeconds += total;
}

// profilerStart(recordShapes)
Napi::Value profilerStart(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, "profilerStart", [&]() -> Napi::Value {
    TORCH_CHECK(!active, "a profile is already being recorded; stop it first");
    {
      std::lock_guard<std::mutex> lock(totalsMutex);
      totals.clear();
      topLevelSeconds = 0;
    }
    recordShapes = info.Length() > 0 && info[0].ToBoolean();
    handle = at::addThreadLocalCallback(at::RecordFunctionCallback(&onStart, &onEnd)
                                            .needsInputs(recordShapes)
                                            .scopes({at::RecordScope::FUNCTION, at::RecordScope::BACKWARD_FUNCTION,
                                                     at::RecordScope::USER_SCOPE}));
    active = true;
    return env.Undefined();
  });
}

// profilerStop() -> { topLevelSeconds, ops: [{ name, inputShapes?, calls, totalSeconds, selfSeconds }] }
Napi::Value profilerStop(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, "profilerStop", [&]() -> Napi::Value {
    TORCH_CHECK(active, "no profile is being recorded");
    at::removeCallback(handle);
    active = false;
    std::lock_guard<std::mutex> lock(totalsMutex);
    Napi::Array ops = Napi::Array::New(env, totals.size());
    uint32_t i = 0;
    for (const auto& [key, t] : totals) {
      Napi::Object op = Napi::Object::New(env);
      op.Set("name", key.first);
      if (recordShapes) op.Set("inputShapes", key.second);
      op.Set("calls", static_cast<double>(t.calls));
      op.Set("totalSeconds", t.totalSeconds);
      op.Set("selfSeconds", t.selfSeconds);
      ops.Set(i++, op);
    }
    Napi::Object out = Napi::Object::New(env);
    out.Set("topLevelSeconds", topLevelSeconds);
    out.Set("ops", ops);
    return out;
  });
}

}  // namespace

void registerProfiler(Napi::Env env, Napi::Object exports) {
  exports.Set("profilerStart", Napi::Function::New(env, profilerStart));
  exports.Set("profilerStop", Napi::Function::New(env, profilerStop));
}

}  // namespace ortho
