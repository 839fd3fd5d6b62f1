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
//   heartbeats   valid heartbeats of --senders S simulated members (named
//                --sender with 2, 3, ... S+1 appended: "n" gives n2..nS+1),
//                each with its own boot and seq, sealed with --secret by the
//                real Sealer, round-robin, --rate R a second in all (0: as
//                fast as possible) for --seconds T. Each member first sends
//                a full of a node document (and again every second, as a
//                peer answers a full request); then, with --delta 1, every
//                heartbeat is a patch carrying the next gen's change of
//                /labels/x (--field labels, the default) or /data/x (--field
//                data), else a ping. --ack G is the gen of the receiver
//                (--receiver, default n1) the members acknowledge.
// Prints "sent N" and exits 0; exits 2 on bad arguments (options parsed by
// CLI11; --help lists them).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "crypto/aead.h"
#include "crypto/key.h"
#include "crypto/keyring.h"
#include "heartbeat/codec.h"
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

// --kind heartbeats: see the top of this file.
struct HeartbeatOptions {
  std::string cluster, prefix, receiver;
  crypto::Secret secret{};
  long senders = 100, rate = 0, ack = 1;
  double seconds = 10;
  bool delta = false;
  std::string field = "labels";  // the object of the document each delta changes
};

nlohmann::json member_document(long index) {
  return {{"labels", {{"zone", "z" + std::to_string(index % 3)}, {"x", "0"}}},
          {"frozen", false},
          {"frozen_at", nullptr},
          {"boot_at", "2026-01-01T00:00:00.000Z"},
          {"version", "0.1.0"},
          {"data", {{"x", "0"}}}};
}

