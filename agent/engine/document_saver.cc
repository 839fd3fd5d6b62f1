#include "agent/engine/document_saver.h"

#include <memory>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

namespace vigil::agent {

DocumentSaver::DocumentSaver(BlockingWorker& worker, Write write, std::string what)
    : worker_(worker), write_(std::move(write)), what_(std::move(what)) {}

uint64_t DocumentSaver::save(nlohmann::json doc) {
  const uint64_t number = ++saved_;
  if (in_flight_)
    waiting_.emplace(number, std::move(doc));  // the latest wins
  else
    start(std::move(doc), number);
  return number;
}

void DocumentSaver::start(nlohmann::json doc, uint64_t number) {
  in_flight_ = true;
  // The job owns its copy: the worker thread never sees protocol state.
  auto owned = std::make_shared<const nlohmann::json>(std::move(doc));
  worker_.submit([write = write_, owned] { write(*owned); },
                 [this, number](const std::string& error) { finished(number, error); });
}

void DocumentSaver::finished(uint64_t number, const std::string& error) {
  in_flight_ = false;
  done_ = number;  // this write covers every save before it, replaced ones included
  if (error.empty()) {
    ++written_;
  } else {
    ++failed_;
    spdlog::error("cannot save {}: {} (the next commit tries again)", what_, error);
  }
  if (waiting_) {
    auto [next_number, next] = std::move(*waiting_);
    waiting_.reset();
    start(std::move(next), next_number);
  }
  std::vector<std::function<void()>> ready;
  for (auto it = waiters_.begin(); it != waiters_.end() && it->first <= done_;) {
    ready.push_back(std::move(it->second));
    it = waiters_.erase(it);
  }
  for (auto& f : ready) f();
}

void DocumentSaver::when_saved(uint64_t number, std::function<void()> done) {
  if (number <= done_) {
    done();
    return;
  }
  waiters_.emplace(number, std::move(done));
}

}  // namespace vigil::agent
