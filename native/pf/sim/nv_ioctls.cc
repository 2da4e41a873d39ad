// DIOCKILLSTATESNV / DIOCCLRSTATESNV / DIOCGETSTATUSNV of the simulated kernel, with the
// handler rules of pf_ioctl.c (pf-abi.md 4.5): ENOMEM over the request limit, EBADMSG when the
// nvlist does not unpack, the parser's errno for a bad request, ENOSPC (after the kill!) when
// the reply does not fit, nothing copied back when size is 0.
#include <cerrno>
#include <cstring>

#include "pf/nv_requests.h"
#include "pf/nvlist.h"
#include "pf/sim/kernel.h"

namespace pf::sim {

constexpr size_t kRequestMaxCount = 65535;  // net.pf.request_maxcount default

int Kernel::NvIoctl(uint32_t cmd, pfioc_nv* nv) {
  std::vector<uint8_t> reply;
  if (cmd == DIOCGETSTATUSNV) {
    StatusInfo st = DefaultStatusInfo();
    st.running = true;
    st.states = uint32_t(table_.size());
    st.hostid = hostid_;
    reply = BuildStatusReply(st).pack();
  } else {
    if (nv->len > kRequestMaxCount) return ENOMEM;
    if (nv->data == nullptr) return EFAULT;
    nv::List req;
    if (nv::List::unpack(static_cast<const uint8_t*>(nv->data), nv->len, 0, &req) != 0) return EBADMSG;
    KillFilter f;
    if (int e = ParseStateKillRequest(req, &f)) return e;
    uint32_t killed = cmd == DIOCCLRSTATESNV ? ClearStates(f) : KillStates(f);
    reply = BuildKilledReply(killed).pack();
  }
  if (nv->size == 0) return 0;
  if (nv->size < reply.size()) return ENOSPC;
  if (nv->data == nullptr) return EFAULT;
  std::memcpy(nv->data, reply.data(), reply.size());
  nv->len = reply.size();
  return 0;
}

}  // namespace pf::sim
