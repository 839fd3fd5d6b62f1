#include "agent/nats/nats_protocol.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "agent/base/bounded_json.h"

namespace vigil::agent::nats {

namespace {

constexpr std::size_t kMaxSubjectBytes = 256;
constexpr std::size_t kMaxQuoted = 64;  // characters of bad input quoted in an error

std::string quote(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, kMaxQuoted)) {
    out += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  if (text.size() > kMaxQuoted) out += "...";
  return out;
}

bool blank(char c) { return c == ' ' || c == '\t'; }

std::vector<std::string_view> fields_of(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size() && out.size() < 8) {
    while (i < s.size() && blank(s[i])) ++i;
    std::size_t j = i;
    while (j < s.size() && !blank(s[j])) ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

bool size_of(std::string_view s, std::size_t& out) {
  if (s.empty() || s.size() > 12) return false;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

bool equals_nocase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::toupper(static_cast<unsigned char>(x)) ==
                  std::toupper(static_cast<unsigned char>(y));
         });
}

bool subject_ok(std::string_view s, bool wildcards) {
  if (s.empty() || s.size() > kMaxSubjectBytes) return false;
  std::size_t start = 0;
  while (true) {
    const auto dot = s.find('.', start);
    const std::string_view token =
        s.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (token.empty()) return false;
    const bool last = dot == std::string_view::npos;
    if (wildcards && (token == "*" || (token == ">" && last))) {
      // a wildcard token
    } else {
      for (char c : token) {
        if (c <= 0x20 || c >= 0x7f || c == '*' || c == '>') return false;
      }
    }
    if (last) return true;
    start = dot + 1;
  }
}

// The status of a header block's first line "NATS/1.0 503 No Responders".
int header_status(std::string_view headers) {
  if (!headers.starts_with("NATS/1.0")) return 0;
  std::string_view rest = headers.substr(8);
  const auto eol = rest.find("\r\n");
  rest = rest.substr(0, eol);
  while (!rest.empty() && blank(rest.front())) rest.remove_prefix(1);
  if (rest.size() < 3) return 0;
  int status = 0;
  const auto [p, ec] = std::from_chars(rest.data(), rest.data() + 3, status);
  if (ec != std::errc() || p != rest.data() + 3) return 0;
  return status;
}

ServerInfo info_of(const nlohmann::json& j) {
  ServerInfo i;
  auto str = [&](const char* k, std::string& out) {
    auto it = j.find(k);
    if (it != j.end() && it->is_string()) out = quote(it->get_ref<const std::string&>());
  };
  auto flag = [&](const char* k, bool& out) {
    auto it = j.find(k);
    if (it != j.end() && it->is_boolean()) out = it->get<bool>();
  };
  str("server_id", i.server_id);
  str("server_name", i.server_name);
  str("version", i.version);
  flag("tls_required", i.tls_required);
  flag("tls_available", i.tls_available);
  flag("auth_required", i.auth_required);
  flag("headers", i.headers);
  flag("jetstream", i.jetstream);
  auto mp = j.find("max_payload");
  if (mp != j.end() && mp->is_number_unsigned() && mp->get<uint64_t>() > 0)
    i.max_payload = static_cast<std::size_t>(std::min<uint64_t>(mp->get<uint64_t>(), 1ull << 40));
  return i;
}

}  // namespace

