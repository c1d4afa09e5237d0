"""The file family: ``read_file``, ``write_file``, ``copy_file``, ``delete_file``,
``list_directory``, ``file_search``.

``tools`` declares ``write_file`` and ``delete_file`` and lists the six in the seed's order
(`TOOLS`); ``reading``, ``copying`` and ``listing`` hold the others. ``fileinfo`` (kinds, binary
sniffing, charsets, previews), ``atomic`` (temp file, fsync, rename), ``textfile`` (text reads
for editing) and ``ignore`` (.gitignore rules) are shared with the code tools, the hunk review
and rewind.
"""

from luminamind.tools.files.tools import (
    TOOLS,
    CopyFileResult,
    DeleteFileResult,
    ReadFileResult,
    WriteFileResult,
    copy_file,
    delete_file,
    file_search,
    list_directory,
    read_file,
    write_file,
)

__all__ = [
    "TOOLS",
    "CopyFileResult",
    "DeleteFileResult",
    "ReadFileResult",
    "WriteFileResult",
    "copy_file",
    "delete_file",
    "file_search",
    "list_directory",
    "read_file",
    "write_file",
]
