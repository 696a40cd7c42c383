// Values to bytes through libtorch's pickler, in the format of torch.save
// (zip archive with data.pkl and raw storages). Reading is done in
// TypeScript (src/torch/pickle), which also understands Python's own files.
#include "common.h"

#include <torch/csrc/jit/serialization/pickle.h>

namespace ortho {
namespace {

c10::IValue jsToIValue(Napi::Env env, const Napi::Value& v, const std::string& path) {
  if (isTensorHandle(env, v)) return c10::IValue(unwrapTensor(env, v, path.c_str()));
  if (v.IsNull() || v.IsUndefined()) return c10::IValue();
  if (v.IsBoolean()) return c10::IValue(v.As<Napi::Boolean>().Value());
  if (v.IsNumber()) {
    double d = v.As<Napi::Number>().DoubleValue();
    if (std::isfinite(d) && d == static_cast<double>(static_cast<int64_t>(d))) return c10::IValue(static_cast<int64_t>(d));
    return c10::IValue(d);
  }
  if (v.IsString()) return c10::IValue(v.As<Napi::String>().Utf8Value());
  if (v.IsArray()) {
    Napi::Array arr = v.As<Napi::Array>();
    c10::impl::GenericList list(c10::AnyType::get());
    for (uint32_t i = 0; i < arr.Length(); i++) list.push_back(jsToIValue(env, arr.Get(i), path + "[" + std::to_string(i) + "]"));
    return c10::IValue(list);
  }
  if (v.IsObject() && v.As<Napi::Object>().Has("__entries__")) {
    // A JS Map, sent as [[key, value], ...]: integer keys stay integers (optimizer states use them).
    Napi::Array entries = v.As<Napi::Object>().Get("__entries__").As<Napi::Array>();
    bool intKeys = entries.Length() > 0;
    for (uint32_t i = 0; i < entries.Length(); i++)
      intKeys = intKeys && entries.Get(i).As<Napi::Array>().Get(0u).IsNumber();
    c10::impl::GenericDict dict(intKeys ? c10::TypePtr(c10::IntType::get()) : c10::TypePtr(c10::StringType::get()), c10::AnyType::get());
    for (uint32_t i = 0; i < entries.Length(); i++) {
      Napi::Array pair = entries.Get(i).As<Napi::Array>();
      Napi::Value key = pair.Get(0u);
      std::string label = key.ToString().Utf8Value();
      c10::IValue item = jsToIValue(env, pair.Get(1u), path + "." + label);
      if (intKeys) dict.insert(static_cast<int64_t>(key.As<Napi::Number>().Int64Value()), item);
      else dict.insert(label, item);
    }
    return c10::IValue(dict);
  }
  if (v.IsObject()) {
    // Objects become str-keyed dicts, keeping insertion order like Python's.
    Napi::Object obj = v.As<Napi::Object>();
    Napi::Array keys = obj.GetPropertyNames();
    c10::impl::GenericDict dict(c10::StringType::get(), c10::AnyType::get());
    for (uint32_t i = 0; i < keys.Length(); i++) {
      std::string key = keys.Get(i).As<Napi::String>().Utf8Value();
      dict.insert(key, jsToIValue(env, obj.Get(key), path + "." + key));
    }
    return c10::IValue(dict);
  }
  throw Napi::TypeError::New(env, "pickleSave: value at '" + path + "' cannot be saved");
}

Napi::Value pickleSave(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  c10::IValue value = jsToIValue(env, info[0], "value");
  return guarded(env, "save", [&]() {
    std::vector<char> bytes = torch::jit::pickle_save(value);
    return Napi::Buffer<char>::Copy(env, bytes.data(), bytes.size());
  });
}

}  // namespace

void registerSerialization(Napi::Env env, Napi::Object exports) {
  exports.Set("pickleSave", Napi::Function::New(env, pickleSave));
}

}  // namespace ortho