std::string Parser::feed(std::string_view bytes, std::vector<ServerOp>& out) {
  if (!error_.empty()) return error_;
  try {
    buffer_.append(bytes);
    std::size_t pos = 0;
    while (error_.empty()) {
      if (pending_) {
        const std::size_t need = pending_total_bytes_ + 2;
        if (buffer_.size() - pos < need) break;
        const std::string_view body(buffer_.data() + pos, pending_total_bytes_);
        if (buffer_.compare(pos + pending_total_bytes_, 2, "\r\n") != 0) {
          error_ = "nats protocol: a message payload is not followed by CRLF";
          break;
        }
        Message m = std::move(*pending_);
        pending_.reset();
        m.headers = std::string(body.substr(0, pending_header_bytes_));
        m.payload = std::string(body.substr(pending_header_bytes_));
        m.status = header_status(m.headers);
        ServerOp op;
        op.kind = ServerOp::Kind::kMsg;
        op.message = std::move(m);
        out.push_back(std::move(op));
        pos += need;
        continue;
      }
      const auto eol = buffer_.find("\r\n", pos);
      if (eol == std::string::npos) {
        if (buffer_.size() - pos >= limits_.max_control_line) {
          error_ = "nats protocol: a control line is longer than " +
                   std::to_string(limits_.max_control_line) + " bytes";
        }
        break;
      }
      if (eol + 2 - pos > limits_.max_control_line) {
        error_ = "nats protocol: a control line is longer than " +
                 std::to_string(limits_.max_control_line) + " bytes";
        break;
      }
      const std::string line = buffer_.substr(pos, eol - pos);
      pos = eol + 2;
      error_ = parse_line(line, out);
    }
    buffer_.erase(0, pos);
    if (pending_ && pending_total_bytes_ + 2 > limits_.max_payload + 2 && error_.empty()) {
      error_ = "nats protocol: a message is larger than " + std::to_string(limits_.max_payload) +
               " bytes";
    }
  } catch (const std::exception& e) {
    error_ = std::string("nats protocol: ") + e.what();
  }
  if (!error_.empty()) {
    buffer_.clear();
    buffer_.shrink_to_fit();
    pending_.reset();
  }
  return error_;
}

std::string Parser::parse_line(std::string_view line, std::vector<ServerOp>& out) {
  std::size_t i = 0;
  while (i < line.size() && !blank(line[i])) ++i;
  const std::string_view op = line.substr(0, i);
  std::string_view args = line.substr(i);
  while (!args.empty() && blank(args.front())) args.remove_prefix(1);
  while (!args.empty() && blank(args.back())) args.remove_suffix(1);

  if (equals_nocase(op, "PING") && args.empty()) {
    out.push_back({.kind = ServerOp::Kind::kPing});
  } else if (equals_nocase(op, "PONG") && args.empty()) {
    out.push_back({.kind = ServerOp::Kind::kPong});
  } else if (equals_nocase(op, "+OK") && args.empty()) {
    out.push_back({.kind = ServerOp::Kind::kOk});
  } else if (equals_nocase(op, "-ERR")) {
    std::string_view text = args;
    if (text.size() >= 2 && text.front() == '\'' && text.back() == '\'') {
      text = text.substr(1, text.size() - 2);
    }
    ServerOp e{.kind = ServerOp::Kind::kErr};
    e.error = quote(text.substr(0, 200));
    out.push_back(std::move(e));
  } else if (equals_nocase(op, "INFO")) {
    nlohmann::json j;
    try {
      j = parse_json_bounded(args, 16);
    } catch (const std::exception&) {
      return "nats protocol: INFO nests too deep";
    }
    if (j.is_discarded() || !j.is_object()) return "nats protocol: INFO is not a JSON object";
    ServerOp e{.kind = ServerOp::Kind::kInfo};
    e.info = info_of(j);
    out.push_back(std::move(e));
  } else if (equals_nocase(op, "MSG")) {
    return parse_msg(args, false);
  } else if (equals_nocase(op, "HMSG")) {
    return parse_msg(args, true);
  } else {
    return "nats protocol: unknown operation '" + quote(line) + "'";
  }
  return "";
}

