// Reading a shared memory mapping whose object its owner has since truncated raises SIGBUS. A
// read run through read_guarded ends with false instead of ending the process; SIGBUS anywhere
// else still ends it as before.
#pragma once

namespace sparrow::server {

// Runs read(context) on this thread; false if it touched memory that raised SIGBUS. The read is
// abandoned by a long jump, so it must hold no locks and own nothing with a destructor.
bool read_guarded(void (*read)(void*), void* context);

template <class Read>
bool read_guarded(Read& read) {
  return read_guarded([](void* c) { (*static_cast<Read*>(c))(); }, &read);
}

}  // namespace sparrow::server
