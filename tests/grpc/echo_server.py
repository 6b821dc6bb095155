"""The gRPC server tests/grpc runs blast against (grpcio, from its venv).

argv: WORKDIR [CERT KEY]. WORKDIR holds echo.proto; the stubs are made
there with grpc_tools.protoc. Logs, one JSON line each, in WORKDIR:
say.log (every Say and Limited request: "msg", its message as protobuf's
JSON; "tenant", its x-tenant metadata; "accept", its accept header; "deadline_s", the seconds its
grpc-timeout left, or null), limited.log
(each RESOURCE_EXHAUSTED answer). Prints its port, then serves on
127.0.0.1 (TLS with CERT and KEY), with reflection.
"""
import json, os, sys, threading, time
from concurrent import futures

work = sys.argv[1]
sys.path.insert(0, work)
from grpc_tools import protoc

if protoc.main(["protoc", "-I" + work, "--python_out=" + work,
                "--grpc_python_out=" + work, os.path.join(work, "echo.proto")]):
    sys.exit("protoc failed")
import grpc
from google.protobuf.json_format import MessageToDict
from grpc_reflection.v1alpha import reflection
import echo_pb2, echo_pb2_grpc

lock = threading.Lock()
say_log = open(os.path.join(work, "say.log"), "a", buffering=1)
limited_log = open(os.path.join(work, "limited.log"), "a", buffering=1)
calls = {"limited": 0, "all": 0}


class Echo(echo_pb2_grpc.EchoServicer):
    def _log(self, request, context):
        md = dict(context.invocation_metadata())
        left = context.time_remaining()
        line = {"msg": MessageToDict(request), "tenant": md.get("x-tenant"),
                "accept": md.get("accept"),
                "deadline_s": round(left) if left is not None and left < 86400 else None}
        with lock:
            calls["all"] += 1
            say_log.write(json.dumps(line) + "\n")
            return calls["all"]

    def Say(self, request, context):
        call = self._log(request, context)
        return echo_pb2.SayReply(text=request.text, n=request.n, call=call)

    def Limited(self, request, context):
        call = self._log(request, context)
        with lock:
            calls["limited"] += 1
            refused = calls["limited"] % 5 == 0
            if refused:
                limited_log.write(json.dumps({"call": calls["limited"]}) + "\n")
        if refused:
            context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, "over quota")
        return echo_pb2.SayReply(text=request.text, n=request.n, call=call)

    def Tokens(self, request, context):
        time.sleep(request.first_ms / 1000)
        for i in range(request.count):
            if i > 0:
                time.sleep(request.gap_ms / 1000)
            yield echo_pb2.SayReply(text="t%d" % i, n=i)
            if request.die_after and i + 1 >= request.die_after:
                # Let the message leave, then end the process mid-call.
                time.sleep(0.05)
                os._exit(3)


server = grpc.server(futures.ThreadPoolExecutor(max_workers=32))
echo_pb2_grpc.add_EchoServicer_to_server(Echo(), server)
reflection.enable_server_reflection(
    (echo_pb2.DESCRIPTOR.services_by_name["Echo"].full_name, reflection.SERVICE_NAME),
    server)
if len(sys.argv) > 3:
    creds = grpc.ssl_server_credentials(
        [(open(sys.argv[3], "rb").read(), open(sys.argv[2], "rb").read())])
    port = server.add_secure_port("127.0.0.1:0", creds)
else:
    port = server.add_insecure_port("127.0.0.1:0")
server.start()
print(port, flush=True)
server.wait_for_termination()
