// vCPU ioctls, KVM_RUN, and kicking a vCPU thread out of KVM_RUN with a
// real-time signal plus kvm_run.immediate_exit.
#include "common.h"

#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <vector>

namespace tsvmm {

// SIGRTMIN+2: Node and libuv use no real-time signal; glibc reserves the two
// below SIGRTMIN.
static int KickSignal() { return SIGRTMIN + 2; }

struct VcpuThread {
  pthread_t thread;
  struct kvm_run* run;
  size_t run_size;
};

static std::mutex vcpus_mutex;
static std::map<uint32_t, VcpuThread> vcpus;
static uint32_t next_handle = 1;
static std::once_flag handler_once;

static void OnKick(int) {}

static void InstallKickHandler() {
  struct sigaction action = {};
  action.sa_handler = OnKick;
  // SA_RESTART keeps the kick from leaking EINTR into other syscalls of the
  // thread; KVM_RUN still returns EINTR because KVM does not restart it.
  action.sa_flags = SA_RESTART;
  sigemptyset(&action.sa_mask);
  sigaction(KickSignal(), &action, nullptr);
}

// registerVcpuThread(vcpuFd, mmapSize) -> { handle, run: ArrayBuffer }
// Must be called on the thread that will call run().
static Napi::Value RegisterVcpuThread(const Napi::CallbackInfo& info) {
  int fd = ArgInt(info, 0);
  uint64_t size = ArgU64(info, 1);
  if (size < sizeof(struct kvm_run)) {
    throw Napi::RangeError::New(info.Env(), "kvm_run mmap size is too small");
  }
  std::call_once(handler_once, InstallKickHandler);
  sigset_t unblock;
  sigemptyset(&unblock);
  sigaddset(&unblock, KickSignal());
  pthread_sigmask(SIG_UNBLOCK, &unblock, nullptr);

  void* run = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (run == MAP_FAILED) ThrowErrno(info.Env(), "mmap kvm_run", errno);
  uint32_t handle;
  {
    std::lock_guard<std::mutex> lock(vcpus_mutex);
    handle = next_handle++;
    vcpus[handle] = VcpuThread{pthread_self(), static_cast<struct kvm_run*>(run), size};
  }
  Napi::Object result = Napi::Object::New(info.Env());
  result.Set("handle", Napi::Number::New(info.Env(), handle));
  result.Set("run", Napi::ArrayBuffer::New(info.Env(), run, size));
  return result;
}

// After this the run ArrayBuffer of the handle must not be touched again.
static Napi::Value UnregisterVcpuThread(const Napi::CallbackInfo& info) {
  uint32_t handle = ArgUint(info, 0);
  VcpuThread vcpu;
  {
    std::lock_guard<std::mutex> lock(vcpus_mutex);
    auto it = vcpus.find(handle);
    if (it == vcpus.end()) return info.Env().Undefined();
    vcpu = it->second;
    vcpus.erase(it);
  }
  munmap(vcpu.run, vcpu.run_size);
  return info.Env().Undefined();
}

// Returns true when the handle was registered (and so has been kicked).
static Napi::Value KickVcpu(const Napi::CallbackInfo& info) {
  uint32_t handle = ArgUint(info, 0);
  std::lock_guard<std::mutex> lock(vcpus_mutex);
  auto it = vcpus.find(handle);
  if (it == vcpus.end()) return Napi::Boolean::New(info.Env(), false);
  __atomic_store_n(&it->second.run->immediate_exit, 1, __ATOMIC_SEQ_CST);
  pthread_kill(it->second.thread, KickSignal());
  return Napi::Boolean::New(info.Env(), true);
}

// run(vcpuFd) -> 0 on an exit to handle, or -EINTR / -EAGAIN when kicked.
static Napi::Value Run(const Napi::CallbackInfo& info) {
  int ret = ioctl(ArgInt(info, 0), KVM_RUN, 0);
  if (ret < 0) {
    if (errno == EINTR || errno == EAGAIN) return Napi::Number::New(info.Env(), -errno);
    ThrowErrno(info.Env(), "KVM_RUN", errno);
  }
  return Napi::Number::New(info.Env(), 0);
}

STRUCT_IOCTL(GetRegs, KVM_GET_REGS, struct kvm_regs)
STRUCT_IOCTL(SetRegs, KVM_SET_REGS, struct kvm_regs)
STRUCT_IOCTL(GetSregs, KVM_GET_SREGS, struct kvm_sregs)
STRUCT_IOCTL(SetSregs, KVM_SET_SREGS, struct kvm_sregs)
STRUCT_IOCTL(GetFpu, KVM_GET_FPU, struct kvm_fpu)
STRUCT_IOCTL(SetFpu, KVM_SET_FPU, struct kvm_fpu)
STRUCT_IOCTL(GetLapic, KVM_GET_LAPIC, struct kvm_lapic_state)
STRUCT_IOCTL(SetLapic, KVM_SET_LAPIC, struct kvm_lapic_state)
STRUCT_IOCTL(GetMpState, KVM_GET_MP_STATE, struct kvm_mp_state)
STRUCT_IOCTL(SetMpState, KVM_SET_MP_STATE, struct kvm_mp_state)
STRUCT_IOCTL(GetVcpuEvents, KVM_GET_VCPU_EVENTS, struct kvm_vcpu_events)
STRUCT_IOCTL(SetVcpuEvents, KVM_SET_VCPU_EVENTS, struct kvm_vcpu_events)
// The XSAVE area can outgrow struct kvm_xsave (AMX): KVM_GET_XSAVE2 writes,
// and KVM_SET_XSAVE reads, as many bytes as KVM_CAP_XSAVE2 says. The kernel
// is given a buffer no smaller than any XSAVE area, whatever the caller's
// length, and only the caller's length is copied back.
static constexpr size_t kMaxXsaveBytes = 64 * 1024;

static std::vector<uint8_t> XsaveBuffer(Napi::TypedArray bytes) {
  std::vector<uint8_t> buffer(std::max(bytes.ByteLength(), kMaxXsaveBytes));
  memcpy(buffer.data(), BytesData(bytes), bytes.ByteLength());
  return buffer;
}

static Napi::Value GetXsave2(const Napi::CallbackInfo& info) {
  Napi::TypedArray bytes = ArgBytes(info, 1, 0);
  std::vector<uint8_t> buffer = XsaveBuffer(bytes);
  if (Ioctl(ArgInt(info, 0), TSVMM_KVM_GET_XSAVE2, buffer.data()) < 0) ThrowErrno(info.Env(), "KVM_GET_XSAVE2", errno);
  memcpy(BytesData(bytes), buffer.data(), bytes.ByteLength());
  return info.Env().Undefined();
}

static Napi::Value SetXsave(const Napi::CallbackInfo& info) {
  Napi::TypedArray bytes = ArgBytes(info, 1, 0);
  if (bytes.ByteLength() < sizeof(XsaveRegion)) {
    throw Napi::RangeError::New(info.Env(), "an XSAVE area has at least sizeof(struct kvm_xsave) bytes");
  }
  std::vector<uint8_t> buffer = XsaveBuffer(bytes);
  if (Ioctl(ArgInt(info, 0), TSVMM_KVM_SET_XSAVE, buffer.data()) < 0) ThrowErrno(info.Env(), "KVM_SET_XSAVE", errno);
  return info.Env().Undefined();
}

STRUCT_IOCTL(GetXcrs, KVM_GET_XCRS, struct kvm_xcrs)
STRUCT_IOCTL(SetXcrs, KVM_SET_XCRS, struct kvm_xcrs)
STRUCT_IOCTL(GetDebugRegs, KVM_GET_DEBUGREGS, struct kvm_debugregs)
STRUCT_IOCTL(SetDebugRegs, KVM_SET_DEBUGREGS, struct kvm_debugregs)

// The ioctl argument for a count header followed by `entries` (a whole
// number of `entry_size` structs), as kvm_cpuid2 and kvm_msrs are laid out.
static std::vector<uint8_t> CountedEntries(const Napi::CallbackInfo& info, size_t entry_size, const char* what) {
  Napi::TypedArray entries = ArgBytes(info, 1, 0);
  size_t bytes = entries.ByteLength();
  if (bytes % entry_size != 0) {
    throw Napi::RangeError::New(info.Env(), std::string(what) + " must be a multiple of " +
                                                std::to_string(entry_size) + " bytes");
  }
  std::vector<uint8_t> storage(sizeof(CountHeader) + bytes);
  reinterpret_cast<CountHeader*>(storage.data())->count = bytes / entry_size;
  memcpy(storage.data() + sizeof(CountHeader), BytesData(entries), bytes);
  return storage;
}

// setCpuid2(vcpuFd, entries): entries is a whole number of kvm_cpuid_entry2.
static Napi::Value SetCpuid2(const Napi::CallbackInfo& info) {
  std::vector<uint8_t> storage = CountedEntries(info, sizeof(kvm_cpuid_entry2), "cpuid entries");
  if (Ioctl(ArgInt(info, 0), TSVMM_KVM_SET_CPUID2, storage.data()) < 0) ThrowErrno(info.Env(), "KVM_SET_CPUID2", errno);
  return info.Env().Undefined();
}

// getMsrs / setMsrs(vcpuFd, entries): entries is a whole number of
// kvm_msr_entry (16 bytes); returns how many KVM processed, in order.
static Napi::Value MsrIoctl(const Napi::CallbackInfo& info, unsigned long request, const char* name) {
  std::vector<uint8_t> storage = CountedEntries(info, sizeof(kvm_msr_entry), "msr entries");
  int ret = Ioctl(ArgInt(info, 0), request, storage.data());
  if (ret < 0) ThrowErrno(info.Env(), name, errno);
  memcpy(BytesData(info[1].As<Napi::TypedArray>()), storage.data() + sizeof(CountHeader),
         storage.size() - sizeof(CountHeader));
  return Napi::Number::New(info.Env(), ret);
}

static Napi::Value GetMsrs(const Napi::CallbackInfo& info) { return MsrIoctl(info, TSVMM_KVM_GET_MSRS, "KVM_GET_MSRS"); }
static Napi::Value SetMsrs(const Napi::CallbackInfo& info) { return MsrIoctl(info, TSVMM_KVM_SET_MSRS, "KVM_SET_MSRS"); }

void InitVcpu(Napi::Env env, Napi::Object exports) {
  exports.Set("registerVcpuThread", Napi::Function::New(env, RegisterVcpuThread));
  exports.Set("unregisterVcpuThread", Napi::Function::New(env, UnregisterVcpuThread));
  exports.Set("kickVcpu", Napi::Function::New(env, KickVcpu));
  exports.Set("run", Napi::Function::New(env, Run));
  exports.Set("getRegs", Napi::Function::New(env, GetRegs));
  exports.Set("setRegs", Napi::Function::New(env, SetRegs));
  exports.Set("getSregs", Napi::Function::New(env, GetSregs));
  exports.Set("setSregs", Napi::Function::New(env, SetSregs));
  exports.Set("getFpu", Napi::Function::New(env, GetFpu));
  exports.Set("setFpu", Napi::Function::New(env, SetFpu));
  exports.Set("getLapic", Napi::Function::New(env, GetLapic));
  exports.Set("setLapic", Napi::Function::New(env, SetLapic));
  exports.Set("getMpState", Napi::Function::New(env, GetMpState));
  exports.Set("setMpState", Napi::Function::New(env, SetMpState));
  exports.Set("getVcpuEvents", Napi::Function::New(env, GetVcpuEvents));
  exports.Set("setVcpuEvents", Napi::Function::New(env, SetVcpuEvents));
  exports.Set("getXsave2", Napi::Function::New(env, GetXsave2));
  exports.Set("setXsave", Napi::Function::New(env, SetXsave));
  exports.Set("getXcrs", Napi::Function::New(env, GetXcrs));
  exports.Set("setXcrs", Napi::Function::New(env, SetXcrs));
  exports.Set("getDebugRegs", Napi::Function::New(env, GetDebugRegs));
  exports.Set("setDebugRegs", Napi::Function::New(env, SetDebugRegs));
  exports.Set("setCpuid2", Napi::Function::New(env, SetCpuid2));
  exports.Set("getMsrs", Napi::Function::New(env, GetMsrs));
  exports.Set("setMsrs", Napi::Function::New(env, SetMsrs));

  Napi::Object sizes = Napi::Object::New(env);
  sizes.Set("kvm_regs", Napi::Number::New(env, sizeof(struct kvm_regs)));
  sizes.Set("kvm_sregs", Napi::Number::New(env, sizeof(struct kvm_sregs)));
  sizes.Set("kvm_fpu", Napi::Number::New(env, sizeof(struct kvm_fpu)));
  sizes.Set("kvm_lapic_state", Napi::Number::New(env, sizeof(struct kvm_lapic_state)));
  sizes.Set("kvm_mp_state", Napi::Number::New(env, sizeof(struct kvm_mp_state)));
  sizes.Set("kvm_vcpu_events", Napi::Number::New(env, sizeof(struct kvm_vcpu_events)));
  sizes.Set("kvm_xsave", Napi::Number::New(env, sizeof(XsaveRegion)));
  sizes.Set("kvm_xcrs", Napi::Number::New(env, sizeof(struct kvm_xcrs)));
  sizes.Set("kvm_debugregs", Napi::Number::New(env, sizeof(struct kvm_debugregs)));
  sizes.Set("kvm_irqchip", Napi::Number::New(env, sizeof(struct kvm_irqchip)));
  sizes.Set("kvm_pit_state2", Napi::Number::New(env, sizeof(struct kvm_pit_state2)));
  sizes.Set("kvm_clock_data", Napi::Number::New(env, sizeof(struct kvm_clock_data)));
  sizes.Set("kvm_cpuid_entry2", Napi::Number::New(env, sizeof(struct kvm_cpuid_entry2)));
  sizes.Set("kvm_msr_entry", Napi::Number::New(env, sizeof(struct kvm_msr_entry)));
  exports.Set("structSizes", sizes);
}

}  // namespace tsvmm
