// Host syscalls Node does not offer: advisory file locks and fallocate.
#include "common.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

namespace tsvmm {

// lockFile(path) -> fd holding an exclusive flock on path (created 0600),
// or -1 when another process holds it. The lock lasts until the fd is
// closed or the process ends, however it ends.
static Napi::Value LockFile(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsString()) {
    throw Napi::TypeError::New(info.Env(), "path must be a string");
  }
  std::string path = info[0].As<Napi::String>().Utf8Value();
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) ThrowErrno(info.Env(), ("open " + path).c_str(), errno);
  if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
    int err = errno;
    close(fd);
    if (err == EWOULDBLOCK) return Napi::Number::New(info.Env(), -1);
    ThrowErrno(info.Env(), "flock", err);
  }
  return Napi::Number::New(info.Env(), fd);
}

// tryLockFd(fd) -> whether an exclusive flock on fd was taken (false when
// another open file description holds one).
static Napi::Value TryLockFd(const Napi::CallbackInfo& info) {
  if (flock(ArgInt(info, 0), LOCK_EX | LOCK_NB) == 0) return Napi::Boolean::New(info.Env(), true);
  if (errno == EWOULDBLOCK) return Napi::Boolean::New(info.Env(), false);
  ThrowErrno(info.Env(), "flock", errno);
}

// unlockFd(fd): drops this open file description's flock, so another
// process may take it while the fd stays open.
static Napi::Value UnlockFd(const Napi::CallbackInfo& info) {
  if (flock(ArgInt(info, 0), LOCK_UN) < 0) ThrowErrno(info.Env(), "flock", errno);
  return info.Env().Undefined();
}

// fallocate(fd, mode, offset, length): FALLOC_FL_* modes, for discard
// (punch hole) and write-zeroes (zero range) on disk images.
static Napi::Value Fallocate(const Napi::CallbackInfo& info) {
  int result;
  do {
    result = fallocate(ArgInt(info, 0), ArgInt(info, 1), static_cast<off_t>(ArgU64(info, 2)),
                       static_cast<off_t>(ArgU64(info, 3)));
  } while (result < 0 && errno == EINTR);
  if (result < 0) ThrowErrno(info.Env(), "fallocate", errno);
  return info.Env().Undefined();
}

void InitHost(Napi::Env env, Napi::Object exports) {
  exports.Set("lockFile", Napi::Function::New(env, LockFile));
  exports.Set("tryLockFd", Napi::Function::New(env, TryLockFd));
  exports.Set("unlockFd", Napi::Function::New(env, UnlockFd));
  exports.Set("fallocate", Napi::Function::New(env, Fallocate));
}

}  // namespace tsvmm
