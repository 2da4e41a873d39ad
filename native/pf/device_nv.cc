// The nvlist paths of the device (DIOCKILLSTATESNV, DIOCCLRSTATESNV, DIOCGETSTATUSNV).
// By-id kills reuse one packed request: its id and creatorid values sit at fixed offsets, so
// each state costs a memcpy and two patches instead of building and packing an nvlist.
#include <cerrno>
#include <cstring>
#include <vector>

#include "pf/device.h"
#include "pf/nv_requests.h"
#include "pf/nvlist.h"

namespace pf {

namespace {

constexpr size_t kReplyRoom = 4096;  // pf-abi.md 4.5: always offer >= 4096 bytes for the reply
constexpr uint64_t kIdMark = 0x5a17c1d5a17c1d01ull;
constexpr uint64_t kCreatorMark = 0x00000000c1d5a17cull;

struct ByIdTemplate {
  std::vector<uint8_t> packed;
  size_t idOff = 0, creatorOff = 0;
  std::vector<uint8_t> buf;  // request in, reply out
};

size_t FindU64(const std::vector<uint8_t>& b, uint64_t v) {
  for (size_t i = 0; i + 8 <= b.size(); i++)
    if (std::memcmp(&b[i], &v, 8) == 0) return i;
  return SIZE_MAX;
}

int Call(IoctlTarget* t, uint32_t cmd, std::vector<uint8_t>& buf, size_t len, nv::List* reply) {
  pfioc_nv nv{buf.data(), len, buf.size()};
  if (int e = t->Ioctl(cmd, &nv)) return e;
  if (nv.len > buf.size()) return EPROTO;
  return nv::List::unpack(buf.data(), nv.len, 0, reply) ? EPROTO : 0;
}

}  // namespace

int Device::NvStatus(uint32_t* states, uint32_t* hostid) {
  std::vector<uint8_t> buf(64 * 1024);
  nv::List reply;
  if (int e = Call(t_, DIOCGETSTATUSNV, buf, 0, &reply)) return e;
  StatusInfo st;
  if (ParseStatusReply(reply, &st)) return EPROTO;
  *states = st.states;
  *hostid = st.hostid;
  return 0;
}

int Device::ProbeNv() {
  uint32_t states, hostid;
  int e = NvStatus(&states, &hostid);
  if (e == EPROTO)
    throw DeviceError(EPROTO, "E_ABI_MISMATCH", name_ + ": DIOCGETSTATUSNV answered with an nvlist statekill cannot read");
  return e;
}

int Device::NvKill(const KillFilter& f, bool clear, uint32_t* killed) {
  std::vector<uint8_t> req = BuildStateKillRequest(f).pack();
  std::vector<uint8_t> buf(std::max(req.size(), kReplyRoom));
  std::memcpy(buf.data(), req.data(), req.size());
  nv::List reply;
  if (int e = Call(t_, clear ? DIOCCLRSTATESNV : DIOCKILLSTATESNV, buf, req.size(), &reply)) return e;
  return ParseKilledReply(reply, killed) ? EPROTO : 0;
}

int Device::NvKillById(uint64_t id, uint32_t creator, uint32_t* killed) {
  if (!nvTemplate_) {
    auto t = std::make_shared<ByIdTemplate>();
    KillFilter f;
    f.id = kIdMark;
    f.creatorid = uint32_t(kCreatorMark);
    t->packed = BuildStateKillRequest(f).pack();
    t->idOff = FindU64(t->packed, kIdMark);
    t->creatorOff = FindU64(t->packed, kCreatorMark);
    if (t->idOff == SIZE_MAX || t->creatorOff == SIZE_MAX) return EPROTO;
    t->buf.resize(std::max(t->packed.size(), kReplyRoom));
    nvTemplate_ = t;
  }
  auto* t = static_cast<ByIdTemplate*>(nvTemplate_.get());
  std::memcpy(t->buf.data(), t->packed.data(), t->packed.size());
  uint64_t c = creator;  // the raw in-kernel value, as the binary export gave it
  std::memcpy(&t->buf[t->idOff], &id, 8);
  std::memcpy(&t->buf[t->creatorOff], &c, 8);
  nv::List reply;
  if (int e = Call(t_, DIOCKILLSTATESNV, t->buf, t->packed.size(), &reply)) return e;
  return ParseKilledReply(reply, killed) ? EPROTO : 0;
}

}  // namespace pf
