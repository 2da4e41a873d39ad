// Content notation <-> nv::List (see nvlist_content.h). Recursion is bounded by nv::kMaxDepth.
#include "pf/nvlist_content.h"

#include <cerrno>

#include "common/errors.h"

namespace sk {

namespace {

[[noreturn]] void Bad(Napi::Env env, const std::string& path, const std::string& what) {
  throw Error(env, EINVAL, "nvlist content " + path + ": " + what, "EINVAL");
}

std::string StringFromJs(const Napi::Value& v, const std::string& path) {
  if (!v.IsString()) Bad(v.Env(), path, "expected a string");
  std::string s = v.As<Napi::String>().Utf8Value();
  if (s.find('\0') != std::string::npos) Bad(v.Env(), path, "string contains a NUL byte");
  return s;
}

Napi::Array ArrayOf(const Napi::Value& v, const std::string& path) {
  if (!v.IsArray()) Bad(v.Env(), path, "expected an array");
  return v.As<Napi::Array>();
}

nv::List ListFromPairs(const Napi::Value& pairs, uint8_t flags, const std::string& path, size_t depth);

nv::List ListFromNode(const Napi::Value& node, const std::string& path, size_t depth) {
  if (!node.IsObject()) Bad(node.Env(), path, "expected {type: 'nvlist', value}");
  Napi::Object o = node.As<Napi::Object>();
  if (!o.Get("type").IsString() || o.Get("type").As<Napi::String>().Utf8Value() != "nvlist")
    Bad(node.Env(), path, "expected type 'nvlist'");
  uint8_t flags = 0;
  if (o.Has("flags") && !o.Get("flags").IsUndefined()) {
    uint64_t f = U64FromJs(o.Get("flags"), path + ".flags");
    if (f & ~uint64_t{3}) Bad(node.Env(), path, "flags may only hold 0x01 and 0x02");
    flags = static_cast<uint8_t>(f);
  }
  return ListFromPairs(o.Get("value"), flags, path + ".value", depth);
}

nv::List ListFromPairs(const Napi::Value& pairs, uint8_t flags, const std::string& path, size_t depth) {
  Napi::Env env = pairs.Env();
  if (depth > nv::kMaxDepth) Bad(env, path, "nested deeper than " + std::to_string(nv::kMaxDepth));
  nv::List l;
  l.flags = flags;
  Napi::Array arr = ArrayOf(pairs, path);
  for (uint32_t i = 0; i < arr.Length(); i++) {
    std::string at = path + "[" + std::to_string(i) + "]";
    Napi::Array pair = ArrayOf(arr.Get(i), at);
    if (pair.Length() != 2) Bad(env, at, "expected [name, node]");
    std::string name = StringFromJs(pair.Get(0u), at + "[0]");
    at += "('" + name + "')";
    if (!pair.Get(1u).IsObject()) Bad(env, at, "expected a {type, value} node");
    Napi::Object node = pair.Get(1u).As<Napi::Object>();
    std::string type = StringFromJs(node.Get("type"), at + ".type");
    Napi::Value v = node.Get("value");
    if (type == "null") {
      l.addNull(name);
    } else if (type == "bool") {
      if (!v.IsBoolean()) Bad(env, at, "bool value must be true or false");
      l.addBool(name, v.As<Napi::Boolean>().Value());
    } else if (type == "number") {
      l.addNumber(name, U64FromJs(v, at));
    } else if (type == "string") {
      l.addString(name, StringFromJs(v, at));
    } else if (type == "binary") {
      std::vector<uint8_t> b = BytesFromHex(v, at);
      l.addBinary(name, b.data(), b.size());
    } else if (type == "nvlist") {
      l.addNvlist(name, ListFromNode(node, at, depth + 1));
    } else if (type == "bool_array") {
      Napi::Array a = ArrayOf(v, at);
      std::vector<bool> out;
      for (uint32_t k = 0; k < a.Length(); k++) {
        if (!a.Get(k).IsBoolean()) Bad(env, at, "bool_array items must be booleans");
        out.push_back(a.Get(k).As<Napi::Boolean>().Value());
      }
      l.addBoolArray(name, out);
    } else if (type == "number_array") {
      Napi::Array a = ArrayOf(v, at);
      std::vector<uint64_t> out;
      for (uint32_t k = 0; k < a.Length(); k++) out.push_back(U64FromJs(a.Get(k), at + "[" + std::to_string(k) + "]"));
      l.addNumberArray(name, out);
    } else if (type == "string_array") {
      Napi::Array a = ArrayOf(v, at);
      std::vector<std::string> out;
      for (uint32_t k = 0; k < a.Length(); k++) out.push_back(StringFromJs(a.Get(k), at));
      l.addStringArray(name, out);
    } else if (type == "nvlist_array") {
      Napi::Array a = ArrayOf(v, at);
      std::vector<nv::List> out;
      for (uint32_t k = 0; k < a.Length(); k++)
        out.push_back(ListFromPairs(a.Get(k), 0, at + "[" + std::to_string(k) + "]", depth + 1));
      l.addNvlistArray(name, out);
    } else {
      Bad(env, at, "unknown type '" + type + "'");
    }
    if (l.error() != 0) {
      int e = l.error();
      std::string why = e == EEXIST ? "duplicate name" : e == ENAMETOOLONG ? "name of 2048 bytes or more"
                                                                           : "libnv refuses it (empty array or binary)";
      Bad(env, at, why);
    }
  }
  return l;
}

Napi::Array PairsToJs(Napi::Env env, const nv::List& list);

Napi::Value NodeToJs(Napi::Env env, const nv::Pair& p) {
  Napi::Object node = Napi::Object::New(env);
  auto numbers = [&](const std::vector<uint64_t>& v) {
    Napi::Array a = Napi::Array::New(env, v.size());
    for (size_t i = 0; i < v.size(); i++) a.Set(static_cast<uint32_t>(i), std::to_string(v[i]));
    return a;
  };
  switch (p.type) {
    case nv::Type::Null: node.Set("type", "null"); break;
    case nv::Type::Bool: node.Set("type", "bool"); node.Set("value", p.b); break;
    case nv::Type::Number: node.Set("type", "number"); node.Set("value", std::to_string(p.num)); break;
    case nv::Type::String: node.Set("type", "string"); node.Set("value", p.str); break;
    case nv::Type::Binary: node.Set("type", "binary"); node.Set("value", HexOf(p.bin.data(), p.bin.size())); break;
    case nv::Type::Nvlist:
      node.Set("type", "nvlist");
      node.Set("value", PairsToJs(env, p.lists[0]));
      if (p.lists[0].flags) node.Set("flags", p.lists[0].flags);
      break;
    case nv::Type::BoolArray: {
      node.Set("type", "bool_array");
      Napi::Array a = Napi::Array::New(env, p.bools.size());
      for (size_t i = 0; i < p.bools.size(); i++) a.Set(static_cast<uint32_t>(i), Napi::Boolean::New(env, p.bools[i]));
      node.Set("value", a);
      break;
    }
    case nv::Type::NumberArray: node.Set("type", "number_array"); node.Set("value", numbers(p.nums)); break;
    case nv::Type::StringArray: {
      node.Set("type", "string_array");
      Napi::Array a = Napi::Array::New(env, p.strs.size());
      for (size_t i = 0; i < p.strs.size(); i++) a.Set(static_cast<uint32_t>(i), p.strs[i]);
      node.Set("value", a);
      break;
    }
    case nv::Type::NvlistArray: {
      node.Set("type", "nvlist_array");
      Napi::Array a = Napi::Array::New(env, p.lists.size());
      for (size_t i = 0; i < p.lists.size(); i++) a.Set(static_cast<uint32_t>(i), PairsToJs(env, p.lists[i]));
      node.Set("value", a);
      break;
    }
    case nv::Type::Descriptor:
    case nv::Type::DescriptorArray:
      node.Set("type", "descriptor");  // unpack never yields these
      break;
  }
  return node;
}

Napi::Array PairsToJs(Napi::Env env, const nv::List& list) {
  const auto& pairs = list.pairs();
  Napi::Array a = Napi::Array::New(env, pairs.size());
  for (size_t i = 0; i < pairs.size(); i++) {
    Napi::Array pair = Napi::Array::New(env, 2);
    pair.Set(0u, pairs[i].name);
    pair.Set(1u, NodeToJs(env, pairs[i]));
    a.Set(static_cast<uint32_t>(i), pair);
  }
  return a;
}

}  // namespace

uint64_t U64FromJs(const Napi::Value& v, const std::string& what) {
  Napi::Env env = v.Env();
  if (v.IsNumber()) {
    double d = v.As<Napi::Number>().DoubleValue();
    if (!(d >= 0 && d <= 9007199254740991.0) || d != static_cast<double>(static_cast<uint64_t>(d)))
      Bad(env, what, "number must be a non-negative safe integer (use a decimal string for u64)");
    return static_cast<uint64_t>(d);
  }
  if (v.IsBigInt()) {
    bool lossless = false;
    uint64_t n = v.As<Napi::BigInt>().Uint64Value(&lossless);
    if (!lossless) Bad(env, what, "bigint does not fit u64");
    return n;
  }
  if (!v.IsString()) Bad(env, what, "expected a decimal string");
  std::string s = v.As<Napi::String>().Utf8Value();
  if (s.empty() || s.size() > 20) Bad(env, what, "'" + s + "' is not a u64 decimal");
  uint64_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') Bad(env, what, "'" + s + "' is not a u64 decimal");
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (n > (UINT64_MAX - d) / 10) Bad(env, what, "'" + s + "' overflows u64");
    n = n * 10 + d;
  }
  return n;
}

