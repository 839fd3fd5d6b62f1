#include "agent/config/arbitrator_uri.h"

#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

namespace vigil::agent {
namespace {

using Scheme = ArbitratorUri::Scheme;

TEST(ParseArbitratorUri, ReadsTcpWithIpv4) {
  const ArbitratorUri uri = parse_arbitrator_uri("tcp://127.0.0.1:1234");
  EXPECT_EQ(uri.scheme, Scheme::kTcp);
  EXPECT_EQ(uri.host, "127.0.0.1");
  EXPECT_EQ(uri.port, 1234);
}

TEST(ParseArbitratorUri, ReadsTcpWithBracketedIpv6AndDropsTheBrackets) {
  const ArbitratorUri uri = parse_arbitrator_uri("tcp://[::1]:65535");
  EXPECT_EQ(uri.scheme, Scheme::kTcp);
  EXPECT_EQ(uri.host, "::1");
  EXPECT_EQ(uri.port, 65535);
}

TEST(ParseArbitratorUri, HttpDefaultsToPort80AndTargetSlash) {
  const ArbitratorUri uri = parse_arbitrator_uri("http://10.0.0.7");
  EXPECT_EQ(uri.scheme, Scheme::kHttp);
  EXPECT_EQ(uri.host, "10.0.0.7");
  EXPECT_EQ(uri.port, 80);
  EXPECT_EQ(uri.target, "/");
}

TEST(ParseArbitratorUri, HttpKeepsPortAndPath) {
  const ArbitratorUri uri = parse_arbitrator_uri("http://[::1]:8080/health/ready");
  EXPECT_EQ(uri.scheme, Scheme::kHttp);
  EXPECT_EQ(uri.host, "::1");
  EXPECT_EQ(uri.port, 8080);
  EXPECT_EQ(uri.target, "/health/ready");
}

TEST(ParseArbitratorUri, HttpPathWithoutPort) {
  const ArbitratorUri uri = parse_arbitrator_uri("http://arb.example.com/health");
  EXPECT_EQ(uri.port, 80);
  EXPECT_EQ(uri.target, "/health");
}

TEST(ParseArbitratorUri, ReadsDnsNames) {
  const ArbitratorUri uri = parse_arbitrator_uri("tcp://arb-1.dc2.example.com:7000");
  EXPECT_EQ(uri.host, "arb-1.dc2.example.com");
  EXPECT_EQ(uri.port, 7000);
  EXPECT_EQ(parse_arbitrator_uri("tcp://localhost:1").host, "localhost");
}

TEST(ParseArbitratorUri, SchemeIsCaseInsensitive) {
  EXPECT_EQ(parse_arbitrator_uri("HTTP://h").scheme, Scheme::kHttp);
  EXPECT_EQ(parse_arbitrator_uri("Tcp://h:1").scheme, Scheme::kTcp);
}

TEST(ArbitratorUriText, RoundTripsCanonicalForms) {
  for (const char* text :
       {"tcp://127.0.0.1:1234", "tcp://[::1]:9", "tcp://arb.example.com:7000",
        "http://[::1]:80/health", "http://127.0.0.1:8080/", "http://arb:80/a/b%20c"}) {
    const ArbitratorUri uri = parse_arbitrator_uri(text);
    EXPECT_EQ(uri.text(), text);
    const ArbitratorUri again = parse_arbitrator_uri(uri.text());
    EXPECT_EQ(again.scheme, uri.scheme) << text;
    EXPECT_EQ(again.host, uri.host) << text;
    EXPECT_EQ(again.port, uri.port) << text;
    EXPECT_EQ(again.target, uri.target) << text;
  }
}

TEST(ArbitratorUriText, SpellsOutDefaults) {
  EXPECT_EQ(parse_arbitrator_uri("http://arb").text(), "http://arb:80/");
  EXPECT_EQ(parse_arbitrator_uri("HTTP://[::1]/x").text(), "http://[::1]:80/x");
}

// Expects `uri` to be rejected with a reason containing `reason`.
void ExpectRejected(const std::string& uri, const std::string& reason) {
  try {
    parse_arbitrator_uri(uri);
    ADD_FAILURE() << "accepted '" << uri << "'";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(reason), std::string::npos)
        << "'" << uri << "' rejected with '" << e.what() << "', expected '" << reason << "'";
  }
}

TEST(ParseArbitratorUri, RejectsEachInvalidFormWithAReason) {
  ExpectRejected("", "empty");
  ExpectRejected(" tcp://h:1", "whitespace");
  ExpectRejected("tcp://h:1 ", "whitespace");
  ExpectRejected("http://h/a b", "whitespace");
  ExpectRejected("udp://h:1", "unknown scheme 'udp'");
  ExpectRejected("https://h/", "unknown scheme 'https'");
  ExpectRejected("h:1", "missing scheme");
  ExpectRejected("tcp://", "missing host");
  ExpectRejected("tcp://:1", "missing host");
  ExpectRejected("http:///health", "missing host");
  ExpectRejected("tcp://[]:1", "missing host");
  ExpectRejected("tcp://h", "missing port");
  ExpectRejected("tcp://[::1]", "missing port");
  ExpectRejected("tcp://h:", "empty port");
  ExpectRejected("tcp://h:http", "not a number");
  ExpectRejected("tcp://h:-1", "not a number");
  ExpectRejected("tcp://h:0", "out of range");
  ExpectRejected("tcp://h:65536", "out of range");
  ExpectRejected("tcp://h:99999999999999999999", "out of range");
  ExpectRejected("tcp://user@h:1", "user info");
  ExpectRejected("http://user:pw@h/", "user info");
  ExpectRejected("tcp://::1:1", "brackets");
  ExpectRejected("tcp://[::1:1", "missing ']'");
  ExpectRejected("tcp://[::1]x:1", "after ']'");
  ExpectRejected("tcp://[not-v6]:1", "invalid IPv6 address");
  ExpectRejected("tcp://256.1.1.1:1", "invalid host");
  ExpectRejected("tcp://1.2.3:1", "invalid host");
  ExpectRejected("tcp://-bad.example:1", "invalid host");
  ExpectRejected("tcp://a..b:1", "invalid host");
  ExpectRejected("tcp://a_b:1", "invalid host");
  ExpectRejected("tcp://h:1/x", "no path");
  ExpectRejected("http://h/health?full=1", "query");
  ExpectRejected("http://h/#top", "fragment");
}

}  // namespace
}  // namespace vigil::agent
