#include "shared_memory_regions.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "client_text.h"

namespace sparrow::server {
namespace {

using RegisterRequest = inference::SystemSharedMemoryRegisterRequest;

grpc::Status invalid(const std::string& message) { return {grpc::StatusCode::INVALID_ARGUMENT, message}; }

std::string describe_request(const RegisterRequest& r) {
  return "shared memory region " + quoted(r.name()) + " (key " + quoted(r.key()) + ", offset " + std::to_string(r.offset()) +
         ", " + std::to_string(r.byte_size()) + " bytes)";
}

// Maps [0, offset + byte_size) of the object read-only: mmap offsets must be page-aligned.
grpc::Status map_object(const RegisterRequest& r, void** mapping, size_t* mapped_bytes) {
  const int fd = shm_open(r.key().c_str(), O_RDONLY, 0);
  if (fd < 0) {
    return invalid("cannot open " + describe_request(r) + ": " + std::strerror(errno) +
                   " (the key is a POSIX shared memory name, like '/my_region', on the server's host)");
  }
  struct stat st = {};
  grpc::Status status = grpc::Status::OK;
  const uint64_t end = r.offset() + r.byte_size();
  if (fstat(fd, &st) != 0) {
    status = invalid("cannot inspect " + describe_request(r) + ": " + std::strerror(errno));
  } else if (end < r.offset() || end > static_cast<uint64_t>(st.st_size)) {
    status = invalid(describe_request(r) + " does not fit in its object of " + std::to_string(st.st_size) + " bytes");
  } else {
    *mapped_bytes = static_cast<size_t>(end);
    *mapping = mmap(nullptr, *mapped_bytes, PROT_READ, MAP_SHARED, fd, 0);
    if (*mapping == MAP_FAILED) status = invalid("cannot map " + describe_request(r) + ": " + std::strerror(errno));
  }
  close(fd);
  return status;
}

}  // namespace

SharedMemoryRegion::SharedMemoryRegion(const RegisterRequest& request, void* mapping, size_t mapped_bytes)
    : request_(request), mapping_(mapping), mapped_bytes_(mapped_bytes) {}

SharedMemoryRegion::~SharedMemoryRegion() { munmap(mapping_, mapped_bytes_); }

std::string_view SharedMemoryRegion::bytes() const {
  return {static_cast<const char*>(mapping_) + request_.offset(), static_cast<size_t>(request_.byte_size())};
}

void SharedMemoryRegion::describe(inference::SystemSharedMemoryStatusResponse::RegionStatus* out) const {
  out->set_name(request_.name());
  out->set_key(request_.key());
  out->set_offset(request_.offset());
  out->set_byte_size(request_.byte_size());
}

grpc::Status SharedMemoryRegions::add(const RegisterRequest& request) {
  if (!allowed_) {
    return {grpc::StatusCode::FAILED_PRECONDITION,
            "system shared memory is off on this server; start it with --allow-shared-memory"};
  }
  if (request.name().empty()) return invalid("a shared memory region needs a name");
  if (request.byte_size() == 0) return invalid(describe_request(request) + " is empty; give its byte_size");
  std::lock_guard<std::mutex> lock(mutex_);
  if (regions_.count(request.name()) > 0) {
    return {grpc::StatusCode::ALREADY_EXISTS, "a shared memory region named " + quoted(request.name()) +
                                                  " is registered already; unregister it first"};
  }
  void* mapping = nullptr;
  size_t mapped_bytes = 0;
  if (grpc::Status s = map_object(request, &mapping, &mapped_bytes); !s.ok()) return s;
  regions_[request.name()] = std::make_shared<const SharedMemoryRegion>(request, mapping, mapped_bytes);
  return grpc::Status::OK;
}

void SharedMemoryRegions::remove(const std::string& name) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (name.empty()) {
    regions_.clear();
  } else {
    regions_.erase(name);
  }
}

grpc::Status SharedMemoryRegions::status(const std::string& name,
                                         inference::SystemSharedMemoryStatusResponse* out) const {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& [region_name, region] : regions_) {
    if (name.empty() || name == region_name) region->describe(&(*out->mutable_regions())[region_name]);
  }
  if (!name.empty() && out->regions().empty()) {
    return {grpc::StatusCode::NOT_FOUND, "no shared memory region named " + quoted(name) + " is registered"};
  }
  return grpc::Status::OK;
}

std::shared_ptr<const SharedMemoryRegion> SharedMemoryRegions::find(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = regions_.find(name);
  return it == regions_.end() ? nullptr : it->second;
}

}  // namespace sparrow::server
