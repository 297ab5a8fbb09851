"""Marks one symbol-version reference of an ELF shared library weak (use it on a copy: the build output's).

    python3 scripts/weak_version_ref.py LIBRARY VERSION     e.g. .../libLibTorchSharp.so GLIBCXX_3.4.32

Why: TorchSharp 0.107's libLibTorchSharp.so is built with GCC 13 and references one symbol,
std::ios_base_library_init(), at version GLIBCXX_3.4.32, which it never calls. Debian 12 ships GCC 12's
libstdc++ (up to GLIBCXX_3.4.30), so the dynamic loader refuses the library ("version `GLIBCXX_3.4.32' not
found"). A version reference whose Vernaux entry has VER_FLG_WEAK (0x2) set in .gnu.version_r is only a
warning to glibc's loader when the version is missing (elf/dl-version.c, match_symbol), and the symbol is bound
lazily, only if called. This sets that flag for the one version named; nothing else in the file changes.

Used by tests/torchsharp-consumer (an MSBuild target after Build, on the build output's copy) and described in
the README for anyone running an exported TorchSharp model on Debian 12. The file is rewritten through a temporary
file and a rename, so a hard link to the NuGet cache's original is never written through. Idempotent; exit 1 if the
version is not referenced or the file is not a 64-bit little-endian ELF file.
"""
import os
import struct
import sys
import tempfile

SHT_GNU_VERNEED = 0x6ffffffe
VER_FLG_WEAK = 0x2


def mark_weak(data, version):
    """Sets VER_FLG_WEAK on every Vernaux entry naming `version` in `data` (a bytearray); returns (found, changed)."""
    if data[:4] != b'\x7fELF' or data[4] != 2 or data[5] != 1:
        raise ValueError('not a 64-bit little-endian ELF file')
    shoff, = struct.unpack_from('<Q', data, 0x28)
    shentsize, shnum = struct.unpack_from('<HH', data, 0x3A)
    sections = [struct.unpack_from('<IIQQQQIIQQ', data, shoff + i * shentsize) for i in range(shnum)]
    found = changed = 0
    for _, sh_type, _, _, offset, _, link, count, _, _ in sections:
        if sh_type != SHT_GNU_VERNEED:
            continue
        strtab = sections[link][4]
        need = offset
        for _ in range(count):  # Elf64_Verneed: vn_version, vn_cnt, vn_file, vn_aux, vn_next
            _, cnt, _, aux, nxt = struct.unpack_from('<HHIII', data, need)
            a = need + aux
            for _ in range(cnt):  # Elf64_Vernaux: vna_hash, vna_flags, vna_other, vna_name, vna_next
                _, flags, _, name, anext = struct.unpack_from('<IHHII', data, a)
                end = data.index(0, strtab + name)
                if data[strtab + name:end].decode() == version:
                    found += 1
                    if not flags & VER_FLG_WEAK:
                        struct.pack_into('<H', data, a + 4, flags | VER_FLG_WEAK)
                        changed += 1
                a += anext
            need += nxt
    return found, changed


def main(path, version):
    with open(path, 'rb') as f:
        data = bytearray(f.read())
    try:
        found, changed = mark_weak(data, version)
    except ValueError as e:
        sys.exit(f'{path}: {e}')
    if not found:
        sys.exit(f'{path}: no reference to version {version}')
    if changed:
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)), prefix='.weak-')
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
        os.chmod(tmp, os.stat(path).st_mode & 0o7777)
        os.replace(tmp, path)
    print(f'{path}: {version} marked weak ({found} reference(s), {changed} changed)')


if __name__ == '__main__':
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
