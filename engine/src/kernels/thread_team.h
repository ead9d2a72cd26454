// The OpenMP team of the calling thread, set for a scope and restored after it.
//
// oneDNN fixes a primitive's thread count when the primitive is created (its brgemm convolutions
// split their work for that many threads and start regions of exactly that size), so a plan is
// compiled under its team size and runs either with that team or on the calling thread alone.
// One thread is had by allowing no active parallel region (max-active-levels 0): every region,
// oneDNN's included, then runs on the calling thread with the work split for one. Both settings
// are per-thread ICVs in libgomp, so concurrent runs on other threads are not affected.
#pragma once

namespace sparrow::kernels {

class ScopedTeam {
 public:
  // threads >= 2: regions use that many threads; 1: regions run on the calling thread.
  explicit ScopedTeam(int threads);
  ~ScopedTeam();
  ScopedTeam(const ScopedTeam&) = delete;
  ScopedTeam& operator=(const ScopedTeam&) = delete;

 private:
  int saved_threads_;
  int saved_levels_;
};

}  // namespace sparrow::kernels
