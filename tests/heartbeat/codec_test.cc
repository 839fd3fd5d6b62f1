#include "heartbeat/codec.h"

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "heartbeat/datagram.h"
#include "tests/heartbeat/test_keys.h"

namespace vigil::heartbeat {
namespace {

using testing::keyring_of;
using testing::wall_ms;
using Clock = Opener::Clock;
using Datagrams = std::vector<std::vector<uint8_t>>;

const uint64_t kClusterId = crypto::cluster_id(testing::kCluster);
constexpr uint64_t kBoot = 1717000000000000;

std::vector<uint8_t> payload_of(std::size_t n) {
  std::vector<uint8_t> p(n);
  for (std::size_t i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(i * 31 + 7);
  return p;
}

class CodecTest : public ::testing::Test {
 protected:
  crypto::Keyring ring_ = keyring_of(1);
  Sealer sealer_{kClusterId, "n2", kBoot, ring_};
  Opener opener_{kClusterId, "n1", {"n1", "n2", "n3"}, ring_};

  std::optional<Opener::Result> open(const std::vector<uint8_t>& d) {
    return opener_.open(d, Clock::now(), wall_ms()).result;
  }
  uint64_t drops(DropReason r) const { return opener_.drops().get(r); }
};

TEST_F(CodecTest, SealedMessageOpensToTheSamePayload) {
  const auto payload = payload_of(300);
  const Datagrams ds = sealer_.seal(payload, wall_ms());
  ASSERT_EQ(ds.size(), 1u);
  const auto r = open(ds[0]);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->sender, "n2");
  EXPECT_EQ(r->boot, kBoot);
  EXPECT_TRUE(r->new_boot);
  EXPECT_FALSE(r->duplicate);
  ASSERT_TRUE(r->payload.has_value());
  EXPECT_EQ(std::vector<uint8_t>(r->payload->begin(), r->payload->end()), payload);
  EXPECT_EQ(opener_.drops().total(), 0u);

  const auto second = open(sealer_.seal(payload, wall_ms())[0]);
  ASSERT_TRUE(second.has_value());
  EXPECT_FALSE(second->new_boot);
}

TEST_F(CodecTest, EmptyPayloadIsOneDatagram) {
  const Datagrams ds = sealer_.seal({}, wall_ms());
  ASSERT_EQ(ds.size(), 1u);
  const auto r = open(ds[0]);
  ASSERT_TRUE(r && r->payload);
  EXPECT_TRUE(r->payload->empty());
}

TEST_F(CodecTest, SeqGrowsPerDatagramAndMsgIdPerMessage) {
  DropReason why = DropReason::kCount;
  const Datagrams first = sealer_.seal(payload_of(2500), wall_ms());
  const Datagrams second = sealer_.seal(payload_of(10), wall_ms());
  ASSERT_EQ(first.size(), 3u);
  uint64_t seq = 0;
  for (const auto& d : first) {
    const auto p = parse_datagram(d, why);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->header.seq, ++seq);
    EXPECT_EQ(p->header.msg_id, 1u);
    EXPECT_EQ(p->header.frag_count, 3u);
    EXPECT_EQ(p->header.key_version, 1u);
  }
  const auto p = parse_datagram(second[0], why);
  EXPECT_EQ(p->header.seq, 4u);
  EXPECT_EQ(p->header.msg_id, 2u);
  EXPECT_EQ(sealer_.last_seq(), 4u);
  const auto q = parse_datagram(first[1], why);
  EXPECT_NE(p->header.nonce, q->header.nonce);
}

TEST_F(CodecTest, WrongClusterIsBadCluster) {
  Sealer other(crypto::cluster_id("other"), "n2", kBoot, ring_);
  EXPECT_FALSE(open(other.seal(payload_of(10), wall_ms())[0]));
  EXPECT_EQ(drops(DropReason::kBadCluster), 1u);
  EXPECT_EQ(opener_.drops().total(), 1u);
}

TEST_F(CodecTest, OpenReturnsTheDropItCounted) {
  Sealer other(crypto::cluster_id("other"), "n2", kBoot, ring_);
  const auto bad = opener_.open(other.seal(payload_of(10), wall_ms())[0], Clock::now(), wall_ms());
  EXPECT_FALSE(bad);
  EXPECT_EQ(bad.drop, DropReason::kBadCluster);
  const std::vector<uint8_t> d = sealer_.seal(payload_of(10), wall_ms())[0];
  const auto fresh = opener_.open(d, Clock::now(), wall_ms());
  ASSERT_TRUE(fresh);
  EXPECT_FALSE(fresh.drop);
  const auto again = opener_.open(d, Clock::now(), wall_ms());
  ASSERT_TRUE(again);
  EXPECT_EQ(again.drop, DropReason::kReplay);
  EXPECT_EQ(opener_.drops().total(), 2u);
}

TEST_F(CodecTest, OnlyADatagramNewOnItsPathIsHeard) {
  const std::vector<uint8_t> d = sealer_.seal(payload_of(10), wall_ms())[0];
  const auto first = opener_.open(d, Clock::now(), wall_ms(), 0);
  ASSERT_TRUE(first);
  EXPECT_TRUE(first->heard);
  // The same datagram by a second path proves that path alive.
  const auto copy = opener_.open(d, Clock::now(), wall_ms(), 1);
  ASSERT_TRUE(copy);
  EXPECT_TRUE(copy->duplicate);
  EXPECT_TRUE(copy->heard);
  // A replay on either path proves nothing.
  for (std::size_t path : {0u, 1u}) {
    const auto replay = opener_.open(d, Clock::now(), wall_ms(), path);
    ASSERT_TRUE(replay);
    EXPECT_TRUE(replay->duplicate);
    EXPECT_FALSE(replay->heard) << "path " << path;
  }
  EXPECT_EQ(drops(DropReason::kReplay), 3u);
}

TEST_F(CodecTest, SealedWithAnotherSecretIsBadTag) {
  const crypto::Keyring other_ring = keyring_of(2);
  Sealer other(kClusterId, "n2", kBoot, other_ring);
  EXPECT_FALSE(open(other.seal(payload_of(10), wall_ms())[0]));
  EXPECT_EQ(drops(DropReason::kBadTag), 1u);
}

TEST_F(CodecTest, SameSecretOfAnotherClusterNameIsBadTag) {
  const crypto::Keyring other_ring = keyring_of(1, 1, "other");
  Sealer other(kClusterId, "n2", kBoot, other_ring);
  EXPECT_FALSE(open(other.seal(payload_of(10), wall_ms())[0]));
  EXPECT_EQ(drops(DropReason::kBadTag), 1u);
}

TEST_F(CodecTest, ForgedSenderNameInHeaderIsBadTag) {
  std::vector<uint8_t> d = sealer_.seal(payload_of(10), wall_ms())[0];
  // Rewrite the sender "n2" to "n3", another member: the header still
  // parses, but it is the AEAD additional data.
  const std::vector<uint8_t> from = {0xa2, 'n', '2'};  // msgpack fixstr "n2"
  auto it = std::search(d.begin(), d.end(), from.begin(), from.end());
  ASSERT_NE(it, d.end());
  *(it + 2) = '3';
  DropReason why = DropReason::kCount;
  const auto parsed = parse_datagram(d, why);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->header.sender, "n3");
  EXPECT_FALSE(open(d));
  EXPECT_EQ(drops(DropReason::kBadTag), 1u);
  EXPECT_EQ(opener_.drops().total(), 1u);
}

