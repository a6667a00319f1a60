// System and VM ioctls: /dev/kvm, VM creation, irqchip, PIT, memory slots.
#include "common.h"

#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <vector>

namespace tsvmm {

static Napi::Value OpenDevice(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsString()) {
    throw Napi::TypeError::New(info.Env(), "path must be a string");
  }
  std::string path = info[0].As<Napi::String>().Utf8Value();
  int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) ThrowErrno(info.Env(), ("open " + path).c_str(), errno);
  return Napi::Number::New(info.Env(), fd);
}

static Napi::Value CloseFd(const Napi::CallbackInfo& info) {
  if (close(ArgInt(info, 0)) < 0) ThrowErrno(info.Env(), "close", errno);
  return info.Env().Undefined();
}

// Generic "ioctl with an integer argument returning an integer", for the
// requests that carry no struct: KVM_GET_API_VERSION, KVM_CHECK_EXTENSION...
#define VALUE_IOCTL(name, request)                                            \
  static Napi::Value name(const Napi::CallbackInfo& info) {                   \
    unsigned long arg = info.Length() > 1 ? ArgU64(info, 1) : 0;              \
    int ret = IoctlValue(ArgInt(info, 0), request, arg);                       \
    if (ret < 0) ThrowErrno(info.Env(), #request, errno);                     \
    return Napi::Number::New(info.Env(), ret);                                \
  }

VALUE_IOCTL(GetApiVersion, KVM_GET_API_VERSION)
VALUE_IOCTL(CheckExtension, KVM_CHECK_EXTENSION)
VALUE_IOCTL(GetVcpuMmapSize, KVM_GET_VCPU_MMAP_SIZE)
VALUE_IOCTL(CreateVm, KVM_CREATE_VM)
VALUE_IOCTL(CreateVcpu, KVM_CREATE_VCPU)
VALUE_IOCTL(SetTssAddr, KVM_SET_TSS_ADDR)
VALUE_IOCTL(CreateIrqchip, KVM_CREATE_IRQCHIP)
VALUE_IOCTL(Nmi, KVM_NMI)

static Napi::Value SetIdentityMapAddr(const Napi::CallbackInfo& info) {
  uint64_t addr = ArgU64(info, 1);
  if (Ioctl(ArgInt(info, 0), KVM_SET_IDENTITY_MAP_ADDR, &addr) < 0) {
    ThrowErrno(info.Env(), "KVM_SET_IDENTITY_MAP_ADDR", errno);
  }
  return info.Env().Undefined();
}

static Napi::Value CreatePit2(const Napi::CallbackInfo& info) {
  struct kvm_pit_config config = {};
  config.flags = ArgUint(info, 1);
  if (Ioctl(ArgInt(info, 0), KVM_CREATE_PIT2, &config) < 0) {
    ThrowErrno(info.Env(), "KVM_CREATE_PIT2", errno);
  }
  return info.Env().Undefined();
}

static Napi::Value IrqLine(const Napi::CallbackInfo& info) {
  struct kvm_irq_level level = {};
  level.irq = ArgUint(info, 1);
  level.level = ArgUint(info, 2);
  if (Ioctl(ArgInt(info, 0), KVM_IRQ_LINE, &level) < 0) {
    ThrowErrno(info.Env(), "KVM_IRQ_LINE", errno);
  }
  return info.Env().Undefined();
}

// setUserMemoryRegion(vmFd, slot, flags, guestPhysAddr, memoryId, offset, size)
static Napi::Value SetUserMemoryRegion(const Napi::CallbackInfo& info) {
  struct kvm_userspace_memory_region region = {};
  region.slot = ArgUint(info, 1);
  region.flags = ArgUint(info, 2);
  region.guest_phys_addr = ArgU64(info, 3);
  uint64_t size = ArgU64(info, 6);
  uint8_t* host = GuestMemoryPointer(ArgUint(info, 4), ArgU64(info, 5), size);
  if (host == nullptr) {
    throw Napi::RangeError::New(info.Env(), "memory region is outside its guest memory mapping");
  }
  region.memory_size = size;
  region.userspace_addr = reinterpret_cast<uint64_t>(host);
  if (Ioctl(ArgInt(info, 0), KVM_SET_USER_MEMORY_REGION, &region) < 0) {
    ThrowErrno(info.Env(), "KVM_SET_USER_MEMORY_REGION", errno);
  }
  return info.Env().Undefined();
}

// getDirtyLog(vmFd, slot, bitmap): KVM_GET_DIRTY_LOG for a slot registered
// with KVM_MEM_LOG_DIRTY_PAGES; one bit per page, and KVM clears its log as
// it copies. The caller sizes the bitmap (a multiple of 8 bytes covering
// the slot); KVM writes exactly that many bytes for a slot of that size.
static Napi::Value GetDirtyLog(const Napi::CallbackInfo& info) {
  Napi::TypedArray bitmap = ArgBytes(info, 2, 0);
  if (bitmap.ByteLength() == 0 || bitmap.ByteLength() % 8 != 0) {
    throw Napi::RangeError::New(info.Env(), "dirty bitmap length must be a non-zero multiple of 8 bytes");
  }
  struct kvm_dirty_log log = {};
  log.slot = ArgUint(info, 1);
  log.dirty_bitmap = BytesData(bitmap);
  if (Ioctl(ArgInt(info, 0), KVM_GET_DIRTY_LOG, &log) < 0) ThrowErrno(info.Env(), "KVM_GET_DIRTY_LOG", errno);
  return info.Env().Undefined();
}

// VM-wide state for snapshots; getIrqchip/setIrqchip take a kvm_irqchip
// whose chip_id the caller set.
STRUCT_IOCTL(GetIrqchip, KVM_GET_IRQCHIP, struct kvm_irqchip)
STRUCT_IOCTL(SetIrqchip, KVM_SET_IRQCHIP, struct kvm_irqchip)
STRUCT_IOCTL(GetPit2, KVM_GET_PIT2, struct kvm_pit_state2)
STRUCT_IOCTL(SetPit2, KVM_SET_PIT2, struct kvm_pit_state2)
STRUCT_IOCTL(GetClock, KVM_GET_CLOCK, struct kvm_clock_data)
STRUCT_IOCTL(SetClock, KVM_SET_CLOCK, struct kvm_clock_data)

// Returns the raw kvm_cpuid_entry2 array (40 bytes an entry).
static Napi::Value GetSupportedCpuid(const Napi::CallbackInfo& info) {
  int fd = ArgInt(info, 0);
  for (uint32_t capacity = 128; capacity <= 4096; capacity *= 2) {
    std::vector<uint8_t> storage(sizeof(CountHeader) + capacity * sizeof(kvm_cpuid_entry2));
    auto* header = reinterpret_cast<CountHeader*>(storage.data());
    header->count = capacity;
    if (Ioctl(fd, TSVMM_KVM_GET_SUPPORTED_CPUID, header) == 0) {
      size_t bytes = header->count * sizeof(kvm_cpuid_entry2);
      return Napi::Buffer<uint8_t>::Copy(info.Env(), storage.data() + sizeof(CountHeader), bytes);
    }
    if (errno != E2BIG) ThrowErrno(info.Env(), "KVM_GET_SUPPORTED_CPUID", errno);
  }
  ThrowErrno(info.Env(), "KVM_GET_SUPPORTED_CPUID", E2BIG);
}

static Napi::Value GetMsrIndexList(const Napi::CallbackInfo& info) {
  int fd = ArgInt(info, 0);
  for (uint32_t capacity = 256; capacity <= 16384; capacity *= 2) {
    std::vector<uint32_t> storage(1 + capacity);
    storage[0] = capacity;
    if (Ioctl(fd, TSVMM_KVM_GET_MSR_INDEX_LIST, storage.data()) == 0) {
      Napi::Array result = Napi::Array::New(info.Env(), storage[0]);
      for (uint32_t i = 0; i < storage[0]; i++) result.Set(i, Napi::Number::New(info.Env(), storage[1 + i]));
      return result;
    }
    if (errno != E2BIG) ThrowErrno(info.Env(), "KVM_GET_MSR_INDEX_LIST", errno);
  }
  ThrowErrno(info.Env(), "KVM_GET_MSR_INDEX_LIST", E2BIG);
}

void InitKvm(Napi::Env env, Napi::Object exports) {
  exports.Set("openDevice", Napi::Function::New(env, OpenDevice));
  exports.Set("close", Napi::Function::New(env, CloseFd));
  exports.Set("getApiVersion", Napi::Function::New(env, GetApiVersion));
  exports.Set("checkExtension", Napi::Function::New(env, CheckExtension));
  exports.Set("getVcpuMmapSize", Napi::Function::New(env, GetVcpuMmapSize));
  exports.Set("createVm", Napi::Function::New(env, CreateVm));
  exports.Set("createVcpu", Napi::Function::New(env, CreateVcpu));
  exports.Set("setTssAddr", Napi::Function::New(env, SetTssAddr));
  exports.Set("setIdentityMapAddr", Napi::Function::New(env, SetIdentityMapAddr));
  exports.Set("createIrqchip", Napi::Function::New(env, CreateIrqchip));
  exports.Set("nmi", Napi::Function::New(env, Nmi));
  exports.Set("createPit2", Napi::Function::New(env, CreatePit2));
  exports.Set("irqLine", Napi::Function::New(env, IrqLine));
  exports.Set("setUserMemoryRegion", Napi::Function::New(env, SetUserMemoryRegion));
  exports.Set("getDirtyLog", Napi::Function::New(env, GetDirtyLog));
  exports.Set("getIrqchip", Napi::Function::New(env, GetIrqchip));
  exports.Set("setIrqchip", Napi::Function::New(env, SetIrqchip));
  exports.Set("getPit2", Napi::Function::New(env, GetPit2));
  exports.Set("setPit2", Napi::Function::New(env, SetPit2));
  exports.Set("getClock", Napi::Function::New(env, GetClock));
  exports.Set("setClock", Napi::Function::New(env, SetClock));
  exports.Set("getSupportedCpuid", Napi::Function::New(env, GetSupportedCpuid));
  exports.Set("getMsrIndexList", Napi::Function::New(env, GetMsrIndexList));
}

}  // namespace tsvmm
