#include "agent/nats/nats_protocol.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace vigil::agent::nats {
namespace {

using Kind = ServerOp::Kind;

std::vector<ServerOp> parse_all(Parser& p, const std::string& bytes, std::string* error = nullptr) {
  std::vector<ServerOp> out;
  const std::string e = p.feed(bytes, out);
  if (error) *error = e;
  return out;
}

TEST(NatsParser, ReadsEveryServerOperation) {
  Parser p;
  const std::string stream =
      "INFO {\"server_id\":\"S1\",\"server_name\":\"n\",\"version\":\"2.9.20\","
      "\"headers\":true,\"jetstream\":true,\"tls_required\":false,\"max_payload\":1024}\r\n"
      "PING\r\npong\r\n+OK\r\n-ERR 'Authorization Violation'\r\n"
      "MSG a.b 1 5\r\nhello\r\n"
      "MSG a.b 2 _INBOX.x.1 0\r\n\r\n"
      "HMSG _INBOX.x.2 1 16 16\r\nNATS/1.0 503\r\n\r\n\r\n";
  std::string error;
  const auto ops = parse_all(p, stream, &error);
  EXPECT_EQ(error, "");
  ASSERT_EQ(ops.size(), 8u);
  EXPECT_EQ(ops[0].kind, Kind::kInfo);
  EXPECT_EQ(ops[0].info.server_id, "S1");
  EXPECT_EQ(ops[0].info.version, "2.9.20");
  EXPECT_TRUE(ops[0].info.headers);
  EXPECT_TRUE(ops[0].info.jetstream);
  EXPECT_FALSE(ops[0].info.tls_required);
  EXPECT_EQ(ops[0].info.max_payload, 1024u);
  EXPECT_EQ(ops[1].kind, Kind::kPing);
  EXPECT_EQ(ops[2].kind, Kind::kPong);  // operation names are case-insensitive
  EXPECT_EQ(ops[3].kind, Kind::kOk);
  EXPECT_EQ(ops[4].kind, Kind::kErr);
  EXPECT_EQ(ops[4].error, "Authorization Violation");
  EXPECT_EQ(ops[5].message.subject, "a.b");
  EXPECT_EQ(ops[5].message.sid, "1");
  EXPECT_EQ(ops[5].message.payload, "hello");
  EXPECT_EQ(ops[6].message.reply, "_INBOX.x.1");
  EXPECT_EQ(ops[6].message.payload, "");
  EXPECT_EQ(ops[7].message.status, 503);  // no responders
  EXPECT_EQ(ops[7].message.headers, "NATS/1.0 503\r\n\r\n");
  EXPECT_EQ(p.buffered(), 0u);
}

TEST(NatsParser, AnySplitOfTheStreamGivesTheSameOperations) {
  const std::string stream =
      "MSG s.t 9 11\r\nhello world\r\nHMSG s 9 r 18 21\r\nNATS/1.0\r\nA: b\r\n\r\nabc\r\nPING\r\n";
  Parser whole;
  const auto expected = parse_all(whole, stream);
  ASSERT_EQ(expected.size(), 3u);
  EXPECT_EQ(expected[1].message.payload, "abc");
  EXPECT_EQ(expected[1].message.headers, "NATS/1.0\r\nA: b\r\n\r\n");
  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    Parser p;
    auto ops = parse_all(p, stream.substr(0, cut));
    auto rest = parse_all(p, stream.substr(cut));
    ops.insert(ops.end(), rest.begin(), rest.end());
    ASSERT_EQ(ops.size(), expected.size()) << cut;
    for (std::size_t i = 0; i < ops.size(); ++i) {
      EXPECT_EQ(ops[i].kind, expected[i].kind);
      EXPECT_EQ(ops[i].message.payload, expected[i].message.payload);
      EXPECT_EQ(ops[i].message.headers, expected[i].message.headers);
    }
  }
  // Byte by byte.
  Parser p;
  std::vector<ServerOp> ops;
  for (char c : stream) ASSERT_EQ(p.feed(std::string(1, c), ops), "");
  EXPECT_EQ(ops.size(), 3u);
}

