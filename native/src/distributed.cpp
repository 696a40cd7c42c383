// Multi-process collectives on libtorch's own c10d: rendezvous through a
// TCPStore (rank 0 hosts it), a ProcessGroupGloo over TCP for CPU tensors or a
// ProcessGroupNCCL for CUDA tensors, and blocking collectives on tensor handles. Every wait has the group's timeout, and any
// failure (a peer that exited, a peer that stopped answering, a port in use)
// becomes a JS Error that says what happened instead of a hang.
#include "distributed.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

namespace ortho {
namespace {

const napi_type_tag kGroupTag = {0x6f7274686f67696eULL, 0x63313064a11bc10dULL};

std::string seconds(std::chrono::milliseconds t) {
  char buf[32];
  double s = t.count() / 1000.0;
  if (s == std::floor(s)) std::snprintf(buf, sizeof buf, "%.0f s", s);
  else std::snprintf(buf, sizeof buf, "%.1f s", s);
  return buf;
}

bool contains(const std::string& text, const char* needle) { return text.find(needle) != std::string::npos; }

std::string firstLine(std::string text) {
  auto nl = text.find('\n');
  return nl == std::string::npos ? text : text.substr(0, nl);
}




std::string explainInitFailure(const std::string& addr, int port, int rank, int size,
                               std::chrono::milliseconds timeout, const std::string& raw) {
  std::string where = addr + ":" + std::to_string(port);
  std::string head = "initProcessGroup (rank " + std::to_string(rank) + " of " + std::to_string(size) + "): ";
  if (contains(raw, "Address already in use") || contains(raw, "errno: 98"))
    return head + "port " + std::to_string(port) + " on " + addr +
           " is already in use, so rank 0 cannot host the rendezvous store there; choose another masterPort "
           "or stop the process that holds it [" + raw + "]";
  if (contains(raw, "waiting for clients") || (rank == 0 && (contains(raw, "imed out") || contains(raw, "imeout"))))
    return head + "not every rank joined the rendezvous at " + where + " within " + seconds(timeout) +
           " (is each of the " + std::to_string(size) + " ranks started, with a distinct RANK?) [" + raw + "]";
  if (contains(raw, "client socket") || contains(raw, "connect"))
    return head + "could not reach the rendezvous store at " + where + " within " + seconds(timeout) +
           " (is rank 0 running, and are masterAddr/masterPort the same for every rank?) [" + raw + "]";
  if (contains(raw, "imed out") || contains(raw, "imeout"))
    return head + "the other ranks did not complete the rendezvous at " + where + " within " + seconds(timeout) +
           " [" + raw + "]";
  return head + raw;
}


void releaseGroup(GroupBox* g) {
  if (g->broken) {
    // Leak on purpose (see GroupBox::broken): the process is expected to stop.
    (void)g->pg.release();
    (void)g->store.release();
    return;
  }
  if (g->nccl && g->pg) shutdownNccl(g->pg.get());
  g->pg.reset();
  g->store.reset();
}

std::shared_ptr<::gloo::transport::Device> makeDevice(const std::string& spec) {
  if (spec.rfind("iface:", 0) == 0) return c10d::ProcessGroupGloo::createDeviceForInterface(spec.substr(6));
  if (spec.rfind("host:", 0) == 0) return c10d::ProcessGroupGloo::createDeviceForHostname(spec.substr(5));
  return c10d::ProcessGroupGloo::createDefaultDevice();
}

int intArg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  Napi::Env env = info.Env();
  if (!info[i].IsNumber()) throw Napi::TypeError::New(env, std::string(what) + " must be an integer");
  double d = info[i].As<Napi::Number>().DoubleValue();
  if (d != std::floor(d) || std::abs(d) > 2147483647.0) throw Napi::TypeError::New(env, std::string(what) + " must be an integer");
  return static_cast<int>(d);
}

// libtorch 2.4 serves the TCPStore with libuv by default, but some builds (Debian's)
// have no libuv: they are asked for the classic server instead.
template <typename Options>
auto withoutLibuv(Options& opts, int) -> decltype(opts.useLibUV = false, bool()) {
  bool wasOn = opts.useLibUV;
  opts.useLibUV = false;
  return wasOn;
}
template <typename Options>
bool withoutLibuv(Options&, long) { return false; }

c10::intrusive_ptr<c10d::TCPStore> makeStore(const std::string& addr, c10d::TCPStoreOptions opts) {
  try {
    return c10::make_intrusive<c10d::TCPStore>(addr, opts);
  } catch (const std::exception& e) {
    if (contains(messageOf(e), "libuv") && withoutLibuv(opts, 0)) return c10::make_intrusive<c10d::TCPStore>(addr, opts);
    throw;
  }
}

c10::intrusive_ptr<CollectiveBackend> makeGlooBackend(const GroupBox& g, const std::string& deviceSpec) {
  auto options = c10d::ProcessGroupGloo::Options::create(g.timeout);
  options->devices.push_back(makeDevice(deviceSpec));
  options->threads = 2;
  return c10::make_intrusive<c10d::ProcessGroupGloo>(g.store, g.rank, g.size, options);
}

// pgCreate(rank, worldSize, masterAddr, masterPort, timeoutMs, deviceSpec, backend "gloo"|"nccl")
Napi::Value pgCreate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int rank = intArg(info, 0, "rank");
  int size = intArg(info, 1, "worldSize");
  std::string addr = info[2].As<Napi::String>().Utf8Value();
  int port = intArg(info, 3, "masterPort");
  std::chrono::milliseconds timeout(static_cast<int64_t>(info[4].As<Napi::Number>().DoubleValue()));
  std::string deviceSpec = info[5].As<Napi::String>().Utf8Value();
  std::string backend = info[6].IsString() ? info[6].As<Napi::String>().Utf8Value() : "gloo";
  if (backend != "gloo" && backend != "nccl")
    throw Napi::TypeError::New(env, "initProcessGroup: backend must be 'gloo' or 'nccl', got '" + backend + "'");
  if (backend == "nccl" && !ncclBuiltIn())
    throw Napi::Error::New(env, "initProcessGroup: NCCL is not built into this addon");
  auto box = std::make_unique<GroupBox>();
  box->nccl = backend == "nccl";
  box->rank = rank;
  box->size = size;
  box->timeout = timeout;
  box->masterAddr = addr;
  box->masterPort = port;
  try {
    c10d::TCPStoreOptions opts;
    opts.port = static_cast<std::uint16_t>(port);
    opts.isServer = rank == 0;
    opts.numWorkers = static_cast<std::size_t>(size);
    opts.waitWorkers = true;
    opts.timeout = timeout;
    box->store = makeStore(addr, opts);
    box->pg = box->nccl ? makeNcclBackend(*box) : makeGlooBackend(*box, deviceSpec);
  } catch (const std::exception& e) {
    box->pg.reset();
    box->store.reset();
    throw Napi::Error::New(env, explainInitFailure(addr, port, rank, size, timeout, messageOf(e)));
  }
  return wrapTagged<GroupBox, releaseGroup>(env, std::move(box), kGroupTag);
}

