#include "pf/device.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace pf {

namespace {

class RealDevice : public IoctlTarget {
 public:
  RealDevice(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~RealDevice() override { ::close(fd_); }
  int Ioctl(uint32_t cmd, void* arg) override {
    // FreeBSD's ioctl takes an unsigned long command; the value is the same 32 bits.
    return ::ioctl(fd_, static_cast<unsigned long>(cmd), arg) == 0 ? 0 : errno;
  }
  std::string Name() const override { return path_; }

 private:
  int fd_;
  std::string path_;
};

bool Absent(int err) { return err == ENODEV || err == ENOTTY || err == EINVAL || err == ENOSYS; }

// A size probe must answer whole records; a negative length means ps_len (a C int) overflowed.
size_t ProbedLength(int len, int elem, const char* ioctl, const std::string& name) {
  if (len < 0)
    throw DeviceError(E2BIG, "E2BIG",
                      name + ": " + ioctl + " size probe overflowed (" + std::to_string(len) +
                          "): the table is larger than one pf state read can return (2 GiB); nothing read or killed");
  if (len % elem != 0)
    throw DeviceError(EPROTO, "E_ABI_MISMATCH",
                      name + ": " + ioctl + " size probe returned " + std::to_string(len) + " bytes, not a multiple of " +
                          std::to_string(elem) + "-byte records; refusing to read or kill");
  return size_t(len);
}

}  // namespace

std::unique_ptr<IoctlTarget> OpenRealDevice(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    if (e == EACCES || e == EPERM)
      throw DeviceError(e, "", "cannot open " + path + " read-write: permission denied (run as root)");
    // Only /dev/pf missing means pf is not loaded; another path is more likely a typo.
    if ((e == ENOENT || e == ENODEV || e == ENXIO) && path == "/dev/pf")
      throw DeviceError(e, "", "cannot open " + path + ": pf is not loaded (no such device; kldload pf)");
    if (e == ENOENT) throw DeviceError(e, "", "cannot open " + path + ": no such file (check --device)");
    throw DeviceError(e, "", "cannot open " + path + ": " + std::strerror(e));
  }
  return std::make_unique<RealDevice>(fd, path);
}

Device::Device(IoctlTarget* target) : t_(target), name_(target->Name()) {}

const std::string& Device::target() const { return name_; }

void Device::Probe() {
  // Reads: DIOCGETSTATESV2 size probe (newest version first, the kernel refuses newer ones), else
  // DIOCGETSTATES. Sizes must be whole records, else this is not an ABI we know.
  for (uint64_t v : {kStateVersion14, kStateVersion13}) {
    pfioc_states_v2 ps{};
    ps.ps_len = 0;
    ps.ps_req_version = v;
    int e = t_->Ioctl(DIOCGETSTATESV2, &ps);
    if (e == 0) {
      ProbedLength(ps.ps_len, 384, "DIOCGETSTATESV2", name_);
      read_ = ReadPath::V2;
      v2Version_ = v;
      hasRouteInfo_ = v == kStateVersion14;
      break;
    }
    if (e == ENOTSUP || e == EOPNOTSUPP) continue;  // older kernel: try its version
    if (!Absent(e)) throw DeviceError(e, "", name_ + ": DIOCGETSTATESV2 failed: " + std::strerror(e));
    break;
  }
  {
    // DIOCGETSTATES: the read on 12.x/13.0, and beside V2 the compact one (15 keeps it only with
    // COMPAT_FREEBSD14).
    pfioc_states ps{};
    int e = t_->Ioctl(DIOCGETSTATES, &ps);
    if (e == 0) {
      ProbedLength(ps.ps_len, 242, "DIOCGETSTATES", name_);
      structRead_ = true;
      if (read_ == ReadPath::None) read_ = ReadPath::Struct1301;
    } else if (read_ == ReadPath::None && !Absent(e)) {
      throw DeviceError(e, "", name_ + ": DIOCGETSTATES failed: " + std::strerror(e));
    }
  }
  // Kills. Filters and flush: the nvlist ioctls (13.1+, the only ones left in 15: gateway and
  // kill_match exist only there), else the struct ones. By id the two are equivalent, and the
  // struct ioctl skips an nvlist unpack per state (measured 0.9 vs 9.7 us per kill on the
  // simulated kernel), so it is used wherever the kernel still has it (DIOCGETSTATUS answers).
  bool nv = ProbeNv() == 0;
  pf_status st{};
  bool structKill = t_->Ioctl(DIOCGETSTATUS, &st) == 0;
  nvStatus_ = nv;
  structStatus_ = structKill;
  kill_ = nv ? KillPath::Nv : structKill ? KillPath::Struct : KillPath::None;
  killById_ = structKill ? KillPath::Struct : nv ? KillPath::Nv : KillPath::None;
  if (read_ == ReadPath::None && kill_ == KillPath::None)
    throw DeviceError(ENODEV, "E_NO_PF",
                      name_ + ": no known pf state interface answered (tried DIOCGETSTATESV2, DIOCGETSTATES, "
                              "DIOCGETSTATUSNV, DIOCGETSTATUS)");
}

