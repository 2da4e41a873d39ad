// Where netlink bytes go: a real AF_NETLINK socket (FreeBSD) or the simulated kernel's responder.
// The client cannot tell them apart except by Name().
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace pf::nl {

class Endpoint {
 public:
  virtual ~Endpoint() = default;
  // One write: any number of whole messages. Throws NlError.
  virtual void Send(const uint8_t* p, size_t n) = 0;
  // Whole messages only, at most `cap` bytes. Blocks on a socket; the simulator returns 0 when it
  // has nothing more to say (a real kernel would leave the caller waiting).
  virtual size_t Recv(uint8_t* buf, size_t cap) = 0;
  virtual std::string Name() const = 0;
};

// Makes a fresh endpoint (the client keeps one for commands and one per state dump).
using EndpointFactory = std::function<std::unique_ptr<Endpoint>()>;

// A NETLINK_GENERIC socket. FreeBSD 14+ only; elsewhere throws NlError(ENOTSUP).
std::unique_ptr<Endpoint> OpenSocketEndpoint();

}  // namespace pf::nl