Napi::Value pgDestroy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GroupBox* g = taggedData<GroupBox>(env, info[0], kGroupTag);
  if (!g) throw Napi::TypeError::New(env, "destroy: expected a process group");
  releaseGroup(g);
  return env.Undefined();
}

// Waits for `work` with the group's timeout; any failure marks the group broken.
void waitFor(Napi::Env env, GroupBox* g, const std::string& op, const c10::intrusive_ptr<c10d::Work>& work) {
  try {
    work->wait(g->timeout);
  } catch (const std::exception& e) {
    g->broken = true;
    throw Napi::Error::New(env, explainCollectiveFailure(*g, op, messageOf(e)));
  }
}

// Starts a collective; a failure to start (bad tensor, broken connection) is reported like a failed wait.
template <typename F>
c10::intrusive_ptr<c10d::Work> start(Napi::Env env, GroupBox* g, const std::string& op, F&& launch) {
  try {
    return launch();
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::exception& e) {
    std::string raw = messageOf(e);
    bool peerProblem = isPeerFailure(raw);
    if (peerProblem) g->broken = true;
    throw Napi::Error::New(env, peerProblem ? explainCollectiveFailure(*g, op, raw) : op + ": " + raw);
  }
}

// NCCL takes CUDA tensors; gloo CPU tensors, and CUDA ones in a CUDA build (staged through the host).
void checkDevice(Napi::Env env, const GroupBox& g, const at::Tensor& t, const std::string& op) {
  if (g.nccl && !t.device().is_cuda())
    throw Napi::TypeError::New(env, op + ": the nccl process group works on CUDA tensors, got one on " + t.device().str());
  if (!g.nccl && !t.device().is_cpu() && !t.device().is_cuda())
    throw Napi::TypeError::New(env, op + ": the gloo process group works on CPU or CUDA tensors, got one on " + t.device().str());
}

