#include "arch/x86_64/kernel_loader.h"

#include <elf.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "arch/x86_64/layout.h"

namespace vmkit::x86 {
namespace {

// A synthetic bzImage: 4 setup sectors + boot sector, then `payload` bytes.
std::vector<uint8_t> make_bzimage(size_t payload, uint16_t version = 0x020f) {
  std::vector<uint8_t> image(5 * 512 + payload, 0);
  SetupHeader h{};
  h.setup_sects = 4;
  h.syssize = static_cast<uint32_t>(payload / 16);
  h.boot_flag = kBootFlag;
  h.header = kHdrSMagic;
  h.version = version;
  h.loadflags = kLoadedHigh;
  h.xloadflags = kXlfKernel64;
  h.relocatable_kernel = 1;
  h.kernel_alignment = 0x200000;
  h.pref_address = 0x1000000;
  h.init_size = 0x800000;
  h.cmdline_size = 2047;
  h.initrd_addr_max = 0x7fffffff;
  std::memcpy(image.data() + kSetupHeaderOffset, &h, sizeof(h));
  for (size_t i = 0; i < payload; ++i) image[5 * 512 + i] = static_cast<uint8_t>(i);
  return image;
}

GuestMemory ram(uint64_t size) {
  return GuestMemory::create({{GuestAddress(0), size}}).value();
}

TEST(SetupHeader, AcceptsValidImage) {
  auto image = make_bzimage(0x1000);
  auto h = parse_setup_header(SpanKernelImage(image));
  ASSERT_TRUE(h.ok()) << h.error().message();
  EXPECT_EQ(+h->version, 0x020f);  // + copies the packed field
}

TEST(SetupHeader, RejectsBadImages) {
  EXPECT_NE(parse_setup_header(SpanKernelImage(std::vector<uint8_t>(100)))
                .error()
                .message()
                .find("not a bzImage"),
            std::string::npos);
  auto no_magic = make_bzimage(0x1000);
  no_magic[0x202] = 'X';
  EXPECT_NE(parse_setup_header(SpanKernelImage(no_magic)).error().message().find("not a bzImage"),
            std::string::npos);
  EXPECT_NE(parse_setup_header(SpanKernelImage(make_bzimage(0x1000, 0x020a)))
                .error()
                .message()
                .find("64-bit"),
            std::string::npos);
  auto truncated = make_bzimage(0x1000);
  truncated.resize(truncated.size() - 16);
  EXPECT_NE(parse_setup_header(SpanKernelImage(truncated)).error().message().find("truncated"),
            std::string::npos);
}

TEST(LoadKernel, LoadsAtPreferredAddress) {
  auto mem = ram(64 << 20);
  auto image = make_bzimage(0x1000);
  auto k = load_kernel(mem, SpanKernelImage(image), 64 << 20);
  ASSERT_TRUE(k.ok()) << k.error().message();
  EXPECT_EQ(k->protocol, BootProtocol::kLinux64);
  EXPECT_EQ(k->load_address, 0x1000000u);
  EXPECT_EQ(k->entry, 0x1000200u);
  EXPECT_EQ(k->end, 0x1000000u + 0x800000u);
  EXPECT_EQ(mem.read_obj<uint8_t>(GuestAddress(0x1000000 + 0x42)).value(), 0x42);
}

TEST(LoadKernel, FallsBackBelowPreferredAndFailsWhenTooSmall) {
  auto image = make_bzimage(0x1000);
  auto small = ram(16 << 20);  // pref_address + init_size does not fit: align 1 MiB up to 2 MiB
  auto k = load_kernel(small, SpanKernelImage(image), 16 << 20);
  ASSERT_TRUE(k.ok()) << k.error().message();
  EXPECT_EQ(k->load_address, 0x200000u);
  auto tiny = ram(8 << 20);
  auto fail = load_kernel(tiny, SpanKernelImage(image), 8 << 20);
  ASSERT_FALSE(fail.ok());
  EXPECT_NE(fail.error().message().find("give the guest more memory"), std::string::npos);
}

TEST(LoadKernel, ReadsAFileStraightIntoGuestMemory) {
  char path[] = "/tmp/vmkit-kernel-XXXXXX";
  int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  auto image = make_bzimage(0x3000);
  ASSERT_EQ(::write(fd, image.data(), image.size()), static_cast<ssize_t>(image.size()));
  ::close(fd);
  auto file = FileKernelImage::open(path);
  ::unlink(path);
  ASSERT_TRUE(file.ok()) << file.error().message();
  EXPECT_EQ(file->size(), image.size());
  auto mem = ram(64 << 20);
  auto k = load_kernel(mem, *file, 64 << 20);
  ASSERT_TRUE(k.ok()) << k.error().message();
  std::vector<uint8_t> loaded(0x3000);
  ASSERT_TRUE(mem.read(GuestAddress(k->load_address), loaded).ok());
  EXPECT_TRUE(std::equal(loaded.begin(), loaded.end(), image.begin() + 5 * 512));

  auto missing = FileKernelImage::open("/nonexistent/vmlinuz");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message().find("/nonexistent/vmlinuz"), std::string::npos);
}

std::vector<uint8_t> make_pvh_elf(uint64_t paddr, uint32_t entry, bool with_note) {
  std::vector<uint8_t> image(0x400, 0);
  Elf64_Ehdr eh{};
  std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
  eh.e_ident[EI_CLASS] = ELFCLASS64;
  eh.e_machine = EM_X86_64;
  eh.e_phoff = sizeof(eh);
  eh.e_phentsize = sizeof(Elf64_Phdr);
  eh.e_phnum = 2;
  std::memcpy(image.data(), &eh, sizeof(eh));
  Elf64_Phdr load{};
  load.p_type = PT_LOAD;
  load.p_offset = 0x200;
  load.p_paddr = paddr;
  load.p_filesz = 0x10;
  load.p_memsz = 0x1000;
  std::memcpy(image.data() + sizeof(eh), &load, sizeof(load));
  Elf64_Phdr note{};
  note.p_type = PT_NOTE;
  note.p_offset = 0x300;
  note.p_filesz = with_note ? 20 : 0;
  std::memcpy(image.data() + sizeof(eh) + sizeof(load), &note, sizeof(note));
  uint32_t n[3] = {4, 4, 18};
  std::memcpy(image.data() + 0x300, n, 12);
  std::memcpy(image.data() + 0x30c, "Xen", 4);
  std::memcpy(image.data() + 0x310, &entry, 4);
  std::memset(image.data() + 0x200, 0xcc, 0x10);
  return image;
}

TEST(LoadKernel, PvhElf) {
  auto mem = ram(16 << 20);
  auto k = load_kernel(mem, SpanKernelImage(make_pvh_elf(0x100000, 0x100004, true)), 16 << 20);
  ASSERT_TRUE(k.ok()) << k.error().message();
  EXPECT_EQ(k->protocol, BootProtocol::kPvh);
  EXPECT_EQ(k->entry, 0x100004u);
  EXPECT_EQ(k->end, 0x101000u);
  EXPECT_EQ(mem.read_obj<uint8_t>(GuestAddress(0x10000f)).value(), 0xcc);
  EXPECT_EQ(mem.read_obj<uint8_t>(GuestAddress(0x100010)).value(), 0);  // bss zeroed
}

TEST(LoadKernel, PvhElfErrors) {
  auto mem = ram(16 << 20);
  EXPECT_NE(load_kernel(mem, SpanKernelImage(make_pvh_elf(0x100000, 0x100004, false)), 16 << 20)
                .error()
                .message()
                .find("no PVH entry note"),
            std::string::npos);
  EXPECT_NE(load_kernel(mem, SpanKernelImage(make_pvh_elf(0x1000, 0x1004, true)), 16 << 20)
                .error()
                .message()
                .find("outside guest RAM"),
            std::string::npos);
  EXPECT_FALSE(
      load_kernel(mem, SpanKernelImage(make_pvh_elf(0xfff800, 0x1004, true)), 16 << 20).ok());
  // Found by fuzz_kernel_loader: an entry point outside every loaded segment.
  EXPECT_NE(load_kernel(mem, SpanKernelImage(make_pvh_elf(0x100000, 0x1010004, true)), 16 << 20)
                .error()
                .message()
                .find("PVH entry 0x1010004 is outside the loaded kernel"),
            std::string::npos);
}

}  // namespace
}  // namespace vmkit::x86
