// The exit-dispatch benchmark's C side (bench only, no KVM needed): the work
// the TypeScript loop does for one port or MMIO exit, written in C: decode
// the kvm_run page, find the device (the last one found, else a table), call
// it, return. It runs over a kvm_run page the benchmark filled in; its
// devices are scratch registers, as are the TypeScript side's.
#include "common.h"

#include <array>
#include <memory>
#include <unordered_map>

namespace tsvmm {

namespace {

class BusDevice {
 public:
  virtual ~BusDevice() = default;
  virtual uint32_t Read(uint64_t offset, uint32_t size) = 0;
  virtual void Write(uint64_t offset, uint32_t size, uint32_t value) = 0;
};

class ScratchRegister final : public BusDevice {
 public:
  uint32_t Read(uint64_t, uint32_t) override { return value_; }
  void Write(uint64_t, uint32_t, uint32_t value) override { value_ = value; }

 private:
  uint32_t value_ = 0;
};

struct Mapping {
  uint64_t base;
  BusDevice* device;
};

constexpr uint64_t kMmioPage = 4096;

struct Buses {
  std::array<Mapping, 65536> pio{};
  std::unordered_map<uint64_t, Mapping> mmio;
  const Mapping* lastMmio = nullptr;
  std::unique_ptr<BusDevice> scratch = std::make_unique<ScratchRegister>();
};

uint32_t ReadLittleEndian(const uint8_t* data, uint32_t size) {
  uint32_t value = 0;
  std::memcpy(&value, data, size < 4 ? size : 4);
  return value;
}

void WriteLittleEndian(uint8_t* data, uint32_t size, uint32_t value) {
  std::memcpy(data, &value, size < 4 ? size : 4);
}

void DispatchIo(Buses& buses, struct kvm_run* run, uint8_t* page, size_t pageSize) {
  const Mapping& mapping = buses.pio[run->io.port];
  for (uint32_t i = 0; i < run->io.count; i++) {
    uint64_t offset = run->io.data_offset + static_cast<uint64_t>(i) * run->io.size;
    if (offset + run->io.size > pageSize || mapping.device == nullptr) return;
    if (run->io.direction == KVM_EXIT_IO_OUT) {
      mapping.device->Write(run->io.port - mapping.base, run->io.size, ReadLittleEndian(page + offset, run->io.size));
    } else {
      WriteLittleEndian(page + offset, run->io.size, mapping.device->Read(run->io.port - mapping.base, run->io.size));
    }
  }
}

// As the TypeScript bus does: the last device found, then the table.
const Mapping* FindMmio(Buses& buses, uint64_t address) {
  const Mapping* last = buses.lastMmio;
  if (last != nullptr && address >= last->base && address < last->base + kMmioPage) return last;
  auto found = buses.mmio.find(address / kMmioPage);
  if (found == buses.mmio.end()) return nullptr;
  buses.lastMmio = &found->second;
  return buses.lastMmio;
}

void DispatchMmio(Buses& buses, struct kvm_run* run) {
  const Mapping* found = FindMmio(buses, run->mmio.phys_addr);
  if (found == nullptr) return;
  const Mapping& mapping = *found;
  uint32_t length = run->mmio.len < 8 ? run->mmio.len : 8;
  for (uint32_t done = 0; done < length; done += 4) {
    uint32_t size = length - done < 4 ? length - done : 4;
    uint64_t offset = run->mmio.phys_addr + done - mapping.base;
    if (run->mmio.is_write) {
      mapping.device->Write(offset, size, ReadLittleEndian(run->mmio.data + done, size));
    } else {
      WriteLittleEndian(run->mmio.data + done, size, mapping.device->Read(offset, size));
    }
  }
}

// dispatchExitsInC(run, iterations, port, mmioPage): dispatches the exit in
// `run` `iterations` times, with a scratch register at `port` and at the
// MMIO page `mmioPage`.
Napi::Value DispatchExitsInC(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsArrayBuffer()) throw Napi::TypeError::New(info.Env(), "expected the kvm_run buffer");
  Napi::ArrayBuffer buffer = info[0].As<Napi::ArrayBuffer>();
  if (buffer.ByteLength() < sizeof(struct kvm_run)) throw Napi::RangeError::New(info.Env(), "kvm_run buffer too small");
  uint32_t iterations = ArgUint(info, 1);
  uint32_t port = ArgUint(info, 2);
  uint64_t mmioPage = ArgU64(info, 3);
  if (port > 0xffff) throw Napi::RangeError::New(info.Env(), "port out of range");
  auto buses = std::make_unique<Buses>();
  buses->pio[port] = Mapping{port, buses->scratch.get()};
  buses->mmio[mmioPage] = Mapping{mmioPage * kMmioPage, buses->scratch.get()};
  auto* page = static_cast<uint8_t*>(buffer.Data());
  auto* run = static_cast<struct kvm_run*>(buffer.Data());
  for (uint32_t i = 0; i < iterations; i++) {
    if (run->exit_reason == KVM_EXIT_IO) DispatchIo(*buses, run, page, buffer.ByteLength());
    else if (run->exit_reason == KVM_EXIT_MMIO) DispatchMmio(*buses, run);
    // Keeps the compiler from hoisting the loop's work out of it.
    asm volatile("" ::: "memory");
  }
  return info.Env().Undefined();
}

// exitStandIn(fd): what native.run costs without its KVM_RUN: one call
// from JavaScript with an fd argument, returning a number.
Napi::Value ExitStandIn(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), ArgInt(info, 0) < 0 ? -1 : 0);
}

}  // namespace

void InitExitDispatchBench(Napi::Env env, Napi::Object exports) {
  exports.Set("dispatchExitsInC", Napi::Function::New(env, DispatchExitsInC));
  exports.Set("exitStandIn", Napi::Function::New(env, ExitStandIn));
}

}  // namespace tsvmm
