// `vigil node events --template T`: each event printed through a Mustache
// template over its JSON form (seed 001, output templates; the Mustache
// spec, https://mustache.github.io/mustache.5.html), e.g.
//   '{{kind}} {{labels.node}} {{data.hb}}'
// Rendering follows the spec with these choices, for a terminal:
//   - nothing is HTML-escaped: {{x}} and {{{x}}} print the same;
//   - numbers print as JSON does (3, 2.5), strings as they are; true,
//     false, null, objects and arrays print nothing as values: they are for
//     sections ({{#data}}...{{/data}} opens an object, iterates an array, and
//     shows its content for true), or for dotted names ({{data.hb}});
//   - a name that is not in the event prints nothing.
#ifndef VIGIL_AGENT_CLI_EVENT_TEMPLATE_H_
#define VIGIL_AGENT_CLI_EVENT_TEMPLATE_H_

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

namespace vigil::agent {

class EventTemplate {
 public:
  /// Parses `text`. Throws std::invalid_argument("template: <reason>") when
  /// it is not a valid template (an unclosed tag or section, a section
  /// closed by another name, a bad delimiter change).
  explicit EventTemplate(const std::string& text);
  ~EventTemplate();
  EventTemplate(EventTemplate&&) noexcept;
  EventTemplate& operator=(EventTemplate&&) noexcept;

  /// The template rendered over `event` (any JSON value; an event is an
  /// object). Never throws for a valid template.
  std::string render(const nlohmann::json& event) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_CLI_EVENT_TEMPLATE_H_
