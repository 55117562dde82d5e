// `vmkit disk create|convert|resize` and the registration of all `vmkit disk` subcommands.
#include "cli/disk_command.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>

#include "base/checked.h"
#include "base/size.h"
#include "disk/disk_open.h"
#include "disk/image_file.h"
#include "disk/iov_util.h"
#include "disk/qcow2_image.h"
#include "disk/raw_image.h"

namespace vmkit::cli {

namespace {

struct CreateArgs {
  std::string file, size, format = "qcow2", backing, backing_format, preallocate = "off",
                          cluster_size = "64K", compat = "1.1";
  uint32_t refcount_bits = 16;
  bool lazy_refcounts = false, force = false;
};

struct ConvertArgs {
  std::string input, output, format, source_format, cluster_size = "64K", compat = "1.1";
  bool force = false;
};

struct ResizeArgs {
  std::string file, size, format;
  bool shrink = false;
};

Result<Preallocation> parse_preallocation(const std::string& s) {
  if (s == "off") return Preallocation::kOff;
  if (s == "metadata") return Preallocation::kMetadata;
  if (s == "falloc") return Preallocation::kFalloc;
  if (s == "full") return Preallocation::kFull;
  return Error("unknown preallocation mode '" + s + "' (off, metadata, falloc, full)");
}

Result<uint32_t> parse_compat(const std::string& s) {
  if (s == "1.1" || s == "v3") return 3u;
  if (s == "0.10" || s == "v2") return 2u;
  return Error("unknown qcow2 compat level '" + s + "' (0.10 or 1.1)");
}

int run_create(const CreateArgs& a) {
  CreateOptions o;
  o.format = a.format;
  if (!a.size.empty()) {
    auto size = parse_size(a.size);
    if (!size.ok()) return fail(size.error().message());
    o.size = *size;
  }
  auto prealloc = parse_preallocation(a.preallocate);
  if (!prealloc.ok()) return fail(prealloc.error().message());
  o.preallocation = *prealloc;
  auto cluster = parse_size(a.cluster_size);
  if (!cluster.ok()) return fail(cluster.error().message());
  o.cluster_size = *cluster;
  auto version = parse_compat(a.compat);
  if (!version.ok()) return fail(version.error().message());
  o.version = *version;
  o.refcount_bits = a.refcount_bits;
  o.lazy_refcounts = a.lazy_refcounts;
  o.backing = a.backing;
  o.backing_format = a.backing_format;
  o.force = a.force;
  Status s = create_disk_image(a.file, o);
  if (!s.ok()) return fail(s.error().message());
  return 0;
}

// Copies the source's guest-visible content; all-zero chunks are skipped (left unallocated).
Status copy_image(DiskImage& in, DiskImage& out, uint64_t chunk) {
  AlignedBuffer buf(static_cast<size_t>(chunk));
  uint64_t size = in.virtual_size();
  for (uint64_t off = 0; off < size; off += chunk) {
    uint64_t n = std::min(chunk, size - off);
    iovec v{buf.data(), static_cast<size_t>(n)};
    TRY(in.read(off, {&v, 1}));
    if (buffer_is_zero(buf.data(), static_cast<size_t>(n))) continue;
    TRY(out.write(off, {&v, 1}));
  }
  return out.flush();
}

int run_convert(const ConvertArgs& a) {
  if (a.format != "raw" && a.format != "qcow2") {
    return fail("unknown output format '" + a.format + "' (supported: raw, qcow2)");
  }
  struct stat in_st {
  }, out_st{};
  if (::stat(a.input.c_str(), &in_st) != 0) {
    return fail(Error::from_errno("open " + a.input).message());
  }
  bool out_exists = ::stat(a.output.c_str(), &out_st) == 0;
  if (out_exists && out_st.st_dev == in_st.st_dev && out_st.st_ino == in_st.st_ino) {
    return fail("input and output are the same file: " + a.output);
  }
  if (out_exists && !a.force) return fail(a.output + " already exists (use --force to replace it)");
  DiskOpenOptions in_opts;
  in_opts.format = a.source_format;
  in_opts.read_only = true;
  auto in = open_disk_image(a.input, in_opts);
  if (!in.ok()) return fail(in.error().message());
  CreateOptions o;
  o.format = a.format;
  uint64_t size = (*in)->virtual_size();
  o.size = a.format == "qcow2" ? align_up(size, 512) : size;
  auto cluster = parse_size(a.cluster_size);
  if (!cluster.ok()) return fail(cluster.error().message());
  o.cluster_size = *cluster;
  auto version = parse_compat(a.compat);
  if (!version.ok()) return fail(version.error().message());
  o.version = *version;
  // Build under a temporary name and move it into place only when complete.
  size_t slash = a.output.rfind('/');
  std::string dir = slash == std::string::npos ? "." : a.output.substr(0, slash);
  std::string base = slash == std::string::npos ? a.output : a.output.substr(slash + 1);
  std::string tmp = dir + "/." + base + ".vmkit-convert-" + std::to_string(::getpid());
  o.force = true;
  Status s = create_disk_image(tmp, o);
  if (s.ok()) {
    DiskOpenOptions out_opts;
    out_opts.format = a.format;
    auto out = open_disk_image(tmp, out_opts);
    if (out.ok()) {
      uint64_t chunk = std::max<uint64_t>(1 << 20, o.cluster_size);
      s = copy_image(**in, **out, chunk);
    } else {
      s = out.error();
    }
  }
  if (s.ok()) {
    int rc =
        a.force ? ::rename(tmp.c_str(), a.output.c_str()) : ::link(tmp.c_str(), a.output.c_str());
    if (rc != 0) s = Error::from_errno("creating " + a.output);
  }
  if (!s.ok() || !a.force) ::unlink(tmp.c_str());
  if (!s.ok()) return fail("converting " + a.input + ": " + s.error().message());
  return 0;
}

int run_resize(const ResizeArgs& a) {
  std::string text = a.size;
  int sign = 0;
  if (!text.empty() && (text[0] == '+' || text[0] == '-')) {
    sign = text[0] == '+' ? 1 : -1;
    text = text.substr(1);
  }
  auto amount = parse_size(text);
  if (!amount.ok()) return fail(amount.error().message());
  std::string format = a.format;
  if (format.empty()) {
    auto detected = detect_format(a.file);
    if (!detected.ok()) return fail(detected.error().message());
    format = *detected;
  }
  if (format != "raw" && format != "qcow2") return fail("unknown image format '" + format + "'");
  auto file = ImageFile::open(a.file, true, CacheMode::kWriteback);
  if (!file.ok()) return fail(file.error().message());
  if (format == "raw") {
    auto current = file->size();
    if (!current.ok()) return fail(current.error().message());
    uint64_t target = *amount;
    if (sign > 0) target = *current + *amount;
    if (sign < 0) {
      if (*amount > *current) return fail("cannot shrink below zero");
      target = *current - *amount;
    }
    if (target < *current && !a.shrink) {
      return fail("shrinking " + a.file + " loses data past " + format_size(target) +
                  "; pass --shrink to do it anyway");
    }
    Status s = file->truncate(target);
    if (s.ok()) s = file->sync();
    return s.ok() ? 0 : fail(s.error().message());
  }
  std::vector<uint8_t> head(static_cast<size_t>(std::min<uint64_t>(file->size().value(), 2 << 20)));
  Status s = file->read(head.data(), head.size(), 0);
  if (!s.ok()) return fail(s.error().message());
  auto header = qcow2::parse_header(head, file->size().value());
  if (!header.ok()) return fail(a.file + ": " + header.error().message());
  uint64_t current = header->size;
  uint64_t target = sign > 0   ? current + *amount
                    : sign < 0 ? current - std::min(current, *amount)
                               : *amount;
  if (target < current) return fail("shrinking qcow2 images is not supported");
  if (target % 512 != 0) return fail("qcow2 image size must be a multiple of 512 bytes");
  auto image = Qcow2Image::open(std::move(file).value(), std::move(header).value(), nullptr);
  if (!image.ok()) return fail(a.file + ": " + image.error().message());
  s = (*image)->resize(target);
  return s.ok() ? 0 : fail(s.error().message());
}

}  // namespace

Command register_disk_command(CLI::App& app) {
  CLI::App* disk = app.add_subcommand("disk", "Create, inspect, check, convert and resize images");
  disk->require_subcommand(1);

  auto create_args = std::make_shared<CreateArgs>();
  CLI::App* create = disk->add_subcommand("create", "Create a new disk image");
  create->add_option("file", create_args->file, "Image to create")->required();
  create->add_option("size", create_args->size,
                     "Virtual size (K/M/G/T suffixes; default: the backing file's size)");
  create->add_option("-f,--format", create_args->format, "raw or qcow2 (default qcow2)");
  create->add_option("-b,--backing", create_args->backing,
                     "Backing file (relative names are relative to the new image)");
  create->add_option("-F,--backing-format", create_args->backing_format,
                     "Format of the backing file (default: detected)");
  create->add_option("--preallocate", create_args->preallocate, "off, metadata, falloc or full");
  create->add_option("--cluster-size", create_args->cluster_size, "qcow2 cluster size (512..2M)");
  create->add_option("--compat", create_args->compat, "qcow2 version: 1.1 (v3) or 0.10 (v2)");
  create->add_option("--refcount-bits", create_args->refcount_bits, "1, 2, 4, 8, 16, 32 or 64");
  create->add_flag("--lazy-refcounts", create_args->lazy_refcounts, "Set the lazy refcounts bit");
  create->add_flag("--force", create_args->force, "Replace an existing file");

  auto info_args = std::make_shared<DiskInfoArgs>();
  CLI::App* info = disk->add_subcommand("info", "Describe an image and its backing chain");
  info->add_option("file", info_args->file, "Image")->required();
  info->add_option("-f,--format", info_args->format, "raw or qcow2 (default: detected)");
  info->add_flag("--json", info_args->json, "JSON output (field names as qemu-img info)");

  auto check_args = std::make_shared<DiskCheckArgs>();
  CLI::App* check = disk->add_subcommand("check", "Check a qcow2 image's metadata");
  check->add_option("file", check_args->file, "Image")->required();
  check->add_option("-f,--format", check_args->format, "raw or qcow2 (default: detected)");
  check->add_flag("--repair", check_args->repair, "Fix leaks and refcount errors");

  auto convert_args = std::make_shared<ConvertArgs>();
  CLI::App* convert = disk->add_subcommand("convert", "Copy an image into a new one");
  convert->add_option("input", convert_args->input, "Source image")->required();
  convert->add_option("output", convert_args->output, "Image to create")->required();
  convert->add_option("-O,--format", convert_args->format, "Output format: raw or qcow2")
      ->required();
  convert->add_option("-f,--source-format", convert_args->source_format,
                      "Source format (default: detected)");
  convert->add_option("--cluster-size", convert_args->cluster_size, "qcow2 cluster size");
  convert->add_option("--compat", convert_args->compat, "qcow2 version: 1.1 or 0.10");
  convert->add_flag("--force", convert_args->force, "Replace an existing output");

  auto resize_args = std::make_shared<ResizeArgs>();
  CLI::App* resize = disk->add_subcommand("resize", "Change an image's virtual size");
  resize->add_option("file", resize_args->file, "Image")->required();
  resize->add_option("size", resize_args->size, "New size, or +N / -N")->required();
  resize->add_option("-f,--format", resize_args->format, "raw or qcow2 (default: detected)");
  resize->add_flag("--shrink", resize_args->shrink, "Allow shrinking a raw image");

  Command command;
  command.app = disk;
  command.run = [=]() {
    if (create->parsed()) return run_create(*create_args);
    if (info->parsed()) return run_disk_info(*info_args);
    if (check->parsed()) return run_disk_check(*check_args);
    if (convert->parsed()) return run_convert(*convert_args);
    if (resize->parsed()) return run_resize(*resize_args);
    return fail("no disk subcommand given");
  };
  return command;
}

}  // namespace vmkit::cli
