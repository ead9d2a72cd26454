#include "kernels/thread_team.h"

#include <omp.h>

namespace sparrow::kernels {

ScopedTeam::ScopedTeam(int threads) : saved_threads_(omp_get_max_threads()), saved_levels_(omp_get_max_active_levels()) {
  omp_set_num_threads(threads > 1 ? threads : 1);
  omp_set_max_active_levels(threads > 1 ? 1 : 0);
}

ScopedTeam::~ScopedTeam() {
  omp_set_num_threads(saved_threads_);
  omp_set_max_active_levels(saved_levels_);
}

}  // namespace sparrow::kernels