TEST(NatsParser, BadInputIsAClearErrorAndStaysFailed) {
  for (const std::string bad : {"HELLO\r\n", "MSG a\r\n", "MSG a 1 x\r\n", "MSG a..b 1 1\r\nx\r\n",
                                "MSG a 1 3\r\nabcde\r\n", "HMSG a 1 5 3\r\nabc\r\n", "INFO [1]\r\n",
                                "INFO {\r\n", "PING extra\r\n", "MSG a 1 -1\r\n"}) {
    SCOPED_TRACE(bad);
    Parser p;
    std::string error;
    parse_all(p, bad, &error);
    EXPECT_TRUE(error.starts_with("nats protocol: ")) << error;
    std::vector<ServerOp> ops;
    EXPECT_EQ(p.feed("PING\r\n", ops), error);  // failed for good
    EXPECT_TRUE(ops.empty());
    EXPECT_EQ(p.buffered(), 0u);
  }
}

TEST(NatsParser, MemoryIsBounded) {
  Parser p(Parser::Limits{.max_control_line = 64, .max_payload = 100});
  std::string error;
  parse_all(p, std::string(63, 'x'), &error);
  EXPECT_EQ(error, "");
  EXPECT_EQ(p.buffered(), 63u);
  parse_all(p, "y", &error);
  EXPECT_NE(error.find("control line is longer than 64 bytes"), std::string::npos) << error;
  EXPECT_EQ(p.buffered(), 0u);

  Parser q(Parser::Limits{.max_control_line = 64, .max_payload = 100});
  parse_all(q, "MSG a 1 101\r\n", &error);
  EXPECT_NE(error.find("above the 100 bytes allowed"), std::string::npos) << error;
  Parser r(Parser::Limits{.max_control_line = 64, .max_payload = 100});
  parse_all(r, "MSG a 1 100\r\n" + std::string(100, 'z'), &error);
  EXPECT_EQ(error, "");
  EXPECT_LE(r.buffered(), 102u);
}

TEST(NatsEncoders, WriteTheClientOperations) {
  EXPECT_EQ(encode_pub("a.b", "", "hi"), "PUB a.b 2\r\nhi\r\n");
  EXPECT_EQ(encode_pub("a.b", "_INBOX.x.1", ""), "PUB a.b _INBOX.x.1 0\r\n\r\n");
  EXPECT_EQ(encode_hpub("a", "r", "NATS/1.0\r\n\r\n", "xy"),
            "HPUB a r 12 14\r\nNATS/1.0\r\n\r\nxy\r\n");
  EXPECT_EQ(encode_sub("_INBOX.abc.*", "1"), "SUB _INBOX.abc.* 1\r\n");
  EXPECT_EQ(encode_sub("a.>", "22"), "SUB a.> 22\r\n");
  EXPECT_EQ(encode_unsub("1"), "UNSUB 1\r\n");
  EXPECT_EQ(encode_unsub("1", 5), "UNSUB 1 5\r\n");
  EXPECT_EQ(encode_ping(), "PING\r\n");
  EXPECT_EQ(encode_pong(), "PONG\r\n");
  for (const char* bad : {"", "a..b", "a b", "a.*", "a.>", ".a", "a.", "a\r\nPUB"}) {
    SCOPED_TRACE(bad);
    EXPECT_THROW(encode_pub(bad, "", "x"), std::invalid_argument);
  }
  EXPECT_THROW(encode_pub("a", "r s", "x"), std::invalid_argument);
  EXPECT_THROW(encode_sub("a.>.b", "1"), std::invalid_argument);
  EXPECT_THROW(encode_sub("a", "x y"), std::invalid_argument);
}

TEST(NatsEncoders, ConnectCarriesTheOptionsAndOnlyTheCredentialsGiven) {
  ConnectOptions o;
  o.version = "0.1.0";
  o.auth_token = "tok";
  std::string line = encode_connect(o);
  ASSERT_TRUE(line.starts_with("CONNECT ") && line.ends_with("\r\n"));
  auto j = nlohmann::json::parse(line.substr(8, line.size() - 10));
  EXPECT_EQ(j["verbose"], false);
  EXPECT_EQ(j["headers"], true);
  EXPECT_EQ(j["no_responders"], true);
  EXPECT_EQ(j["auth_token"], "tok");
  EXPECT_FALSE(j.contains("user"));
  EXPECT_FALSE(j.contains("pass"));
  o.auth_token.clear();
  o.user = "u";
  o.pass = "p\"q";
  line = encode_connect(o);
  j = nlohmann::json::parse(line.substr(8, line.size() - 10));
  EXPECT_EQ(j["user"], "u");
  EXPECT_EQ(j["pass"], "p\"q");
  EXPECT_FALSE(j.contains("auth_token"));
}

}  // namespace
}  // namespace vigil::agent::nats
