"""A CRI client for tests/cri.rs: what crictl would do, with only Debian's
python3-grpcio and the messages protoc made from cri.proto.

    client.py SOCKET

reads one call a line on stdin, {"method": METHOD, "request": REQUEST},
calls runtime.v1.RuntimeService/METHOD on the unix socket SOCKET with the
request (protobuf JSON), and answers each with one line on stdout:
{"begun_ns": NS, "begun_ms": BEGUN, "elapsed_ms": MS, "response": RESPONSE}
where NS is the wall-clock time the call was made (nanoseconds since the
epoch, the clock of ContainerStatus's finished_at), BEGUN the same moment on
CLOCK_MONOTONIC (milliseconds, the clock of the probe's log) and MS the
call's own duration (for StopContainer: until the container has exited);
or {"error": TEXT} for a gRPC error. One process serves a whole test, so
that Python's start-up is paid once.
"""

import json
import sys
import time

import grpc
from google.protobuf import json_format

import cri_pb2

SERVICE = cri_pb2.DESCRIPTOR.services_by_name["RuntimeService"]


def call(socket, method_name, request_json):
    method = SERVICE.methods_by_name[method_name]
    request_class = getattr(cri_pb2, method.input_type.name)
    response_class = getattr(cri_pb2, method.output_type.name)
    request = json_format.ParseDict(request_json, request_class())
    # A channel per call: one that failed to connect (containerd not yet
    # listening) would wait out gRPC's reconnection back-off.
    with grpc.insecure_channel("unix://" + socket) as channel:
        stub = channel.unary_unary(
            "/{}/{}".format(SERVICE.full_name, method_name),
            request_serializer=request_class.SerializeToString,
            response_deserializer=response_class.FromString,
        )
        begun_ns = time.time_ns()
        begun = time.monotonic()
        try:
            response = stub(request, timeout=60)
        except grpc.RpcError as error:
            return {"error": "{}: {}".format(error.code(), error.details())}
        elapsed = time.monotonic() - begun
    return {
        "begun_ns": begun_ns,
        "begun_ms": begun * 1000,
        "elapsed_ms": elapsed * 1000,
        "response": json_format.MessageToDict(
            response, preserving_proto_field_name=True
        ),
    }


def main():
    socket = sys.argv[1]
    for line in sys.stdin:
        order = json.loads(line)
        answer = call(socket, order["method"], order["request"])
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
