// Runs the ACPICA tools (Debian's acpica-tools) from unit tests: iasl compiles a piece of ASL to
// reference AML bytes or disassembles a table vmkit built; acpiexec loads a table set into the
// ACPICA interpreter (the code Linux runs) and evaluates objects. A missing tool fails the test
// that needs it (never skips).
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
// Runs `program args` in `dir`, capturing stdout and stderr.
CommandResult run_tool(const std::filesystem::path& dir, const std::string& program,
                       const std::string& args);

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

// Writes each table to a file and runs `acpiexec -b "<commands>"` on them all (the RSDP is
// left out: acpiexec builds its own). The output includes ACPICA's errors and warnings.
CommandResult run_acpiexec(const std::vector<std::vector<uint8_t>>& tables,
                           const std::string& commands);

// Hex dump of bytes for readable mismatches.
std::string hex(const std::vector<uint8_t>& bytes);

}  // namespace vmkit::x86::acpi::testing
