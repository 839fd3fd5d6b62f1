#include "agent/cli/watch_frame.h"

#include <algorithm>
#include <exception>
#include <sstream>
#include <stdexcept>
#include <utility>

#include "agent/cli/status_table.h"

namespace vigil::agent {

using json = nlohmann::json;

namespace {

// Control characters could move the cursor or change the terminal: a
// peer's label, an event's text. C0 and DEL become '?' (newlines too,
// unless `keep_newlines`), a C1 character (two bytes in UTF-8) "??", which
// keeps every byte offset, and with it the table's alignment.
std::string sanitize(std::string text, bool keep_newlines = false) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\n' && keep_newlines) continue;
    if (c < 0x20 || c == 0x7f) {
      text[i] = '?';
    } else if (c == 0xc2 && i + 1 < text.size() &&
               static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
               static_cast<unsigned char>(text[i + 1]) <= 0x9f) {
      text[i] = text[i + 1] = '?';
      ++i;
    }
  }
  return text;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The colour of a state cell, or false for none.
bool state_colour(const std::string& word, Colour& colour) {
  if (word == "alive")
    colour = Colour::kGreen;
  else if (word == "stale")
    colour = Colour::kRed;
  else if (word == "unknown")
    colour = Colour::kYellow;
  else if (word == "frozen")
    colour = Colour::kBlue;
  else
    return false;
  return true;
}

bool kind_colour(const std::string& kind, Colour& colour) {
  if (kind == "NodeStale" || kind == "HeartbeatStale" || kind == "NodeSplitAction" ||
      kind == "SubscriptionQueueThreshold" || ends_with(kind, "Error"))
    colour = Colour::kRed;
  else if (kind == "NodeAlive" || kind == "HeartbeatAlive" || kind == "NodeRejoin" ||
           ends_with(kind, "Success"))
    colour = Colour::kGreen;
  else
    return false;
  return true;
}

// The status table's lines, with the STATE, FROZEN and HB:* cells of its
// rows and the quorum's verdict coloured. The columns are found in the
// header row: render_status_table pads cells in bytes, so a column starts
// at the same byte offset in every row.
std::vector<FrameLine> table_lines(const std::string& table) {
  std::vector<FrameLine> out;
  std::vector<std::pair<std::size_t, std::size_t>> columns;  // [begin, end) of coloured columns
  bool in_rows = false;
  for (auto& text : split_lines(sanitize(table, true))) {
    FrameLine line{std::move(text), {}};
    const std::string& t = line.text;
    if (!in_rows && starts_with(t, "NODE ")) {
      std::vector<std::size_t> starts;
      for (std::size_t i = 0; i < t.size(); ++i)
        if (t[i] != ' ' && (i == 0 || t[i - 1] == ' ')) starts.push_back(i);
      for (std::size_t k = 0; k < starts.size(); ++k) {
        const std::size_t end = k + 1 < starts.size() ? starts[k + 1] : std::string::npos;
        const std::string name = t.substr(starts[k], t.find(' ', starts[k]) - starts[k]);
        if (name == "STATE" || name == "FROZEN" || starts_with(name, "HB:"))
          columns.emplace_back(starts[k], end);
      }
      in_rows = true;
    } else if (starts_with(t, "quorum: ") || starts_with(t, "rejoin grace: ")) {
      in_rows = false;
      if (starts_with(t, "quorum: held")) line.spans.push_back({8, 12, Colour::kGreen});
      if (starts_with(t, "quorum: LOST")) line.spans.push_back({8, 12, Colour::kRed});
    } else if (in_rows) {
      for (const auto& [begin, end] : columns) {
        if (begin >= t.size()) continue;
        std::string cell = t.substr(begin, end == std::string::npos ? end : end - begin);
        cell.erase(cell.find_last_not_of(' ') + 1);
        Colour colour;
        if (state_colour(cell, colour)) line.spans.push_back({begin, begin + cell.size(), colour});
      }
    }
    out.push_back(std::move(line));
  }
  return out;
}

// Bytes of the first `columns` code points of `text`.
std::size_t prefix_bytes(const std::string& text, std::size_t columns) {
  std::size_t seen = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xc0) == 0x80) continue;  // continuation byte
    if (seen == columns) return i;
    ++seen;
  }
  return text.size();
}

FrameLine cut(FrameLine line, std::size_t columns) {
  const std::size_t bytes = prefix_bytes(line.text, columns);
  if (bytes == line.text.size()) return line;
  line.text.resize(bytes);
  std::vector<Span> kept;
  for (auto s : line.spans) {
    if (s.begin >= bytes) continue;
    s.end = std::min(s.end, bytes);
    kept.push_back(s);
  }
  line.spans = std::move(kept);
  return line;
}