TEST_F(CodecTest, FlippedCiphertextByteIsBadTag) {
  std::vector<uint8_t> d = sealer_.seal(payload_of(100), wall_ms())[0];
  d[d.size() - 50] ^= 0x80;
  EXPECT_FALSE(open(d));
  EXPECT_EQ(drops(DropReason::kBadTag), 1u);
}

TEST_F(CodecTest, TruncatedDatagramIsMalformedOrBadTag) {
  const std::vector<uint8_t> d = sealer_.seal(payload_of(100), wall_ms())[0];
  for (std::size_t n = 0; n < d.size(); ++n) {
    EXPECT_FALSE(opener_.open(std::span(d).first(n), Clock::now(), wall_ms())) << n;
  }
  EXPECT_EQ(drops(DropReason::kMalformed) + drops(DropReason::kBadTag), d.size());
  EXPECT_GT(drops(DropReason::kMalformed), 0u);
  EXPECT_GT(drops(DropReason::kBadTag), 0u);
  // The intact datagram still opens: nothing was recorded for the fakes.
  EXPECT_TRUE(open(d));
}

TEST_F(CodecTest, OversizeDatagramIsOversize) {
  std::vector<uint8_t> d = sealer_.seal(payload_of(100), wall_ms())[0];
  d.resize(kMaxDatagramBytes + 1);
  EXPECT_FALSE(open(d));
  EXPECT_EQ(drops(DropReason::kOversize), 1u);
}

