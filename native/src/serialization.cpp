// Bytes in and out of libtorch's pickler, the format of torch.save/torch.load
// (zip archive with data.pkl and raw storages). Files are read and written
// by TypeScript (atomically); this file only converts values.
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

// Dicts come back as {__dict__: [[key, value], ...]} to keep order and
// non-string keys; TypeScript turns them into plain objects or Maps.
Napi::Value ivalueToJs(Napi::Env env, const c10::IValue& v) {
  if (v.isTensor()) return v.toTensor().defined() ? wrapTensor(env, v.toTensor()) : env.Null();
  if (v.isNone()) return env.Null();
  if (v.isBool()) return Napi::Boolean::New(env, v.toBool());
  if (v.isInt()) return Napi::Number::New(env, static_cast<double>(v.toInt()));
  if (v.isDouble()) return Napi::Number::New(env, v.toDouble());
  if (v.isString()) return Napi::String::New(env, v.toStringRef());
  if (v.isGenericDict()) {
    auto dict = v.toGenericDict();
    Napi::Array entries = Napi::Array::New(env, dict.size());
    uint32_t i = 0;
    for (const auto& item : dict) {
      Napi::Array pair = Napi::Array::New(env, 2);
      pair.Set(0u, ivalueToJs(env, item.key()));
      pair.Set(1u, ivalueToJs(env, item.value()));
      entries.Set(i++, pair);
    }
    Napi::Object out = Napi::Object::New(env);
    out.Set("__dict__", entries);
    return out;
  }
  if (v.isList() || v.isTuple() || v.isTensorList() || v.isIntList() || v.isDoubleList() || v.isBoolList()) {
    std::vector<c10::IValue> items;
    if (v.isTuple()) items = v.toTupleRef().elements().vec();
    else for (const auto& e : v.toListRef()) items.push_back(e);
    Napi::Array out = Napi::Array::New(env, items.size());
    for (size_t i = 0; i < items.size(); i++) out.Set(i, ivalueToJs(env, items[i]));
    return out;
  }
  throw Napi::TypeError::New(env, "pickleLoad: the file holds a value of kind " + v.tagKind() + " that cannot be loaded");
}

Napi::Value pickleSave(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  c10::IValue value = jsToIValue(env, info[0], "value");
  return guarded(env, "save", [&]() {
    std::vector<char> bytes = torch::jit::pickle_save(value);
    return Napi::Buffer<char>::Copy(env, bytes.data(), bytes.size());
  });
}

Napi::Value pickleLoad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsBuffer()) throw Napi::TypeError::New(env, "pickleLoad: expected a Buffer");
  Napi::Buffer<char> buffer = info[0].As<Napi::Buffer<char>>();
  std::vector<char> bytes(buffer.Data(), buffer.Data() + buffer.Length());
  return guarded(env, "load", [&]() { return ivalueToJs(env, torch::jit::pickle_load(bytes)); });
}

}  // namespace

void registerSerialization(Napi::Env env, Napi::Object exports) {
  exports.Set("pickleSave", Napi::Function::New(env, pickleSave));
  exports.Set("pickleLoad", Napi::Function::New(env, pickleLoad));
}

}  // namespace ortho