at::Tensor checkedTensor(Napi::Env env, const GroupBox& g, const Napi::Value& v, const std::string& op) {
  at::Tensor& t = unwrapTensor(env, v, op.c_str());
  checkDevice(env, g, t, op);
  if (!t.is_contiguous())
    throw Napi::TypeError::New(env, op + ": the tensor must be contiguous (call .contiguous() first)");
  return t;
}

c10d::ReduceOp reduceOpOf(Napi::Env env, const std::string& name, const std::string& op) {
  if (name == "sum" || name == "avg") return c10d::ReduceOp::SUM;
  if (name == "max") return c10d::ReduceOp::MAX;
  if (name == "min") return c10d::ReduceOp::MIN;
  if (name == "product") return c10d::ReduceOp::PRODUCT;
  throw Napi::TypeError::New(env, op + ": unknown reduction '" + name + "' (expected sum, avg, max, min or product)");
}

void checkAverageable(Napi::Env env, const at::Tensor& t, const std::string& op) {
  if (!at::isFloatingType(t.scalar_type()) && !at::isComplexType(t.scalar_type()))
    throw Napi::TypeError::New(env, op + ": 'avg' needs a floating-point tensor, got " + std::string(c10::toString(t.scalar_type())));
}

// pgAllReduce(group, tensor, op): in place.
Napi::Value pgAllReduce(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GroupBox* g = groupOf(env, info[0], "allReduce");
  at::Tensor t = checkedTensor(env, *g, info[1], "allReduce");
  std::string name = info[2].IsString() ? info[2].As<Napi::String>().Utf8Value() : "sum";
  c10d::AllreduceOptions opts;
  opts.reduceOp = reduceOpOf(env, name, "allReduce");
  opts.timeout = g->timeout;
  if (name == "avg") checkAverageable(env, t, "allReduce");
  std::vector<at::Tensor> tensors{t.detach()};
  auto work = start(env, g, "allReduce", [&]() { return g->pg->allreduce(tensors, opts); });
  waitFor(env, g, "allReduce", work);
  guarded(env, "allReduce", [&]() {
    at::NoGradGuard noGrad;
    if (name == "avg") tensors[0].div_(g->size);  // bumps the version counter as well
    else t.unsafeGetTensorImpl()->bump_version();
  });
  return info[1];
}

// pgBroadcast(group, tensor, root): in place.
Napi::Value pgBroadcast(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GroupBox* g = groupOf(env, info[0], "broadcast");
  at::Tensor t = checkedTensor(env, *g, info[1], "broadcast");
  int root = intArg(info, 2, "broadcast: root");
  if (root < 0 || root >= g->size)
    throw Napi::RangeError::New(env, "broadcast: root must be a rank in [0, " + std::to_string(g->size - 1) + "], got " + std::to_string(root));
  c10d::BroadcastOptions opts;
  opts.rootRank = root;
  opts.timeout = g->timeout;
  std::vector<at::Tensor> tensors{t.detach()};
  auto work = start(env, g, "broadcast", [&]() { return g->pg->broadcast(tensors, opts); });
  waitFor(env, g, "broadcast", work);
  t.unsafeGetTensorImpl()->bump_version();  // gloo wrote the memory behind autograd's back
  return info[1];
}

