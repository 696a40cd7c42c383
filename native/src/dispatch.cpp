// One generic entry point to every ATen operator: JS names an operator once
// (findOp), then calls it with positional arguments that are converted
// according to the operator's schema and run through libtorch's dispatcher —
// so autograd, autocast and device selection all apply as in PyTorch.
#include "common.h"

#include <ATen/core/dispatch/Dispatcher.h>

#include <vector>

namespace ortho {
namespace {

struct OpEntry {
  c10::OperatorHandle handle;
  std::string label;  // "aten::name.overload", used in error messages
};

std::vector<OpEntry>& opTable() {
  static std::vector<OpEntry> table;
  return table;
}

struct InputTensor {
  c10::TensorImpl* impl;
  napi_value js;
};

[[noreturn]] void badArgument(Napi::Env env, const std::string& label, const c10::Argument& arg, const std::string& why) {
  throw Napi::TypeError::New(env, label + ": argument '" + arg.name() + "' " + why);
}

int64_t toInt(Napi::Env env, const Napi::Value& v, const std::string& label, const c10::Argument& arg) {
  if (v.IsBoolean()) return v.As<Napi::Boolean>().Value() ? 1 : 0;
  if (v.IsBigInt()) {
    bool lossless = true;
    return v.As<Napi::BigInt>().Int64Value(&lossless);
  }
  if (!v.IsNumber()) badArgument(env, label, arg, "must be an integer");
  double d = v.As<Napi::Number>().DoubleValue();
  if (d != static_cast<double>(static_cast<int64_t>(d))) badArgument(env, label, arg, "must be an integer, got " + std::to_string(d));
  return static_cast<int64_t>(d);
}

double toDouble(Napi::Env env, const Napi::Value& v, const std::string& label, const c10::Argument& arg) {
  if (!v.IsNumber()) badArgument(env, label, arg, "must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

c10::IValue toIValue(Napi::Env env, const Napi::Value& v, const c10::TypePtr& type, const c10::Argument& arg,
                     const std::string& label, std::vector<InputTensor>& inputs);

c10::IValue toListIValue(Napi::Env env, const Napi::Value& v, const c10::ListTypePtr& type, const c10::Argument& arg,
                         const std::string& label, std::vector<InputTensor>& inputs) {
  const c10::TypePtr& elem = type->getElementType();
  c10::TypeKind kind = elem->kind();
  bool isIntLike = kind == c10::TypeKind::IntType || kind == c10::TypeKind::SymIntType;
  // PyTorch accepts a single number for fixed-size lists such as `int[2] stride`.
  if (!v.IsArray()) {
    if ((isIntLike || kind == c10::TypeKind::FloatType) && v.IsNumber()) {
      int n = arg.N() ? *arg.N() : 1;
      if (isIntLike) return c10::IValue(std::vector<int64_t>(n, toInt(env, v, label, arg)));
      return c10::IValue(std::vector<double>(n, toDouble(env, v, label, arg)));
    }
    badArgument(env, label, arg, "must be an array");
  }
  Napi::Array arr = v.As<Napi::Array>();
  uint32_t n = arr.Length();
  if (isIntLike) {
    std::vector<int64_t> out(n);
    for (uint32_t i = 0; i < n; i++) out[i] = toInt(env, arr.Get(i), label, arg);
    return c10::IValue(out);
  }
  if (kind == c10::TypeKind::FloatType) {
    std::vector<double> out(n);
    for (uint32_t i = 0; i < n; i++) out[i] = toDouble(env, arr.Get(i), label, arg);
    return c10::IValue(out);
  }
  if (kind == c10::TypeKind::BoolType) {
    c10::List<bool> out;
    for (uint32_t i = 0; i < n; i++) out.push_back(arr.Get(i).ToBoolean().Value());
    return c10::IValue(out);
  }
  if (kind == c10::TypeKind::TensorType) {
    c10::List<at::Tensor> out;
    out.reserve(n);
    for (uint32_t i = 0; i < n; i++) out.push_back(unwrapTensor(env, arr.Get(i), (label + " (tensor list)").c_str()));
    return c10::IValue(out);
  }
  if (kind == c10::TypeKind::OptionalType && elem->castRaw<c10::OptionalType>()->getElementType()->kind() == c10::TypeKind::TensorType) {
    c10::List<c10::optional<at::Tensor>> out;
    for (uint32_t i = 0; i < n; i++) {
      Napi::Value item = arr.Get(i);
      if (item.IsNull() || item.IsUndefined()) out.push_back(c10::nullopt);
      else out.push_back(unwrapTensor(env, item, (label + " (tensor list)").c_str()));
    }
    return c10::IValue(out);
  }
  badArgument(env, label, arg, "has a list type this binding does not support: " + type->str());
}

c10::IValue toIValue(Napi::Env env, const Napi::Value& v, const c10::TypePtr& type, const c10::Argument& arg,
                     const std::string& label, std::vector<InputTensor>& inputs) {
  switch (type->kind()) {
    case c10::TypeKind::TensorType: {
      at::Tensor& t = unwrapTensor(env, v, label.c_str());
      inputs.push_back({t.unsafeGetTensorImpl(), v});
      return c10::IValue(t);
    }
    case c10::TypeKind::OptionalType:
      if (v.IsNull() || v.IsUndefined()) return c10::IValue();
      return toIValue(env, v, type->castRaw<c10::OptionalType>()->getElementType(), arg, label, inputs);
    case c10::TypeKind::IntType:
    case c10::TypeKind::SymIntType:
    case c10::TypeKind::ScalarTypeType:
    case c10::TypeKind::LayoutType:
    case c10::TypeKind::MemoryFormatType:
      return c10::IValue(toInt(env, v, label, arg));
    case c10::TypeKind::FloatType:
      return c10::IValue(toDouble(env, v, label, arg));
    case c10::TypeKind::BoolType:
      if (!v.IsBoolean()) badArgument(env, label, arg, "must be a boolean");
      return c10::IValue(v.As<Napi::Boolean>().Value());
    case c10::TypeKind::NumberType:  // Scalar: integers stay integral so integer tensors keep their dtype
      if (v.IsBoolean()) return c10::IValue(v.As<Napi::Boolean>().Value());
      if (v.IsBigInt()) return c10::IValue(toInt(env, v, label, arg));
      if (!v.IsNumber()) badArgument(env, label, arg, "must be a number");
      {
        double d = v.As<Napi::Number>().DoubleValue();
        if (std::isfinite(d) && d == static_cast<double>(static_cast<int64_t>(d)) && std::abs(d) < 9.0e15)
          return c10::IValue(static_cast<int64_t>(d));
        return c10::IValue(d);
      }
    case c10::TypeKind::StringType:
      if (!v.IsString()) badArgument(env, label, arg, "must be a string");
      return c10::IValue(v.As<Napi::String>().Utf8Value());
    case c10::TypeKind::DeviceObjType:
      if (!v.IsString()) badArgument(env, label, arg, "must be a device string such as 'cpu' or 'cuda:0'");
      return guarded(env, label, [&]() { return c10::IValue(c10::Device(v.As<Napi::String>().Utf8Value())); });
    case c10::TypeKind::GeneratorType:
      if (!v.IsNull() && !v.IsUndefined()) badArgument(env, label, arg, "only the default generator is supported");
      return c10::IValue();
    case c10::TypeKind::ListType:
      return toListIValue(env, v, type->cast<c10::ListType>(), arg, label, inputs);
    default:
      badArgument(env, label, arg, "has a type this binding does not support: " + type->str());
  }
}

// `inputs` is non-empty only for returns that the schema marks as written in
// place (`Tensor(a!)`): those hand back the caller's own handle. Every other
// result gets a fresh handle, even when libtorch returns the input itself
// (contiguous, to), so disposing a result never frees an argument.
Napi::Value fromIValue(Napi::Env env, const c10::IValue& v, const std::vector<InputTensor>& inputs) {
  if (v.isTensor()) {
    const at::Tensor& t = v.toTensor();
    if (!t.defined()) return env.Null();
    for (const auto& in : inputs)
      if (in.impl == t.unsafeGetTensorImpl()) return Napi::Value(env, in.js);
    return wrapTensor(env, t);
  }
  if (v.isNone()) return env.Undefined();
  if (v.isBool()) return Napi::Boolean::New(env, v.toBool());
  if (v.isInt()) return Napi::Number::New(env, static_cast<double>(v.toInt()));
  if (v.isDouble()) return Napi::Number::New(env, v.toDouble());
  if (v.isString()) return Napi::String::New(env, v.toStringRef());
  if (v.isTensorList()) {
    auto list = v.toTensorVector();
    Napi::Array out = Napi::Array::New(env, list.size());
    for (size_t i = 0; i < list.size(); i++) out.Set(i, fromIValue(env, c10::IValue(list[i]), inputs));
    return out;
  }
  if (v.isIntList()) {
    auto list = v.toIntVector();
    Napi::Array out = Napi::Array::New(env, list.size());
    for (size_t i = 0; i < list.size(); i++) out.Set(i, Napi::Number::New(env, static_cast<double>(list[i])));
    return out;
  }
  if (v.isDoubleList()) {
    auto list = v.toDoubleVector();
    Napi::Array out = Napi::Array::New(env, list.size());
    for (size_t i = 0; i < list.size(); i++) out.Set(i, Napi::Number::New(env, list[i]));
    return out;
  }
  if (v.isTuple()) {
    const auto& elems = v.toTupleRef().elements();
    Napi::Array out = Napi::Array::New(env, elems.size());
    for (size_t i = 0; i < elems.size(); i++) out.Set(i, fromIValue(env, elems[i], inputs));
    return out;
  }
  if (v.isList()) {
    auto list = v.toList();
    Napi::Array out = Napi::Array::New(env, list.size());
    for (size_t i = 0; i < list.size(); i++) out.Set(i, fromIValue(env, list.get(i), inputs));
    return out;
  }
  if (v.isComplexDouble()) {
    auto c = v.toComplexDouble();
    Napi::Array out = Napi::Array::New(env, 2);
    out.Set(0u, c.real());
    out.Set(1u, c.imag());
    return out;
  }
  throw Napi::TypeError::New(env, "operator returned a value this binding cannot convert: " + v.tagKind());
}

// findOp("aten::add", "Tensor") -> integer id used by callOp.
Napi::Value findOp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = info[0].As<Napi::String>().Utf8Value();
  std::string overload = info.Length() > 1 && info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "";
  auto handle = c10::Dispatcher::singleton().findSchema({name, overload});
  if (!handle) throw Napi::Error::New(env, "unknown operator " + name + (overload.empty() ? "" : "." + overload));
  opTable().push_back({*handle, name + (overload.empty() ? "" : "." + overload)});
  return Napi::Number::New(env, static_cast<double>(opTable().size() - 1));
}

const OpEntry& entryOf(Napi::Env env, const Napi::Value& id) {
  uint32_t index = id.As<Napi::Number>().Uint32Value();
  if (index >= opTable().size()) throw Napi::RangeError::New(env, "invalid operator id");
  return opTable()[index];
}

Napi::Value opSchema(const Napi::CallbackInfo& info) {
  std::ostringstream out;
  out << entryOf(info.Env(), info[0]).handle.schema();
  return Napi::String::New(info.Env(), out.str());
}

// callOp(id, args): args are positional in schema order (keyword-only ones
// included); undefined takes the schema's default.
Napi::Value callOp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const OpEntry& op = entryOf(env, info[0]);
  const c10::FunctionSchema& schema = op.handle.schema();
  const auto& args = schema.arguments();
  Napi::Array jsArgs = info[1].As<Napi::Array>();
  uint32_t given = jsArgs.Length();
  if (given > args.size())
    throw Napi::TypeError::New(env, op.label + ": takes " + std::to_string(args.size()) + " arguments but " +
                                        std::to_string(given) + " were given");
  std::vector<InputTensor> inputs;
  torch::jit::Stack stack;
  stack.reserve(args.size());
  for (size_t i = 0; i < args.size(); i++) {
    const c10::Argument& arg = args[i];
    Napi::Value v = i < given ? jsArgs.Get(static_cast<uint32_t>(i)) : env.Undefined();
    if (v.IsUndefined()) {
      if (arg.default_value()) {
        stack.push_back(*arg.default_value());
        continue;
      }
      if (arg.type()->kind() == c10::TypeKind::OptionalType) {
        stack.emplace_back();
        continue;
      }
      throw Napi::TypeError::New(env, op.label + ": missing required argument '" + arg.name() + "'");
    }
    stack.push_back(toIValue(env, v, arg.type(), arg, op.label, inputs));
  }
  guarded(env, op.label, [&]() { op.handle.callBoxed(&stack); });
  const auto& returns = schema.returns();
  const std::vector<InputTensor> none;
  auto convert = [&](size_t i) {
    const c10::AliasInfo* alias = i < returns.size() ? returns[i].alias_info() : nullptr;
    return fromIValue(env, stack[i], alias && alias->isWrite() ? inputs : none);
  };
  if (stack.empty()) return env.Undefined();
  if (stack.size() == 1) return convert(0);
  Napi::Array out = Napi::Array::New(env, stack.size());
  for (size_t i = 0; i < stack.size(); i++) out.Set(i, convert(i));
  return out;
}

}  // namespace

void registerDispatch(Napi::Env env, Napi::Object exports) {
  exports.Set("findOp", Napi::Function::New(env, findOp));
  exports.Set("opSchema", Napi::Function::New(env, opSchema));
  exports.Set("callOp", Napi::Function::New(env, callOp));
}

}  // namespace ortho
