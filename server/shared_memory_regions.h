// Triton's system-shared-memory extension, server side: POSIX shared memory objects (shm_open
// keys) that clients on this host registered as named regions, mapped read-only. An input then
// names a region instead of carrying its bytes through gRPC. Regions stay mapped while requests
// that read them are in flight, even if they are unregistered meanwhile.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include <grpcpp/support/status.h>

#include "kserve/grpc_predict_v2.pb.h"

namespace sparrow::server {

class SharedMemoryRegion {
 public:
  SharedMemoryRegion(const inference::SystemSharedMemoryRegisterRequest& request, void* mapping, size_t mapped_bytes);
  ~SharedMemoryRegion();
  SharedMemoryRegion(const SharedMemoryRegion&) = delete;
  SharedMemoryRegion& operator=(const SharedMemoryRegion&) = delete;

  const std::string& name() const { return request_.name(); }
  // The region's bytes. Reading them can raise SIGBUS if the owner shrank the object: read
  // them through read_guarded (sigbus_guard.h).
  std::string_view bytes() const;
  void describe(inference::SystemSharedMemoryStatusResponse::RegionStatus* out) const;

 private:
  const inference::SystemSharedMemoryRegisterRequest request_;
  void* const mapping_;
  const size_t mapped_bytes_;
};

class SharedMemoryRegions {
 public:
  // Not allowed: registering fails with FAILED_PRECONDITION (see ServerConfig).
  explicit SharedMemoryRegions(bool allowed) : allowed_(allowed) {}

  // INVALID_ARGUMENT for an empty name or size, a key that cannot be opened or an object smaller
  // than offset + byte_size; ALREADY_EXISTS for a name in use.
  grpc::Status add(const inference::SystemSharedMemoryRegisterRequest& request);
  // An empty name removes every region. As in Triton, a name not registered is not an error.
  void remove(const std::string& name);
  // NOT_FOUND for a name not registered; an empty name describes every region.
  grpc::Status status(const std::string& name, inference::SystemSharedMemoryStatusResponse* out) const;
  // Null when no region has that name.
  std::shared_ptr<const SharedMemoryRegion> find(const std::string& name) const;

 private:
  const bool allowed_;
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<const SharedMemoryRegion>> regions_;
};

}  // namespace sparrow::server
