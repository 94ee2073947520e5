"""Our own, dependency-free ELF reader: what decides whether a shared object loads on Lambda.

It extracts the machine, DT_NEEDED, SONAME, RPATH/RUNPATH, the symbol versions a file
needs (``GLIBC_2.17`` ...), its exported dynamic symbols and whether debug information
is still present; this is the only ELF parser in lambdapack.

`reader` parses a file (`read_elf`, `read_elf_file`, `read_elf_prefix`) into the
`model.ELFInfo`; `layout` holds the struct layouts and the bounds-checked reads every
parser here goes through; `dynamic` walks the dynamic section and the version needs;
`loadheaders` reads what the loader maps (for comparing a stripped copy); `truncation`
tells from a file's own headers whether it was cut short.

References:

* ELF generic ABI (file header, sections, program headers, dynamic section,
  symbol table): https://refspecs.linuxfoundation.org/elf/gabi4+/contents.html
* Symbol versioning (``SHT_GNU_verneed``, ``Elfxx_Verneed``/``Elfxx_Vernaux``):
  https://refspecs.linuxfoundation.org/LSB_5.0.0/LSB-Core-generic/LSB-Core-generic/symversion.html

Every offset, size and count read from a file is checked against the file length
before use and every loop is bounded by the size of the table it walks, so a hostile
or truncated file raises `model.ELFInvalid` (never another exception, never an
endless loop or a huge allocation).
"""
