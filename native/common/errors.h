// Errors cross into JS as instances of the TS class StatekillError (src/errors.ts), which the
// loader hands to the addon at start (better-sqlite3's pattern). C++ exceptions are on
// (NAPI_CPP_EXCEPTIONS): `throw sk::Error(env, errno, "message")` reaches JS as that class.
#pragma once
#include <napi.h>
#include <string>

#include "common/kernel_error.h"

namespace sk {

struct AddonData {
  Napi::FunctionReference errorClass;
  Napi::FunctionReference simKernelClass;  // to recognise SimKernel objects handed to PfDevice
};

// errno name ("ENOENT") for an errno value, or "EUNKNOWN".
const char* ErrnoCode(int err);

// A StatekillError carrying errno and code. `code` defaults to the errno name; pass a custom one
// (e.g. "E_ABI_MISMATCH", "E_UNSAFE_FILTER") for refusals that are not an errno from a kernel.
Napi::Error Error(Napi::Env env, int err, const std::string& message, const char* code = nullptr);

// Argument checking helpers for the N-API glue: throw StatekillError(EINVAL) with `what` named.
void RequireArgs(const Napi::CallbackInfo& info, size_t n, const char* fn);
uint8_t* TypedArrayBytes(const Napi::Value& v, const char* what, size_t* len);

// Data pointer and element count of any typed array, including views over a SharedArrayBuffer
// (napi_get_typedarray_info works there on Node 20; Napi::ArrayBuffer on a SAB does not).
void* TypedArrayData(const Napi::Value& v, const char* what, size_t* elements);

template <typename T>
T* TypedArrayOf(const Napi::Value& v, napi_typedarray_type want, const char* what, size_t* count) {
  void* data = TypedArrayData(v, what, count);
  if (v.As<Napi::TypedArray>().TypedArrayType() != want)
    throw Error(v.Env(), EINVAL, std::string(what) + " has the wrong element type", "EINVAL");
  return static_cast<T*>(data);
}

// Runs f; a KernelError it throws reaches JS as StatekillError(errno, code).
template <typename F>
auto Guard(const Napi::Env& env, F f) -> decltype(f()) {
  try {
    return f();
  } catch (const KernelError& e) {
    throw Error(env, e.err, e.what(), e.code.empty() ? nullptr : e.code.c_str());
  }
}

void InitErrors(Napi::Env env, Napi::Object exports);

}  // namespace sk
