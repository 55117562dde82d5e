#include "disk/disk_open.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "base/checked.h"
#include "base/log.h"
#include "disk/image_file.h"
#include "disk/probed_raw_guard.h"
#include "disk/raw_image.h"

namespace vmkit {

namespace {

constexpr size_t kMaxChainDepth = 1000;

struct FileId {
  dev_t dev;
  ino_t ino;
  bool operator==(const FileId& o) const { return dev == o.dev && ino == o.ino; }
};

struct Chain {
  std::vector<std::pair<FileId, std::string>> seen;

  Status enter(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return Error::from_errno("open " + path);
    FileId id{st.st_dev, st.st_ino};
    for (const auto& [other, name] : seen) {
      if (other == id) {
        std::string loop;
        for (const auto& [_, n] : seen) loop += n + " -> ";
        return Error("backing file loop: " + loop + path, ELOOP);
      }
    }
    if (seen.size() >= kMaxChainDepth) {
      return Error("backing chain deeper than " + std::to_string(kMaxChainDepth), ELOOP);
    }
    seen.emplace_back(id, path);
    return {};
  }
};

Status check_format_name(const std::string& format) {
  if (format == "raw" || format == "qcow2") return {};
  return Error("unknown image format '" + format + "' (supported: raw, qcow2)", EINVAL);
}

Result<qcow2::Header> read_qcow2_header(const ImageFile& file) {
  uint64_t size = TRY(file.size());
  std::vector<uint8_t> head(static_cast<size_t>(std::min<uint64_t>(size, 1ull << 21)));
  TRY(file.read(head.data(), head.size(), 0));
  return qcow2::parse_header(head, size);
}

// The format of a backing file: as the header extension says, else detected (with a warning,
// since only the qcow2 magic can be recognized).
Result<std::string> backing_format_of(const qcow2::Header& h, const std::string& backing_path) {
  if (!h.backing_format.empty()) {
    TRY(check_format_name(h.backing_format));
    return h.backing_format;
  }
  std::string format = TRY(detect_format(backing_path));
  LOG_DEBUG("{}: no backing format recorded; detected {}", backing_path, format);
  return format;
}

Result<std::unique_ptr<DiskImage>> open_chain(const std::string& path, std::string format,
                                              const DiskOpenOptions& options, Chain& chain) {
  TRY(chain.enter(path));
  bool probed = format.empty();
  if (probed) format = TRY(detect_format(path));
  TRY(check_format_name(format));
  ImageFile file = TRY(ImageFile::open(path, !options.read_only, options.cache));
  if (!file.note().empty()) LOG_INFO("{}: {}", path, file.note());
  if (format == "raw") {
    auto raw = TRY(RawImage::from_file(std::move(file)));
    if (probed && !options.read_only) {
      LOG_WARN(
          "{}: format not given, probed as raw: writes that would put an image header in "
          "sector 0 are refused; give format=raw to lift this",
          path);
      return guard_probed_raw(std::move(raw));
    }
    return std::unique_ptr<DiskImage>(std::move(raw));
  }
  qcow2::Header header = TRY(read_qcow2_header(file));
  TRY(qcow2::check_supported(header, !options.read_only));
  std::unique_ptr<DiskImage> backing;
  if (!header.backing_file.empty()) {
    if (!options.open_backing) return Error(path + " has a backing file", EINVAL);
    auto context = "backing file '" + header.backing_file + "' of " + path;
    auto bpath = resolve_backing_path(path, header.backing_file);
    if (!bpath.ok()) return bpath.error().context(context);
    auto bformat = backing_format_of(header, *bpath);
    if (!bformat.ok()) return bformat.error().context(context);
    DiskOpenOptions backing_options = options;
    backing_options.read_only = true;
    auto opened = open_chain(*bpath, *bformat, backing_options, chain);
    if (!opened.ok()) return opened.error().context(context);
    backing = std::move(opened).value();
  }
  auto image = TRY(Qcow2Image::open(std::move(file), std::move(header), std::move(backing)));
  return std::unique_ptr<DiskImage>(std::move(image));
}

}  // namespace

Result<std::string> detect_format(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Error::from_errno("open " + path);
  uint8_t magic[4] = {};
  ssize_t n = ::pread(fd, magic, sizeof(magic), 0);
  int err = errno;
  ::close(fd);
  if (n < 0) return Error::from_errno("read " + path, err);
  if (n == 4 && qcow2::load_be32(magic) == qcow2::kMagic) return std::string("qcow2");
  return std::string("raw");
}

Result<std::string> resolve_backing_path(const std::string& image_path, const std::string& name) {
  std::string n = name;
  if (n.rfind("file:", 0) == 0) {
    n = n.substr(5);
  } else {
    size_t colon = n.find(':');
    if (colon != std::string::npos && n.find('/') > colon) {
      return Error(
          "backing file name '" + name + "' names a protocol; only local files are supported",
          EINVAL);
    }
  }
  if (n.empty()) return Error("empty backing file name", EINVAL);
  if (n[0] == '/') return n;
  size_t slash = image_path.rfind('/');
  if (slash == std::string::npos) return n;
  return image_path.substr(0, slash + 1) + n;
}

Result<std::unique_ptr<DiskImage>> open_disk_image(const std::string& path,
                                                   const DiskOpenOptions& options) {
  Chain chain;
  auto image = open_chain(path, options.format, options, chain);
  if (!image.ok()) return image.error().context("opening " + path);
  return image;
}

Result<std::vector<ImageInfo>> inspect_image_chain(const std::string& path,
                                                   const std::string& format_in) {
  std::vector<ImageInfo> infos;
  Chain chain;
  std::string current = path;
  std::string format = format_in;
  while (true) {
    TRY(chain.enter(current));
    if (format.empty()) format = TRY(detect_format(current));
    TRY(check_format_name(format));
    ImageFile file = TRY(ImageFile::open(current, false, CacheMode::kWriteback));
    struct stat st {};
    if (::fstat(file.fd(), &st) != 0) return Error::from_errno("stat " + current);
    ImageInfo info;
    info.filename = current;
    info.format = format;
    info.actual_size = static_cast<uint64_t>(st.st_blocks) * 512;
    if (format == "raw") {
      info.virtual_size = TRY(file.size());
      infos.push_back(std::move(info));
      return infos;
    }
    auto header = read_qcow2_header(file);
    if (!header.ok()) return header.error().context(current);
    info.virtual_size = header->size;
    info.qcow2 = *header;
    if (header->backing_file.empty()) {
      infos.push_back(std::move(info));
      return infos;
    }
    info.backing_filename = header->backing_file;
    auto context = "backing file '" + header->backing_file + "' of " + current;
    auto bpath = resolve_backing_path(current, header->backing_file);
    if (!bpath.ok()) return bpath.error().context(context);
    info.full_backing_filename = *bpath;
    auto bformat = backing_format_of(*header, *bpath);
    if (!bformat.ok()) return bformat.error().context(context);
    info.backing_format = header->backing_format;
    infos.push_back(std::move(info));
    current = *bpath;
    format = *bformat;
  }
}

}  // namespace vmkit
