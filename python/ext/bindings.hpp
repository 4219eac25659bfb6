// What each file of python/ext adds to the module _tessera (module.cpp calls them in turn).
#pragma once

#include <pybind11/pybind11.h>

namespace tessera::python {

void bind_options(pybind11::module_& m);       // options.cpp: the checks both front ends share
void bind_core_library(pybind11::module_& m);  // core_library.cpp: CoreLibrary
void bind_builder(pybind11::module_& m);       // builder.cpp: Builder
void bind_assign(pybind11::module_& m);        // assign.cpp: assign
void bind_colour(pybind11::module_& m);        // colour.cpp: lab_bytes

}  // namespace tessera::python
