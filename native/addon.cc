// Entry point of the tsvmm addon: a thin layer over the KVM ioctls, guest
// memory mappings and vCPU kicking. Policy lives in TypeScript.
#include "common.h"

#include <sys/ioctl.h>

namespace tsvmm {

static const char* ErrnoCode(int err) {
  switch (err) {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case EINTR: return "EINTR";
    case EIO: return "EIO";
    case E2BIG: return "E2BIG";
    case EBADF: return "EBADF";
    case EAGAIN: return "EAGAIN";
    case ENOMEM: return "ENOMEM";
    case EACCES: return "EACCES";
    case EFAULT: return "EFAULT";
    case EBUSY: return "EBUSY";
    case EEXIST: return "EEXIST";
    case ENODEV: return "ENODEV";
    case EINVAL: return "EINVAL";
    case ENOSPC: return "ENOSPC";
    case ENOSYS: return "ENOSYS";
    case ENXIO: return "ENXIO";
    case ENOTTY: return "ENOTTY";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    default: return "EUNKNOWN";
  }
}

void ThrowErrno(Napi::Env env, const char* what, int err) {
  std::string message = std::string(what) + " failed: " + ErrnoCode(err) + " (" + strerror(err) + ")";
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("errno", Napi::Number::New(env, err));
  error.Set("code", Napi::String::New(env, ErrnoCode(err)));
  error.Set("syscall", Napi::String::New(env, what));
  throw error;
}

int32_t ArgInt(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsNumber()) {
    throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + " must be a number");
  }
  return info[i].As<Napi::Number>().Int32Value();
}

uint32_t ArgUint(const Napi::CallbackInfo& info, size_t i) {
  uint64_t value = ArgU64(info, i);
  if (value > UINT32_MAX) {
    throw Napi::RangeError::New(info.Env(), "argument " + std::to_string(i) + " exceeds 32 bits");
  }
  return static_cast<uint32_t>(value);
}

uint64_t ArgU64(const Napi::CallbackInfo& info, size_t i) {
  if (i < info.Length() && info[i].IsBigInt()) {
    bool lossless = false;
    uint64_t value = info[i].As<Napi::BigInt>().Uint64Value(&lossless);
    if (!lossless) {
      throw Napi::RangeError::New(info.Env(), "argument " + std::to_string(i) + " is not a u64");
    }
    return value;
  }
  if (i >= info.Length() || !info[i].IsNumber()) {
    throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + " must be a number or bigint");
  }
  double value = info[i].As<Napi::Number>().DoubleValue();
  if (value < 0 || value > 9007199254740991.0 || value != static_cast<double>(static_cast<uint64_t>(value))) {
    throw Napi::RangeError::New(info.Env(), "argument " + std::to_string(i) + " is not a non-negative safe integer");
  }
  return static_cast<uint64_t>(value);
}

Napi::TypedArray ArgBytes(const Napi::CallbackInfo& info, size_t i, size_t size) {
  if (i >= info.Length() || !info[i].IsTypedArray()) {
    throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + " must be a typed array");
  }
  Napi::TypedArray array = info[i].As<Napi::TypedArray>();
  if (size != 0 && array.ByteLength() != size) {
    throw Napi::RangeError::New(info.Env(), "argument " + std::to_string(i) + " must be " +
                                                std::to_string(size) + " bytes, got " +
                                                std::to_string(array.ByteLength()));
  }
  return array;
}

void* BytesData(Napi::TypedArray array) {
  return static_cast<uint8_t*>(array.ArrayBuffer().Data()) + array.ByteOffset();
}

int Ioctl(int fd, unsigned long request, void* arg) {
  int ret;
  do {
    ret = ioctl(fd, request, arg);
  } while (ret < 0 && errno == EINTR);
  return ret;
}

int IoctlValue(int fd, unsigned long request, unsigned long arg) {
  int ret;
  do {
    ret = ioctl(fd, request, arg);
  } while (ret < 0 && errno == EINTR);
  return ret;
}

}  // namespace tsvmm

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  tsvmm::InitKvm(env, exports);
  tsvmm::InitMemory(env, exports);
  tsvmm::InitVcpu(env, exports);
  tsvmm::InitHost(env, exports);
  tsvmm::InitEventFd(env, exports);
  tsvmm::InitTap(env, exports);
  tsvmm::InitExitLoop(env, exports);
  tsvmm::InitExitDispatchBench(env, exports);
  tsvmm::InitVectoredIo(env, exports);
  tsvmm::InitConsole(env, exports);
  return exports;
}

NODE_API_MODULE(tsvmm, Init)