TEST_F(CodecTest, UnknownSenderAndSelfAreUnknownSender) {
  Sealer stranger(kClusterId, "n9", kBoot, ring_);
  EXPECT_FALSE(open(stranger.seal(payload_of(10), wall_ms())[0]));
  Sealer self(kClusterId, "n1", kBoot, ring_);
  EXPECT_FALSE(open(self.seal(payload_of(10), wall_ms())[0]));
  EXPECT_EQ(drops(DropReason::kUnknownSender), 2u);

  opener_.set_members({"n1", "n2", "n3", "n9"});
  EXPECT_TRUE(open(stranger.seal(payload_of(10), wall_ms())[0]));
}

TEST_F(CodecTest, KeyVersionNotInKeyringIsUnknownKey) {
  crypto::Keyring next = keyring_of(1, 2);
  Sealer rotated(kClusterId, "n2", kBoot, next);
  EXPECT_FALSE(open(rotated.seal(payload_of(10), wall_ms())[0]));
  EXPECT_EQ(drops(DropReason::kUnknownKey), 1u);

  // Once the receiver holds the next version too, both are accepted.
  ring_.add(2, next.current());
  EXPECT_TRUE(open(rotated.seal(payload_of(10), wall_ms())[0]));
  EXPECT_TRUE(open(sealer_.seal(payload_of(10), wall_ms())[0]));
}

TEST_F(CodecTest, ReplayedDatagramIsAnAuthenticDuplicateWithoutPayload) {
  const std::vector<uint8_t> d = sealer_.seal(payload_of(10), wall_ms())[0];
  const auto first = open(d);
  ASSERT_TRUE(first && first->payload);
  const auto again = open(d);
  ASSERT_TRUE(again.has_value());
  EXPECT_TRUE(again->duplicate);
  EXPECT_FALSE(again->payload.has_value());
  EXPECT_FALSE(again->new_boot);
  EXPECT_EQ(again->sender, "n2");
  EXPECT_EQ(drops(DropReason::kReplay), 1u);
}

TEST_F(CodecTest, OutOfOrderDatagramsInsideTheWindowAreFresh) {
  const auto a = sealer_.seal(payload_of(10), wall_ms())[0];
  const auto b = sealer_.seal(payload_of(10), wall_ms())[0];
  const auto early = open(b);
  ASSERT_TRUE(early && early->payload);
  const auto late = open(a);
  ASSERT_TRUE(late.has_value());
  EXPECT_FALSE(late->duplicate);
  EXPECT_TRUE(late->payload.has_value());
}

TEST_F(CodecTest, OlderBootIsOldBootAndNewerBootIsNewBoot) {
  Sealer older(kClusterId, "n2", kBoot - 1, ring_);
  Sealer newer(kClusterId, "n2", kBoot + 1, ring_);
  ASSERT_TRUE(open(sealer_.seal(payload_of(10), wall_ms())[0]));
  EXPECT_FALSE(open(older.seal(payload_of(10), wall_ms())[0]));
  EXPECT_EQ(drops(DropReason::kOldBoot), 1u);
  const auto r = open(newer.seal(payload_of(10), wall_ms())[0]);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->new_boot);
  EXPECT_EQ(r->boot, kBoot + 1);
  EXPECT_FALSE(open(sealer_.seal(payload_of(10), wall_ms())[0]));
  EXPECT_EQ(drops(DropReason::kOldBoot), 2u);
}