const char* sgr(Colour c) {
  switch (c) {
    case Colour::kGreen:
      return "\x1b[32m";
    case Colour::kRed:
      return "\x1b[31m";
    case Colour::kYellow:
      return "\x1b[33m";
    case Colour::kBlue:
      return "\x1b[34m";
    case Colour::kBold:
      break;
  }
  return "\x1b[1m";
}

}  // namespace

void RecentEvents::push(WatchEvent e) {
  items_.push_back(std::move(e));
  ++seen_;
  while (items_.size() > kMax) items_.pop_front();
}

void RecentEvents::add_event(const json& event) {
  WatchEvent e;
  try {
    e.kind = event.is_object() ? event.value("kind", "") : "";
    e.line = render_event_line(event);
  } catch (const std::exception&) {  // a member of an odd type: shown as it came
    e.kind.clear();
    e.line = event.dump(-1, ' ', false, json::error_handler_t::replace);
  }
  last_note_.clear();
  push(std::move(e));
}

void RecentEvents::add_note(const std::string& at, const std::string& text) {
  if (text == last_note_) return;
  last_note_ = text;
  push({"", at + " -- " + text});
}

std::vector<FrameLine> compose_watch_frame(const WatchView& view) {
  std::vector<FrameLine> lines;
  std::string title = "vigil daemon status --watch  " + view.node + "  " + view.at;
  if (view.keys) title += "  (q: quit)";
  title = sanitize(title);
  lines.push_back({title, {{0, title.size(), Colour::kBold}}});
  lines.push_back({});
  std::string problem;
  if (!view.unreachable.empty()) {
    problem = "daemon unreachable: " + view.unreachable + "; retrying every second";
  } else {
    try {
      if (!view.dataset.is_object()) throw std::invalid_argument("not a JSON object");
      for (auto& l : table_lines(render_status_table(view.dataset, view.node)))
        lines.push_back(std::move(l));
    } catch (const std::exception& e) {
      problem = std::string("the daemon's status answer cannot be shown: ") + e.what();
    }
  }
  if (!problem.empty()) {
    std::string text = sanitize(problem);
    lines.push_back({text, {{0, text.size(), Colour::kRed}}});
  }
  if (!view.events) return lines;
  lines.push_back({});
  const auto& items = view.events->items();
  if (items.empty()) {
    lines.push_back({"EVENTS: none since the monitor started", {}});
    return lines;
  }
  lines.push_back({"EVENTS: the last " + std::to_string(items.size()) + " of " +
                       std::to_string(view.events->seen()) + " since the monitor started",
                   {}});
  for (const auto& e : items) {
    FrameLine line{sanitize(e.line), {}};
    Colour colour;
    if (e.kind.empty()) {
      line.spans.push_back({0, line.text.size(), Colour::kYellow});
    } else if (kind_colour(e.kind, colour)) {
      const std::size_t at = line.text.find(' ');
      if (at != std::string::npos && line.text.compare(at + 1, e.kind.size(), e.kind) == 0)
        line.spans.push_back({at + 1, at + 1 + e.kind.size(), colour});
    }
    lines.push_back(std::move(line));
  }
  return lines;
}

std::vector<FrameLine> fit_frame(std::vector<FrameLine> lines, std::size_t columns,
                                 std::size_t rows) {
  columns = std::max<std::size_t>(columns, 1);
  rows = std::max<std::size_t>(rows, 1);
  if (lines.size() > rows) {
    const std::size_t more = lines.size() - (rows - 1);
    lines.resize(rows - 1);
    lines.push_back({"... " + std::to_string(more) + " more lines: enlarge the terminal", {}});
  }
  for (auto& line : lines) line = cut(std::move(line), columns);
  return lines;
}

std::string line_text(const FrameLine& line, bool colour) {
  if (!colour || line.spans.empty()) return line.text;
  std::vector<Span> spans = line.spans;
  std::sort(spans.begin(), spans.end(),
            [](const Span& a, const Span& b) { return a.begin < b.begin; });
  std::string out;
  std::size_t at = 0;
  for (const auto& s : spans) {
    if (s.begin < at || s.end <= s.begin || s.end > line.text.size()) continue;  // overlap, empty
    out += line.text.substr(at, s.begin - at);
    out += sgr(s.colour);
    out += line.text.substr(s.begin, s.end - s.begin);
    out += "\x1b[0m";
    at = s.end;
  }
  out += line.text.substr(at);
  return out;
}

std::size_t text_columns(const std::string& text) {
  std::size_t n = 0;
  for (char c : text)
    if ((static_cast<unsigned char>(c) & 0xc0) != 0x80) ++n;
  return n;
}

}  // namespace vigil::agent
