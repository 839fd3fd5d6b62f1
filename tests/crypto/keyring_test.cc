// Versioned key ring.
#include "crypto/keyring.h"

#include <stdexcept>

#include <gtest/gtest.h>

namespace vigil::crypto {
namespace {

Key key_of(unsigned char fill) {
  Key k;
  k.fill(fill);
  return k;
}

TEST(Keyring, StartsEmptyAndCurrentThrows) {
  Keyring ring;
  EXPECT_TRUE(ring.empty());
  EXPECT_EQ(ring.find(1), nullptr);
  EXPECT_THROW(ring.current(), std::logic_error);
}

TEST(Keyring, FirstKeyAddedBecomesCurrent) {
  Keyring ring;
  ring.add(3, key_of(3));
  ring.add(4, key_of(4));
  EXPECT_EQ(ring.current_version(), 3u);
  EXPECT_EQ(ring.current(), key_of(3));
}

TEST(Keyring, FindReturnsEveryHeldVersion) {
  Keyring ring;
  ring.add(1, key_of(1));
  ring.add(2, key_of(2));
  ASSERT_NE(ring.find(1), nullptr);
  ASSERT_NE(ring.find(2), nullptr);
  EXPECT_EQ(*ring.find(1), key_of(1));
  EXPECT_EQ(*ring.find(2), key_of(2));
  EXPECT_EQ(ring.find(3), nullptr);
}

TEST(Keyring, AddReplacesTheKeyOfAnExistingVersion) {
  Keyring ring;
  ring.add(1, key_of(1));
  ring.add(1, key_of(9));
  EXPECT_EQ(ring.current(), key_of(9));
}

TEST(Keyring, SetCurrentSwitchesOnlyToHeldVersions) {
  Keyring ring;
  ring.add(1, key_of(1));
  ring.add(2, key_of(2));
  EXPECT_TRUE(ring.set_current(2));
  EXPECT_EQ(ring.current_version(), 2u);
  EXPECT_EQ(ring.current(), key_of(2));
  EXPECT_FALSE(ring.set_current(5));
  EXPECT_EQ(ring.current_version(), 2u);
}

TEST(Keyring, RetireRefusesCurrentAndRemovesOthers) {
  Keyring ring;
  ring.add(1, key_of(1));
  ring.add(2, key_of(2));
  ASSERT_TRUE(ring.set_current(2));
  EXPECT_FALSE(ring.retire(2));
  EXPECT_NE(ring.find(2), nullptr);
  EXPECT_TRUE(ring.retire(1));
  EXPECT_EQ(ring.find(1), nullptr);
  EXPECT_FALSE(ring.retire(1));
}

}  // namespace
}  // namespace vigil::crypto
