#include "errors.h"

#include <cerrno>
#include <cstring>

namespace sk {

const char* ErrnoCode(int err) {
  switch (err) {
#define C(e) \
  case e:    \
    return #e;
    C(EPERM) C(ENOENT) C(ESRCH) C(EINTR) C(EIO) C(ENXIO) C(E2BIG) C(EBADF) C(EAGAIN) C(ENOMEM)
    C(EACCES) C(EFAULT) C(EBUSY) C(EEXIST) C(ENODEV) C(ENOTDIR) C(EINVAL) C(ENFILE) C(EMFILE) C(ENOTTY)
    C(EFBIG) C(ENOSPC) C(ERANGE) C(ENOSYS) C(EBADMSG) C(EPROTO) C(EOPNOTSUPP) C(EAFNOSUPPORT)
    C(EPROTONOSUPPORT) C(ENOBUFS) C(ETIMEDOUT) C(ECONNREFUSED) C(EMSGSIZE) C(ECANCELED) C(EILSEQ)
#undef C
    default:
      return "EUNKNOWN";
  }
}

Napi::Error Error(Napi::Env env, int err, const std::string& message, const char* code) {
  const char* c = code ? code : ErrnoCode(err);
  auto* data = env.GetInstanceData<AddonData>();
  if (data && !data->errorClass.IsEmpty()) {
    Napi::Object e = data->errorClass.New({Napi::String::New(env, message), Napi::Number::New(env, err),
                                           Napi::String::New(env, c)});
    return Napi::Error(env, e);
  }
  // Before the loader registered the class (only the loader's own first call): a plain Error.
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("code", Napi::String::New(env, c));
  return e;
}

void RequireArgs(const Napi::CallbackInfo& info, size_t n, const char* fn) {
  if (info.Length() < n)
    throw Error(info.Env(), EINVAL, std::string(fn) + ": expected " + std::to_string(n) + " arguments", "EINVAL");
}

void* TypedArrayData(const Napi::Value& v, const char* what, size_t* elements) {
  if (!v.IsTypedArray()) throw Error(v.Env(), EINVAL, std::string(what) + " must be a typed array", "EINVAL");
  napi_typedarray_type t;
  size_t off;
  void* data;
  napi_value ab;
  napi_get_typedarray_info(v.Env(), v, &t, elements, &data, &ab, &off);
  return data;
}

uint8_t* TypedArrayBytes(const Napi::Value& v, const char* what, size_t* len) {
  size_t n;
  void* data = TypedArrayData(v, what, &n);
  *len = n * v.As<Napi::TypedArray>().ElementSize();
  return static_cast<uint8_t*>(data);
}

static Napi::Value SetErrorClass(const Napi::CallbackInfo& info) {
  RequireArgs(info, 1, "setErrorClass");
  if (!info[0].IsFunction()) throw Error(info.Env(), EINVAL, "setErrorClass: expected a class", "EINVAL");
  auto* data = info.Env().GetInstanceData<AddonData>();
  data->errorClass = Napi::Persistent(info[0].As<Napi::Function>());
  return info.Env().Undefined();
}

void InitErrors(Napi::Env env, Napi::Object exports) {
  exports.Set("setErrorClass", Napi::Function::New(env, SetErrorClass, "setErrorClass"));
}

}  // namespace sk
