// Shared helpers for the tsvmm addon: argument checks and errno exceptions.
#pragma once

#include <napi.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include <linux/kvm.h>

namespace tsvmm {

// Throws a JS Error that names the failed call and the errno; `errno` and
// `code` are set on the error object so TypeScript can branch on them.
[[noreturn]] void ThrowErrno(Napi::Env env, const char* what, int err);

int32_t ArgInt(const Napi::CallbackInfo& info, size_t i);
uint32_t ArgUint(const Napi::CallbackInfo& info, size_t i);
// Accepts a Number (safe integer) or a BigInt; rejects negatives and fractions.
uint64_t ArgU64(const Napi::CallbackInfo& info, size_t i);
// A typed array / Buffer argument; when `size` is non-zero its byte length
// must match exactly, so a C struct can never be read or written past its end.
Napi::TypedArray ArgBytes(const Napi::CallbackInfo& info, size_t i, size_t size);
void* BytesData(Napi::TypedArray array);

// ioctl that retries on EINTR, except where the caller wants to see EINTR.
// The uapi structs that end in a flexible array (kvm_cpuid2, kvm_msrs,
// kvm_msr_list) have a different size in C++ than in C, which changes the
// ioctl numbers derived from them. These are their C headers, with the
// request numbers the kernel expects.
struct CountHeader {
  uint32_t count;
  uint32_t padding;
};
struct CountOnlyHeader {
  uint32_t count;
};
#define TSVMM_KVM_GET_MSR_INDEX_LIST _IOWR(KVMIO, 0x02, struct tsvmm::CountOnlyHeader)
#define TSVMM_KVM_GET_SUPPORTED_CPUID _IOWR(KVMIO, 0x05, struct tsvmm::CountHeader)
#define TSVMM_KVM_GET_MSRS _IOWR(KVMIO, 0x88, struct tsvmm::CountHeader)
#define TSVMM_KVM_SET_MSRS _IOW(KVMIO, 0x89, struct tsvmm::CountHeader)
#define TSVMM_KVM_SET_CPUID2 _IOW(KVMIO, 0x90, struct tsvmm::CountHeader)
// struct kvm_xsave ends in a flexible array too: 4096 bytes in C.
struct XsaveRegion {
  uint32_t region[1024];
};
#define TSVMM_KVM_GET_XSAVE2 _IOR(KVMIO, 0xcf, struct tsvmm::XsaveRegion)
#define TSVMM_KVM_SET_XSAVE _IOW(KVMIO, 0xa5, struct tsvmm::XsaveRegion)

int Ioctl(int fd, unsigned long request, void* arg);
int IoctlValue(int fd, unsigned long request, unsigned long arg);

// Fixed-size struct ioctls: the caller passes a typed array of exactly
// sizeof(struct); layouts are decoded in TypeScript.
#define STRUCT_IOCTL(name, request, type)                                     \
  static Napi::Value name(const Napi::CallbackInfo& info) {                   \
    Napi::TypedArray bytes = ArgBytes(info, 1, sizeof(type));                 \
    if (Ioctl(ArgInt(info, 0), request, BytesData(bytes)) < 0) {              \
      ThrowErrno(info.Env(), #request, errno);                                \
    }                                                                         \
    return info.Env().Undefined();                                            \
  }

void InitKvm(Napi::Env env, Napi::Object exports);
void InitMemory(Napi::Env env, Napi::Object exports);
void InitVcpu(Napi::Env env, Napi::Object exports);
void InitHost(Napi::Env env, Napi::Object exports);
void InitEventFd(Napi::Env env, Napi::Object exports);
void InitTap(Napi::Env env, Napi::Object exports);
void InitExitLoop(Napi::Env env, Napi::Object exports);
void InitExitDispatchBench(Napi::Env env, Napi::Object exports);
void InitVectoredIo(Napi::Env env, Napi::Object exports);
void InitConsole(Napi::Env env, Napi::Object exports);

// Looks up a registered guest memory mapping; returns nullptr when the id or
// the range is unknown.
uint8_t* GuestMemoryPointer(uint32_t id, uint64_t offset, uint64_t length);

}  // namespace tsvmm
