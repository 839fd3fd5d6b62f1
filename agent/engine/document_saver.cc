#include "agent/engine/document_saver.h"

#include <memory>
#include <utility>

#include <spdlog/spdlog.h>

namespace vigil::agent {

DocumentSaver::DocumentSaver(BlockingWorker& worker, Write write, std::string what)
    : worker_(worker), write_(std::move(write)), what_(std::move(what)) {}

void DocumentSaver::save(nlohmann::json doc) {
  if (in_flight_) {
    waiting_ = std::move(doc);  // the latest wins
    return;
  }
  start(std::move(doc));
}

void DocumentSaver::start(nlohmann::json doc) {
  in_flight_ = true;
  // The job owns its copy: the worker thread never sees protocol state.
  auto owned = std::make_shared<const nlohmann::json>(std::move(doc));
  worker_.submit([write = write_, owned] { write(*owned); },
                 [this](const std::string& error) { finished(error); });
}

void DocumentSaver::finished(const std::string& error) {
  in_flight_ = false;
  if (error.empty()) {
    ++written_;
  } else {
    ++failed_;
    spdlog::error("cannot save {}: {} (the next commit tries again)", what_, error);
  }
  if (waiting_) {
    auto next = std::move(*waiting_);
    waiting_.reset();
    start(std::move(next));
    return;
  }
  auto flushes = std::move(flushes_);
  flushes_.clear();
  for (auto& f : flushes) f();
}

void DocumentSaver::flush(std::function<void()> done) {
  if (!in_flight_) {
    done();
    return;
  }
  flushes_.push_back(std::move(done));
}

}  // namespace vigil::agent
