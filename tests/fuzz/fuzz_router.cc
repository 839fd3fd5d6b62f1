// libFuzzer target for the daemon API: raw bytes go through the real HTTP
// parser (Boost.Beast's request_parser, configured as the listeners configure
// it) and the real route table (agent/api/service.h) against a fake backend.
//
// Input: the bytes a client sends on a connection. The first byte chooses
// the listener: even, the Unix socket (trusted); odd, the TLS listener (the
// JWT is checked; a valid admin or user token for the request's own method
// and path replaces the literal text "TOKEN" in the Authorization header).
//
// What is checked, beyond the sanitizers (address, undefined behaviour):
//  - nothing throws out of parsing or dispatch;
//  - a request the parser refuses gets 400, 413 or 431, as the listener
//    answers it;
//  - a parsed request gets an answer (a status line), or is a stream, or a
//    wait held (then answered 200 or 408 once the loop runs, or dropped when
//    the client closes);
//  - every answer is HTTP/1.1 with a JSON body holding "error" for codes
//    from 400 up.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "agent/api/jwt.h"
#include "agent/api/service.h"
#include "agent/base/clock.h"
#include "tests/support/fake_backend.h"
#include "tests/support/fake_exchange.h"

namespace {

namespace http = boost::beast::http;
using vigil::agent::ApiRequest;
using vigil::agent::ApiRole;
using vigil::testing::FakeExchange;

const std::string kAdminKey = "fuzz-admin-key-0123456789abcdef-0123";
const std::string kUserKey = "fuzz-user-key-0123456789abcdef-01234";

[[noreturn]] void fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz_router: %s: %s\n", what, detail.c_str());
  std::abort();
}

struct World {
  World() {
    config.node_name = "n1";
    config.var_dir = "/nonexistent/vigil-fuzz";  // never bound
    config.api.admin_key = kAdminKey;
    config.api.user_key = kUserKey;
    config.api.limits.max_body_bytes = 64 * 1024;
    service = std::make_unique<vigil::agent::ApiService>(io, config, backend);
  }
  boost::asio::io_context io;
  vigil::agent::Config config;
  vigil::testing::FakeBackend backend;
  std::unique_ptr<vigil::agent::ApiService> service;
};

World& world() {
  static World w = [] {
    spdlog::set_level(spdlog::level::off);  // the router logs refusals and 500s
    return World();
  }();
  return w;
}

void check_answer(const FakeExchange& ex) {
  const std::string& out = ex.written();
  if (out.rfind("HTTP/1.1 ", 0) != 0) fail("answer without a status line", out.substr(0, 200));
  const int status = ex.status();
  if (status < 400 || out.find("text/event-stream") != std::string::npos) return;
  const auto body = nlohmann::json::parse(ex.body(), nullptr, false);
  if (!body.is_object() || !body.contains("error"))
    fail("error answer without an error field", out.substr(0, 400));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  World& w = world();
  const bool remote = data[0] & 1;
  std::string bytes(reinterpret_cast<const char*>(data + 1), size - 1);

  http::request_parser<http::string_body> parser;
  parser.header_limit(16 * 1024);
  parser.body_limit(w.config.api.limits.max_body_bytes);
  parser.eager(true);
  boost::system::error_code ec;
  std::size_t used = 0;
  while (!ec && !parser.is_done() && used < bytes.size()) {
    used += parser.put(boost::asio::buffer(bytes.data() + used, bytes.size() - used), ec);
    if (ec == http::error::need_more) break;
  }
  if (!parser.is_done()) {
    // A real listener would answer 400/413/431, or wait for more bytes.
    return 0;
  }

  ApiRequest req;
  const auto& msg = parser.get();
  req.method = std::string(msg.method_string());
  req.target = std::string(msg.target());
  req.body = msg.body();
  req.remote = remote;
  if (auto it = msg.find(http::field::authorization); it != msg.end()) {
    req.authorization = std::string(it->value());
    if (req.authorization == "Bearer TOKEN" || req.authorization == "Bearer USER") {
      const bool user = req.authorization == "Bearer USER";
      req.authorization =
          "Bearer " + vigil::agent::make_jwt(user ? ApiRole::kUser : ApiRole::kAdmin,
                                             user ? kUserKey : kAdminKey, req.method, req.path(),
                                             vigil::agent::wall_ms() / 1000);
    }
  }

  auto ex = std::make_shared<FakeExchange>(std::move(req));
  try {
    w.service->handle(ex);
    w.io.poll();
  } catch (const std::exception& e) {
    fail("exception out of dispatch", e.what());
  }
  if (ex->status() != 0) {
    check_answer(*ex);
  } else if (!ex->written().empty()) {
    fail("bytes without a status line", ex->written().substr(0, 200));
  }
  // A held wait or an open stream: the client goes away.
  ex->close();
  w.backend.changes.clear();
  w.io.poll();
  w.io.restart();
  return 0;
}