size_t Device::ProbeBytes(bool compact) {
  ReadPath path = PathFor(compact);
  if (path == ReadPath::V2) {
    pfioc_states_v2 ps{};
    ps.ps_req_version = v2Version_;
    int e = t_->Ioctl(DIOCGETSTATESV2, &ps);
    if (e) throw DeviceError(e, "", name_ + ": DIOCGETSTATESV2 size probe failed: " + std::strerror(e));
    return ProbedLength(ps.ps_len, 384, "DIOCGETSTATESV2", name_);
  }
  if (path == ReadPath::Struct1301) {
    pfioc_states ps{};
    int e = t_->Ioctl(DIOCGETSTATES, &ps);
    if (e) throw DeviceError(e, "", name_ + ": DIOCGETSTATES size probe failed: " + std::strerror(e));
    return ProbedLength(ps.ps_len, 242, "DIOCGETSTATES", name_);
  }
  throw DeviceError(ENODEV, "E_NO_PF", name_ + ": this kernel offers no state read ioctl");
}

ReadResult Device::Read(uint8_t* buf, size_t cap, bool compact) {
  ReadResult r;
  ReadPath path = PathFor(compact);
  size_t elem = path == ReadPath::V2 ? 384 : 242;
  if (cap > size_t(INT32_MAX)) cap = size_t(INT32_MAX) / elem * elem;
  int len = int(cap / elem * elem);
  if (len == 0) {
    r.needed = ProbeBytes(compact);
    r.truncated = r.needed > 0;
    return r;
  }
  int e;
  if (path == ReadPath::V2) {
    pfioc_states_v2 ps{};
    ps.ps_len = len;
    ps.ps_req_version = v2Version_;
    ps.ps_buf = buf;
    e = t_->Ioctl(DIOCGETSTATESV2, &ps);
    len = ps.ps_len;
  } else if (path == ReadPath::Struct1301) {
    pfioc_states ps{};
    ps.ps_len = len;
    ps.ps_buf = buf;
    e = t_->Ioctl(DIOCGETSTATES, &ps);
    len = ps.ps_len;
  } else {
    throw DeviceError(ENODEV, "E_NO_PF", name_ + ": this kernel offers no state read ioctl");
  }
  if (e) throw DeviceError(e, "", name_ + ": reading states failed: " + std::strerror(e));
  if (len < 0 || size_t(len) > cap || len % int(elem) != 0)
    throw DeviceError(EPROTO, "E_ABI_MISMATCH", name_ + ": kernel returned " + std::to_string(len) +
                                                    " bytes of states, not whole records within the buffer");
  r.bytes = size_t(len);
  // pf stops silently at what fits (by whole hash rows from 13.1): less than 64 records of room
  // left means the table may have grown past the buffer (pf-abi.md section 6), unless the kernel
  // now counts no more states than were read. That test, not the room alone, decides: a buffer
  // exactly the table's size (2 GiB holds 5,592,405 export records, the most ps_len can say) is a
  // whole read, not a truncated one.
  if (cap - r.bytes < 64 * elem) {
    r.needed = ProbeBytes(compact);
    r.truncated = r.needed > r.bytes;
  }
  if (path == ReadPath::V2) CheckExportVersion(buf, r.bytes);
  // A compact read carries no version: read a few export records too, so that the ABI check on
  // pf_state_export's version still runs (pf stops a V2 read at the first row that does not fit).
  if (path == ReadPath::Struct1301 && read_ == ReadPath::V2) {
    std::vector<uint8_t> few(64 * 384);
    pfioc_states_v2 ps{};
    ps.ps_len = int(few.size());
    ps.ps_req_version = v2Version_;
    ps.ps_buf = few.data();
    int e2 = t_->Ioctl(DIOCGETSTATESV2, &ps);
    if (e2) throw DeviceError(e2, "", name_ + ": reading states failed: " + std::strerror(e2));
    if (ps.ps_len < 0 || size_t(ps.ps_len) > few.size() || ps.ps_len % 384 != 0)
      throw DeviceError(EPROTO, "E_ABI_MISMATCH", name_ + ": kernel returned " + std::to_string(ps.ps_len) +
                                                      " bytes of states, not whole records within the buffer");
    CheckExportVersion(few.data(), size_t(ps.ps_len));
  }
  return r;
}

void Device::CheckExportVersion(const uint8_t* buf, size_t bytes) {
  if (bytes < 8) return;
  uint64_t v;
  std::memcpy(&v, buf, 8);
  if (v != kStateVersion13 && v != kStateVersion14)
    throw DeviceError(EPROTO, "E_ABI_MISMATCH",
                      name_ + ": pf_state_export version " + std::to_string(v) + " is not one statekill knows "
                              "(20210706, 20230404); refusing to use this table");
  hasRouteInfo_ = v == kStateVersion14;
}

