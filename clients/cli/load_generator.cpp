#include "load_generator.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>

#include "status_line.h"

namespace sparrow::client {
namespace {

using Clock = std::chrono::steady_clock;

enum class Phase { kWarmup, kMeasure, kStopped };

double seconds_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

Clock::duration seconds(double s) { return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s)); }

// Counters shared with the calls' callbacks; owned jointly, so a callback finishing just after
// the level ended still writes into live memory.
struct LevelState {
  std::mutex mutex;
  std::condition_variable answered;
  Phase phase = Phase::kWarmup;
  uint64_t in_flight = 0;
  uint64_t next_index = 0;
  Clock::time_point last_answer;
  LevelResult result;
};

void record_answer(LevelState& s, Phase phase, Clock::time_point sent, const grpc::Status& status,
                   const ServerTimings& timings) {
  const auto now = Clock::now();
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    --s.in_flight;
    if (phase == Phase::kMeasure) {
      s.last_answer = std::max(s.last_answer, now);
      if (status.ok()) {
        ++s.result.ok;
        s.result.latencies_ms.push_back(std::chrono::duration<double, std::milli>(now - sent).count());
        s.result.server.add(timings);
      } else {
        ++s.result.failed;
        if (s.result.errors[status.error_code()]++ == 0) s.result.error_examples[status.error_code()] = status.error_message();
      }
    }
  }
  s.answered.notify_all();
}

class Driver {
 public:
  Driver(RequestSource& source, const LoadLevel& level)
      : source_(source), level_(level), state_(std::make_shared<LevelState>()) {
    state_->result.level = level;
    state_->result.items_per_request = source.items_per_request();
  }

  LevelResult run() {
    const auto start = Clock::now();
    const auto measure_at = start + seconds(level_.warmup_seconds);
    measure_start_ = measure_at;
    Clock::time_point stop_at = measure_at + seconds(level_.duration_seconds), next_send = start;
    for (auto now = Clock::now(); now < stop_at; now = Clock::now()) {
      if (phase() == Phase::kWarmup && now >= measure_at) begin_measuring(now, stop_at);
      if (closed_loop()) {
        // At most one round per pass: calls that fail at once (server gone) must not keep the
        // loop from seeing the clock.
        for (int i = 0; i < level_.concurrency && in_flight() < static_cast<uint64_t>(level_.concurrency); ++i) send();
      } else {
        // A late wake-up sends the requests that were due meanwhile: the rate is kept on average.
        for (; next_send <= now; next_send += seconds(1 / level_.request_rate)) send();
      }
      show_progress(now);
      wait_for_answer(std::min({now + std::chrono::milliseconds(100), stop_at,
                                phase() == Phase::kWarmup ? measure_at : stop_at,
                                closed_loop() ? stop_at : next_send}));
    }
    stop();
    drain();
    return finish(stop_at);
  }

 private:
  bool closed_loop() const { return level_.concurrency > 0; }

  Phase phase() {
    std::lock_guard<std::mutex> lock(state_->mutex);
    return state_->phase;
  }

  uint64_t in_flight() {
    std::lock_guard<std::mutex> lock(state_->mutex);
    return state_->in_flight;
  }

  void begin_measuring(Clock::time_point now, Clock::time_point& stop_at) {
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->phase = Phase::kMeasure;
    measure_start_ = now;
    stop_at = now + seconds(level_.duration_seconds);
  }

  void stop() {
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->phase = Phase::kStopped;
  }

  // Counted before the call starts: its answer may come back before start() returns.
  void send() {
    Phase phase;
    uint64_t index;
    {
      std::lock_guard<std::mutex> lock(state_->mutex);
      phase = state_->phase;
      index = state_->next_index++;
      ++state_->in_flight;
      if (phase == Phase::kMeasure) ++state_->result.sent; else ++state_->result.warmup_requests;
    }
    const auto sent = Clock::now();
    source_.start(index, level_.timeout_seconds,
                  [state = state_, phase, sent](const grpc::Status& status, const ServerTimings& timings) {
                    record_answer(*state, phase, sent, status, timings);
                  });
  }

  // Returns when a request was answered (a closed-loop slot is free) or at `until`.
  void wait_for_answer(Clock::time_point until) {
    std::unique_lock<std::mutex> lock(state_->mutex);
    state_->answered.wait_until(lock, until, [&] {
      return closed_loop() && state_->in_flight < static_cast<uint64_t>(level_.concurrency);
    });
  }

  // Every measured request is waited for; their deadlines bound the wait.
  void drain() {
    for (;;) {
      const uint64_t left = in_flight();
      if (left == 0) break;
      char text[128];
      std::snprintf(text, sizeof text, "[%s] waiting for %llu answer(s)", level_.label().c_str(),
                    static_cast<unsigned long long>(left));
      status_.update(text);
      std::unique_lock<std::mutex> lock(state_->mutex);
      state_->answered.wait_for(lock, std::chrono::milliseconds(100), [&] { return state_->in_flight == 0; });
    }
    status_.clear();
  }

  void show_progress(Clock::time_point now) {
    std::lock_guard<std::mutex> lock(state_->mutex);
    const LevelResult& r = state_->result;
    char text[256];
    if (state_->phase == Phase::kWarmup) {
      std::snprintf(text, sizeof text, "[%s] warm-up: %llu request(s) sent", level_.label().c_str(),
                    static_cast<unsigned long long>(r.warmup_requests));
    } else {
      const double elapsed = seconds_between(measure_start_, now);
      std::snprintf(text, sizeof text, "[%s] %.1f/%.0f s: %llu sent, %llu ok, %llu failed, %.1f req/s, %llu in flight",
                    level_.label().c_str(), elapsed, level_.duration_seconds, static_cast<unsigned long long>(r.sent),
                    static_cast<unsigned long long>(r.ok), static_cast<unsigned long long>(r.failed),
                    elapsed > 0 ? static_cast<double>(r.ok) / elapsed : 0.0,
                    static_cast<unsigned long long>(state_->in_flight));
    }
    status_.update(text);
  }

  LevelResult finish(Clock::time_point stop_at) {
    std::lock_guard<std::mutex> lock(state_->mutex);
    LevelResult r = state_->result;
    r.seconds = seconds_between(measure_start_, std::max(stop_at, state_->last_answer));
    return r;
  }

  RequestSource& source_;
  const LoadLevel level_;
  std::shared_ptr<LevelState> state_;
  Clock::time_point measure_start_;
  StatusLine status_;
};

}  // namespace

std::string LoadLevel::label() const {
  if (concurrency > 0) return "concurrency " + std::to_string(concurrency);
  char text[64];
  std::snprintf(text, sizeof text, "rate %g/s", request_rate);
  return text;
}

LevelResult run_level(RequestSource& source, const LoadLevel& level) { return Driver(source, level).run(); }

}  // namespace sparrow::client
