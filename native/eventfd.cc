// eventfds and what KVM does with them: KVM_IOEVENTFD (a guest write
// signals an eventfd without a vCPU exit), KVM_IRQFD (writing an eventfd
// raises a guest interrupt), and watching an fd from the calling thread's
// libuv loop so the data path runs in that thread's event loop.
#include "common.h"

#include <sys/eventfd.h>
#include <unistd.h>
#include <uv.h>

namespace tsvmm {

static Napi::Value CreateEventFd(const Napi::CallbackInfo& info) {
  int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) ThrowErrno(info.Env(), "eventfd", errno);
  return Napi::Number::New(info.Env(), fd);
}

// Returns the counter and resets it, or 0 when nothing was signalled.
static Napi::Value ReadEventFd(const Napi::CallbackInfo& info) {
  uint64_t value = 0;
  ssize_t n = read(ArgInt(info, 0), &value, sizeof(value));
  if (n < 0) {
    if (errno == EAGAIN) return Napi::Number::New(info.Env(), 0);
    ThrowErrno(info.Env(), "read eventfd", errno);
  }
  return Napi::Number::New(info.Env(), static_cast<double>(value));
}

static Napi::Value WriteEventFd(const Napi::CallbackInfo& info) {
  uint64_t value = info.Length() > 1 ? ArgU64(info, 1) : 1;
  if (write(ArgInt(info, 0), &value, sizeof(value)) < 0) ThrowErrno(info.Env(), "write eventfd", errno);
  return info.Env().Undefined();
}

// ioeventfd(vmFd, eventFd, address, length, flags, datamatch): flags are
// KVM_IOEVENTFD_FLAG_*; with DATAMATCH only writes of `datamatch` signal.
static Napi::Value IoEventFd(const Napi::CallbackInfo& info) {
  struct kvm_ioeventfd request = {};
  request.fd = ArgInt(info, 1);
  request.addr = ArgU64(info, 2);
  request.len = ArgUint(info, 3);
  request.flags = ArgUint(info, 4);
  request.datamatch = info.Length() > 5 ? ArgU64(info, 5) : 0;
  if (Ioctl(ArgInt(info, 0), KVM_IOEVENTFD, &request) < 0) ThrowErrno(info.Env(), "KVM_IOEVENTFD", errno);
  return info.Env().Undefined();
}

// irqfd(vmFd, eventFd, gsi, flags): flags are KVM_IRQFD_FLAG_* (DEASSIGN = 1).
static Napi::Value IrqFd(const Napi::CallbackInfo& info) {
  struct kvm_irqfd request = {};
  request.fd = ArgUint(info, 1);
  request.gsi = ArgUint(info, 2);
  request.flags = ArgUint(info, 3);
  if (Ioctl(ArgInt(info, 0), KVM_IRQFD, &request) < 0) ThrowErrno(info.Env(), "KVM_IRQFD", errno);
  return info.Env().Undefined();
}

struct Watch {
  uv_poll_t poll;
  Napi::Env env;
  Napi::FunctionReference callback;
  // MakeCallback with this context, not a plain Call: only a callback scope
  // runs the microtasks and process.nextTick work the callback queued when it
  // returns. Without one they waited for some unrelated later callback, so a
  // virtqueue's interrupt (a microtask) or a UDP send (a nextTick) could wait
  // forever once the guest went quiet waiting for them.
  Napi::AsyncContext context;
  bool stopped;
};

static void OnReadable(uv_poll_t* handle, int status, int) {
  auto* watch = static_cast<Watch*>(handle->data);
  Napi::HandleScope scope(watch->env);
  try {
    // The global object as receiver: an undefined one leaves a pending
    // exception that silences every later callback.
    watch->callback.MakeCallback(watch->env.Global(), {Napi::Number::New(watch->env, status)}, watch->context);
  } catch (const Napi::Error& error) {
    napi_fatal_exception(watch->env, error.Value());
  }
}

// watchFd(fd, callback) -> handle: calls back on this thread whenever fd is
// readable, until unwatchFd(handle).
static Napi::Value WatchFd(const Napi::CallbackInfo& info) {
  int fd = ArgInt(info, 0);
  if (info.Length() < 2 || !info[1].IsFunction()) throw Napi::TypeError::New(info.Env(), "callback must be a function");
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(info.Env(), &loop) != napi_ok || loop == nullptr) {
    throw Napi::Error::New(info.Env(), "no event loop on this thread");
  }
  auto* watch = new Watch{{}, info.Env(), Napi::Persistent(info[1].As<Napi::Function>()), Napi::AsyncContext(info.Env(), "tsvmm.watchFd"), false};
  watch->poll.data = watch;
  int err = uv_poll_init(loop, &watch->poll, fd);
  if (err == 0) err = uv_poll_start(&watch->poll, UV_READABLE, OnReadable);
  if (err != 0) {
    delete watch;
    throw Napi::Error::New(info.Env(), std::string("uv_poll on fd ") + std::to_string(fd) + ": " + uv_strerror(err));
  }
  return Napi::External<Watch>::New(info.Env(), watch);
}

static Napi::Value UnwatchFd(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsExternal()) throw Napi::TypeError::New(info.Env(), "expected a watch handle");
  Watch* watch = info[0].As<Napi::External<Watch>>().Data();
  if (watch->stopped) return info.Env().Undefined();
  watch->stopped = true;
  uv_poll_stop(&watch->poll);
  uv_close(reinterpret_cast<uv_handle_t*>(&watch->poll),
           [](uv_handle_t* handle) { delete static_cast<Watch*>(handle->data); });
  return info.Env().Undefined();
}

void InitEventFd(Napi::Env env, Napi::Object exports) {
  exports.Set("createEventFd", Napi::Function::New(env, CreateEventFd));
  exports.Set("readEventFd", Napi::Function::New(env, ReadEventFd));
  exports.Set("writeEventFd", Napi::Function::New(env, WriteEventFd));
  exports.Set("ioeventfd", Napi::Function::New(env, IoEventFd));
  exports.Set("irqfd", Napi::Function::New(env, IrqFd));
  exports.Set("watchFd", Napi::Function::New(env, WatchFd));
  exports.Set("unwatchFd", Napi::Function::New(env, UnwatchFd));
}

}  // namespace tsvmm
