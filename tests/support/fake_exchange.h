// An ApiExchange that records what the daemon answers, in memory: for router
// tests and the router fuzzer.
#ifndef VIGIL_TESTS_SUPPORT_FAKE_EXCHANGE_H_
#define VIGIL_TESTS_SUPPORT_FAKE_EXCHANGE_H_

#include <string>
#include <utility>

#include "agent/api/api_server.h"

namespace vigil::testing {

class FakeExchange : public agent::ApiExchange {
 public:
  explicit FakeExchange(agent::ApiRequest request) { request_ = std::move(request); }

  /// Everything written, as the client would read it.
  const std::string& written() const { return written_; }
  /// The status code of the answer, 0 before one.
  int status() const {
    if (written_.rfind("HTTP/1.1 ", 0) != 0) return 0;
    return std::stoi(written_.substr(9, 3));
  }
  /// The body of the answer (after the blank line).
  std::string body() const {
    auto at = written_.find("\r\n\r\n");
    return at == std::string::npos ? "" : written_.substr(at + 4);
  }

 protected:
  void write_front(std::function<void(boost::system::error_code)> done) override {
    written_ += queue_front();
    done({});
  }
  void close_transport() override {}
  void watch_peer() override {}

 private:
  std::string written_;
};

}  // namespace vigil::testing

#endif  // VIGIL_TESTS_SUPPORT_FAKE_EXCHANGE_H_
