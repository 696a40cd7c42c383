// A small native module for the data loader's worker threads: JPEG decoding
// through libjpeg-turbo (the decoder PIL, and so torchvision, uses, with the
// same defaults: accurate integer IDCT, smooth chroma upsampling). It links
// nothing but libjpeg, so loading it in every worker costs little, unlike the
// libtorch addon.
//
// libjpeg reports fatal errors through a callback that must not return: it
// longjmps back into decode(), whose frame holds no C++ object with a
// destructor, and every value it fills lives behind the `out` pointer.
#include <napi.h>

#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <jpeglib.h>

namespace {

struct ErrorManager {
  jpeg_error_mgr base;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

[[noreturn]] void onFatal(j_common_ptr info) {
  auto* errors = reinterpret_cast<ErrorManager*>(info->err);
  (*info->err->format_message)(info, errors->message);
  std::longjmp(errors->jump, 1);
}

// Warnings (a truncated or corrupt stream that libjpeg would pad with grey)
// are errors here: a damaged image must not silently enter a training set.
void onMessage(j_common_ptr info, int level) {
  if (level < 0) onFatal(info);
}

constexpr double kMaxPixels = 100e6;

struct Decoded {
  std::vector<unsigned char> pixels;  // interleaved rows as libjpeg writes them
  int width = 0, height = 0, channels = 0;
  ErrorManager errors;
};

bool decode(const unsigned char* bytes, size_t size, Decoded* out) {
  jpeg_decompress_struct info;
  info.err = jpeg_std_error(&out->errors.base);
  out->errors.base.error_exit = onFatal;
  out->errors.base.emit_message = onMessage;
  if (setjmp(out->errors.jump)) {
    jpeg_destroy_decompress(&info);
    return false;
  }
  jpeg_create_decompress(&info);
  jpeg_mem_src(&info, const_cast<unsigned char*>(bytes), static_cast<unsigned long>(size));
  jpeg_read_header(&info, TRUE);
  if (info.num_components != 1 && info.num_components != 3) {
    std::snprintf(out->errors.message, sizeof out->errors.message, "JPEG with %d components (CMYK?) is not supported; only grey (1) and colour (3)", info.num_components);
    jpeg_destroy_decompress(&info);
    return false;
  }
  // A header can claim any size: refuse what no dataset image needs before allocating it (jpeg-js's limit too).
  if (static_cast<double>(info.image_width) * info.image_height > kMaxPixels) {
    std::snprintf(out->errors.message, sizeof out->errors.message, "a %u×%u JPEG is over the %.0f-megapixel limit", info.image_width, info.image_height, kMaxPixels / 1e6);
    jpeg_destroy_decompress(&info);
    return false;
  }
  info.out_color_space = info.num_components == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_start_decompress(&info);
  out->width = static_cast<int>(info.output_width);
  out->height = static_cast<int>(info.output_height);
  out->channels = info.output_components;
  out->pixels.resize(static_cast<size_t>(out->width) * out->height * out->channels);
  const size_t stride = static_cast<size_t>(out->width) * out->channels;
  while (info.output_scanline < info.output_height) {
    JSAMPROW row = out->pixels.data() + info.output_scanline * stride;
    jpeg_read_scanlines(&info, &row, 1);
  }
  jpeg_finish_decompress(&info);
  jpeg_destroy_decompress(&info);
  return true;
}

// decodeJpeg(bytes: Uint8Array) → { data: Uint8Array (CHW), channels, height, width }
Napi::Value DecodeJpeg(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw Napi::TypeError::New(env, "decodeJpeg: expects a Uint8Array");
  }
  Napi::Uint8Array bytes = info[0].As<Napi::Uint8Array>();
  Decoded decoded;
  if (!decode(bytes.Data(), bytes.ByteLength(), &decoded)) throw Napi::Error::New(env, decoded.errors.message);
  const size_t plane = static_cast<size_t>(decoded.width) * decoded.height;
  const int channels = decoded.channels;
  Napi::Uint8Array chw = Napi::Uint8Array::New(env, plane * channels);
  unsigned char* dst = chw.Data();
  const unsigned char* src = decoded.pixels.data();
  for (int c = 0; c < channels; c++)
    for (size_t p = 0; p < plane; p++) dst[c * plane + p] = src[p * channels + c];
  Napi::Object result = Napi::Object::New(env);
  result.Set("data", chw);
  result.Set("channels", channels);
  result.Set("height", decoded.height);
  result.Set("width", decoded.width);
  return result;
}

}  // namespace

Napi::Value ResampleAntialiased(const Napi::CallbackInfo& info);  // resize.cpp

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("decodeJpeg", Napi::Function::New(env, DecodeJpeg));
  exports.Set("resampleAntialiased", Napi::Function::New(env, ResampleAntialiased));
  return exports;
}

NODE_API_MODULE(orthogonium_image, Init)
