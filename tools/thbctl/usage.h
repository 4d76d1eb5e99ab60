#ifndef THB_TOOLS_THBCTL_USAGE_H_
#define THB_TOOLS_THBCTL_USAGE_H_

#include <string>
#include <vector>

#include "common/config.h"

namespace thb::thbctl {

// The variables thbctl reads, each with the flag it sets.
const std::vector<EnvBinding>& EnvironmentBindings();

// What `thbctl help` and --help print: the commands, then the variables.
std::string Usage();

}  // namespace thb::thbctl

#endif  // THB_TOOLS_THBCTL_USAGE_H_
