// A POSIX shared memory object this process creates and maps read-write: the client half of
// Triton's system-shared-memory extension (the server maps the same object by its key).
#pragma once

#include <cstddef>
#include <string>

namespace sparrow::client {

class SharedMemoryObject {
 public:
  // Creates `key` ("/name"), `bytes` long; throws sparrow::Error naming the key and the reason.
  SharedMemoryObject(std::string key, size_t bytes);
  ~SharedMemoryObject();
  SharedMemoryObject(const SharedMemoryObject&) = delete;
  SharedMemoryObject& operator=(const SharedMemoryObject&) = delete;

  const std::string& key() const { return key_; }
  char* data() { return static_cast<char*>(mapping_); }
  size_t size() const { return bytes_; }
  // Removes the name; the memory stays for every process that has it mapped. Once the server
  // has mapped it, nothing is left behind in /dev/shm even if this process is killed.
  void unlink();

 private:
  std::string key_;
  size_t bytes_;
  void* mapping_ = nullptr;
  bool linked_ = true;
};

}  // namespace sparrow::client
