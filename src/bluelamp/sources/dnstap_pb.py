"""The dnstap schema as google.protobuf classes, built at runtime (no protoc, no generated
code). Bluelamp's hot path does not use it (see protowire.py for why); the tests and the
benchmark use it as an independent reference decoder and encoder."""

from __future__ import annotations

from functools import cache
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_F = descriptor_pb2.FieldDescriptorProto
# (name, number, type, label) per message, as in dnstap.proto
_DNSTAP = [
    ("identity", 1, _F.TYPE_BYTES, _F.LABEL_OPTIONAL),
    ("version", 2, _F.TYPE_BYTES, _F.LABEL_OPTIONAL),
    ("extra", 3, _F.TYPE_BYTES, _F.LABEL_OPTIONAL),
    ("type", 15, _F.TYPE_UINT32, _F.LABEL_REQUIRED),
    ("message", 14, _F.TYPE_MESSAGE, _F.LABEL_OPTIONAL),
]
_MESSAGE = [
    ("type", 1, _F.TYPE_UINT32, _F.LABEL_REQUIRED),
    ("socket_family", 2, _F.TYPE_UINT32, _F.LABEL_OPTIONAL),
    ("socket_protocol", 3, _F.TYPE_UINT32, _F.LABEL_OPTIONAL),
    ("query_address", 4, _F.TYPE_BYTES, _F.LABEL_OPTIONAL),
    ("response_address", 5, _F.TYPE_BYTES, _F.LABEL_OPTIONAL),
    ("query_port", 6, _F.TYPE_UINT32, _F.LABEL_OPTIONAL),
    ("response_port", 7, _F.TYPE_UINT32, _F.LABEL_OPTIONAL),
    ("query_time_sec", 8, _F.TYPE_UINT64, _F.LABEL_OPTIONAL),
    ("query_time_nsec", 9, _F.TYPE_FIXED32, _F.LABEL_OPTIONAL),
    ("query_message", 10, _F.TYPE_BYTES, _F.LABEL_OPTIONAL),
    ("query_zone", 11, _F.TYPE_BYTES, _F.LABEL_OPTIONAL),
    ("response_time_sec", 12, _F.TYPE_UINT64, _F.LABEL_OPTIONAL),
    ("response_time_nsec", 13, _F.TYPE_FIXED32, _F.LABEL_OPTIONAL),
    ("response_message", 14, _F.TYPE_BYTES, _F.LABEL_OPTIONAL),
    ("http_protocol", 16, _F.TYPE_UINT32, _F.LABEL_OPTIONAL),
]


@cache
def classes() -> tuple[Any, Any]:
    """(Dnstap, Message) message classes. Enums are declared as plain integers: on the wire
    they are the same varints, and proto2 enums would hide unknown values."""
    file = descriptor_pb2.FileDescriptorProto(name="bluelamp_dnstap.proto",
                                              package="bluelamp_dnstap", syntax="proto2")
    for name, fields in (("Dnstap", _DNSTAP), ("Message", _MESSAGE)):
        msg = file.message_type.add(name=name)
        for fname, number, ftype, label in fields:
            fd = msg.field.add(name=fname, number=number, type=ftype, label=label)
            if ftype == _F.TYPE_MESSAGE:
                fd.type_name = ".bluelamp_dnstap.Message"
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    dnstap = message_factory.GetMessageClass(pool.FindMessageTypeByName("bluelamp_dnstap.Dnstap"))
    message = message_factory.GetMessageClass(
        pool.FindMessageTypeByName("bluelamp_dnstap.Message"))
    return dnstap, message