// pgAllGather(group, tensor) -> [tensor of rank 0, tensor of rank 1, ...] (new tensors).
Napi::Value pgAllGather(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GroupBox* g = groupOf(env, info[0], "allGather");
  at::Tensor t = checkedTensor(env, *g, info[1], "allGather");
  std::vector<at::Tensor> inputs{t.detach()};
  std::vector<std::vector<at::Tensor>> outputs(1);
  guarded(env, "allGather", [&]() {
    for (int r = 0; r < g->size; r++) outputs[0].push_back(at::empty_like(inputs[0]));
  });
  c10d::AllgatherOptions opts;
  opts.timeout = g->timeout;
  auto work = start(env, g, "allGather", [&]() { return g->pg->allgather(outputs, inputs, opts); });
  waitFor(env, g, "allGather", work);
  Napi::Array out = Napi::Array::New(env, outputs[0].size());
  for (size_t r = 0; r < outputs[0].size(); r++) out.Set(static_cast<uint32_t>(r), wrapTensor(env, outputs[0][r]));
  return out;
}

Napi::Value pgBarrier(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GroupBox* g = groupOf(env, info[0], "barrier");
  c10d::BarrierOptions opts;
  opts.timeout = g->timeout;
  auto work = start(env, g, "barrier", [&]() { return g->pg->barrier(opts); });
  waitFor(env, g, "barrier", work);
  return env.Undefined();
}

// pgAllReduceCoalesced(group, tensors, bucketBytes, op): flattens the tensors
// (grouped by dtype, in the given order) into buckets of about bucketBytes,
// all-reduces every bucket (all started before the first is waited for, so
// flattening overlaps communication) and copies the results back in place.
Napi::Value pgAllReduceCoalesced(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string op = "allReduceCoalesced";
  GroupBox* g = groupOf(env, info[0], op.c_str());
  if (!info[1].IsArray()) throw Napi::TypeError::New(env, op + ": expected an array of tensors");
  Napi::Array arr = info[1].As<Napi::Array>();
  double bucketBytes = info[2].As<Napi::Number>().DoubleValue();
  std::string name = info[3].IsString() ? info[3].As<Napi::String>().Utf8Value() : "sum";
  c10d::AllreduceOptions opts;
  opts.reduceOp = reduceOpOf(env, name, op);
  opts.timeout = g->timeout;

  std::vector<at::Tensor> tensors;
  for (uint32_t i = 0; i < arr.Length(); i++) {
    at::Tensor& t = unwrapTensor(env, arr.Get(i), op.c_str());
    checkDevice(env, *g, t, op);
    if (name == "avg") checkAverageable(env, t, op);
    tensors.push_back(t.detach());
  }
  // Buckets: consecutive tensors of one dtype, cut when the size passes bucketBytes.
  std::vector<std::vector<size_t>> buckets;
  std::map<at::ScalarType, size_t> open;  // dtype -> index of its bucket being filled
  std::vector<double> fill;
  for (size_t i = 0; i < tensors.size(); i++) {
    at::ScalarType dt = tensors[i].scalar_type();
    double bytes = static_cast<double>(tensors[i].nbytes());
    auto it = open.find(dt);
    if (it == open.end() || (fill[it->second] > 0 && fill[it->second] + bytes > bucketBytes)) {
      buckets.push_back({});
      fill.push_back(0);
      open[dt] = buckets.size() - 1;
      it = open.find(dt);
    }
    buckets[it->second].push_back(i);
    fill[it->second] += bytes;
  }
  std::vector<std::vector<at::Tensor>> flats(buckets.size());
  std::vector<c10::intrusive_ptr<c10d::Work>> works;
  for (size_t b = 0; b < buckets.size(); b++) {
    guarded(env, op, [&]() {
      std::vector<at::Tensor> parts;
      for (size_t i : buckets[b]) parts.push_back(tensors[i].reshape({-1}));
      flats[b].push_back(at::cat(parts));
    });
    works.push_back(start(env, g, op, [&]() { return g->pg->allreduce(flats[b], opts); }));
  }
  for (size_t b = 0; b < buckets.size(); b++) {
    waitFor(env, g, op, works[b]);
    guarded(env, op, [&]() {
      at::NoGradGuard noGrad;
      at::Tensor flat = flats[b][0];
      if (name == "avg") flat.div_(g->size);
      int64_t offset = 0;
      for (size_t i : buckets[b]) {
        int64_t n = tensors[i].numel();
        tensors[i].copy_(flat.narrow(0, offset, n).view(tensors[i].sizes()));
        offset += n;
      }
    });
  }
  return Napi::Number::New(env, static_cast<double>(buckets.size()));
}

