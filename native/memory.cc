// Guest memory: anonymous mappings kept in a process-wide registry, so every
// worker thread can wrap the same mapping in its own external ArrayBuffer.
// JavaScript only ever sees mapping ids, never host addresses.
#include "common.h"

#include <sys/mman.h>

#include <map>
#include <mutex>

namespace tsvmm {

struct Mapping {
  uint8_t* base;
  uint64_t size;
};

static std::mutex registry_mutex;
static std::map<uint32_t, Mapping> registry;
static uint32_t next_id = 1;

uint8_t* GuestMemoryPointer(uint32_t id, uint64_t offset, uint64_t length) {
  std::lock_guard<std::mutex> lock(registry_mutex);
  auto it = registry.find(id);
  if (it == registry.end()) return nullptr;
  const Mapping& mapping = it->second;
  if (offset > mapping.size || length > mapping.size - offset) return nullptr;
  return mapping.base + offset;
}

static uint32_t Register(uint8_t* base, uint64_t size) {
  std::lock_guard<std::mutex> lock(registry_mutex);
  uint32_t id = next_id++;
  registry[id] = Mapping{base, size};
  return id;
}

static Napi::Value MapGuestMemory(const Napi::CallbackInfo& info) {
  uint64_t size = ArgU64(info, 0);
  if (size == 0 || size % 4096 != 0) {
    throw Napi::RangeError::New(info.Env(), "guest memory size must be a non-zero multiple of 4096");
  }
  void* base = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (base == MAP_FAILED) ThrowErrno(info.Env(), "mmap guest memory", errno);
  madvise(base, size, MADV_DONTFORK);
  return Napi::Number::New(info.Env(), Register(static_cast<uint8_t*>(base), size));
}

// mapGuestMemoryFile(fd, size): guest memory mapped copy-on-write from a
// snapshot's memory file: pages are read from the file when the guest first
// touches them, and the guest's writes never reach the file.
static Napi::Value MapGuestMemoryFile(const Napi::CallbackInfo& info) {
  int fd = ArgInt(info, 0);
  uint64_t size = ArgU64(info, 1);
  if (size == 0 || size % 4096 != 0) {
    throw Napi::RangeError::New(info.Env(), "guest memory size must be a non-zero multiple of 4096");
  }
  void* base = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE, fd, 0);
  if (base == MAP_FAILED) ThrowErrno(info.Env(), "mmap guest memory file", errno);
  madvise(base, size, MADV_DONTFORK);
  return Napi::Number::New(info.Env(), Register(static_cast<uint8_t*>(base), size));
}

// nonZeroPages(id, offset, length) -> Uint8Array with one byte per 4 KiB
// page of the range: 1 where the page holds a non-zero byte. Snapshots
// write only those pages; the scan is the cost, so it is done here.
static Napi::Value NonZeroPages(const Napi::CallbackInfo& info) {
  uint64_t offset = ArgU64(info, 1);
  uint64_t length = ArgU64(info, 2);
  uint8_t* data = GuestMemoryPointer(ArgUint(info, 0), offset, length);
  if (data == nullptr || offset % 4096 != 0 || length % 4096 != 0) {
    throw Napi::RangeError::New(info.Env(), "page range is outside the guest memory mapping or not page-aligned");
  }
  uint64_t pages = length / 4096;
  Napi::Uint8Array result = Napi::Uint8Array::New(info.Env(), pages);
  for (uint64_t page = 0; page < pages; page++) {
    const uint64_t* words = reinterpret_cast<const uint64_t*>(data + page * 4096);
    uint64_t any = 0;
    for (int i = 0; i < 512 && any == 0; i += 8) {
      any = words[i] | words[i + 1] | words[i + 2] | words[i + 3] | words[i + 4] | words[i + 5] | words[i + 6] | words[i + 7];
    }
    result[page] = any != 0;
  }
  return result;
}

// guestMemoryBuffer(id, offset, length): an ArrayBuffer over part of a mapping.
// Its finalizer does nothing: the mapping outlives every buffer and is only
// released by unmapGuestMemory once no thread uses it any more.
static Napi::Value GuestMemoryBuffer(const Napi::CallbackInfo& info) {
  uint64_t length = ArgU64(info, 2);
  uint8_t* data = GuestMemoryPointer(ArgUint(info, 0), ArgU64(info, 1), length);
  if (data == nullptr || length == 0) {
    throw Napi::RangeError::New(info.Env(), "range is outside the guest memory mapping");
  }
  return Napi::ArrayBuffer::New(info.Env(), data, length);
}

static Napi::Value UnmapGuestMemory(const Napi::CallbackInfo& info) {
  uint32_t id = ArgUint(info, 0);
  Mapping mapping;
  {
    std::lock_guard<std::mutex> lock(registry_mutex);
    auto it = registry.find(id);
    if (it == registry.end()) return info.Env().Undefined();
    mapping = it->second;
    registry.erase(it);
  }
  munmap(mapping.base, mapping.size);
  return info.Env().Undefined();
}

void InitMemory(Napi::Env env, Napi::Object exports) {
  exports.Set("mapGuestMemory", Napi::Function::New(env, MapGuestMemory));
  exports.Set("mapGuestMemoryFile", Napi::Function::New(env, MapGuestMemoryFile));
  exports.Set("nonZeroPages", Napi::Function::New(env, NonZeroPages));
  exports.Set("guestMemoryBuffer", Napi::Function::New(env, GuestMemoryBuffer));
  exports.Set("unmapGuestMemory", Napi::Function::New(env, UnmapGuestMemory));
}

}  // namespace tsvmm