std::vector<uint8_t> BytesFromHex(const Napi::Value& v, const std::string& what) {
  if (!v.IsString()) Bad(v.Env(), what, "expected a hex string");
  std::string s = v.As<Napi::String>().Utf8Value();
  if (s.size() % 2) Bad(v.Env(), what, "hex string of odd length");
  auto nibble = [&](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    Bad(v.Env(), what, "not a hex string");
  };
  std::vector<uint8_t> out(s.size() / 2);
  for (size_t i = 0; i < out.size(); i++) out[i] = static_cast<uint8_t>(nibble(s[2 * i]) << 4 | nibble(s[2 * i + 1]));
  return out;
}

std::string HexOf(const uint8_t* p, size_t n) {
  static const char* d = "0123456789abcdef";
  std::string s(2 * n, '0');
  for (size_t i = 0; i < n; i++) {
    s[2 * i] = d[p[i] >> 4];
    s[2 * i + 1] = d[p[i] & 15];
  }
  return s;
}

nv::List ListFromContent(const Napi::Value& node, const std::string& path) { return ListFromNode(node, path, 1); }

Napi::Object ListToContent(Napi::Env env, const nv::List& list) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("type", "nvlist");
  o.Set("value", PairsToJs(env, list));
  if (list.flags) o.Set("flags", list.flags);
  return o;
}

}  // namespace sk
