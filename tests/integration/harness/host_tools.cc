#include "host_tools.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <vector>

#include "base/unique_fd.h"

#ifndef VMKIT_DEFAULT_SCRATCH
#define VMKIT_DEFAULT_SCRATCH "/var/tmp/vmkit-guest-scratch"
#endif

namespace vmkit::guest_test {
namespace {

// True if a file system at `dir` punches holes: a 64 KiB file, written, loses its blocks.
bool punches_holes(const std::string& dir) {
  std::string path = dir + "/.vmkit-punch-probe-XXXXXX";
  UniqueFd fd(mkostemp(path.data(), O_CLOEXEC));
  if (!fd) return false;
  std::vector<char> data(64 << 10, 'x');
  bool ok = write(fd.get(), data.data(), data.size()) == static_cast<ssize_t>(data.size()) &&
            fsync(fd.get()) == 0 &&
            fallocate(fd.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
                      static_cast<off_t>(data.size())) == 0;
  struct stat st {};
  ok = ok && fstat(fd.get(), &st) == 0 && st.st_blocks == 0;
  unlink(path.c_str());
  return ok;
}

}  // namespace

HostShellResult host_shell(const std::string& command) {
  HostShellResult r;
  FILE* p = ::popen(("exec 2>&1; " + command).c_str(), "r");
  if (p == nullptr) {
    r.output = "popen failed";
    return r;
  }
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  int status = ::pclose(p);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

Result<std::string> host_shell_ok(const std::string& command) {
  HostShellResult r = host_shell(command);
  if (r.status != 0) {
    return Error(fmt::format("host command `{}` exited {}: {}", command, r.status, r.output));
  }
  return r.output;
}

std::string sh_quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::string sha256_command(const std::string& file, std::uint64_t skip_mib, std::uint64_t count_mib,
                           bool direct) {
  std::string dd = fmt::format("dd if={} bs=1M skip={}", file, skip_mib);
  if (count_mib != 0) dd += fmt::format(" count={}", count_mib);
  if (direct) dd += " iflag=direct";
  return dd + " 2>/dev/null | sha256sum";
}

Result<std::string> parse_sha256(const std::string& text, const std::string& what) {
  std::size_t run = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    bool hex = std::isxdigit(static_cast<unsigned char>(text[i])) != 0 &&
               !std::isupper(static_cast<unsigned char>(text[i]));
    run = hex ? run + 1 : 0;
    if (run == 64 &&
        (i + 1 == text.size() || !std::isxdigit(static_cast<unsigned char>(text[i + 1])))) {
      return text.substr(i + 1 - 64, 64);
    }
  }
  return Error(fmt::format("expected a SHA-256 for {}, got \"{}\"", what, text));
}

Result<std::string> host_sha256(const std::string& file, std::uint64_t skip_mib,
                                std::uint64_t count_mib) {
  std::string out = TRY(host_shell_ok(sha256_command(sh_quote(file), skip_mib, count_mib)));
  return parse_sha256(out, file);
}

Result<std::uint64_t> allocated_bytes(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return Error::from_errno("stat " + path);
  return static_cast<std::uint64_t>(st.st_blocks) * 512;
}

std::string scratch_root() {
  const char* env = std::getenv("VMKIT_GUEST_SCRATCH");
  return env != nullptr && *env != '\0' ? env : VMKIT_DEFAULT_SCRATCH;
}

Result<std::string> punch_capable_root() {
  std::vector<std::string> candidates = {scratch_root()};
  const char* tmp = std::getenv("TMPDIR");
  if (tmp != nullptr && *tmp != '\0') candidates.emplace_back(tmp);
  candidates.emplace_back("/var/tmp");
  std::string tried;
  for (const auto& dir : candidates) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (punches_holes(dir)) return dir;
    tried += (tried.empty() ? "" : ", ") + dir;
  }
  return Error("no directory whose file system punches holes (fallocate PUNCH_HOLE) among: " +
               tried);
}

Result<ScratchDir> ScratchDir::create(const std::string& root, const std::string& prefix) {
  std::error_code ec;
  std::filesystem::create_directories(root, ec);
  if (ec) return Error(fmt::format("cannot create {}: {}", root, ec.message()));
  std::string path = fmt::format("{}/{}-XXXXXX", root, prefix);
  if (mkdtemp(path.data()) == nullptr) return Error::from_errno("mkdtemp " + path);
  return ScratchDir(path);
}

ScratchDir::~ScratchDir() {
  if (path_.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace vmkit::guest_test
