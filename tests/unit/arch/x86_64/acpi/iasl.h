// Runs the ACPICA compiler/disassembler (iasl, Debian's acpica-tools) from unit tests: compile a
// piece of ASL to reference AML bytes, or disassemble a table vmkit built and read the result.
// A missing iasl fails the test that needs it (never skips).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace vmkit::x86::acpi::testing {

// A fresh directory under $TMPDIR (or /tmp), removed when the object goes away.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs iasl with `args` (already shell-safe) in `dir`.
CommandResult run_iasl(const std::filesystem::path& dir, const std::string& args);

struct CompiledAml {
  bool ok = false;
  std::string log;            // iasl's output, for failure messages
  std::vector<uint8_t> body;  // the AML after the 36-byte table header
};

// Compiles `asl` as the body of a DefinitionBlock (a DSDT, revision 2) and returns the AML
// after the header. `flags` go to iasl (e.g. "-on": keep name paths as written).
CompiledAml compile_asl(std::string_view asl, const std::string& flags = "");

struct Disassembly {
  bool ok = false;
  std::string log;  // iasl's output
  std::string dsl;  // the disassembled ASL (or data table) text
};

// Writes `table` to a file and disassembles it with `iasl -d`.
Disassembly disassemble(const std::vector<uint8_t>& table);

// Hex dump of bytes for readable mismatches.
std::string hex(const std::vector<uint8_t>& bytes);

}  // namespace vmkit::x86::acpi::testing
