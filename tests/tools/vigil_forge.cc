// vigil-forge: sends crafted heartbeat datagrams to one UDP address, for the
// hostile-input integration tests. Only for tests on loopback or inside a
// test's own network namespace.
//
//   vigil-forge --to 127.0.0.1:10001 --kind KIND [--count N] [--cluster NAME]
//               [--secret HEX] [--sender NAME] [--pool P]
//
// --pool P builds P distinct datagrams first, then sends them round-robin
// with sendmmsg(2), 64 per call: a faster flood, for benchmarks (the
// receiver still checks each one; a bad tag stays a bad tag). Without it,
// every datagram is built just before it is sent.
//
// KIND:
//   random       N datagrams of random bytes (1-1500 bytes)
//   oversize     N datagrams of 65000+ bytes
//   truncated    N valid datagrams cut short (tag fails or header fails)
//   wrong-key    N well-formed datagrams sealed with --secret (use another
//                cluster's secret): dropped as bad_tag
//   incomplete   N messages sealed with the real --secret, each sending only
//                fragment 0 of 3: dropped later as reassembly_timeout
//   full         N full messages sealed with --secret (the real one), gen
//                --gen G (default 1), carrying --document JSON as the
//                sender's node document; each run is a new boot
// Prints "sent N" and exits 0; exits 2 on bad arguments.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "crypto/aead.h"
#include "crypto/key.h"
#include "heartbeat/datagram.h"
#include "heartbeat/message.h"

namespace {

using namespace vigil;

int usage(const char* why) {
  std::fprintf(stderr, "vigil-forge: %s\n", why);
  return 2;
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

int main(int argc, char** argv) {
  std::string to, kind, cluster = "itest", sender = "n2";
  std::string secret_hex(64, '0'), document = "{}";
  long count = 1, pool = 0, gen = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--to")
      to = v;
    else if (k == "--kind")
      kind = v;
    else if (k == "--count")
      count = std::stol(v);
    else if (k == "--cluster")
      cluster = v;
    else if (k == "--secret")
      secret_hex = v;
    else if (k == "--sender")
      sender = v;
    else if (k == "--pool")
      pool = std::stol(v);
    else if (k == "--document")
      document = v;
    else if (k == "--gen")
      gen = std::stol(v);
    else
      return usage(("unknown option " + k).c_str());
  }
  auto colon = to.rfind(':');
  if (colon == std::string::npos) return usage("--to HOST:PORT required");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(std::stoi(to.substr(colon + 1))));
  if (inet_pton(AF_INET, to.substr(0, colon).c_str(), &addr.sin_addr) != 1)
    return usage("bad --to address");
  if (pool < 0 || count < 0 || gen < 1) return usage("--pool and --count must be >= 0, --gen >= 1");
  heartbeat::Message full{.kind = heartbeat::MessageKind::kFull};
  try {
    full.full = nlohmann::json::parse(document);
  } catch (const nlohmann::json::exception&) {
    return usage("--document is not JSON");
  }
  full.gens = {{sender, static_cast<uint64_t>(gen)}};
  full.full_gen = static_cast<uint64_t>(gen);
  const std::vector<uint8_t> full_payload = heartbeat::encode(full);

  crypto::init();
  crypto::Key key = crypto::derive_key(crypto::parse_secret_hex(secret_hex), cluster, 1);
  std::mt19937_64 rng(42);
  const uint64_t boot = static_cast<uint64_t>(now_ms()) * 1000;
  auto make = [&](long n, std::vector<uint8_t>& d) {
    heartbeat::Header h;
    h.cluster_id = crypto::cluster_id(cluster);
    h.sender = sender;
    h.key_version = 1;
    h.boot = boot;
    h.seq = static_cast<uint64_t>(n) + 1;
    h.sent_ms = now_ms();
    h.msg_id = static_cast<uint32_t>(n) + 1;
    h.nonce = crypto::random_nonce();
    std::vector<uint8_t> payload(200, 0x5a);
    if (kind == "random") {
      d.resize(1 + rng() % 1500);
      for (auto& b : d) b = static_cast<uint8_t>(rng());
    } else if (kind == "oversize") {
      d.assign(65000 + rng() % 400, 0x93);
    } else if (kind == "truncated") {
      d = heartbeat::seal_datagram(h, key, payload);
      d.resize(1 + rng() % (d.size() - 1));
    } else if (kind == "wrong-key") {
      d = heartbeat::seal_datagram(h, key, payload);
    } else if (kind == "full") {
      d = heartbeat::seal_datagram(h, key, full_payload);
    } else if (kind == "incomplete") {
      h.frag_index = 0;
      h.frag_count = 3;
      d = heartbeat::seal_datagram(h, key, payload);
    } else {
      return false;
    }
    return true;
  };
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  long sent = 0;
  if (pool == 0) {
    std::vector<uint8_t> d;
    for (long n = 0; n < count; ++n) {
      if (!make(n, d)) return usage("unknown --kind");
      if (sendto(fd, d.data(), d.size(), 0, reinterpret_cast<sockaddr*>(&addr), sizeof addr) >= 0)
        ++sent;
    }
  } else {
    std::vector<std::vector<uint8_t>> built(static_cast<std::size_t>(pool));
    for (long n = 0; n < pool; ++n)
      if (!make(n, built[static_cast<std::size_t>(n)])) return usage("unknown --kind");
    constexpr long kBatch = 64;
    std::vector<iovec> iov(kBatch);
    std::vector<mmsghdr> msgs(kBatch);
    long next = 0;
    while (sent < count) {
      const long batch = std::min(kBatch, count - sent);
      for (long i = 0; i < batch; ++i) {
        auto& d = built[static_cast<std::size_t>((next + i) % pool)];
        iov[i] = {d.data(), d.size()};
        msgs[i] = {};
        msgs[i].msg_hdr.msg_name = &addr;
        msgs[i].msg_hdr.msg_namelen = sizeof addr;
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
      }
      const int n = sendmmsg(fd, msgs.data(), static_cast<unsigned>(batch), 0);
      if (n <= 0) break;
      sent += n;
      next = (next + n) % pool;
    }
  }
  close(fd);
  std::printf("sent %ld\n", sent);
  return 0;
}