int send_heartbeats(int fd, const sockaddr_in& addr, const HeartbeatOptions& o) {
  crypto::Keyring ring;
  ring.add(1, crypto::derive_key(o.secret, o.cluster, 1));
  const uint64_t cluster_id = crypto::cluster_id(o.cluster);
  struct Member {
    std::string name;
    std::unique_ptr<heartbeat::Sealer> sealer;
    nlohmann::json doc;
    uint64_t gen = 1;
  };
  std::vector<Member> members;
  const uint64_t boot = static_cast<uint64_t>(now_ms()) * 1000;
  for (long i = 0; i < o.senders; ++i) {
    Member m{.name = o.prefix + std::to_string(i + 2),
             .sealer = nullptr,
             .doc = member_document(i),
             .gen = 1};
    m.sealer = std::make_unique<heartbeat::Sealer>(cluster_id, m.name,
                                                   boot + static_cast<uint64_t>(i), ring);
    members.push_back(std::move(m));
  }
  auto full_of = [&](const Member& m) {
    heartbeat::Message msg{.kind = heartbeat::MessageKind::kFull,
                           .gens = {{m.name, m.gen}, {o.receiver, static_cast<uint64_t>(o.ack)}}};
    msg.full_gen = m.gen;
    msg.full = m.doc;
    return m.sealer->seal(heartbeat::encode(msg), now_ms());
  };
  auto next_of = [&](Member& m) {
    heartbeat::Message msg{.kind = heartbeat::MessageKind::kPing,
                           .gens = {{m.name, m.gen}, {o.receiver, static_cast<uint64_t>(o.ack)}}};
    if (o.delta) {
      ++m.gen;
      const std::string value = "v" + std::to_string(m.gen);
      m.doc[o.field]["x"] = value;
      msg.kind = heartbeat::MessageKind::kPatch;
      msg.gens[m.name] = m.gen;
      msg.deltas.push_back(
          {m.gen, nlohmann::json::array(
                      {{{"op", "replace"}, {"path", "/" + o.field + "/x"}, {"value", value}}})});
    }
    return std::move(m.sealer->seal(heartbeat::encode(msg), now_ms()).front());
  };

  constexpr std::size_t kBatch = 64;
  std::vector<std::vector<uint8_t>> batch;
  std::vector<iovec> iov(kBatch);
  std::vector<mmsghdr> msgs(kBatch);
  auto flush = [&]() -> long {
    for (std::size_t i = 0; i < batch.size(); ++i) {
      iov[i] = {batch[i].data(), batch[i].size()};
      msgs[i] = {};
      msgs[i].msg_hdr.msg_name = const_cast<sockaddr_in*>(&addr);
      msgs[i].msg_hdr.msg_namelen = sizeof addr;
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    long done = 0;
    while (done < static_cast<long>(batch.size())) {
      const int n = sendmmsg(fd, msgs.data() + done, static_cast<unsigned>(batch.size() - done), 0);
      if (n <= 0) break;
      done += n;
    }
    batch.clear();
    return done;
  };
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration<double>(o.seconds);
  auto next_fulls = start;
  long sent = 0, heartbeats = 0;
  std::size_t turn = 0;
  while (Clock::now() < end) {
    if (Clock::now() >= next_fulls) {
      for (const auto& m : members)
        for (auto& d : full_of(m)) {
          batch.push_back(std::move(d));
          if (batch.size() == kBatch) sent += flush();
        }
      sent += flush();
      next_fulls += std::chrono::seconds(1);
    }
    for (std::size_t i = 0; i < kBatch; ++i) {
      batch.push_back(next_of(members[turn]));
      turn = (turn + 1) % members.size();
    }
    const long n = flush();
    sent += n;
    heartbeats += n;
    if (o.rate > 0) {
      const auto due = start + std::chrono::duration<double>(static_cast<double>(heartbeats) /
                                                             static_cast<double>(o.rate));
      std::this_thread::sleep_until(due);
    }
  }
  std::printf("sent %ld heartbeats %ld\n", sent, heartbeats);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string to, kind, cluster = "itest", sender = "n2", receiver = "n1";
  long senders = 100, rate = 0, ack = 1, delta = 0;
  std::string field = "labels";
  double seconds = 10;
  std::string secret_hex(64, '0'), document = "{}";
  long count = 1, pool = 0, gen = 1;

  CLI::App app{"Sends crafted heartbeat datagrams to one UDP address (tests on loopback only).",
               "vigil-forge"};
  app.add_option("--to", to, "IPv4 HOST:PORT to send to")->required();
  app.add_option("--kind", kind, "what to send (see the top of vigil_forge.cc)")
      ->required()
      ->check(CLI::IsMember(
          {"random", "oversize", "truncated", "wrong-key", "incomplete", "full", "heartbeats"}));
  app.add_option("--count", count, "datagrams or messages to send")->check(CLI::NonNegativeNumber);
  app.add_option("--cluster", cluster, "cluster name the datagrams claim");
  app.add_option("--secret", secret_hex, "cluster secret, 64 hex characters");
  app.add_option("--sender", sender, "sender name (heartbeats: the prefix of the members)");
  app.add_option("--pool", pool, "distinct datagrams built first, then sent round-robin")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--document", document, "full: the sender's node document, JSON");
  app.add_option("--gen", gen, "full: its gen")->check(CLI::PositiveNumber);
  app.add_option("--senders", senders, "heartbeats: simulated members")->check(CLI::PositiveNumber);
  app.add_option("--rate", rate, "heartbeats: a second in all, 0 as fast as possible")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--seconds", seconds, "heartbeats: for how long")->check(CLI::PositiveNumber);
  app.add_option("--ack", ack, "heartbeats: the receiver's gen the members acknowledge")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--delta", delta, "heartbeats: 1 for patches, 0 for pings")
      ->check(CLI::Range(0, 1));
  app.add_option("--field", field, "heartbeats: the object each patch changes")
      ->check(CLI::IsMember({"labels", "data"}));
  app.add_option("--receiver", receiver, "heartbeats: the receiver's name");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);  // prints why
    return 2;
  }

  const auto colon = to.rfind(':');
  if (colon == std::string::npos) return usage("--to HOST:PORT required");
  unsigned port = 0;
  const std::string port_text = to.substr(colon + 1);
  const auto [end, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 || port > 65535)
    return usage("bad --to port");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, to.substr(0, colon).c_str(), &addr.sin_addr) != 1)
    return usage("bad --to address");
  crypto::Secret secret{};
  try {
    secret = crypto::parse_secret_hex(secret_hex);
  } catch (const std::exception& e) {
    return usage((std::string("--secret: ") + e.what()).c_str());
  }
  if (kind == "heartbeats") {
    crypto::init();
    HeartbeatOptions o{.cluster = cluster,
                       .prefix = sender,
                       .receiver = receiver,
                       .secret = secret,
                       .senders = senders,
                       .rate = rate,
                       .ack = ack,
                       .seconds = seconds,
                       .delta = delta != 0,
                       .field = field};
    const int hfd = socket(AF_INET, SOCK_DGRAM, 0);
    const int rc = send_heartbeats(hfd, addr, o);
    close(hfd);
    return rc;
  }
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
  crypto::Key key = crypto::derive_key(secret, cluster, 1);
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
