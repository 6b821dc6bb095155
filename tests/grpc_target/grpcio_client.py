"""A gRPC client on grpcio: reflection (v1alpha), then N echo calls and an
unknown method. argv: HOST:PORT N. Run by tests/grpc_target/grpcio.rs."""

import sys
import grpc
from google.protobuf import descriptor_pool, message_factory
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

addr, calls = sys.argv[-2], int(sys.argv[-1])
with grpc.insecure_channel(addr) as ch:
    db = ProtoReflectionDescriptorDatabase(ch)
    print("services", sorted(db.get_services()))
    pool = descriptor_pool.DescriptorPool(db)
    method = pool.FindServiceByName("blast.Echo").FindMethodByName("Say")
    Msg = message_factory.GetMessageClass(method.input_type)
    say = ch.unary_unary(
        "/blast.Echo/Say",
        request_serializer=Msg.SerializeToString,
        response_deserializer=Msg.FromString,
    )
    for i in range(calls):
        got = say(Msg(text=f"hi {i}", payload=bytes([i % 256]) * i), timeout=10)
        assert got.text == f"hi {i}" and len(got.payload) == i, got
    try:
        ch.unary_unary("/blast.Echo/Shout")(b"", timeout=10)
        print("Shout answered")
    except grpc.RpcError as e:
        print("Shout", e.code().name)
    print("calls", calls)
