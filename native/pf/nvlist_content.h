// nv::List <-> the JS "content notation" of test/fixtures/nvlist-vectors/vectors.json:
// {type: 'nvlist', value: [[name, node], ...], flags?}, numbers as decimal strings, binary as hex.
// Malformed content throws StatekillError(EINVAL) naming the path of the bad node.
#pragma once
#include <napi.h>

#include <string>

#include "pf/nvlist.h"

namespace sk {

nv::List ListFromContent(const Napi::Value& node, const std::string& path = "$");
Napi::Object ListToContent(Napi::Env env, const nv::List& list);

// Helpers shared with the request bindings.
uint64_t U64FromJs(const Napi::Value& v, const std::string& what);  // decimal string, number or bigint
std::vector<uint8_t> BytesFromHex(const Napi::Value& v, const std::string& what);
std::string HexOf(const uint8_t* p, size_t n);

}  // namespace sk
