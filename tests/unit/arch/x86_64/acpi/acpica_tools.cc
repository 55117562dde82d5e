#include "acpica_tools.h"

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>

#ifndef VMKIT_IASL
#define VMKIT_IASL "iasl"
#endif
#ifndef VMKIT_ACPIEXEC
#define VMKIT_ACPIEXEC "acpiexec"
#endif

namespace vmkit::x86::acpi::testing {
namespace fs = std::filesystem;

TempDir::TempDir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/vmkit-acpi-XXXXXX";
  if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp " + pattern + " failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

CommandResult run_iasl(const fs::path& dir, const std::string& args) {
  return run_tool(dir, VMKIT_IASL, args);
}

CommandResult run_tool(const fs::path& dir, const std::string& program, const std::string& args) {
  std::string command = "cd '" + dir.string() + "' && " + program + " " + args + " 2>&1";
  CommandResult result;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) {
    result.output = "popen failed for: " + command;
    return result;
  }
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) result.output.append(buf.data(), n);
  int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (result.exit_code == 127) {
    result.output +=
        "\n(" + program + " not found: install Debian's acpica-tools, see scripts/packages.txt)";
  }
  return result;
}

namespace {

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_file(const fs::path& path, const void* data, size_t size) {
  std::ofstream out(path, std::ios::binary);
  out.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
}

}  // namespace

CompiledAml compile_asl(std::string_view asl, const std::string& flags) {
  TempDir dir;
  std::string source = "DefinitionBlock (\"\", \"DSDT\", 2, \"VMKIT\", \"VMKITDSD\", 1)\n{\n" +
                       std::string(asl) + "\n}\n";
  write_file(dir.path() / "ref.asl", source.data(), source.size());
  CommandResult r = run_iasl(dir.path(), flags + " -p ref ref.asl");
  CompiledAml out;
  out.log = source + "\n" + r.output;
  std::string aml = read_file(dir.path() / "ref.aml");
  if (r.exit_code != 0 || aml.size() < 36) return out;
  out.body.assign(aml.begin() + 36, aml.end());
  out.ok = true;
  return out;
}

Disassembly disassemble(const std::vector<uint8_t>& table) {
  TempDir dir;
  write_file(dir.path() / "table.dat", table.data(), table.size());
  CommandResult r = run_iasl(dir.path(), "-d table.dat");
  Disassembly out;
  out.log = r.output;
  out.dsl = read_file(dir.path() / "table.dsl");
  out.ok = r.exit_code == 0 && !out.dsl.empty();
  return out;
}

CommandResult run_acpiexec(const std::vector<std::vector<uint8_t>>& tables,
                           const std::string& commands) {
  TempDir dir;
  std::string files;
  for (size_t i = 0; i < tables.size(); ++i) {
    std::string file = "t" + std::to_string(i) + ".dat";
    write_file(dir.path() / file, tables[i].data(), tables[i].size());
    files += " " + file;
  }
  return run_tool(dir.path(), VMKIT_ACPIEXEC, "-b \"" + commands + "\"" + files);
}

std::string hex(const std::vector<uint8_t>& bytes) {
  std::ostringstream s;
  char b[4];
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::snprintf(b, sizeof(b), "%02x", bytes[i]);
    s << (i % 16 == 0 ? (i ? "\n" : "") : " ") << b;
  }
  return s.str();
}

}  // namespace vmkit::x86::acpi::testing
