// An ApiBackend without an engine: a fixed dataset that tests can change, a
// node change that is recorded and committed at once (or refused when it is
// not well formed, as the engine would), and a real event bus.
#ifndef VIGIL_TESTS_SUPPORT_FAKE_BACKEND_H_
#define VIGIL_TESTS_SUPPORT_FAKE_BACKEND_H_

#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/api/backend.h"
#include "agent/events/event_bus.h"

namespace vigil::testing {

class FakeBackend : public agent::ApiBackend {
 public:
  nlohmann::json dataset() const override { return data; }
  nlohmann::json hb_status() const override {
    return {{"node", "n1"}, {"paths", nlohmann::json::array()}};
  }
  void change(const agent::NodeChange& change, std::function<void(uint64_t)> committed) override {
    if (change.kind == agent::NodeChange::Kind::kPatch && !change.ops.is_array())
      throw std::invalid_argument("expected an RFC 6902 patch array");
    if (change.kind == agent::NodeChange::Kind::kSet && change.path.empty())
      throw std::invalid_argument("path must name a key below the node");
    changes.push_back(change);
    committed(changes.size() + 1);
  }
  void rotate(std::optional<crypto::Secret>, Done done) override {
    ++rotations;
    done(200, {{"version", 2}});
  }
  std::vector<crypto::Key> join_keys() const override {
    crypto::Secret s;
    s.fill(0x11);
    return {crypto::derive_join_key(s, "test")};
  }
  void reload(const std::string& caller, Done done) override {
    reloads.push_back(caller);
    if (reload_error.empty())
      done(200, {{"changed", reload_changed}});
    else
      done(400, {{"error", reload_error}});
  }
  void admit(const std::string& token, const std::string& name,
             const std::map<std::string, std::string>& paths, Done done) override {
    admitted.push_back({{"token", token}, {"name", name}, {"paths", paths}});
    done(200, {{"cluster", "c"}});
  }
  void join(const std::string& token, const std::string& seed, std::chrono::milliseconds timeout,
            Done done) override {
    joins.push_back({{"token", token}, {"seed", seed}, {"timeout_ms", timeout.count()}});
    done(200, {{"seed", seed}});
  }
  void leave(std::chrono::milliseconds timeout, Done done) override {
    leaves.push_back(timeout.count());
    done(200, {{"acknowledged_by", nlohmann::json::array()}});
  }
  void forget(const std::string& node, Done done) override {
    forgotten.push_back(node);
    done(200, {{"node", node}});
  }
  nlohmann::json members() const override { return {{"n1", {{"state", "alive"}}}}; }
  void webhooks(Done done) override { done(200, {{"webhooks", webhook_bodies}}); }
  void put_webhook(const nlohmann::json& body, Done done) override {
    webhook_bodies.push_back(body);
    done(200, {{"version", "0"}, {"nodes", nlohmann::json::array()}});
  }
  void delete_webhook(const std::string& url, Done done) override {
    webhook_bodies.push_back({{"deleted", url}});
    done(200, {{"version", "0"}, {"nodes", nlohmann::json::array()}});
  }
  void test_webhook(const nlohmann::json& body, Done done) override {
    webhook_bodies.push_back({{"tested", body}});
    done(200, {{"nodes", nlohmann::json::array()}});
  }
  nlohmann::json export_status() const override { return export_body; }
  agent::EventBus& bus() override { return bus_; }

  nlohmann::json data = {{"cluster", {{"name", "c"}, {"x", 1}}}, {"x", 1}};
  std::vector<agent::NodeChange> changes;
  int rotations = 0;
  std::vector<std::string> reloads;  // the callers
  std::vector<std::string> reload_changed;
  std::string reload_error;  // when set, reload() answers 400 with it
  std::vector<nlohmann::json> admitted, joins;
  std::vector<int64_t> leaves;
  std::vector<std::string> forgotten;
  nlohmann::json webhook_bodies = nlohmann::json::array();
  nlohmann::json export_body = {{"nats", nullptr}};

 private:
  agent::EventBus bus_{agent::EventBus::Options{.node = "n1"}};
};

}  // namespace vigil::testing

#endif  // VIGIL_TESTS_SUPPORT_FAKE_BACKEND_H_
