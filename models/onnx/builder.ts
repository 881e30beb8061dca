/**
 * A small ONNX graph builder over the protobuf classes of `onnx-proto`.
 *
 * Towers, rankers and the exact top-K graph are all written with it, so every model the project
 * produces is a plain ONNX file that onnxruntime (or any other runtime) can load. Weights are
 * stored as raw little-endian bytes, which is both compact and fast to serialise.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
type IAttr = onnxProto.onnx.IAttributeProto;

export type ElemType = 'float32' | 'int64';
const DATA_TYPE: Record<ElemType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  int64: onnx.TensorProto.DataType.INT64,
};

/** A dimension is a fixed size or a symbolic name (e.g. 'batch'). */
export type Dim = number | string;
export type AttrValue = number | number[] | string | { float: number } | { floats: number[] };

export interface GraphIO {
  name: string;
  type: ElemType;
  shape: Dim[];
}

export class GraphBuilder {
  private readonly nodes: onnxProto.onnx.INodeProto[] = [];
  private readonly initializers: onnxProto.onnx.ITensorProto[] = [];
  private readonly inputs: GraphIO[] = [];
  private readonly outputs: GraphIO[] = [];
  private counter = 0;

  constructor(
    readonly name: string,
    readonly opset = 17,
  ) {}

  input(name: string, type: ElemType, shape: Dim[]): string {
    this.inputs.push({ name, type, shape });
    return name;
  }

  output(name: string, type: ElemType, shape: Dim[]): string {
    this.outputs.push({ name, type, shape });
    return name;
  }

  /** Adds a float32 constant (weights) and returns its name. */
  floatTensor(name: string, dims: number[], data: Float32Array | number[]): string {
    const arr = data instanceof Float32Array ? data : Float32Array.from(data);
    checkSize(name, dims, arr.length);
    this.initializers.push({
      name,
      dims,
      dataType: DATA_TYPE.float32,
      rawData: new Uint8Array(arr.buffer.slice(arr.byteOffset, arr.byteOffset + arr.byteLength)),
    });
    return name;
  }

  int64Tensor(name: string, dims: number[], data: number[] | BigInt64Array): string {
    const arr = data instanceof BigInt64Array ? data : BigInt64Array.from(data.map((v) => BigInt(v)));
    checkSize(name, dims, arr.length);
    this.initializers.push({
      name,
      dims,
      dataType: DATA_TYPE.int64,
      rawData: new Uint8Array(arr.buffer.slice(arr.byteOffset, arr.byteOffset + arr.byteLength)),
    });
    return name;
  }

  /**
   * Adds a node and returns the names of its outputs. `outputs` may be a count (fresh names are
   * made) or explicit names (to bind a graph output).
   */
  node(opType: string, inputs: string[], outputs: number | string[] = 1, attrs: Record<string, AttrValue> = {}): string[] {
    const outNames =
      typeof outputs === 'number'
        ? Array.from({ length: outputs }, (_, i) => `${opType.toLowerCase()}_${this.counter}_${i}`)
        : outputs;
    this.nodes.push({
      opType,
      name: `${opType}_${this.counter++}`,
      input: inputs,
      output: outNames,
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return outNames;
  }

  /** Shorthand for single-output nodes. */
  op(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, outName?: string): string {
    return this.node(opType, inputs, outName ? [outName] : 1, attrs)[0];
  }

  toBytes(metadata: Record<string, string> = {}): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'twotower',
      producerVersion: '0.1.0',
      opsetImport: [{ domain: '', version: this.opset }],
      metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
      graph: {
        name: this.name,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs.map(valueInfo),
        output: this.outputs.map(valueInfo),
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

function checkSize(name: string, dims: number[], length: number): void {
  const expected = dims.reduce((a, b) => a * b, 1);
  if (expected !== length) throw new Error(`tensor ${name}: dims [${dims}] need ${expected} values, got ${length}`);
}

function valueInfo(io: GraphIO): onnxProto.onnx.IValueInfoProto {
  return {
    name: io.name,
    type: {
      tensorType: {
        elemType: DATA_TYPE[io.type],
        shape: { dim: io.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function attribute(name: string, v: AttrValue): IAttr {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'number') return { name, type: T.INT, i: v };
  if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  if ('float' in v) return { name, type: T.FLOAT, f: v.float };
  return { name, type: T.FLOATS, floats: v.floats };
}
