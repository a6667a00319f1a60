// preadv2/pwritev2 with RWF_NOWAIT: a read served from the page cache (or a
// write that need not wait) completes at once in the calling thread; when
// it would block, the caller gets -EAGAIN and hands the request to the
// thread pool instead. One syscall instead of a thread hand-off per request.
#include "common.h"

#include <climits>
#include <sys/uio.h>
#include <vector>

namespace tsvmm {

static Napi::Value TryVectored(const Napi::CallbackInfo& info, bool write) {
  int fd = ArgInt(info, 0);
  if (info.Length() < 3 || !info[1].IsArray()) throw Napi::TypeError::New(info.Env(), "expected an array of buffers");
  Napi::Array buffers = info[1].As<Napi::Array>();
  uint64_t position = ArgU64(info, 2);
  if (buffers.Length() > IOV_MAX) return Napi::Number::New(info.Env(), -EINVAL);
  std::vector<struct iovec> iov(buffers.Length());
  for (uint32_t i = 0; i < buffers.Length(); i++) {
    Napi::Value value = buffers[i];
    if (!value.IsTypedArray()) throw Napi::TypeError::New(info.Env(), "buffers must be typed arrays");
    Napi::TypedArray array = value.As<Napi::TypedArray>();
    iov[i] = {BytesData(array), array.ByteLength()};
  }
  ssize_t n;
  do {
    n = write ? pwritev2(fd, iov.data(), static_cast<int>(iov.size()), static_cast<off_t>(position), RWF_NOWAIT)
              : preadv2(fd, iov.data(), static_cast<int>(iov.size()), static_cast<off_t>(position), RWF_NOWAIT);
  } while (n < 0 && errno == EINTR);
  return Napi::Number::New(info.Env(), n < 0 ? -errno : static_cast<double>(n));
}

// tryPreadv(fd, buffers, position) -> bytes read, or -errno (-EAGAIN: it would block).
static Napi::Value TryPreadv(const Napi::CallbackInfo& info) { return TryVectored(info, false); }
// tryPwritev(fd, buffers, position) -> bytes written, or -errno.
static Napi::Value TryPwritev(const Napi::CallbackInfo& info) { return TryVectored(info, true); }

void InitVectoredIo(Napi::Env env, Napi::Object exports) {
  exports.Set("tryPreadv", Napi::Function::New(env, TryPreadv));
  exports.Set("tryPwritev", Napi::Function::New(env, TryPwritev));
}

}  // namespace tsvmm
