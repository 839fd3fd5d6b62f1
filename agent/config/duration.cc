#include "agent/config/duration.h"

#include <cstdint>
#include <stdexcept>

namespace vigil::agent {
namespace {

constexpr std::string_view kExpected = "expected a number followed by ms, s, m or h";

[[noreturn]] void fail(std::string_view text, std::string_view reason) {
  std::string msg = "invalid duration '";
  msg.append(text);
  msg.append("': ");
  msg.append(reason);
  throw std::invalid_argument(msg);
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Adds a*b to *acc; returns false on overflow.
bool add_product(int64_t* acc, int64_t a, int64_t b) {
  int64_t p = 0;
  if (__builtin_mul_overflow(a, b, &p)) return false;
  return !__builtin_add_overflow(*acc, p, acc);
}

}  // namespace

std::chrono::milliseconds parse_duration(std::string_view text) {
  if (text.empty()) fail(text, kExpected);
  int64_t total_ms = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    // Number: digits with an optional fractional part; at least one digit.
    int64_t whole = 0;
    std::size_t int_digits = 0;
    while (i < text.size() && is_digit(text[i])) {
      if (__builtin_mul_overflow(whole, 10, &whole) ||
          __builtin_add_overflow(whole, text[i] - '0', &whole)) {
        fail(text, "value out of range");
      }
      ++i;
      ++int_digits;
    }
    int64_t frac = 0;      // fractional digits as an integer
    int64_t frac_den = 1;  // 10^(number of fractional digits)
    std::size_t frac_digits = 0;
    if (i < text.size() && text[i] == '.') {
      ++i;
      while (i < text.size() && is_digit(text[i])) {
        if (frac_digits >= 15) fail(text, "too many fractional digits");
        frac = frac * 10 + (text[i] - '0');
        frac_den *= 10;
        ++i;
        ++frac_digits;
      }
      if (frac_digits == 0) fail(text, kExpected);
    }
    if (int_digits == 0 && frac_digits == 0) fail(text, kExpected);

    // Unit.
    int64_t unit_ms = 0;
    std::string_view rest = text.substr(i);
    if (rest.starts_with("ms")) {
      unit_ms = 1;
      i += 2;
    } else if (rest.starts_with("s")) {
      unit_ms = 1000;
      i += 1;
    } else if (rest.starts_with("m")) {
      unit_ms = 60 * 1000;
      i += 1;
    } else if (rest.starts_with("h")) {
      unit_ms = 60 * 60 * 1000;
      i += 1;
    } else {
      fail(text, kExpected);
    }

    if (!add_product(&total_ms, whole, unit_ms)) fail(text, "value out of range");
    if (frac != 0) {
      int64_t scaled = 0;
      if (__builtin_mul_overflow(frac, unit_ms, &scaled)) fail(text, "value out of range");
      if (scaled % frac_den != 0) fail(text, "finer than the 1ms resolution");
      if (__builtin_add_overflow(total_ms, scaled / frac_den, &total_ms)) {
        fail(text, "value out of range");
      }
    }
  }
  return std::chrono::milliseconds(total_ms);
}

std::string format_duration(std::chrono::milliseconds d) {
  int64_t ms = d.count();
  std::string out;
  if (ms < 0) out.push_back('-');
  // The magnitude as unsigned, so that the minimum value does not overflow.
  const uint64_t mag = ms < 0 ? uint64_t(0) - static_cast<uint64_t>(ms) : static_cast<uint64_t>(ms);
  if (mag == 0) return "0s";
  if (mag < 1000) return out + std::to_string(mag) + "ms";

  const uint64_t hours = mag / 3'600'000;
  const uint64_t minutes = (mag / 60'000) % 60;
  const uint64_t seconds = (mag / 1000) % 60;
  const uint64_t millis = mag % 1000;
  if (hours != 0) out += std::to_string(hours) + "h";
  if (minutes != 0) out += std::to_string(minutes) + "m";
  if (seconds != 0 || millis != 0) {
    out += std::to_string(seconds);
    if (millis != 0) {
      std::string frac = std::to_string(millis);
      frac.insert(0, 3 - frac.size(), '0');
      while (frac.back() == '0') frac.pop_back();
      out += "." + frac;
    }
    out += "s";
  }
  return out;
}

}  // namespace vigil::agent
