// libFuzzer target for webhook receiver URLs (vigil::agent::parse_webhook_url,
// agent/webhooks/webhook_url.h): `vigil webhook add URL`, the API and the
// webhook set replicated from peers all parse operator text with it.
//
// Input: the URL, as is.
//
// What is checked, beyond the sanitizers (address, undefined behaviour):
//  - parse_webhook_url throws nothing but WebhookUrlError, whose message
//    starts "webhook url: ", is printable ASCII and bounded;
//  - an accepted URL keeps its text, is at most kMaxWebhookUrlBytes of
//    printable ASCII; its host is non-empty, lowercase, and an IP address
//    exactly when host_is_ip says so; its port is 1-65535; its target starts
//    with '/' and holds no '#' and no blank;
//  - the URL rebuilt from the parts (scheme "://" host_header() target)
//    parses to the same parts (a round trip), and host_header() and
//    authority() agree with the port;
//  - webhook_id() gives 16 lowercase hex digits.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>

#include <boost/asio/ip/address.hpp>

#include "agent/webhooks/webhook.h"
#include "agent/webhooks/webhook_url.h"

namespace {

using vigil::agent::parse_webhook_url;
using vigil::agent::WebhookUrl;
using vigil::agent::WebhookUrlError;

[[noreturn]] void fail(const char* what, const std::string& detail = {}) {
  std::fprintf(stderr, "fuzz_webhook_url: %s%s%s\n", what, detail.empty() ? "" : ": ",
               detail.c_str());
  std::abort();
}

void check(bool ok, const char* what, const std::string& detail = {}) {
  if (!ok) fail(what, detail);
}

bool printable(std::string_view s, bool blank_ok) {
  for (const char c : s) {
    if (c < (blank_ok ? 0x20 : 0x21) || c >= 0x7f) return false;
  }
  return true;
}

void check_parts(const WebhookUrl& u) {
  check(!u.host.empty(), "empty host", u.text);
  for (const char c : u.host) check(!(c >= 'A' && c <= 'Z'), "host not lowercase", u.host);
  boost::system::error_code ec;
  boost::asio::ip::make_address(u.host, ec);
  check(!ec == u.host_is_ip, "host_is_ip disagrees with the host", u.host);
  check(u.port != 0, "port 0", u.text);
  check(!u.target.empty() && u.target.front() == '/', "target does not start with '/'", u.target);
  check(u.target.find('#') == std::string::npos, "fragment in the target", u.target);
  check(printable(u.target, false), "blank or non-printable in the target", u.target);
  const std::string port = std::to_string(u.port);
  const std::string bracketed = u.host.find(':') != std::string::npos ? "[" + u.host + "]" : u.host;
  check(u.authority() == bracketed + ":" + port, "authority is not host:port", u.authority());
  const bool default_port = u.port == (u.tls ? 443 : 80);
  check(u.host_header() == (default_port ? bracketed : bracketed + ":" + port),
        "host_header and the default port disagree", u.host_header());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  WebhookUrl u;
  try {
    u = parse_webhook_url(text);
  } catch (const WebhookUrlError& e) {
    const std::string_view what = e.what();
    check(what.rfind("webhook url: ", 0) == 0, "error without the prefix", std::string(what));
    check(what.size() <= 200, "error too long", std::string(what.substr(0, 200)));
    check(printable(what, true), "error not printable");
    return 0;
  } catch (const std::exception& e) {
    fail("unexpected exception", e.what());
  }
  check(u.text == text, "text not kept");
  check(text.size() <= vigil::agent::kMaxWebhookUrlBytes, "accepted an over-long URL");
  check(printable(text, false), "accepted a blank or non-printable byte");
  check_parts(u);

  const std::string rebuilt =
      std::string(u.tls ? "https://" : "http://") + u.host_header() + u.target;
  WebhookUrl again;
  try {
    again = parse_webhook_url(rebuilt);
  } catch (const std::exception& e) {
    if (rebuilt.size() <= vigil::agent::kMaxWebhookUrlBytes) fail("rebuilt URL refused", e.what());
    return 0;
  }
  check(again.tls == u.tls && again.host == u.host && again.port == u.port &&
            again.target == u.target && again.host_is_ip == u.host_is_ip,
        "round trip changed the URL", rebuilt);

  const std::string id = vigil::agent::webhook_id(u.text);
  check(id.size() == 16 && id.find_first_not_of("0123456789abcdef") == std::string::npos,
        "webhook_id is not 16 hex digits", id);
  return 0;
}
