// A caching CPU allocator registered with libtorch.
//
// Why: on the VMs this library targets, the first touch of every 4 KiB page
// costs microseconds, and glibc hands blocks over 32 MiB straight back to the
// kernel on free. A training step allocates and frees the same activations
// every iteration, so with the system allocator each step faults its whole
// working set in again. This allocator keeps freed memory (as PyTorch's CUDA
// caching allocator does on GPUs) and maps it with transparent huge pages, so
// a steady-state step touches no new page at all.
//
// How: requests of at least kPoolMinBytes are carved out of large mmap'ed
// segments (2 MiB aligned, MADV_HUGEPAGE), best fit by size, split on
// allocation and coalesced with free neighbours on release. Smaller requests
// go to c10's own aligned malloc, which glibc already serves from its heap.
// Fully free segments are unmapped only when a new segment is needed (they did
// not fit it), on emptyCache(), or when a mapping fails.
#include <sys/mman.h>

#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>

#include "common.h"
#include "torch_compat.h"

namespace ortho {
namespace {

constexpr size_t kHugePage = size_t(2) << 20;
constexpr size_t kPageRound = 4096;
constexpr size_t kPoolMinBytes = size_t(256) << 10;
// Requests below this share segments of kSmallSegment bytes; larger ones get a
// segment of their own size (rounded to huge pages) that later requests may split.
constexpr size_t kSharedSegmentLimit = size_t(8) << 20;
constexpr size_t kSmallSegment = size_t(32) << 20;

size_t roundUp(size_t n, size_t to) { return (n + to - 1) / to * to; }

std::string gib(size_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3g", static_cast<double>(bytes) / (1 << 30));
  return text;
}

struct Segment;

struct Block {
  char* ptr;
  size_t size;
  bool free;
  Block* prev;  // neighbours inside the same segment, by address
  Block* next;
  Segment* segment;
};

struct Segment {
  char* base;
  size_t size;
  size_t freeBytes;
};

struct BySizeThenAddress {
  bool operator()(const Block* a, const Block* b) const {
    return a->size != b->size ? a->size < b->size : a->ptr < b->ptr;
  }
};

struct Stats {
  size_t allocatedBytes = 0;
  size_t reservedBytes = 0;
  size_t peakAllocatedBytes = 0;
  size_t peakReservedBytes = 0;
  size_t segments = 0;
  size_t allocations = 0;
  size_t segmentMaps = 0;
};

class CachingCpuAllocator final : public c10::Allocator {
 public:
  // libtorch 2.3 made allocate() non-const and added copy_data().
#if ORTHO_TORCH_AT_LEAST(2, 3)
  c10::DataPtr allocate(size_t nbytes) override { return allocateData(nbytes); }
  void copy_data(void* dest, const void* src, std::size_t count) const override { default_copy_data(dest, src, count); }
#else
  c10::DataPtr allocate(size_t nbytes) const override { return const_cast<CachingCpuAllocator*>(this)->allocateData(nbytes); }
#endif

  c10::DataPtr allocateData(size_t nbytes) {
    if (nbytes < kPoolMinBytes) {
      void* p = c10::alloc_cpu(nbytes);
      return {p, p, &c10::free_cpu, c10::Device(c10::DeviceType::CPU)};
    }
    void* p = allocateFromPool(nbytes);
    return {p, p, &releaseAny, c10::Device(c10::DeviceType::CPU)};
  }

  // raw_allocate/raw_deallocate (used by oneDNN through ideep) need a single
  // deleter that accepts any pointer this allocator handed out.
  c10::DeleterFnPtr raw_deleter() const override { return &releaseAny; }

  static CachingCpuAllocator& instance() {
    // Never destroyed: tensors may still be freed during process exit.
    static auto* allocator = new CachingCpuAllocator();
    return *allocator;
  }

  Stats stats() {
    std::lock_guard<std::mutex> lock(mutex_);
    return stats_;
  }

  void resetPeaks() {
    std::lock_guard<std::mutex> lock(mutex_);
    stats_.peakAllocatedBytes = stats_.allocatedBytes;
    stats_.peakReservedBytes = stats_.reservedBytes;
  }

  size_t emptyCache() {
    std::lock_guard<std::mutex> lock(mutex_);
    return releaseFreeSegments();
  }

 private:
  static void releaseAny(void* p) {
    if (!instance().releaseToPool(p)) c10::free_cpu(p);
  }

  void* allocateFromPool(size_t nbytes) {
    size_t size = roundUp(nbytes, kPageRound);
    std::lock_guard<std::mutex> lock(mutex_);
    Block* block = takeBestFit(size);
    if (!block) {
      // Nothing cached fits: segments that are wholly free are of no use for
      // this request, so give them back before mapping a new one.
      releaseFreeSegments();
      block = mapSegment(size);
    }
    splitIfWorthIt(block, size);
    block->free = false;
    block->segment->freeBytes -= block->size;
    live_.emplace(block->ptr, block);
    stats_.allocatedBytes += block->size;
    stats_.allocations++;
    if (stats_.allocatedBytes > stats_.peakAllocatedBytes) stats_.peakAllocatedBytes = stats_.allocatedBytes;
    return block->ptr;
  }

  Block* takeBestFit(size_t size) {
    Block key{nullptr, size, true, nullptr, nullptr, nullptr};
    auto it = free_.lower_bound(&key);
    if (it == free_.end()) return nullptr;
    Block* block = *it;
    free_.erase(it);
    return block;
  }

