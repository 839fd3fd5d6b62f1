#include "membership/cluster_query.h"

#include <algorithm>

namespace vigil::membership {

using json = nlohmann::json;

namespace {

constexpr std::size_t kMaxNameBytes = 255;

bool name_ok(const json& j, const char* key) {
  if (!j.contains(key) || !j.at(key).is_string()) return false;
  const auto& s = j.at(key).get_ref<const std::string&>();
  return !s.empty() && s.size() <= kMaxNameBytes;
}

bool value_ok(const json& v) { return v.dump().size() <= ClusterQueries::kMaxValueBytes; }

json to_json(const Query& q) {
  return {{"id", q.id}, {"from", q.from}, {"kind", q.kind}, {"args", q.args}};
}

json to_json(const QueryAnswer& a) {
  return {{"id", a.id}, {"node", a.node}, {"answer", a.answer}};
}

}  // namespace

bool ClusterQueries::ask(Query q, Clock::time_point now) {
  expire(now);
  if (spreading(now) >= kMaxQueries || q.id.empty() || q.id.size() > kMaxNameBytes ||
      !value_ok(q.args))
    return false;
  const std::string id = q.id;
  queries_[id] = Held{std::move(q), now};
  return true;
}

bool ClusterQueries::answer(QueryAnswer a, Clock::time_point now) {
  expire(now);
  if (answers_.size() >= kMaxAnswers || !value_ok(a.answer)) return false;
  auto key = std::make_pair(a.id, a.node);
  answers_[key] = HeldAnswer{std::move(a), now};
  return true;
}

void ClusterQueries::prepare(heartbeat::Message& msg, Clock::time_point now) const {
  json qs = json::array();
  for (const auto& [id, h] : queries_)
    if (now - h.first_heard < kSpread) qs.push_back(to_json(h.query));
  if (!qs.empty()) msg.queries = std::move(qs);
  std::vector<const HeldAnswer*> live;
  for (const auto& [key, h] : answers_)
    if (now - h.first_heard < kSpread) live.push_back(&h);
  if (live.empty()) return;
  std::sort(live.begin(), live.end(), [](const HeldAnswer* a, const HeldAnswer* b) {
    return a->first_heard > b->first_heard;
  });
  json as = json::array();
  for (std::size_t i = 0; i < live.size() && i < kMaxAnswersPerMessage; ++i)
    as.push_back(to_json(live[i]->answer));
  msg.query_answers = std::move(as);
}

std::vector<Query> ClusterQueries::on_message(const heartbeat::Message& msg,
                                              Clock::time_point now) {
  expire(now);
  std::vector<Query> fresh;
  if (msg.queries.is_array()) {
    for (const auto& j : msg.queries) {
      if (!j.is_object() || j.size() != 4 || !name_ok(j, "id") || !name_ok(j, "from") ||
          !name_ok(j, "kind") || !j.contains("args") || !j.at("args").is_object() ||
          !value_ok(j.at("args"))) {
        ++refused_;
        continue;
      }
      const auto& id = j.at("id").get_ref<const std::string&>();
      if (queries_.contains(id)) continue;
      if (spreading(now) >= kMaxQueries) {
        ++refused_;
        continue;
      }
      Query q{.id = id,
              .from = j.at("from").get<std::string>(),
              .kind = j.at("kind").get<std::string>(),
              .args = j.at("args")};
      queries_[id] = Held{q, now};
      fresh.push_back(std::move(q));
    }
  }
  if (msg.query_answers.is_array()) {
    for (const auto& j : msg.query_answers) {
      if (!j.is_object() || j.size() != 3 || !name_ok(j, "id") || !name_ok(j, "node") ||
          !j.contains("answer") || !value_ok(j.at("answer"))) {
        ++refused_;
        continue;
      }
      auto key = std::make_pair(j.at("id").get<std::string>(), j.at("node").get<std::string>());
      if (answers_.contains(key)) continue;
      if (answers_.size() >= kMaxAnswers) {
        ++refused_;
        continue;
      }
      answers_[key] = HeldAnswer{{key.first, key.second, j.at("answer")}, now};
    }
  }
  return fresh;
}

std::map<std::string, json> ClusterQueries::answers(const std::string& id) const {
  std::map<std::string, json> out;
  for (auto it = answers_.lower_bound({id, ""}); it != answers_.end() && it->first.first == id;
       ++it)
    out[it->first.second] = it->second.answer.answer;
  return out;
}

std::size_t ClusterQueries::spreading(Clock::time_point now) const {
  return static_cast<std::size_t>(
      std::count_if(queries_.begin(), queries_.end(),
                    [&](const auto& kv) { return now - kv.second.first_heard < kSpread; }));
}

void ClusterQueries::expire(Clock::time_point now) {
  // Held twice as long as they spread: a late copy of an expired query is
  // not run again, and the asker keeps the answers for its wait.
  const auto keep = kSpread * 2 + std::chrono::seconds(20);
  std::erase_if(queries_, [&](const auto& kv) { return now - kv.second.first_heard > keep; });
  std::erase_if(answers_, [&](const auto& kv) { return now - kv.second.first_heard > keep; });
  while (queries_.size() > kMaxRemembered) {  // the oldest go first
    auto oldest = std::min_element(
        queries_.begin(), queries_.end(),
        [](const auto& a, const auto& b) { return a.second.first_heard < b.second.first_heard; });
    queries_.erase(oldest);
  }
}

}  // namespace vigil::membership
