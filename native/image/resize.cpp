// The separable passes of src/data/resize.ts's antialiased bilinear resize,
// in C++ for the loader's workers: the same float32 products and sums in the
// same order (the build keeps the compiler from fusing them into FMAs), so
// the results are bit-identical to the TypeScript passes, which stay the
// fallback. The taps (first index, count, weights) come from TypeScript.
#include <napi.h>

#include <cmath>
#include <cstdint>
#include <vector>

namespace {

struct Axis {
  const int32_t* start;
  const int32_t* count;
  const float* weights;
  int taps;
};

// The taps of `outSize` outputs reading at most `inSize` inputs; their arrays' lengths are checked, as
// is every tap's range, so that no inconsistent axis can make the passes read out of bounds.
Axis axisOf(const Napi::Env& env, const Napi::Value& value, int inSize, int outSize) {
  Napi::Object o = value.As<Napi::Object>();
  Napi::Int32Array start = o.Get("start").As<Napi::Int32Array>();
  Napi::Int32Array count = o.Get("count").As<Napi::Int32Array>();
  Napi::Float32Array weights = o.Get("weights").As<Napi::Float32Array>();
  const int taps = o.Get("taps").As<Napi::Number>().Int32Value();
  bool ok = taps > 0 && start.ElementLength() == static_cast<size_t>(outSize) && count.ElementLength() == static_cast<size_t>(outSize) &&
            weights.ElementLength() == static_cast<size_t>(outSize) * taps;
  for (int i = 0; ok && i < outSize; i++) ok = start[i] >= 0 && count[i] >= 0 && count[i] <= taps && start[i] + count[i] <= inSize;
  if (!ok) throw Napi::RangeError::New(env, "resampleAntialiased: an axis does not match the sizes");
  return {start.Data(), count.Data(), weights.Data(), taps};
}

void resampleRows(const float* src, float* dst, const Axis& axis, int64_t rows, int inSize, int outSize) {
  for (int64_t r = 0; r < rows; r++) {
    const float* in = src + r * inSize;
    float* out = dst + r * outSize;
    for (int o = 0; o < outSize; o++) {
      const float* w = axis.weights + static_cast<int64_t>(o) * axis.taps;
      const float* s = in + axis.start[o];
      float acc = 0.0f;
      for (int j = 0, n = axis.count[o]; j < n; j++) acc = acc + s[j] * w[j];
      out[o] = acc;
    }
  }
}

void resampleColumns(const float* src, float* dst, const Axis& axis, int planes, int inSize, int outSize, int width) {
  for (int p = 0; p < planes; p++) {
    for (int o = 0; o < outSize; o++) {
      float* out = dst + (static_cast<int64_t>(p) * outSize + o) * width;
      for (int j = 0, n = axis.count[o]; j < n; j++) {
        const float w = axis.weights[static_cast<int64_t>(o) * axis.taps + j];
        const float* in = src + (static_cast<int64_t>(p) * inSize + axis.start[o] + j) * width;
        if (j == 0) for (int x = 0; x < width; x++) out[x] = in[x] * w;
        else for (int x = 0; x < width; x++) out[x] = out[x] + in[x] * w;
      }
      if (axis.count[o] == 0) for (int x = 0; x < width; x++) out[x] = 0.0f;
    }
  }
}

}  // namespace

// resampleAntialiased(data: Uint8Array | Float32Array, channels, height, width, outH, outW,
//                     widthAxis | null, heightAxis | null) → Uint8Array | Float32Array (CHW)
Napi::Value ResampleAntialiased(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 8 || !info[0].IsTypedArray()) throw Napi::TypeError::New(env, "resampleAntialiased: expects (data, channels, height, width, outH, outW, widthAxis, heightAxis)");
  const auto kind = info[0].As<Napi::TypedArray>().TypedArrayType();
  if (kind != napi_uint8_array && kind != napi_float32_array) throw Napi::TypeError::New(env, "resampleAntialiased: data must be a Uint8Array or a Float32Array");
  const int channels = info[1].As<Napi::Number>().Int32Value();
  const int height = info[2].As<Napi::Number>().Int32Value();
  const int width = info[3].As<Napi::Number>().Int32Value();
  const int outH = info[4].As<Napi::Number>().Int32Value();
  const int outW = info[5].As<Napi::Number>().Int32Value();
  if (channels < 1 || height < 1 || width < 1 || outH < 1 || outW < 1) throw Napi::RangeError::New(env, "resampleAntialiased: sizes must be positive");
  if (info[6].IsNull() != (outW == width) || info[7].IsNull() != (outH == height)) throw Napi::TypeError::New(env, "resampleAntialiased: an axis must be given exactly for a size that changes");
  const size_t inCount = static_cast<size_t>(channels) * height * width;
  if (info[0].As<Napi::TypedArray>().ElementLength() != inCount) throw Napi::RangeError::New(env, "resampleAntialiased: data length does not match channels × height × width");
  std::vector<float> current;
  if (kind == napi_uint8_array) {
    const uint8_t* in = info[0].As<Napi::Uint8Array>().Data();
    current.assign(in, in + inCount);
  } else {
    const float* in = info[0].As<Napi::Float32Array>().Data();
    current.assign(in, in + inCount);
  }
  int w = width;
  if (!info[6].IsNull()) {
    std::vector<float> next(static_cast<size_t>(channels) * height * outW);
    resampleRows(current.data(), next.data(), axisOf(env, info[6], width, outW), static_cast<int64_t>(channels) * height, width, outW);
    current.swap(next);
    w = outW;
  }
  if (!info[7].IsNull()) {
    std::vector<float> next(static_cast<size_t>(channels) * outH * w);
    resampleColumns(current.data(), next.data(), axisOf(env, info[7], height, outH), channels, height, outH, w);
    current.swap(next);
  }
  if (kind == napi_float32_array) {
    Napi::Float32Array out = Napi::Float32Array::New(env, current.size());
    std::copy(current.begin(), current.end(), out.Data());
    return out;
  }
  Napi::Uint8Array out = Napi::Uint8Array::New(env, current.size());
  uint8_t* o = out.Data();
  for (size_t i = 0; i < current.size(); i++) {
    const float r = std::nearbyint(current[i]);  // the default rounding mode: half to even, like torch.round
    o[i] = static_cast<uint8_t>(r < 0.0f ? 0.0f : r > 255.0f ? 255.0f : r);
  }
  return out;
}
