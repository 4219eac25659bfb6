// The policy on output files both front ends write: refused before any work, not after it.
#pragma once

#include <string>
#include <vector>

namespace tessera::pipeline {

// Throws Error, before any work, for an output that cannot be written (its directory is not
// writable, its name too long) or that would replace one of `inputs`. What is not a regular file
// and a missing directory are refused too, by output_target (the rule AtomicFile applies).
void check_output(const std::string& output, const std::vector<std::string>& inputs);

// Throws Error, before any work, when `second` would replace `first`, another output of the same
// run: the same path once symbolic links are followed (neither need exist yet), or the same
// file (a hard link) when both exist.
void check_distinct_outputs(const std::string& first, const std::string& second);

}  // namespace tessera::pipeline
