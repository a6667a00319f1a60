// TAP network interfaces: create or attach one, give it an IPv4 address and
// bring it up. Frames are read with readAvailable (console.cc) and written
// through Node's fs, which handles a plain fd.
#include "common.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace tsvmm {

static std::string ArgString(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i || !info[i].IsString()) throw Napi::TypeError::New(info.Env(), "expected a string");
  return info[i].As<Napi::String>().Utf8Value();
}

static void CopyName(Napi::Env env, char (&target)[IFNAMSIZ], const std::string& name) {
  if (name.size() >= IFNAMSIZ) throw Napi::RangeError::New(env, "interface name is longer than 15 bytes");
  std::memset(target, 0, IFNAMSIZ);
  std::memcpy(target, name.data(), name.size());
}

// openTap(name) -> { fd, name }: attaches to the TAP interface `name`, or
// creates one (name "" lets the kernel pick tapN). The fd is non-blocking;
// closing it removes an interface that is not persistent.
static Napi::Value OpenTap(const Napi::CallbackInfo& info) {
  std::string name = ArgString(info, 0);
  struct ifreq request = {};
  CopyName(info.Env(), request.ifr_name, name.empty() ? "tap%d" : name);
  request.ifr_flags = IFF_TAP | IFF_NO_PI;
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) ThrowErrno(info.Env(), "open /dev/net/tun", errno);
  if (Ioctl(fd, TUNSETIFF, &request) < 0) {
    int err = errno;
    close(fd);
    ThrowErrno(info.Env(), "TUNSETIFF", err);
  }
  Napi::Object result = Napi::Object::New(info.Env());
  result.Set("fd", fd);
  result.Set("name", std::string(request.ifr_name, strnlen(request.ifr_name, IFNAMSIZ)));
  return result;
}

static void SetAddress(Napi::Env env, int sock, struct ifreq& request, unsigned long which, const std::string& text) {
  auto* address = reinterpret_cast<struct sockaddr_in*>(&request.ifr_addr);
  std::memset(address, 0, sizeof(*address));
  address->sin_family = AF_INET;
  if (inet_pton(AF_INET, text.c_str(), &address->sin_addr) != 1) {
    throw Napi::TypeError::New(env, "not an IPv4 address: " + text);
  }
  if (Ioctl(sock, which, &request) < 0) ThrowErrno(env, which == SIOCSIFADDR ? "SIOCSIFADDR" : "SIOCSIFNETMASK", errno);
}

// configureInterface(name, ip, mask): sets an IPv4 address and netmask
// (either may be "" to leave it) and brings the interface up.
static Napi::Value ConfigureInterface(const Napi::CallbackInfo& info) {
  std::string name = ArgString(info, 0);
  std::string ip = ArgString(info, 1);
  std::string mask = ArgString(info, 2);
  int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0) ThrowErrno(info.Env(), "socket", errno);
  try {
    struct ifreq request = {};
    CopyName(info.Env(), request.ifr_name, name);
    if (!ip.empty()) SetAddress(info.Env(), sock, request, SIOCSIFADDR, ip);
    if (!mask.empty()) SetAddress(info.Env(), sock, request, SIOCSIFNETMASK, mask);
    if (Ioctl(sock, SIOCGIFFLAGS, &request) < 0) ThrowErrno(info.Env(), "SIOCGIFFLAGS", errno);
    request.ifr_flags |= IFF_UP | IFF_RUNNING;
    if (Ioctl(sock, SIOCSIFFLAGS, &request) < 0) ThrowErrno(info.Env(), "SIOCSIFFLAGS", errno);
  } catch (...) {
    close(sock);
    throw;
  }
  close(sock);
  return info.Env().Undefined();
}

void InitTap(Napi::Env env, Napi::Object exports) {
  exports.Set("openTap", Napi::Function::New(env, OpenTap));
  exports.Set("configureInterface", Napi::Function::New(env, ConfigureInterface));
}

}  // namespace tsvmm
