// Forward of a grouped convolution with 2 input channels per group and a
// 3×3 kernel (the BCOP layers of the seed model: 2 in, 4 out per group),
// stride 1, zero 'same' padding, on channels-last activations, without
// gradients (evaluation and certification).
//
// oneDNN runs this shape slowly: per output channel there are only 18
// multiply-adds, too few for its blocked kernels. Here each input row is
// expanded once so that plane i holds, for every output channel co, the value
// of input channel (co / outPerGroup)·2 + i. An output pixel is then, for each
// block of 16 output channels, 18 contiguous 16-wide products accumulated in a
// register.
#include "common.h"

#include <ATen/core/grad_mode.h>

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <vector>

namespace ortho {
namespace {

constexpr int64_t kBlock = 16;  // output channels per register block (one AVX-512 vector of floats)
constexpr int64_t kKernel = 3;
constexpr int64_t kInPerGroup = 2;

struct Geometry {
  int64_t batch, height, width, inChannels, outChannels, outPerGroup;
  // Planes are padded by one block: with power-of-two channel counts, the 18
  // vectors an output block reads would otherwise sit 2 or 4 KiB apart and
  // fight over the same L1 cache sets.
  int64_t plane() const { return outChannels + kBlock; }
  int64_t pixel() const { return kInPerGroup * plane(); }
};

// Row layout [w][i][co] (padded strides): plane i holds input channel (co / outPerGroup)·2 + i.
// OutPerGroup > 0 fixes the copy count at compile time (the seed's 4) so the copies vectorize.
template <typename T, int OutPerGroup>
void expandRowFor(const T* in, T* expanded, const Geometry& g) {
  const int64_t groups = g.inChannels / kInPerGroup;
  const int64_t copies = OutPerGroup > 0 ? OutPerGroup : g.outPerGroup;
  for (int64_t w = 0; w < g.width; w++) {
    const T* pixel = in + w * g.inChannels;
    T* d0 = expanded + w * g.pixel();
    T* d1 = d0 + g.plane();
    for (int64_t group = 0; group < groups; group++) {
      T v0 = pixel[group * kInPerGroup], v1 = pixel[group * kInPerGroup + 1];
      for (int64_t j = 0; j < copies; j++) {
        d0[group * copies + j] = v0;
        d1[group * copies + j] = v1;
      }
    }
  }
}

template <typename T>
void expandRow(const T* in, T* expanded, const Geometry& g) {
  if (g.outPerGroup == 4) expandRowFor<T, 4>(in, expanded, g);
  else expandRowFor<T, 0>(in, expanded, g);
}

// r += Σ over the taps dx ∈ [dxBegin, dxEnd) of row `e` around pixel w.
template <typename T>
inline void accumulateRow(T* r, const T* e, const T* wt, int64_t w, int64_t dxBegin, int64_t dxEnd, const Geometry& g) {
  const int64_t plane = g.plane(), pixel = g.pixel();
  for (int64_t dx = dxBegin; dx < dxEnd; dx++) {
    const T* ep = e + (w + dx - 1) * pixel;
    const T* wp = wt + dx * pixel;
    for (int64_t b = 0; b < kBlock; b++) r[b] += wp[b] * ep[b] + wp[plane + b] * ep[plane + b];
  }
}

// One output row: out[w][co] = Σ_{dy, dx, i} weight[dy][dx][i][co] · rows[dy][w + dx − 1][i][co];
// rows[dy] is null where the input row lies in the zero padding.
template <typename T>
inline void outputRow(const T* const* rows, const T* weight, T* out, const Geometry& g) {
  const int64_t cout = g.outChannels, width = g.width;
  // Channel blocks outside, pixels inside: a block's 18 weight vectors stay in L1.
  for (int64_t co0 = 0; co0 < cout; co0 += kBlock) {
    for (int64_t w = 0; w < width; w++) {
      // Taps that fall outside the row are the zero padding.
      int64_t dxBegin = w == 0 ? 1 : 0, dxEnd = w == width - 1 ? 2 : 3;
      T r[kBlock] = {};
      for (int64_t dy = 0; dy < kKernel; dy++) {
        if (rows[dy]) accumulateRow(r, rows[dy] + co0, weight + dy * kKernel * g.pixel() + co0, w, dxBegin, dxEnd, g);
      }
      for (int64_t b = 0; b < kBlock; b++) out[w * cout + co0 + b] = r[b];
    }
  }
}

// On x86-64, compiled for AVX-512, AVX2 and the baseline; the loader picks the best this CPU runs.
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define ORTHO_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define ORTHO_VECTOR_CLONES
#endif
ORTHO_VECTOR_CLONES void outputRowFloat(const float* const* rows, const float* weight, float* out, const Geometry& g) {
  outputRow(rows, weight, out, g);
}
ORTHO_VECTOR_CLONES void outputRowDouble(const double* const* rows, const double* weight, double* out, const Geometry& g) {
  outputRow(rows, weight, out, g);
}
void outputRowFor(const float* const* rows, const float* weight, float* out, const Geometry& g) { outputRowFloat(rows, weight, out, g); }
void outputRowFor(const double* const* rows, const double* weight, double* out, const Geometry& g) { outputRowDouble(rows, weight, out, g); }

template <typename T>
void convolve(const T* x, const T* weight, T* out, const Geometry& g) {
  const int64_t rowSize = g.width * g.pixel() + kBlock;
  at::parallel_for(0, g.batch * g.height, 1, [&](int64_t begin, int64_t end) {
    // A ring of the last 3 expanded input rows, so each is expanded once per thread.
    std::vector<T> ring(static_cast<size_t>(kKernel * rowSize));
    int64_t ringTag[kKernel] = {-1, -1, -1};
    const T* rows[kKernel];
    for (int64_t row = begin; row < end; row++) {
      int64_t n = row / g.height, h = row % g.height;
      for (int64_t dy = 0; dy < kKernel; dy++) {
        int64_t hh = h + dy - 1;
        if (hh < 0 || hh >= g.height) {
          rows[dy] = nullptr;
          continue;
        }
        int64_t slot = hh % kKernel, tag = n * g.height + hh;
        T* expanded = ring.data() + slot * rowSize;
        if (ringTag[slot] != tag) {
          expandRow(x + tag * g.width * g.inChannels, expanded, g);
          ringTag[slot] = tag;
        }
        rows[dy] = expanded;
      }
      outputRowFor(rows, weight, out + row * g.width * g.outChannels, g);
    }
  });
}

// groupedConv3x3ChannelsLast(x [N, C, H, W] channels-last, weight [Cout, 2, 3, 3], groups = C / 2)
Napi::Value groupedConv3x3ChannelsLast(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  at::Tensor& x = unwrapTensor(env, info[0], "groupedConv3x3ChannelsLast");
  at::Tensor& weight = unwrapTensor(env, info[1], "groupedConv3x3ChannelsLast");
  return guarded(env, "groupedConv3x3ChannelsLast", [&]() {
    TORCH_CHECK(x.dim() == 4 && weight.dim() == 4, "expected 4-d input and weight");
    TORCH_CHECK(x.device().is_cpu() && weight.device().is_cpu(), "CPU tensors only");
    TORCH_CHECK(x.scalar_type() == weight.scalar_type() && (x.scalar_type() == at::kFloat || x.scalar_type() == at::kDouble),
                "float32 or float64 input and weight of the same dtype");
    TORCH_CHECK(x.is_contiguous(at::MemoryFormat::ChannelsLast), "the input must be channels-last");
    TORCH_CHECK(weight.size(1) == kInPerGroup && weight.size(2) == kKernel && weight.size(3) == kKernel,
                "expected a weight [out, 2, 3, 3], got ", weight.sizes());
    int64_t groups = x.size(1) / kInPerGroup;
    TORCH_CHECK(x.size(1) % kInPerGroup == 0 && weight.size(0) % groups == 0, "input channels ", x.size(1), " and weight ",
                weight.sizes(), " do not make groups of 2 input channels");
    TORCH_CHECK(weight.size(0) % kBlock == 0, "output channels must be a multiple of ", kBlock);
    Geometry g{x.size(0), x.size(2), x.size(3), x.size(1), weight.size(0), weight.size(0) / groups};
    at::NoGradGuard noGrad;
    // [3, 3, 2, out] with the planes padded like the expanded rows
    at::Tensor laidOut = at::zeros({kKernel, kKernel, kInPerGroup, g.plane()}, weight.options());
    laidOut.narrow(3, 0, g.outChannels).copy_(weight.permute({2, 3, 1, 0}));
    at::Tensor out = at::empty({g.batch, g.outChannels, g.height, g.width}, x.options().memory_format(at::MemoryFormat::ChannelsLast));
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "groupedConv3x3ChannelsLast", [&] {
      convolve<scalar_t>(x.data_ptr<scalar_t>(), laidOut.data_ptr<scalar_t>(), out.data_ptr<scalar_t>(), g);
    });
    return wrapTensor(env, out);
  });
}

}  // namespace

void registerGroupedConvKernel(Napi::Env env, Napi::Object exports) {
  exports.Set("groupedConv3x3ChannelsLast", Napi::Function::New(env, groupedConv3x3ChannelsLast));
}

}  // namespace ortho
