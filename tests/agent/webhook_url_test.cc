#include "agent/webhooks/webhook_url.h"

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agent/webhooks/webhook.h"

namespace vigil::agent {
namespace {

using ::testing::HasSubstr;

std::string error_of(const std::string& text) {
  try {
    parse_webhook_url(text);
  } catch (const WebhookUrlError& e) {
    return e.what();
  }
  return "";
}

TEST(WebhookUrl, ParsesHttpWithDefaults) {
  const WebhookUrl u = parse_webhook_url("http://Example.COM");
  EXPECT_FALSE(u.tls);
  EXPECT_EQ(u.host, "example.com");
  EXPECT_FALSE(u.host_is_ip);
  EXPECT_EQ(u.port, 80);
  EXPECT_EQ(u.target, "/");
  EXPECT_EQ(u.host_header(), "example.com");
  EXPECT_EQ(u.authority(), "example.com:80");
  EXPECT_EQ(u.text, "http://Example.COM");
}

TEST(WebhookUrl, ParsesHttpsPortPathQueryAndDropsTheFragment) {
  const WebhookUrl u = parse_webhook_url("HTTPS://hooks.example.com:8443/a/b?x=1&y=%20#frag");
  EXPECT_TRUE(u.tls);
  EXPECT_EQ(u.port, 8443);
  EXPECT_EQ(u.target, "/a/b?x=1&y=%20");
  EXPECT_EQ(u.host_header(), "hooks.example.com:8443");
  EXPECT_EQ(parse_webhook_url("https://h").port, 443);
  EXPECT_EQ(parse_webhook_url("http://h?q").target, "/?q");
  EXPECT_EQ(parse_webhook_url("http://h#f").target, "/");
  EXPECT_EQ(parse_webhook_url("http://h.example.").host, "h.example");
}

TEST(WebhookUrl, ParsesIpAddresses) {
  const WebhookUrl v4 = parse_webhook_url("http://127.0.0.1:9000/hook");
  EXPECT_TRUE(v4.host_is_ip);
  EXPECT_EQ(v4.host, "127.0.0.1");
  EXPECT_EQ(v4.authority(), "127.0.0.1:9000");
  const WebhookUrl v6 = parse_webhook_url("https://[::1]:8443/");
  EXPECT_TRUE(v6.host_is_ip);
  EXPECT_EQ(v6.host, "::1");
  EXPECT_EQ(v6.host_header(), "[::1]:8443");
  EXPECT_EQ(parse_webhook_url("http://[::1]").host_header(), "[::1]");
}

TEST(WebhookUrl, RefusesWithClearErrors) {
  EXPECT_EQ(error_of("ftp://h/"), "webhook url: scheme must be http or https");
  EXPECT_EQ(error_of("h:80/x"), "webhook url: scheme must be http or https");
  EXPECT_EQ(error_of(""), "webhook url: empty");
  EXPECT_THAT(error_of("http:///x"), HasSubstr("host is missing"));
  EXPECT_THAT(error_of("http://u:p@h/"), HasSubstr("user and password"));
  EXPECT_THAT(error_of("http://h:0/"), HasSubstr("port must be a number from 1 to 65535"));
  EXPECT_THAT(error_of("http://h:65536/"), HasSubstr("port must be"));
  EXPECT_THAT(error_of("http://h:/"), HasSubstr("port is empty"));
  EXPECT_THAT(error_of("http://h:8a/"), HasSubstr("port must be"));
  EXPECT_THAT(error_of("http://h_x/"), HasSubstr("letters, digits"));
  EXPECT_THAT(error_of("http://a..b/"), HasSubstr("empty label"));
  EXPECT_THAT(error_of("http://999.1.1.1/"), HasSubstr("not an IPv4 address"));
  EXPECT_THAT(error_of("http://1.2.3/"), HasSubstr("not an IPv4 address"));
  EXPECT_THAT(error_of("http://[::g]/"), HasSubstr("not an IPv6 address"));
  EXPECT_THAT(error_of("http://[::1/"), HasSubstr("must end with ']'"));
  EXPECT_THAT(error_of("http://[::1]x/"), HasSubstr("after the IPv6 address"));
  EXPECT_THAT(error_of("http://h/a b"), HasSubstr("printable ASCII"));
  EXPECT_THAT(error_of("http://h/\xc3\xa9"), HasSubstr("printable ASCII"));
  EXPECT_THAT(error_of("http://" + std::string(64, 'a') + ".com/"), HasSubstr("63"));
  EXPECT_THAT(error_of("http://h/" + std::string(kMaxWebhookUrlBytes, 'a')), HasSubstr("longer"));
}

// fuzz_webhook_url: an error quoted the whole host, so a long bad IPv6
// literal made an error of any length.
TEST(WebhookUrl, ErrorsQuoteAtMost64Characters) {
  const std::string inner = "fe" + std::string(500, 'u') + "::1";
  const std::string error = error_of("http://[" + inner + "]/");
  EXPECT_EQ(error, "webhook url: '" + inner.substr(0, 64) + "...' is not an IPv6 address");
  EXPECT_EQ(error_of("http://1.2.3.4.5/"), "webhook url: '1.2.3.4.5' is not an IPv4 address");
}

// fuzz_webhook_url: Asio read the zone of "[f::%-2l]" as the number
// 18446744073709551614, so the URL did not survive a round trip.
TEST(WebhookUrl, RefusesIpv6Zones) {
  EXPECT_THAT(error_of("http://[fe80::1%25eth0]/"), HasSubstr("zone identifiers"));
  EXPECT_THAT(error_of("http://[f::%-2l]/"), HasSubstr("zone identifiers"));
}

TEST(Webhook, MakeChecksTheCredentialAndTheFilters) {
  const Webhook w = make_webhook("http://h/", WebhookAuth::kBearer, "tok", {"NodeStale"});
  EXPECT_EQ(w.credential, "tok");
  EXPECT_FALSE(w.filters.empty());
  EXPECT_THROW(make_webhook("http://h/", WebhookAuth::kBearer, "", {}), std::invalid_argument);
  EXPECT_THROW(make_webhook("http://h/", WebhookAuth::kBearer, "a b", {}), std::invalid_argument);
  EXPECT_THROW(make_webhook("http://h/", WebhookAuth::kNone, "x", {}), std::invalid_argument);
  EXPECT_THROW(make_webhook("http://h/", WebhookAuth::kSecret, std::string("a\0b", 3), {}),
               std::invalid_argument);
  EXPECT_THROW(make_webhook("http://h/", WebhookAuth::kNone, "", {"bad filter,"}),
               std::invalid_argument);
  EXPECT_THROW(make_webhook("gopher://h/", WebhookAuth::kNone, "", {}), WebhookUrlError);
  EXPECT_NO_THROW(make_webhook("http://h/", WebhookAuth::kSecret, "s e c r e t", {}));
}

TEST(Webhook, IdIsAStableHexPrefixOfTheUrlHash) {
  const std::string id = webhook_id("http://h/");
  EXPECT_EQ(id.size(), 16u);
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(id, webhook_id("http://h/"));
  EXPECT_NE(id, webhook_id("http://h/x"));
  EXPECT_EQ(webhook_id(""), "e3b0c44298fc1c14");  // SHA-256 of the empty string
}

}  // namespace
}  // namespace vigil::agent