std::string Parser::parse_msg(std::string_view args, bool with_headers) {
  const auto f = fields_of(args);
  const std::size_t sizes = with_headers ? 2 : 1;
  if (f.size() != 2 + sizes && f.size() != 3 + sizes) {
    return std::string("nats protocol: ") + (with_headers ? "HMSG" : "MSG") +
           " expects <subject> <sid> [reply] " +
           (with_headers ? "<#header bytes> <#total bytes>" : "<#bytes>") + ", got '" +
           quote(args) + "'";
  }
  Message m;
  m.subject = std::string(f[0]);
  m.sid = std::string(f[1]);
  if (f.size() == 3 + sizes) m.reply = std::string(f[2]);
  if (!subject_ok(m.subject, false) || (!m.reply.empty() && !subject_ok(m.reply, false))) {
    return "nats protocol: bad subject in '" + quote(args) + "'";
  }
  std::size_t header_bytes = 0, total = 0;
  if (!size_of(f[f.size() - 1], total) ||
      (with_headers && !size_of(f[f.size() - 2], header_bytes))) {
    return "nats protocol: bad size in '" + quote(args) + "'";
  }
  if (header_bytes > total) return "nats protocol: header bytes exceed total bytes";
  if (total > limits_.max_payload) {
    return "nats protocol: a message of " + std::to_string(total) + " bytes is above the " +
           std::to_string(limits_.max_payload) + " bytes allowed";
  }
  pending_ = std::move(m);
  pending_header_bytes_ = header_bytes;
  pending_total_bytes_ = total;
  return "";
}

std::string encode_connect(const ConnectOptions& o) {
  nlohmann::json j = {
      {"verbose", false}, {"pedantic", false},    {"tls_required", o.tls_required},
      {"name", o.name},   {"lang", "c++"},        {"version", o.version},
      {"protocol", 1},    {"headers", o.headers}, {"no_responders", o.no_responders && o.headers}};
  if (!o.auth_token.empty()) j["auth_token"] = o.auth_token;
  if (!o.user.empty()) j["user"] = o.user;
  if (!o.pass.empty()) j["pass"] = o.pass;
  return "CONNECT " + j.dump(-1, ' ', true, nlohmann::json::error_handler_t::replace) + "\r\n";
}

bool is_publish_subject(std::string_view subject) { return subject_ok(subject, false); }
bool is_subscribe_subject(std::string_view subject) { return subject_ok(subject, true); }

namespace {
void check_pub(std::string_view subject, std::string_view reply) {
  if (!is_publish_subject(subject))
    throw std::invalid_argument("nats: bad subject '" + quote(subject) + "'");
  if (!reply.empty() && !is_publish_subject(reply))
    throw std::invalid_argument("nats: bad reply subject '" + quote(reply) + "'");
}
}  // namespace

std::string encode_pub(std::string_view subject, std::string_view reply, std::string_view payload) {
  check_pub(subject, reply);
  std::string out;
  out.reserve(subject.size() + reply.size() + payload.size() + 32);
  out += "PUB ";
  out += subject;
  if (!reply.empty()) {
    out += ' ';
    out += reply;
  }
  out += ' ';
  out += std::to_string(payload.size());
  out += "\r\n";
  out += payload;
  out += "\r\n";
  return out;
}

std::string encode_hpub(std::string_view subject, std::string_view reply, std::string_view headers,
                        std::string_view payload) {
  check_pub(subject, reply);
  std::string out = "HPUB ";
  out += subject;
  if (!reply.empty()) {
    out += ' ';
    out += reply;
  }
  out += ' ' + std::to_string(headers.size()) + ' ' +
         std::to_string(headers.size() + payload.size()) + "\r\n";
  out += headers;
  out += payload;
  out += "\r\n";
  return out;
}

std::string encode_sub(std::string_view subject, std::string_view sid) {
  if (!is_subscribe_subject(subject))
    throw std::invalid_argument("nats: bad subject '" + quote(subject) + "'");
  if (sid.empty() || sid.size() > 32 || !std::all_of(sid.begin(), sid.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c));
      }))
    throw std::invalid_argument("nats: bad sid '" + quote(sid) + "'");
  return "SUB " + std::string(subject) + " " + std::string(sid) + "\r\n";
}

std::string encode_unsub(std::string_view sid, uint64_t max) {
  std::string out = "UNSUB " + std::string(sid);
  if (max != 0) out += " " + std::to_string(max);
  return out + "\r\n";
}

}  // namespace vigil::agent::nats