Napi::Value pgInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GroupBox* g = groupOf(env, info[0], "info");
  Napi::Object out = Napi::Object::New(env);
  out.Set("rank", g->rank);
  out.Set("worldSize", g->size);
  out.Set("backend", g->pg->getBackendName());
  out.Set("broken", g->broken);
  return out;
}

}  // namespace

std::string messageOf(const std::exception& e) {
  if (auto* c10e = dynamic_cast<const c10::Error*>(&e)) return firstLine(c10e->what_without_backtrace());
  return firstLine(e.what());
}

// Names the other ranks (all of them but this one) for error messages.
static std::string otherRanks(const GroupBox& g) {
  if (g.size == 2) return "rank " + std::to_string(1 - g.rank);
  return "another rank";
}

// Turns libtorch's and gloo's wording into a message that says what happened.
std::string explainCollectiveFailure(const GroupBox& g, const std::string& op, const std::string& raw) {
  std::string who = otherRanks(g);
  std::string head = op + " on rank " + std::to_string(g.rank) + " of " + std::to_string(g.size) + ": ";
  if (contains(raw, "timed out") || contains(raw, "Timed out") || contains(raw, "Timeout") || contains(raw, "timeout"))
    return head + who + " did not answer within " + seconds(g.timeout) +
           " (it exited, hung, or is not calling " + op + " in the same order) [" + raw + "]";
  if (contains(raw, "closed by peer") || contains(raw, "Connection reset") || contains(raw, "Broken pipe") ||
      contains(raw, "Connection refused") || contains(raw, "EOF"))
    return head + who + " closed its connection (it probably exited or crashed) [" + raw + "]";
  return head + raw;
}

GroupBox* groupOf(Napi::Env env, const Napi::Value& value, const char* what) {
  GroupBox* g = taggedData<GroupBox>(env, value, kGroupTag);
  if (!g) throw Napi::TypeError::New(env, std::string(what) + ": expected a process group");
  if (!g->pg) throw Napi::Error::New(env, std::string(what) + ": the process group has been destroyed");
  return g;
}

bool isPeerFailure(const std::string& raw) {
  return contains(raw, "imed out") || contains(raw, "imeout") || contains(raw, "closed") || contains(raw, "reset") ||
         contains(raw, "pipe") || contains(raw, "refused") || contains(raw, "EOF");
}

void registerDistributed(Napi::Env env, Napi::Object exports) {
  exports.Set("pgCreate", Napi::Function::New(env, pgCreate));
  exports.Set("pgDestroy", Napi::Function::New(env, pgDestroy));
  exports.Set("pgAllReduce", Napi::Function::New(env, pgAllReduce));
  exports.Set("pgBroadcast", Napi::Function::New(env, pgBroadcast));
  exports.Set("pgAllGather", Napi::Function::New(env, pgAllGather));
  exports.Set("pgBarrier", Napi::Function::New(env, pgBarrier));
  exports.Set("pgAllReduceCoalesced", Napi::Function::New(env, pgAllReduceCoalesced));
  exports.Set("pgInfo", Napi::Function::New(env, pgInfo));
}

}  // namespace ortho
