"""Input readers. Each module here that defines `READERS` is registered automatically."""

from bluelamp.sources.base import Chunk, Reader, detect_format, get_reader, read_path, readers

__all__ = ["Chunk", "Reader", "detect_format", "get_reader", "read_path", "readers"]
