// What reading one datagram from a UDP socket costs on this machine, next to
// what Opener::open costs to drop it (bench_reject.cc). The daemon reads each
// datagram with its own recvfrom and then polls epoll once before the next,
// so a garbage flood pays both system calls per datagram.
//
//   BM_UdpRecvfrom       one recvfrom per datagram, as the daemon reads today
//   BM_UdpRecvmmsg/64    recvmmsg taking up to 64 datagrams per call
//   BM_EpollWaitReady    epoll_wait with a zero timeout on a socket with data
//
// One item is one datagram read (or one epoll_wait). The socket is filled
// with 64 datagrams of 300 bytes on 127.0.0.1 before each timed read, and
// only the reads are timed (manual time).
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <vector>

#include <benchmark/benchmark.h>

namespace {

constexpr int kBatch = 64;
constexpr std::size_t kDatagramBytes = 300;

// A receiving socket on 127.0.0.1 (non-blocking, 4 MiB buffer requested) and a
// sender aimed at it.
class Loopback {
 public:
  Loopback() {
    rx_ = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    tx_ = socket(AF_INET, SOCK_DGRAM, 0);
    if (rx_ < 0 || tx_ < 0) return;
    int size = 4 << 20;
    setsockopt(rx_, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    addr_.sin_family = AF_INET;
    addr_.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr_;
    if (bind(rx_, reinterpret_cast<sockaddr*>(&addr_), sizeof addr_) != 0 ||
        getsockname(rx_, reinterpret_cast<sockaddr*>(&addr_), &len) != 0) {
      close(rx_);
      rx_ = -1;
    }
  }
  ~Loopback() {
    if (rx_ >= 0) close(rx_);
    if (tx_ >= 0) close(tx_);
  }
  Loopback(const Loopback&) = delete;
  Loopback& operator=(const Loopback&) = delete;

  bool ok() const { return rx_ >= 0 && tx_ >= 0; }
  int rx() const { return rx_; }

  // Queues `n` datagrams on the receiving socket; false if one was not sent.
  bool fill(int n) {
    std::array<uint8_t, kDatagramBytes> payload{};
    for (int i = 0; i < n; ++i) {
      if (sendto(tx_, payload.data(), payload.size(), 0, reinterpret_cast<sockaddr*>(&addr_),
                 sizeof addr_) != static_cast<ssize_t>(payload.size()))
        return false;
    }
    return true;
  }

 private:
  int rx_ = -1;
  int tx_ = -1;
  sockaddr_in addr_{};
};

using Clock = std::chrono::steady_clock;

void BM_UdpRecvfrom(benchmark::State& state) {
  Loopback lo;
  if (!lo.ok()) return state.SkipWithError("no UDP socket on 127.0.0.1");
  std::vector<uint8_t> buffer(65536);
  int64_t read = 0;
  for (auto _ : state) {
    if (!lo.fill(kBatch)) return state.SkipWithError("sendto failed");
    const auto t0 = Clock::now();
    for (int i = 0; i < kBatch; ++i) {
      sockaddr_in from{};
      socklen_t len = sizeof from;
      if (recvfrom(lo.rx(), buffer.data(), buffer.size(), 0, reinterpret_cast<sockaddr*>(&from),
                   &len) > 0)
        ++read;
    }
    state.SetIterationTime(std::chrono::duration<double>(Clock::now() - t0).count());
  }
  if (read != state.iterations() * kBatch) return state.SkipWithError("datagrams went missing");
  state.SetItemsProcessed(read);
}
BENCHMARK(BM_UdpRecvfrom)->UseManualTime();

void BM_UdpRecvmmsg(benchmark::State& state) {
  Loopback lo;
  if (!lo.ok()) return state.SkipWithError("no UDP socket on 127.0.0.1");
  const auto per_call = static_cast<unsigned>(state.range(0));
  std::vector<std::vector<uint8_t>> buffers(per_call, std::vector<uint8_t>(2048));
  std::vector<iovec> iov(per_call);
  std::vector<sockaddr_in> from(per_call);
  std::vector<mmsghdr> msgs(per_call);
  int64_t read = 0;
  for (auto _ : state) {
    if (!lo.fill(kBatch)) return state.SkipWithError("sendto failed");
    const auto t0 = Clock::now();
    for (int left = kBatch; left > 0;) {
      for (unsigned i = 0; i < per_call; ++i) {
        iov[i] = {buffers[i].data(), buffers[i].size()};
        std::memset(&msgs[i], 0, sizeof msgs[i]);
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
        msgs[i].msg_hdr.msg_name = &from[i];
        msgs[i].msg_hdr.msg_namelen = sizeof from[i];
      }
      const int n = recvmmsg(lo.rx(), msgs.data(), per_call, 0, nullptr);
      if (n <= 0) break;
      read += n;
      left -= n;
    }
    state.SetIterationTime(std::chrono::duration<double>(Clock::now() - t0).count());
  }
  if (read != state.iterations() * kBatch) return state.SkipWithError("datagrams went missing");
  state.SetItemsProcessed(read);
}
BENCHMARK(BM_UdpRecvmmsg)->Arg(64)->UseManualTime();

void BM_EpollWaitReady(benchmark::State& state) {
  Loopback lo;
  if (!lo.ok() || !lo.fill(1)) return state.SkipWithError("no UDP socket on 127.0.0.1");
  const int ep = epoll_create1(0);
  epoll_event ev{};
  ev.events = EPOLLIN;  // level-triggered: the queued datagram keeps it ready
  if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lo.rx(), &ev) != 0) {
    if (ep >= 0) close(ep);
    return state.SkipWithError("epoll setup failed");
  }
  int64_t ready = 0;
  for (auto _ : state) {
    epoll_event out{};
    ready += epoll_wait(ep, &out, 1, 0);
  }
  close(ep);
  if (ready != state.iterations()) return state.SkipWithError("the socket was not ready");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EpollWaitReady);

}  // namespace
