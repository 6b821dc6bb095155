"""A gRPC server on grpcio with reflection as grpcio serves it (v1alpha
only, each file sent with its imports): test.Echo/Say answers the bytes it
was sent. The service is declared by a FileDescriptorProto built here
(importing google/protobuf/timestamp.proto), so no generated stubs are
needed. Prints 'listening on PORT' and serves until stdin closes. Run by
tests/grpc_target/grpcio.rs."""

import sys
from concurrent import futures

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, timestamp_pb2  # noqa: F401
from grpc_reflection.v1alpha import reflection

F = descriptor_pb2.FieldDescriptorProto
f = descriptor_pb2.FileDescriptorProto(
    name="test/echo.proto",
    package="test",
    syntax="proto3",
    dependency=["google/protobuf/timestamp.proto"],
)
m = f.message_type.add(name="Msg")
m.field.add(name="text", number=1, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
m.field.add(
    name="at",
    number=2,
    type=F.TYPE_MESSAGE,
    type_name=".google.protobuf.Timestamp",
    label=F.LABEL_OPTIONAL,
)
f.service.add(name="Echo").method.add(
    name="Say", input_type=".test.Msg", output_type=".test.Msg"
)
descriptor_pool.Default().AddSerializedFile(f.SerializeToString())

server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
say = grpc.unary_unary_rpc_method_handler(lambda request, context: request)
server.add_generic_rpc_handlers(
    (grpc.method_handlers_generic_handler("test.Echo", {"Say": say}),)
)
reflection.enable_server_reflection(["test.Echo", reflection.SERVICE_NAME], server)
port = server.add_insecure_port("127.0.0.1:0")
server.start()
print("listening on", port, flush=True)
sys.stdin.read()
server.stop(0)
