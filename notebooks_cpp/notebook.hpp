#pragma once
// What a notebook source includes: the runtime (mhclab/report/notebook.hpp) and the two markers of the format
// (notebooks_cpp/README.md):
//   MHCLAB_NOTEBOOK { … }   the body, a function of `mhclab::Notebook& nb` (its name is set per file by CMake);
//   NB_CELL();              first line of each body code cell after a //! Markdown block.
// and one helper for the computed "What we learned" cell, finding(nb, text).
#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>

#include "mhclab/report/notebook.hpp"

/// One finding of a notebook's "What we learned" cell, written as stream text: "- " + `s`, word-wrapped at `width`
/// columns (counted in UTF-8 code points) with a two-space hanging indent, so the computed findings read like the
/// Markdown list they replace. Every number in `s` is meant to be formatted from values the notebook computed.
inline void finding(mhclab::Notebook& nb, std::string_view s, std::size_t width = 110) {
  std::string out = "-";
  std::size_t cols = 1;  // code points on the current output line
  const auto points = [](std::string_view w) {
    std::size_t c = 0;
    for (const char ch : w) c += (static_cast<unsigned char>(ch) & 0xC0) != 0x80 ? 1 : 0;
    return c;
  };
  std::size_t pos = 0;
  while (pos < s.size()) {
    const std::size_t end = std::min(s.find(' ', pos), s.size());
    const std::string_view word = s.substr(pos, end - pos);
    pos = end + 1;
    if (word.empty()) continue;
    if (cols + 1 + points(word) > width && cols > 2) {
      out += "\n ";
      cols = 1;
    }
    out += ' ';
    out += word;
    cols += 1 + points(word);
  }
  nb.line(out);
}

#ifndef MHCLAB_NOTEBOOK_ENTRY
#error "MHCLAB_NOTEBOOK_ENTRY is set per notebook by notebooks_cpp/CMakeLists.txt"
#endif

#define MHCLAB_NOTEBOOK                               \
  void MHCLAB_NOTEBOOK_ENTRY(::mhclab::Notebook& nb); \
  void MHCLAB_NOTEBOOK_ENTRY(::mhclab::Notebook& nb)
#define NB_CELL() nb.enter_cell(__LINE__)
