// Errors are values: Result<T> holds a T or an Error whose message says what failed and with
// which value. TRY(expr) unwraps or returns the error from the enclosing function.
#pragma once

#include <cerrno>
#include <cstring>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

namespace vmkit {

class Error {
 public:
  explicit Error(std::string message, int sys_errno = 0)
      : message_(std::move(message)), errno_(sys_errno) {}

  // "what: strerror(errno)" for a failed system call; captures errno at the call.
  static Error from_errno(const std::string& what) { return from_errno(what, errno); }
  static Error from_errno(const std::string& what, int err) {
    return Error(what + ": " + std::strerror(err), err);
  }

  const std::string& message() const { return message_; }
  int sys_errno() const { return errno_; }

  // Adds context in front: "opening disk: open foo: No such file".
  Error context(const std::string& what) const& { return Error(what + ": " + message_, errno_); }

 private:
  std::string message_;
  int errno_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const& { return std::get<1>(v_); }
  Error&& error() && { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), failed_(true) {}  // NOLINT

  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  void value() const {}
  const Error& error() const& { return error_; }
  Error&& error() && { return std::move(error_); }

 private:
  Error error_{""};
  bool failed_ = false;
};

using Status = Result<void>;

inline Status ok_status() {
  return {};
}

}  // namespace vmkit

// TRY(expr): evaluates a Result; on error returns it from the enclosing function, otherwise yields
// the value (a GNU statement expression, supported by GCC and clang).
#define TRY(expr)                            \
  ({                                         \
    auto&& try_result_ = (expr);             \
    if (!try_result_.ok()) {                 \
      return std::move(try_result_).error(); \
    }                                        \
    std::move(try_result_).value();          \
  })
