// The real transport: a generic netlink socket on FreeBSD (AF_NETLINK 38, NETLINK_GENERIC 16,
// BSD sockaddr_nl with nl_len). Compiled only there; other systems get ENOTSUP.
#include <cerrno>
#include <cstring>

#include "pf/netlink/endpoint.h"
#include "pf/netlink/nl_wire.h"

#ifdef __FreeBSD__
#include <sys/socket.h>
#include <unistd.h>
#endif

namespace pf::nl {

#ifdef __FreeBSD__
namespace {

constexpr int kAfNetlink = 38, kNetlinkGeneric = 16;

struct SockaddrNl {  // FreeBSD's struct sockaddr_nl
  uint8_t nl_len;
  uint8_t nl_family;
  uint16_t nl_pad;
  uint32_t nl_pid;
  uint32_t nl_groups;
};

class SocketEndpoint : public Endpoint {
 public:
  SocketEndpoint() {
    fd_ = socket(kAfNetlink, SOCK_RAW, kNetlinkGeneric);
    if (fd_ < 0) {
      int e = errno;
      throw NlError(e == EAFNOSUPPORT || e == EPROTONOSUPPORT ? ENOTSUP : e, "",
                    std::string("netlink socket: ") + std::strerror(e) + " (pf netlink needs FreeBSD 14+)");
    }
    // Room for a burst of state messages: the kernel drops nothing, it waits for us.
    int sz = 4 << 20;
    setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
    SockaddrNl sa{};
    sa.nl_len = sizeof sa;
    sa.nl_family = kAfNetlink;
    if (bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
      int e = errno;
      close(fd_);
      throw NlError(e, "", std::string("netlink bind: ") + std::strerror(e));
    }
  }
  ~SocketEndpoint() override {
    if (fd_ >= 0) close(fd_);
  }
  void Send(const uint8_t* p, size_t n) override {
    SockaddrNl sa{};
    sa.nl_len = sizeof sa;
    sa.nl_family = kAfNetlink;
    ssize_t r;
    do r = sendto(fd_, p, n, 0, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    while (r < 0 && errno == EINTR);
    if (r < 0) throw NlError(errno, "", std::string("netlink send: ") + std::strerror(errno));
    if (size_t(r) != n) throw NlError(EIO, "", "netlink send: short write");
  }
  size_t Recv(uint8_t* buf, size_t cap) override {
    ssize_t r;
    do r = recv(fd_, buf, cap, 0);
    while (r < 0 && errno == EINTR);
    if (r < 0) throw NlError(errno, "", std::string("netlink recv: ") + std::strerror(errno));
    return size_t(r);
  }
  std::string Name() const override { return "netlink (pfctl family)"; }

 private:
  int fd_ = -1;
};

}  // namespace

std::unique_ptr<Endpoint> OpenSocketEndpoint() { return std::make_unique<SocketEndpoint>(); }

#else

std::unique_ptr<Endpoint> OpenSocketEndpoint() {
  throw NlError(ENOTSUP, "ENOTSUP", "pf netlink needs FreeBSD 14+");
}

#endif

}  // namespace pf::nl
