// Nonces of one sealer: a random prefix per sequence, a counter behind it.
#include "crypto/nonce_sequence.h"

#include <set>
#include <type_traits>

#include <gtest/gtest.h>

namespace vigil::crypto {
namespace {

TEST(NonceSequence, NoncesNeverRepeatAndCountUpBehindOnePrefix) {
  NonceSequence seq;
  std::set<Nonce> seen;
  const Nonce first = seq.next();
  seen.insert(first);
  for (int i = 2; i <= 5000; ++i) {
    const Nonce n = seq.next();
    EXPECT_TRUE(seen.insert(n).second) << "nonce " << i << " repeated";
    EXPECT_TRUE(std::equal(n.begin(), n.begin() + 16, first.begin())) << "prefix changed";
    uint64_t counter = 0;
    for (int b = 0; b < 8; ++b) counter |= static_cast<uint64_t>(n[16 + b]) << (8 * b);
    EXPECT_EQ(counter, static_cast<uint64_t>(i));
  }
}

// A copy would hand out the same nonces a second time under the same key.
static_assert(!std::is_copy_constructible_v<NonceSequence>);
static_assert(!std::is_move_constructible_v<NonceSequence>);
static_assert(!std::is_copy_assignable_v<NonceSequence>);

TEST(NonceSequence, TwoSequencesHaveDifferentPrefixes) {
  NonceSequence a, b;
  const Nonce na = a.next(), nb = b.next();
  EXPECT_FALSE(std::equal(na.begin(), na.begin() + 16, nb.begin()));
}

}  // namespace
}  // namespace vigil::crypto
