// The part of the ONNX model format (onnx.proto, IR version 8) this package
// reads and writes: enough to build a small CNN in code and to find where a
// model file keeps its float weights. Field numbers are ONNX's; a model
// written with this schema loads in any ONNX runtime.
import protobuf from "protobufjs";

const ONNX_SUBSET = `
syntax = "proto2";
package onnx;

message AttributeProto {
  enum AttributeType { UNDEFINED = 0; FLOAT = 1; INT = 2; STRING = 3; TENSOR = 4; GRAPH = 5; FLOATS = 6; INTS = 7; STRINGS = 8; }
  optional string name = 1;
  optional AttributeType type = 20;
  optional float f = 2;
  optional int64 i = 3;
  optional bytes s = 4;
  optional TensorProto t = 5;
  repeated float floats = 7;
  repeated int64 ints = 8;
  repeated bytes strings = 9;
}

message NodeProto {
  repeated string input = 1;
  repeated string output = 2;
  optional string name = 3;
  optional string op_type = 4;
  optional string domain = 7;
  repeated AttributeProto attribute = 5;
}

message TensorShapeProto {
  message Dimension {
    oneof value {
      int64 dim_value = 1;
      string dim_param = 2;
    }
  }
  repeated Dimension dim = 1;
}

message TypeProto {
  message Tensor {
    optional int32 elem_type = 1;
    optional TensorShapeProto shape = 2;
  }
  oneof value {
    Tensor tensor_type = 1;
  }
}

message ValueInfoProto {
  optional string name = 1;
  optional TypeProto type = 2;
}

message TensorProto {
  repeated int64 dims = 1;
  optional int32 data_type = 2;
  repeated float float_data = 4 [packed = true];
  repeated int64 int64_data = 7 [packed = true];
  optional string name = 8;
  optional bytes raw_data = 9;
}

message GraphProto {
  repeated NodeProto node = 1;
  optional string name = 2;
  repeated TensorProto initializer = 5;
  repeated ValueInfoProto input = 11;
  repeated ValueInfoProto output = 12;
}

message OperatorSetIdProto {
  optional string domain = 1;
  optional int64 version = 2;
}

message ModelProto {
  optional int64 ir_version = 1;
  repeated OperatorSetIdProto opset_import = 8;
  optional string producer_name = 2;
  optional string producer_version = 3;
  optional int64 model_version = 5;
  optional string doc_string = 6;
  optional GraphProto graph = 7;
}
`;

const root = protobuf.parse(ONNX_SUBSET, { keepCase: true }).root;

export const ModelProto = root.lookupType("onnx.ModelProto");
export const AttributeType = root.lookupEnum("onnx.AttributeProto.AttributeType").values as Record<string, number>;

/** TensorProto.DataType values this package uses. */
export const DataType = { FLOAT: 1, INT64: 7 } as const;

/** ModelProto field numbers the weight locator walks through. */
export const FIELD = {
  model: { graph: 7 },
  graph: { node: 1, initializer: 5 },
  node: { output: 2, attribute: 5 },
  attribute: { t: 5 },
  tensor: { dims: 1, dataType: 2, floatData: 4, name: 8, rawData: 9 },
} as const;
