// Rule labels (by rule number) to JS for both pf bindings: string[][], index = rule number.
#pragma once
#include <napi.h>

#include <string>
#include <vector>

namespace sk {

inline Napi::Array LabelsToJs(Napi::Env env, const std::vector<std::vector<std::string>>& rules) {
  Napi::Array a = Napi::Array::New(env, rules.size());
  for (size_t i = 0; i < rules.size(); i++) {
    Napi::Array l = Napi::Array::New(env, rules[i].size());
    for (size_t j = 0; j < rules[i].size(); j++) l.Set(uint32_t(j), rules[i][j]);
    a.Set(uint32_t(i), l);
  }
  return a;
}

}  // namespace sk