TEST_F(CodecTest, SendTimeOutsideTheSkewWindowIsSkew) {
  const int64_t now = wall_ms();
  EXPECT_FALSE(opener_.open(sealer_.seal(payload_of(10), now - 31000)[0], Clock::now(), now));
  EXPECT_FALSE(opener_.open(sealer_.seal(payload_of(10), now + 31000)[0], Clock::now(), now));
  EXPECT_EQ(drops(DropReason::kSkew), 2u);
  EXPECT_TRUE(opener_.open(sealer_.seal(payload_of(10), now - 29000)[0], Clock::now(), now));
}

TEST_F(CodecTest, TenKilobytePayloadSplitsAndReassemblesInAnyOrder) {
  const auto payload = payload_of(10000);
  std::mt19937 rng(11);
  for (int round = 0; round < 20; ++round) {
    Datagrams ds = sealer_.seal(payload, wall_ms());
    ASSERT_EQ(ds.size(), (10000u + kDefaultFragmentBudget - 1) / kDefaultFragmentBudget);
    ASSERT_EQ(ds.size(), 9u);
    if (round == 1) {
      std::reverse(ds.begin(), ds.end());
    } else if (round > 1) {
      std::shuffle(ds.begin(), ds.end(), rng);
    }
    for (const auto& d : ds) EXPECT_LE(d.size(), kDefaultFragmentBudget + kMaxHeaderBytes + 16);
    for (std::size_t i = 0; i < ds.size(); ++i) {
      const auto r = open(ds[i]);
      ASSERT_TRUE(r.has_value());
      if (i + 1 < ds.size()) {
        EXPECT_FALSE(r->payload.has_value()) << "round " << round << " fragment " << i;
      } else {
        ASSERT_TRUE(r->payload.has_value()) << "round " << round;
        EXPECT_EQ(std::vector<uint8_t>(r->payload->begin(), r->payload->end()), payload);
      }
    }
  }
  EXPECT_EQ(opener_.drops().total(), 0u);
  EXPECT_EQ(opener_.pending(), 0u);
}

TEST_F(CodecTest, MissingFragmentExpiresAsReassemblyTimeout) {
  const Datagrams ds = sealer_.seal(payload_of(10000), wall_ms());
  const auto t0 = Clock::now();
  for (std::size_t i = 0; i + 1 < ds.size(); ++i) {
    const auto r = opener_.open(ds[i], t0, wall_ms());
    ASSERT_TRUE(r && !r->payload);
  }
  EXPECT_EQ(opener_.pending(), 1u);
  opener_.expire(t0 + std::chrono::milliseconds(4000));
  EXPECT_EQ(drops(DropReason::kReassemblyTimeout), 0u);
  opener_.expire(t0 + std::chrono::milliseconds(5001));
  EXPECT_EQ(drops(DropReason::kReassemblyTimeout), 1u);
  EXPECT_EQ(opener_.pending(), 0u);
}

TEST_F(CodecTest, ReassemblyLimitsAreEnforcedAndCounted) {
  OpenerOptions options;
  options.reassembly.max_pending_per_sender = 2;
  options.reassembly.max_message_bytes = 5000;
  Opener opener(kClusterId, "n1", {"n2"}, ring_, options);
  const auto now = Clock::now();

  // Three messages whose first fragment arrives but never the rest.
  for (int i = 0; i < 3; ++i) {
    const auto r = opener.open(sealer_.seal(payload_of(3000), wall_ms())[0], now, wall_ms());
    ASSERT_TRUE(r.result.has_value()) << "an authentic fragment still reports its sender";
    EXPECT_FALSE(r->payload.has_value());
  }
  EXPECT_EQ(opener.drops().get(DropReason::kReassemblyOverflow), 1u);
  EXPECT_EQ(opener.pending(), 2u);

  // A message above max_message_bytes is refused as it grows.
  const Datagrams big = sealer_.seal(payload_of(10000), wall_ms());
  for (const auto& d : big) ASSERT_TRUE(opener.open(d, now, wall_ms()));
  EXPECT_GE(opener.drops().get(DropReason::kOversize), 1u);
}