  void splitIfWorthIt(Block* block, size_t size) {
    if (block->size - size < kPoolMinBytes) return;
    auto* rest = new Block{block->ptr + size, block->size - size, true, block, block->next, block->segment};
    if (block->next) block->next->prev = rest;
    block->next = rest;
    block->size = size;
    free_.insert(rest);
  }

  Block* mapSegment(size_t size) {
    size_t segmentSize = size < kSharedSegmentLimit ? kSmallSegment : roundUp(size, kHugePage);
    char* base = mapAligned(segmentSize);
    if (!base) {
      releaseFreeSegments();
      base = mapAligned(segmentSize);
    }
    if (!base) {
      TORCH_CHECK(false, "CPU out of memory: cannot allocate ", gib(size), " GiB for a tensor (", gib(stats_.allocatedBytes),
                  " GiB in use by tensors, ", gib(stats_.reservedBytes), " GiB mapped in all)");
    }
    auto* segment = new Segment{base, segmentSize, segmentSize};
    stats_.reservedBytes += segmentSize;
    stats_.segments++;
    stats_.segmentMaps++;
    if (stats_.reservedBytes > stats_.peakReservedBytes) stats_.peakReservedBytes = stats_.reservedBytes;
    return new Block{base, segmentSize, true, nullptr, nullptr, segment};
  }

  // mmap with 2 MiB alignment so the kernel can back the range with huge pages.
  static char* mapAligned(size_t size) {
    size_t padded = size + kHugePage;
    void* raw = mmap(nullptr, padded, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) return nullptr;
    auto start = reinterpret_cast<uintptr_t>(raw);
    uintptr_t aligned = roundUp(start, kHugePage);
    if (aligned > start) munmap(raw, aligned - start);
    size_t tail = (start + padded) - (aligned + size);
    if (tail > 0) munmap(reinterpret_cast<void*>(aligned + size), tail);
    madvise(reinterpret_cast<void*>(aligned), size, MADV_HUGEPAGE);
    return reinterpret_cast<char*>(aligned);
  }

  bool releaseToPool(void* p) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = live_.find(p);
    if (it == live_.end()) return false;
    Block* block = it->second;
    live_.erase(it);
    stats_.allocatedBytes -= block->size;
    block->segment->freeBytes += block->size;
    block->free = true;
    block = mergeWithNeighbours(block);
    free_.insert(block);
    return true;
  }

  Block* mergeWithNeighbours(Block* block) {
    if (Block* prev = block->prev; prev && prev->free) {
      free_.erase(prev);
      absorbNext(prev);
      block = prev;
    }
    if (Block* next = block->next; next && next->free) {
      free_.erase(next);
      absorbNext(block);
    }
    return block;
  }

  // Joins left->next into left (its address neighbour in the same segment).
  static void absorbNext(Block* left) {
    Block* right = left->next;
    left->size += right->size;
    left->next = right->next;
    if (right->next) right->next->prev = left;
    delete right;
  }

  size_t releaseFreeSegments() {
    size_t released = 0;
    for (auto it = free_.begin(); it != free_.end();) {
      Block* block = *it;
      Segment* segment = block->segment;
      if (segment->freeBytes != segment->size) {
        ++it;
        continue;
      }
      it = free_.erase(it);
      munmap(segment->base, segment->size);
      stats_.reservedBytes -= segment->size;
      stats_.segments--;
      released += segment->size;
      delete segment;
      delete block;
    }
    return released;
  }

  std::mutex mutex_;
  std::set<Block*, BySizeThenAddress> free_;
  std::unordered_map<void*, Block*> live_;
  Stats stats_;
};

bool useCachingAllocator() {
  const char* choice = std::getenv("ORTHOGONIUM_CPU_ALLOCATOR");
  return !choice || std::string(choice) != "system";
}

// cpuAllocatorStats() -> { enabled, allocatedBytes, reservedBytes, ... }
Napi::Value cpuAllocatorStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  bool enabled = useCachingAllocator();
  out.Set("enabled", enabled);
  Stats s = enabled ? CachingCpuAllocator::instance().stats() : Stats{};
  out.Set("allocatedBytes", static_cast<double>(s.allocatedBytes));
  out.Set("reservedBytes", static_cast<double>(s.reservedBytes));
  out.Set("peakAllocatedBytes", static_cast<double>(s.peakAllocatedBytes));
  out.Set("peakReservedBytes", static_cast<double>(s.peakReservedBytes));
  out.Set("segments", static_cast<double>(s.segments));
  out.Set("allocations", static_cast<double>(s.allocations));
  out.Set("segmentMaps", static_cast<double>(s.segmentMaps));
  return out;
}

Napi::Value cpuEmptyCache(const Napi::CallbackInfo& info) {
  size_t released = useCachingAllocator() ? CachingCpuAllocator::instance().emptyCache() : 0;
  return Napi::Number::New(info.Env(), static_cast<double>(released));
}

Napi::Value cpuResetPeakStats(const Napi::CallbackInfo& info) {
  if (useCachingAllocator()) CachingCpuAllocator::instance().resetPeaks();
  return info.Env().Undefined();
}

}  // namespace

void registerCpuAllocator(Napi::Env env, Napi::Object exports) {
  // Priority 1 beats libtorch's default CPU allocator (registered at 0).
  if (useCachingAllocator()) c10::SetCPUAllocator(&CachingCpuAllocator::instance(), 1);
  exports.Set("cpuAllocatorStats", Napi::Function::New(env, cpuAllocatorStats));
  exports.Set("cpuEmptyCache", Napi::Function::New(env, cpuEmptyCache));
  exports.Set("cpuResetPeakStats", Napi::Function::New(env, cpuResetPeakStats));
}

}  // namespace ortho
