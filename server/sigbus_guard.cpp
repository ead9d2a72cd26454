#include "sigbus_guard.h"

#include <csetjmp>
#include <csignal>
#include <mutex>

namespace sparrow::server {
namespace {

thread_local sigjmp_buf* t_armed = nullptr;

void on_sigbus(int signal) {
  if (sigjmp_buf* jump = t_armed) siglongjmp(*jump, 1);
  // Not ours: the default action, once this handler returns and the access faults again.
  std::signal(signal, SIG_DFL);
}

void install_handler() {
  struct sigaction action = {};
  action.sa_handler = on_sigbus;
  sigemptyset(&action.sa_mask);
  sigaction(SIGBUS, &action, nullptr);
}

}  // namespace

bool read_guarded(void (*read)(void*), void* context) {
  static std::once_flag installed;
  std::call_once(installed, install_handler);
  sigjmp_buf jump;
  // Saving the signal mask lets the jump unblock SIGBUS, which the handler runs with blocked.
  if (sigsetjmp(jump, 1) != 0) {
    t_armed = nullptr;
    return false;
  }
  t_armed = &jump;
  read(context);
  t_armed = nullptr;
  return true;
}

}  // namespace sparrow::server