TEST_F(CodecTest, NewBootForgetsPartialMessagesOfTheOldBoot) {
  const auto now = Clock::now();
  ASSERT_TRUE(opener_.open(sealer_.seal(payload_of(3000), wall_ms())[0], now, wall_ms()));
  EXPECT_EQ(opener_.pending(), 1u);
  Sealer restarted(kClusterId, "n2", kBoot + 1, ring_);
  const auto r = opener_.open(restarted.seal(payload_of(10), wall_ms())[0], now, wall_ms());
  ASSERT_TRUE(r && r->new_boot && r->payload);
  EXPECT_EQ(opener_.pending(), 0u);
  opener_.expire(now + std::chrono::hours(1));
  EXPECT_EQ(drops(DropReason::kReassemblyTimeout), 0u);
}

TEST_F(CodecTest, CountDropAddsToTheCounters) {
  opener_.count_drop(DropReason::kMalformed);
  EXPECT_EQ(drops(DropReason::kMalformed), 1u);
}

TEST(SealerTest, RejectsBadBudgetAndSenderAndEmptyKeyring) {
  const crypto::Keyring ring = keyring_of(1);
  EXPECT_THROW(Sealer(kClusterId, "n1", kBoot, ring, 0), std::invalid_argument);
  EXPECT_THROW(Sealer(kClusterId, "n1", kBoot, ring, kMaxDatagramBytes), std::invalid_argument);
  EXPECT_NO_THROW(Sealer(kClusterId, "n1", kBoot, ring, kMaxDatagramBytes - kMaxHeaderBytes - 16));
  EXPECT_THROW(Sealer(kClusterId, "", kBoot, ring), std::invalid_argument);
  const crypto::Keyring empty;
  Sealer sealer(kClusterId, "n1", kBoot, empty);
  EXPECT_THROW(sealer.seal(payload_of(1), wall_ms()), std::logic_error);
}

TEST(SealerTest, MoreThan65535FragmentsIsLengthError) {
  const crypto::Keyring ring = keyring_of(1);
  Sealer sealer(kClusterId, "n1", kBoot, ring, 1);
  EXPECT_THROW(sealer.seal(payload_of(65536), wall_ms()), std::length_error);
  EXPECT_EQ(sealer.last_seq(), 0u);
}

TEST(DropReasonTest, NamesAreStableSnakeCase) {
  const std::vector<std::pair<DropReason, std::string_view>> names = {
      {DropReason::kMalformed, "malformed"},
      {DropReason::kBadMagic, "bad_magic"},
      {DropReason::kBadVersion, "bad_version"},
      {DropReason::kBadCluster, "bad_cluster"},
      {DropReason::kUnknownSender, "unknown_sender"},
      {DropReason::kUnknownKey, "unknown_key"},
      {DropReason::kBadTag, "bad_tag"},
      {DropReason::kReplay, "replay"},
      {DropReason::kOldBoot, "old_boot"},
      {DropReason::kSkew, "skew"},
      {DropReason::kOversize, "oversize"},
      {DropReason::kReassemblyTimeout, "reassembly_timeout"},
      {DropReason::kReassemblyOverflow, "reassembly_overflow"},
      {DropReason::kBadDocument, "bad_document"},
  };
  ASSERT_EQ(names.size(), static_cast<std::size_t>(DropReason::kCount));
  for (const auto& [reason, name] : names) EXPECT_EQ(to_string(reason), name);
}

TEST(DropReasonTest, CountersAddAndTotal) {
  DropCounters c;
  c.add(DropReason::kBadTag);
  c.add(DropReason::kSkew, 3);
  EXPECT_EQ(c.get(DropReason::kBadTag), 1u);
  EXPECT_EQ(c.get(DropReason::kSkew), 3u);
  EXPECT_EQ(c.total(), 4u);
}

}  // namespace
}  // namespace vigil::heartbeat
