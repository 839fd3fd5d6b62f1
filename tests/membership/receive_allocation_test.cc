// The receive path allocates nothing per message once warm (issue "The
// receive pipeline at half the crypto limit"): a sender's heartbeats, each a
// patch of the same shape, go through Opener::open, decode (over the last
// message) and Replicator::receive without one call to operator new.
//
// A binary of its own: it replaces the global operator new to count calls.
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "crypto/key.h"
#include "crypto/keyring.h"
#include "heartbeat/codec.h"
#include "heartbeat/message.h"
#include "membership/replicator.h"
#include "patch/node_document.h"

namespace {
std::atomic<long> g_news{0};
}  // namespace

void* operator new(std::size_t size) {
  g_news.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace vigil::membership {
namespace {

using nlohmann::json;

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

TEST(ReceiveAllocation, AWarmReceivePathAllocatesNothingPerMessage) {
  crypto::init();
  crypto::Secret secret;
  secret.fill(0x42);
  crypto::Keyring ring;
  ring.add(1, crypto::derive_key(secret, "alloc", 1));
  const uint64_t cluster = crypto::cluster_id("alloc");

  // node-2, the sender: a document, one label change per message.
  patch::NodeDocument sender_doc(
      json{{"labels", {{"zone", "z1"}, {"x", "0"}}}, {"data", {{"app", "2.3"}}}});
  heartbeat::Sealer sealer(cluster, "node-2", 1717000000000000ull, ring);
  auto message = [&](heartbeat::MessageKind kind) {
    heartbeat::Message m{.kind = kind,
                         .gens = {{"node-1", 1}, {"node-2", sender_doc.gen()}, {"node-3", 1}}};
    return m;
  };
  std::vector<std::vector<uint8_t>> datagrams;
  {
    heartbeat::Message full = message(heartbeat::MessageKind::kFull);
    full.full_gen = sender_doc.gen();
    full.full = sender_doc.committed();
    datagrams.push_back(sealer.seal(heartbeat::encode(full), wall_ms()).front());
  }
  for (int i = 1; i <= 200; ++i) {
    sender_doc.set(json::json_pointer("/labels/x"), std::string(100, 'v') + std::to_string(i % 10));
    auto ops = sender_doc.commit();
    ASSERT_TRUE(ops.has_value());
    heartbeat::Message patch = message(heartbeat::MessageKind::kPatch);
    patch.deltas.push_back({sender_doc.gen(), std::move(*ops)});
    datagrams.push_back(sealer.seal(heartbeat::encode(patch), wall_ms()).front());
  }

  // node-1, the receiver.
  patch::NodeDocument own(json{{"labels", json::object()}});
  heartbeat::Opener opener(cluster, "node-1", {"node-1", "node-2", "node-3"}, ring);
  Replicator replicator("node-1", {"node-1", "node-2", "node-3"}, own);
  heartbeat::Message msg;
  const auto now = heartbeat::Opener::Clock::now();
  const int64_t now_wall = wall_ms();
  auto receive = [&](const std::vector<uint8_t>& datagram) {
    auto opened = opener.open(datagram, now, now_wall);
    ASSERT_TRUE(opened && opened->payload);
    heartbeat::decode(*opened->payload, msg);
    auto received = replicator.receive(opened->sender, opened->boot, msg);
    ASSERT_TRUE(received.changed());
  };

  const std::size_t warm = 20;
  for (std::size_t i = 0; i < warm; ++i) receive(datagrams[i]);
  const long before = g_news.load();
  for (std::size_t i = warm; i < datagrams.size(); ++i) {
    const long at = g_news.load();
    receive(datagrams[i]);
    if (g_news.load() != at)
      ADD_FAILURE() << "message " << i << " allocated " << g_news.load() - at;
  }
  const long news = g_news.load() - before;
  EXPECT_EQ(news, 0) << "operator new calls for " << datagrams.size() - warm << " messages";
  EXPECT_EQ(replicator.applied_gen("node-2"), sender_doc.gen()) << "every delta applied";
  EXPECT_EQ(replicator.document("node-2"), sender_doc.committed());
}

}  // namespace
}  // namespace vigil::membership
