// A vCPU run loop in C, for the exit-cost benchmark only: the same guest
// runs under it and under the TypeScript loop, and the difference is what
// the TypeScript loop costs per exit. It knows just enough to run the test
// guest: COM1 output goes to stdout, a write to the exit port ends it, and
// every other port or MMIO access is ignored (reads see all ones).
#include "common.h"

#include <sys/ioctl.h>
#include <unistd.h>

namespace tsvmm {

constexpr uint16_t kCom1 = 0x3f8;
constexpr uint16_t kExitPort = 0xf4;

// runExitLoopInC(vcpuFd, run) -> the value written to the exit port, or
// -1 when KVM_RUN was interrupted (a kick), or -(1000 + exit reason) for an
// exit this loop does not handle.
static Napi::Value RunExitLoopInC(const Napi::CallbackInfo& info) {
  int fd = ArgInt(info, 0);
  if (info.Length() < 2 || !info[1].IsArrayBuffer()) throw Napi::TypeError::New(info.Env(), "expected the kvm_run buffer");
  Napi::ArrayBuffer buffer = info[1].As<Napi::ArrayBuffer>();
  if (buffer.ByteLength() < sizeof(struct kvm_run)) throw Napi::RangeError::New(info.Env(), "kvm_run buffer too small");
  auto* run = static_cast<struct kvm_run*>(buffer.Data());
  auto* bytes = static_cast<uint8_t*>(buffer.Data());
  for (;;) {
    if (ioctl(fd, KVM_RUN, 0) < 0) {
      if (errno == EINTR || errno == EAGAIN) return Napi::Number::New(info.Env(), -1);
      ThrowErrno(info.Env(), "KVM_RUN", errno);
    }
    if (run->exit_reason == KVM_EXIT_IO) {
      uint8_t* data = bytes + run->io.data_offset;
      size_t length = static_cast<size_t>(run->io.size) * run->io.count;
      if (run->io.data_offset + length > buffer.ByteLength()) throw Napi::RangeError::New(info.Env(), "I/O data outside kvm_run");
      if (run->io.direction == KVM_EXIT_IO_IN) {
        std::memset(data, 0xff, length);
      } else if (run->io.port == kCom1) {
        ssize_t ignored = write(1, data, length);
        (void)ignored;
      } else if (run->io.port == kExitPort) {
        uint32_t value = 0;
        std::memcpy(&value, data, run->io.size < 4 ? run->io.size : 4);
        return Napi::Number::New(info.Env(), value);
      }
    } else if (run->exit_reason == KVM_EXIT_MMIO) {
      if (!run->mmio.is_write) std::memset(run->mmio.data, 0xff, sizeof(run->mmio.data));
    } else {
      return Napi::Number::New(info.Env(), -(1000 + static_cast<int>(run->exit_reason)));
    }
  }
}

void InitExitLoop(Napi::Env env, Napi::Object exports) {
  exports.Set("runExitLoopInC", Napi::Function::New(env, RunExitLoopInC));
}

}  // namespace tsvmm
