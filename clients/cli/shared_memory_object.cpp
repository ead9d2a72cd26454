#include "shared_memory_object.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "sparrow/error.h"

namespace sparrow::client {

SharedMemoryObject::SharedMemoryObject(std::string key, size_t bytes) : key_(std::move(key)), bytes_(bytes) {
  const int fd = shm_open(key_.c_str(), O_CREAT | O_EXCL | O_RDWR, S_IRUSR | S_IWUSR);
  if (fd < 0) throw Error(ErrorCode::kIo, "cannot create shared memory '" + key_ + "': " + std::strerror(errno));
  std::string failure;
  if (ftruncate(fd, static_cast<off_t>(bytes_)) != 0) {
    failure = std::string("cannot size it: ") + std::strerror(errno);
  } else {
    mapping_ = mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (mapping_ == MAP_FAILED) failure = std::string("cannot map it: ") + std::strerror(errno);
  }
  close(fd);
  if (!failure.empty()) {
    shm_unlink(key_.c_str());
    throw Error(ErrorCode::kIo, "shared memory '" + key_ + "' (" + std::to_string(bytes_) + " bytes): " + failure);
  }
}

SharedMemoryObject::~SharedMemoryObject() {
  munmap(mapping_, bytes_);
  unlink();
}

void SharedMemoryObject::unlink() {
  if (linked_) shm_unlink(key_.c_str());
  linked_ = false;
}

}  // namespace sparrow::client
