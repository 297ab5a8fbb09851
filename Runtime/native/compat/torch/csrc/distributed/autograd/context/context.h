// Stand-in for a header Debian's libtorch-dev 1.13 does not ship: c10d/reducer.hpp includes it for two names only —
// the GradCallback type (a static_assert checks it equals the Reducer's) and ContextPtr, a shared_ptr member of the
// Reducer, whose layout does not depend on the pointee. Nothing here is defined or called: the Reducer's code,
// constructor and destructor are libtorch's. Searched after the system headers (-idirafter, CMakeLists.txt), so a
// libtorch that ships the real header uses it.
#pragma once
#include <ATen/core/Tensor.h>
#include <functional>
#include <memory>

namespace torch {
namespace distributed {
namespace autograd {
class DistAutogradContext {
 public:
  using GradCallback = std::function<bool(at::Tensor&)>;
};
using ContextPtr = std::shared_ptr<DistAutogradContext>;
}  // namespace autograd
}  // namespace distributed
}  // namespace torch
