#include "agent/cli/event_template.h"

#include <stdexcept>

#include <kainjow/mustache.hpp>

namespace vigil::agent {

namespace mustache = kainjow::mustache;
using json = nlohmann::json;

namespace {

// JSON to Mustache data: objects stay contexts to name into, arrays lists to
// iterate, booleans (and null, as false) section switches; numbers become
// their JSON text.
mustache::data to_data(const json& j) {
  switch (j.type()) {
    case json::value_t::object: {
      mustache::data d{mustache::data::type::object};
      for (const auto& [k, v] : j.items()) d.set(k, to_data(v));
      return d;
    }
    case json::value_t::array: {
      mustache::data d{mustache::data::type::list};
      for (const auto& v : j) d.push_back(to_data(v));
      return d;
    }
    case json::value_t::string:
      return mustache::data{j.get<std::string>()};
    case json::value_t::boolean:
      return mustache::data{j.get<bool>()};
    case json::value_t::null:
      return mustache::data{false};
    default:
      return mustache::data{j.dump()};
  }
}

}  // namespace

struct EventTemplate::Impl {
  explicit Impl(const std::string& text) : tmpl(text) {}
  mutable mustache::mustache tmpl;
};

EventTemplate::EventTemplate(const std::string& text) : impl_(std::make_unique<Impl>(text)) {
  if (!impl_->tmpl.is_valid())
    throw std::invalid_argument("template: " + impl_->tmpl.error_message());
  impl_->tmpl.set_custom_escape([](const std::string& s) { return s; });
}

EventTemplate::~EventTemplate() = default;
EventTemplate::EventTemplate(EventTemplate&&) noexcept = default;
EventTemplate& EventTemplate::operator=(EventTemplate&&) noexcept = default;

std::string EventTemplate::render(const json& event) const {
  return impl_->tmpl.render(to_data(event));
}

}  // namespace vigil::agent