int Device::StructKill(const KillFilter& f, bool clear, uint32_t* killed) {
  pfioc_state_kill psk{};
  psk.psk_pfcmp.id = f.id;
  psk.psk_pfcmp.creatorid = f.creatorid;
  psk.psk_pfcmp.direction = f.direction;
  psk.psk_af = f.af;
  psk.psk_proto = f.proto;
  psk.psk_src = f.src;
  psk.psk_dst = f.dst;
  std::memcpy(psk.psk_ifname, f.ifname, sizeof psk.psk_ifname);
  std::memcpy(psk.psk_label, f.label, sizeof psk.psk_label);
  psk.psk_killed = 0;  // 12.x leaves it untouched on a by-id miss
  int e = t_->Ioctl(clear ? DIOCCLRSTATES : DIOCKILLSTATES, &psk);
  *killed = psk.psk_killed;
  return e;
}

KillCounts Device::KillByIds(const uint64_t* ids, const uint32_t* creators, size_t n, int32_t* out) {
  if (killById_ == KillPath::None)
    throw DeviceError(ENODEV, "E_NO_PF", name_ + ": this kernel offers no state kill ioctl");
  KillCounts c;
  for (size_t i = 0; i < n; i++) {
    if (ids[i] == 0) {
      out[i] = -EINVAL;
      c.failed++;
      continue;
    }
    uint32_t killed = 0;
    int e;
    if (killById_ == KillPath::Nv) {
      e = NvKillById(ids[i], creators[i], &killed);
    } else {
      KillFilter f;
      f.id = ids[i];
      f.creatorid = creators[i];
      e = StructKill(f, false, &killed);
    }
    if (e) {
      out[i] = -e;
      c.failed++;
    } else if (killed >= 1) {
      out[i] = 0;
      c.killed++;
    } else {
      out[i] = 1;  // vanished between snapshot and kill
      c.alreadyGone++;
    }
  }
  return c;
}

uint32_t Device::Flush(const char* ifname, bool killMatch) {
  KillFilter f;
  if (ifname) std::strncpy(f.ifname, ifname, sizeof f.ifname - 1);
  f.kill_match = killMatch;
  uint32_t killed = 0;
  int e;
  if (kill_ == KillPath::Nv) {
    e = NvKill(f, true, &killed);
  } else if (kill_ == KillPath::Struct) {
    if (killMatch) throw DeviceError(ENOTSUP, "", name_ + ": the struct DIOCCLRSTATES has no kill_match");
    e = StructKill(f, true, &killed);
  } else {
    throw DeviceError(ENODEV, "E_NO_PF", name_ + ": this kernel offers no state clear ioctl");
  }
  if (e) throw DeviceError(e, "", name_ + ": clearing states failed: " + std::strerror(e));
  return killed;
}

uint32_t Device::KillByFilter(const KillFilter& f) {
  if (f.MatchesEverything())
    throw DeviceError(EINVAL, "E_UNSAFE_FILTER",
                      "refusing a filter kill with no criteria: pf would kill every state (use flush for that)");
  uint32_t killed = 0;
  int e;
  if (kill_ == KillPath::Nv) {
    e = NvKill(f, false, &killed);
  } else if (kill_ == KillPath::Struct) {
    // The struct ioctl drops rt_addr and kill_match (13.1+) or never had them (12.x): the kernel
    // would then kill by the remaining fields alone, perhaps everything.
    KillFilter rest = f;
    std::memset(&rest.rt_addr, 0, sizeof rest.rt_addr);
    if (f.kill_match || f.nat || !(std::memcmp(&rest.rt_addr, &f.rt_addr, sizeof f.rt_addr) == 0))
      throw DeviceError(ENOTSUP, "",
                        name_ + ": this kernel's struct DIOCKILLSTATES cannot match a gateway (rt_addr), the "
                                "opposite direction or the stack key; refusing rather than killing more");
    e = StructKill(f, false, &killed);
  } else {
    throw DeviceError(ENODEV, "E_NO_PF", name_ + ": this kernel offers no state kill ioctl");
  }
  if (e) throw DeviceError(e, "", name_ + ": killing states failed: " + std::strerror(e));
  return killed;
}

uint32_t Device::StateCount() { return Status().states; }

StatusCount Device::Status() {
  StatusCount c;
  if (nvStatus_) {
    int e = NvStatus(&c.states, &c.hostid);
    if (e == 0) return c.source = "DIOCGETSTATUSNV", c;
    if (e == EPROTO) throw DeviceError(EPROTO, "E_ABI_MISMATCH", name_ + ": DIOCGETSTATUSNV answered with an nvlist statekill cannot read");
  }
  pf_status st{};
  if (structStatus_ && t_->Ioctl(DIOCGETSTATUS, &st) == 0) {
    c.states = st.states;
    c.hostid = st.hostid;
    return c.source = "DIOCGETSTATUS", c;
  }
  if (read_ != ReadPath::None) {
    c.states = uint32_t(ProbeBytes() / recordSize());
    return c.source = read_ == ReadPath::V2 ? "DIOCGETSTATESV2 size probe" : "DIOCGETSTATES size probe", c;
  }
  throw DeviceError(ENODEV, "E_NO_PF", name_ + ": this kernel answers no status ioctl");
}

}  // namespace pf
