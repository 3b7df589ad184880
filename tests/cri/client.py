"""A one-call CRI client for tests/cri.rs: what crictl would do, with only
Debian's python3-grpcio and the messages protoc made from cri.proto.

    client.py SOCKET METHOD < REQUEST.json

calls runtime.v1.RuntimeService/METHOD on the unix socket SOCKET with the
request read as protobuf JSON, and prints
{"begun_ns": NS, "begun_ms": BEGUN, "elapsed_ms": MS, "response": RESPONSE}
on success, where NS is the wall-clock time the call was made (nanoseconds
since the epoch, the clock of ContainerStatus's finished_at), BEGUN the
same moment on CLOCK_MONOTONIC (milliseconds, the clock of the probe's
log) and MS the call's own duration (for StopContainer: until the
container has exited).
A gRPC error is printed on stderr, with exit code 1.
"""

import json
import sys
import time

import grpc
from google.protobuf import json_format

import cri_pb2

SERVICE = cri_pb2.DESCRIPTOR.services_by_name["RuntimeService"]


def main():
    socket, method_name = sys.argv[1], sys.argv[2]
    method = SERVICE.methods_by_name[method_name]
    request_class = getattr(cri_pb2, method.input_type.name)
    response_class = getattr(cri_pb2, method.output_type.name)
    request = json_format.Parse(sys.stdin.read() or "{}", request_class())
    with grpc.insecure_channel("unix://" + socket) as channel:
        call = channel.unary_unary(
            "/{}/{}".format(SERVICE.full_name, method_name),
            request_serializer=request_class.SerializeToString,
            response_deserializer=response_class.FromString,
        )
        begun_ns = time.time_ns()
        begun = time.monotonic()
        begun_ms = begun * 1000
        try:
            response = call(request, timeout=60)
        except grpc.RpcError as error:
            print("{}: {}".format(error.code(), error.details()), file=sys.stderr)
            return 1
        elapsed_ms = (time.monotonic() - begun) * 1000
    print(
        json.dumps(
            {
                "begun_ns": begun_ns,
                "begun_ms": begun_ms,
                "elapsed_ms": elapsed_ms,
                "response": json_format.MessageToDict(
                    response, preserving_proto_field_name=True
                ),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
