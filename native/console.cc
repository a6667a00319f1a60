// Host ends of guest consoles: a pipe the vCPU threads write serial output
// into, a pseudo-terminal for `pty` mode, and non-blocking reads that tell
// "nothing yet" apart from "the other side hung up".
#include "common.h"

#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <termios.h>
#include <unistd.h>

namespace tsvmm {

// pipe() -> { read, write }: both close-on-exec; the read end is non-blocking.
static Napi::Value Pipe(const Napi::CallbackInfo& info) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) < 0) ThrowErrno(info.Env(), "pipe2", errno);
  if (fcntl(fds[0], F_SETFL, O_NONBLOCK) < 0) {
    int err = errno;
    close(fds[0]);
    close(fds[1]);
    ThrowErrno(info.Env(), "fcntl O_NONBLOCK", err);
  }
  Napi::Object result = Napi::Object::New(info.Env());
  result.Set("read", fds[0]);
  result.Set("write", fds[1]);
  return result;
}

// openPty() -> { fd, path }: a non-blocking pseudo-terminal master in raw
// mode, and the path of its slave (/dev/pts/N) for a client to open.
static Napi::Value OpenPty(const Napi::CallbackInfo& info) {
  int fd = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) ThrowErrno(info.Env(), "posix_openpt", errno);
  char path[64];
  const char* failed = nullptr;
  struct termios mode;
  if (grantpt(fd) < 0) failed = "grantpt";
  else if (unlockpt(fd) < 0) failed = "unlockpt";
  else if (ptsname_r(fd, path, sizeof(path)) != 0) failed = "ptsname_r";
  else if (tcgetattr(fd, &mode) < 0) failed = "tcgetattr";
  if (!failed) {
    cfmakeraw(&mode);
    if (tcsetattr(fd, TCSANOW, &mode) < 0) failed = "tcsetattr";
  }
  if (failed) {
    int err = errno;
    close(fd);
    ThrowErrno(info.Env(), failed, err);
  }
  Napi::Object result = Napi::Object::New(info.Env());
  result.Set("fd", fd);
  result.Set("path", std::string(path));
  return result;
}

// hungUp(fd) -> whether poll() reports POLLHUP now (a pty master whose
// slave is not open, a pipe whose writer closed).
static Napi::Value HungUp(const Napi::CallbackInfo& info) {
  struct pollfd entry = {ArgInt(info, 0), POLLIN, 0};
  int n;
  do {
    n = poll(&entry, 1, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) ThrowErrno(info.Env(), "poll", errno);
  return Napi::Boolean::New(info.Env(), (entry.revents & (POLLHUP | POLLERR)) != 0);
}

// readAvailable(fd, buffer) -> bytes read; -1 when nothing is waiting;
// 0 at end of file or when the other side hung up (EIO on a pty master).
static Napi::Value ReadAvailable(const Napi::CallbackInfo& info) {
  Napi::TypedArray buffer = ArgBytes(info, 1, 0);
  ssize_t n;
  do {
    n = read(ArgInt(info, 0), BytesData(buffer), buffer.ByteLength());
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN) return Napi::Number::New(info.Env(), -1);
    if (errno == EIO) return Napi::Number::New(info.Env(), 0);
    ThrowErrno(info.Env(), "read", errno);
  }
  return Napi::Number::New(info.Env(), static_cast<double>(n));
}

void InitConsole(Napi::Env env, Napi::Object exports) {
  exports.Set("pipe", Napi::Function::New(env, Pipe));
  exports.Set("openPty", Napi::Function::New(env, OpenPty));
  exports.Set("hungUp", Napi::Function::New(env, HungUp));
  exports.Set("readAvailable", Napi::Function::New(env, ReadAvailable));
}

}  // namespace tsvmm
