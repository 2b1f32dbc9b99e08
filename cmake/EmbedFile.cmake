# Script mode (cmake -P): writes one C++ source holding one file's bytes,
# so the executables serve and inline web assets without reading files at
# run time. Called by benchdist_embed_file() in src/CMakeLists.txt with
#   -DINPUT=<file> -DOUTPUT=<.cpp> -DSYMBOL=<C++ identifier>
# The bytes go in as a hex char array (not a string literal), so any
# content -- quotes, ")\"", NUL -- embeds as it is.
file(READ "${INPUT}" hex HEX)
string(LENGTH "${hex}" hex_length)
math(EXPR size "${hex_length} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "'\\\\x\\1'," bytes "${hex}")
# One line per 32 bytes keeps the generated file readable by compilers and people.
string(REGEX REPLACE "(('[^']*',){32})" "\\1\n" bytes "${bytes}")
file(WRITE "${OUTPUT}.tmp"
     "// Generated from ${INPUT} by cmake/EmbedFile.cmake; do not edit.\n"
     "#include <string_view>\n"
     "namespace benchdist::webassets::embedded {\n"
     "namespace { constexpr char kBytes[] = {\n${bytes}'\\0'}; }\n"
     "extern const std::string_view ${SYMBOL};\n"
     "const std::string_view ${SYMBOL}{kBytes, ${size}};\n"
     "}  // namespace benchdist::webassets::embedded\n")
file(RENAME "${OUTPUT}.tmp" "${OUTPUT}")
