# manpage.cmake — write the man page octcl.1 from the program's own help: `octcl --help`
# and `octcl <command> --help` for every command that help lists. Run at build time:
#   cmake -DOCTCL=path/to/octcl -DOUT=octcl.1 -DVERSION=X.Y.Z -P manpage.cmake
# The help texts go in verbatim (.nf), so the page says exactly what --help says.

# Text made safe for roff: backslashes, minus signs, and lines starting with . or '.
function(octcl_roff text out)
  string(REPLACE "\\" "\\e" text "${text}")
  string(REPLACE "-" "\\-" text "${text}")
  string(REGEX REPLACE "(^|\n)([.'])" "\\1\\\\&\\2" text "${text}")
  set(${out} "${text}" PARENT_SCOPE)
endfunction()

function(octcl_help out)
  execute_process(COMMAND ${OCTCL} ${ARGN} --help OUTPUT_VARIABLE text ERROR_VARIABLE err RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${OCTCL} ${ARGN} --help failed (${rc}): ${err}")
  endif()
  string(REGEX REPLACE "\n+$" "" text "${text}")
  set(${out} "${text}" PARENT_SCOPE)
endfunction()

octcl_help(top)
# The commands: the lines "  NAME  summary" between "commands:" and the next blank line.
string(REGEX MATCH "\ncommands:\n(([^\n]+\n)+)" block "${top}\n")
if(NOT block)
  message(FATAL_ERROR "${OCTCL} --help lists no commands")
endif()
string(REGEX MATCHALL "(^|\n)  [a-z][a-z0-9-]*" names "${CMAKE_MATCH_1}")

octcl_roff("${top}" top_roff)
set(page ".\\\" Generated from `octcl --help` by cmake/manpage.cmake. Do not edit.\n")
string(APPEND page ".TH OCTCL 1 \"\" \"octcl ${VERSION}\" \"User Commands\"\n")
string(APPEND page ".SH NAME\noctcl \\- Octave Convolution networks on OpenCL devices or the CPU\n")
string(APPEND page ".SH SYNOPSIS\n.B octcl\n.I command\n.RI [ options ]\n.br\n.B octcl\n")
string(APPEND page ".RB [ \\-\\-version | \\-\\-help ]\n")
string(APPEND page ".SH DESCRIPTION\n.nf\n${top_roff}\n.fi\n.SH COMMANDS\n")
foreach(name IN LISTS names)
  string(STRIP "${name}" name)
  octcl_help(help ${name})
  octcl_roff("${help}" help_roff)
  string(APPEND page ".SS \"octcl ${name}\"\n.nf\n${help_roff}\n.fi\n")
endforeach()
string(APPEND page ".SH FILES\n.TP\n.I PREFIX/share/octcl/models\n")
string(APPEND page "The shipped models; classify's default model is found there, relative to the\n")
string(APPEND page "program's own location (PREFIX/bin/octcl), unless $OCTCL_MODELS names another folder.\n")
string(APPEND page ".SH LICENSE\nMIT. Copyright (c) 2026 the octcl authors.\n")
file(WRITE ${OUT}.tmp "${page}")
file(RENAME ${OUT}.tmp ${OUT})
